"""``starmill regrade SAMPLES[@vN] [--verifier NAME …] [--reselect]``: grade stored samples again, into a new
version; with ``--reselect`` rerun the run's selection and publish a new ``sft`` version from it."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option


@click.command("regrade")
@click.argument("ref")
@click.option(
    "--verifier",
    "verifiers",
    multiple=True,
    default=("math",),
    show_default=True,
    help="Verifier by name (repeatable; the first decides): math, exact, numeric, regex, reasoning_gym.",
)
@click.option("--name", help="Dataset for the new version (default: the same dataset).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Checker processes.")
@click.option(
    "--reselect",
    is_flag=True,
    help="Rerun the run's selection on the new verdicts and publish a new "
    "sft version (parents: the new samples version).",
)
@click.option("--sft-name", help="Dataset for the new sft version (default: the run's datasets.sft).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@warehouse_option
def command(ref, verifiers, name, workers, reselect, sft_name, as_json, warehouse) -> None:
    """Grade a samples version with today's verifiers; print how many verdicts changed, old -> new."""
    from starmill.cli.output import render
    from starmill.grading.regrade import RegradeError, regrade
    from starmill.warehouse import Warehouse
    from starmill.warehouse.versions import check_name

    for given in (name, sft_name):
        if given is not None:
            check_name(given)
    if sft_name is not None and not reselect:
        raise RegradeError("--sft-name goes with --reselect")
    report = regrade(
        Warehouse(warehouse), ref, verifiers, name=name, workers=workers, reselect=reselect, sft_name=sft_name
    )
    if as_json:
        click.echo(json.dumps(vars(report), indent=1))
        return
    click.echo(f"Regraded {report.source} ({report.rows} samples) with {', '.join(verifiers)} -> {report.result}")
    if report.changes:
        click.echo(render(["old -> new", "samples"], [[k, v] for k, v in report.changes.items()], "table"))
    else:
        click.echo("No verdict changed.")
    if report.reselected:
        r = report.reselected
        click.echo(
            f"Reselected -> {r['sft']}: {r['rows_before']} -> {r['rows_after']} rows "
            f"(+{r['added']} added, -{r['removed']} removed)"
        )
        reasons = sorted(set(r["drops_before"]) | set(r["drops_after"]))
        if reasons:
            click.echo(
                render(
                    ["drop reason", "before", "after"],
                    [[k, r["drops_before"].get(k, 0), r["drops_after"].get(k, 0)] for k in reasons],
                    "table",
                )
            )
        return
    click.echo(
        f"{report.dropped_by_regrade} kept sample(s) no longer verify and are dropped; "
        f"{report.newly_correct_unkept} now verify but were not selected (rerun with --reselect to use them)."
    )
