"""``starmill prm-data SAMPLES[@vN] --rollouts R``: step labels by Monte Carlo rollouts, as a ``prm`` version."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option

ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r"}  # --delimiter '\n' from a shell means a newline


def unescape(value: str) -> str:
    for escaped, char in ESCAPES.items():
        value = value.replace(escaped, char)
    return value


@click.command("prm-data")
@click.argument("ref")
@click.option(
    "--rollouts", "-r", type=int, default=8, show_default=True, help="Rollouts from every step prefix (1 to 1024)."
)
@click.option(
    "--model",
    default=None,
    help="Completer: a path or alias (default: the model the samples version records, else the demo teacher).",
)
@click.option(
    "--backend",
    type=click.Choice(["transformers", "vllm", "openai"]),
    default=None,
    help="Engine (default: the recorded model's, else transformers).",
)
@click.option("--base-url", default=None, help="openai backend: the server's /v1 URL.")
@click.option(
    "--only",
    type=click.Choice(["all", "correct"]),
    default="all",
    show_default=True,
    help="Label every rationale, or only those whose final answer is right.",
)
@click.option("--limit", type=int, default=None, help="Label at most N rationales.")
@click.option("--temperature", type=float, default=0.7, show_default=True)
@click.option("--max-tokens", type=int, default=96, show_default=True, help="Tokens per rollout.")
@click.option("--delimiter", default="\\n", show_default=True, help="Step delimiter (\\n, \\t escapes read).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Checker processes.")
@click.option("--name", default="prm", show_default=True, help="Dataset for the new version.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@warehouse_option
def command(
    ref,
    rollouts,
    model,
    backend,
    base_url,
    only,
    limit,
    temperature,
    max_tokens,
    delimiter,
    seed,
    workers,
    name,
    as_json,
    warehouse,
) -> None:
    """Label every step of a samples version's rationales by rollouts (Math-Shepherd hard and soft labels)."""
    from starmill.prm.data import PrmSettings, label_steps
    from starmill.warehouse import Warehouse

    settings = PrmSettings(
        rollouts=rollouts,
        model=model,
        backend=backend,
        options={"base_url": base_url} if base_url else {},
        only=only,
        limit=limit,
        temperature=temperature,
        max_tokens=max_tokens,
        delimiter=unescape(delimiter),
        seed=seed,
        workers=workers,
    )
    report = label_steps(Warehouse(warehouse), ref, settings, name=name)
    if as_json:
        click.echo(json.dumps(vars(report), indent=1))
        return
    click.echo(
        f"Labelled {report.rows} rationales ({report.steps} steps, {report.rollouts} rollouts by "
        f"{report.model}) from {report.source} -> {report.ref} in {report.seconds:.1f}s; "
        f"mean soft label {report.mean_soft:.3f}"
    )
    for reason, n in report.skipped.items():
        click.echo(f"  skipped {n:>6}  {reason}")
    click.echo(f"Export it: starmill export {report.ref} --format stepwise --to DIR")
