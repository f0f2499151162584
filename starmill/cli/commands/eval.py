"""``starmill eval MODEL --on NAME[@vN]|SOURCE [--strategy S --scorer NAME]``: accuracy on held-out
problems, written to ``evals``."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option
from starmill.evaluation.metrics import EVAL_STRATEGIES


@click.command("eval")
@click.argument("model")
@click.option(
    "--on",
    "on",
    required=True,
    help="Problems: a problems version (NAME[@vN]), procedural:n=N,seed=S,difficulty=D (or "
    "procedural_code:…), humaneval, or a file.",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(0, 1024),
    default=8,
    show_default=True,
    help="Sampled answers per problem for pass@k and maj@k (0: greedy only).",
)
@click.option("--temperature", type=click.FloatRange(0, 10), default=0.7, show_default=True)
@click.option("--max-tokens", type=click.IntRange(1, 1_000_000), default=128, show_default=True)
@click.option("--template", default="cot_zero_shot", show_default=True, help="Prompt template id.")
@click.option(
    "--backend", type=click.Choice(["transformers", "vllm", "openai"]), default="transformers", show_default=True
)
@click.option("--base-url", help="openai backend: the server's /v1 URL (as teacher.base_url in a run config).")
@click.option(
    "--api-key-env",
    help="openai backend: the environment variable holding the API key "
    "(as teacher.options.api_key_env; default OPENAI_API_KEY).",
)
@click.option(
    "--preset",
    type=click.Choice(["gsm8k", "math", "plain", "mbpp", "apps"]),
    default="plain",
    show_default=True,
    help="A problems file's field mapping, as for `starmill ingest`: gsm8k (question, answer '#### 72'), "
    "math (problem, solution \\boxed{}), plain (question, answer), mbpp or apps (code problems).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--verifier",
    help="Grade with this verifier (code: run each program against the problem's tests; "
    "pass@k on code problems). Default: the source's own (humaneval: code), else the answer checker.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(1, 100_000),
    default=64,
    show_default=True,
    help="Problems per shard: the unit the ledger keeps, so an interrupted eval run again generates only "
    "the shards it had not finished.",
)
@click.option("--no-greedy", is_flag=True, help="Skip the greedy pass.")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    type=click.Choice(EVAL_STRATEGIES),
    help="Also measure what this selection strategy chooses among the first k samples (STRATEGY@k), or "
    "run this tree search with a budget of -n paths, guided by --scorer (beam@N, dvts@N, mcts@N); "
    "repeatable.",
)
@click.option(
    "--search",
    "search",
    multiple=True,
    metavar="KEY=VALUE",
    help="A tree search setting (sampling.search: expansions, max_depth, delimiter, step_tokens, c_uct, widening); "
    "repeatable.",
)
@click.option(
    "--scorer",
    default="steps",
    show_default=True,
    help="Scorer that best_of_n and weighted_best_of_n rank by and that guides a tree search (steps: the "
    "symbolic step checker).",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="Also write a PNG of accuracy over every eval on these problems."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@warehouse_option
def command(
    model,
    on,
    n,
    temperature,
    max_tokens,
    template,
    backend,
    base_url,
    api_key_env,
    preset,
    seed,
    verifier,
    shard_size,
    no_greedy,
    strategies,
    search,
    scorer,
    plot,
    as_json,
    warehouse,
) -> None:
    """Evaluate MODEL (a folder, a Hub id or starmill/demo-teacher) on held-out problems."""
    from starmill.cli import interrupts
    from starmill.cli.output import render
    from starmill.evaluation import EvalSettings, evaluate
    from starmill.evaluation.plot import eval_history, plot_history, plot_path
    from starmill.evaluation.search import search_settings
    from starmill.warehouse import Warehouse

    if n == 0 and no_greedy:
        raise click.UsageError("nothing to do: -n 0 with --no-greedy")
    png = plot_path(plot) if plot else None  # before any work: a bad path fails now, not after the evaluation
    wh = Warehouse(warehouse)
    settings = EvalSettings(
        n=n,
        temperature=temperature,
        max_tokens=max_tokens,
        template=template,
        seed=seed,
        shard_size=shard_size,
        backend=backend,
        greedy=not no_greedy,
        strategies=tuple(strategies),
        scorer=scorer,
        search=search_settings(search),
        preset=preset,
        base_url=base_url,
        verifier=verifier,
        options={"api_key_env": api_key_env} if api_key_env else {},
    )
    goodbye = (
        "Stopped: nothing was published; the finished shards are in the ledger, so the same "
        "starmill eval again generates only the rest."
    )
    try:
        with interrupts.Stoppable(goodbye) as work:  # Ctrl-C ends the batches in flight, keeps finished shards
            report = work.run(evaluate, wh, model, on, settings)
    except interrupts.Interrupted as stop:
        click.echo(goodbye, err=True)
        raise SystemExit(stop.code) from None
    if png:
        history = eval_history(wh, on=report.problems_ref)
        plot_history(history, png, title=f"held-out accuracy on {report.problems_ref}")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "evals": report.ref,
                    "problems": report.problems_ref,
                    "model": report.model,
                    "metrics": report.metrics,
                    "clean": report.clean,
                    "overlap": report.overlap,
                    "search": report.search,
                    "tree": report.tree,
                    "shards": report.shards,
                },
                indent=1,
            )
        )
        return
    click.echo(f"{report.model} on {report.problems_ref} ({report.problems} problems) -> {report.ref}")
    if report.overlap["trained_on"]:  # beside all problems, those the model never saw in training
        clean = report.clean["metrics"]
        click.echo(
            render(
                ["metric", f"all {report.problems}", f"clean {report.clean['problems']}"],
                [[k, f"{v:.3f}", f"{clean[k]:.3f}" if k in clean else "-"] for k, v in report.metrics.items()],
                "table",
            )
        )
    else:
        click.echo(render(["metric", "value"], [[k, f"{v:.3f}"] for k, v in report.metrics.items()], "table"))
    for strategy, used in report.search.items():
        click.echo(f"{strategy}: " + ", ".join(f"{v:,} {k}" for k, v in used.items()))
    if report.tree:
        click.echo(f'Search trees: {report.tree} (starmill sql "SELECT * FROM {report.tree.split("@")[0]}")')
    if report.shards.get("from_ledger"):  # an earlier eval of the same model, problems and settings finished them
        click.echo(
            f"Sampling shards: {report.shards['from_ledger']} from the ledger, {report.shards['generated']} generated"
        )
    seen = report.overlap
    if seen["trained_on"]:
        click.echo(
            f"Overlap with the training data ({', '.join(seen['trained_on'])}): "
            f"{seen['by_id']} problems by id, {seen['by_ngram']} more by 8-gram"
        )
    if png:
        click.echo(f"Plot: {png}")
