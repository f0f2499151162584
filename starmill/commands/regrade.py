"""``starmill regrade SAMPLES[@vN] [--verifier NAME …]``: grade stored samples again, into a new version."""
from __future__ import annotations

import json

import click

from starmill.options import warehouse_option


@click.command("regrade")
@click.argument("ref")
@click.option("--verifier", "verifiers", multiple=True, default=("math",), show_default=True,
              help="Verifier by name (repeatable; the first decides): math, exact, numeric, regex, reasoning_gym.")
@click.option("--name", help="Dataset for the new version (default: the same dataset).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Checker processes.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@warehouse_option
def command(ref, verifiers, name, workers, as_json, warehouse) -> None:
    """Grade a samples version with today's verifiers; print how many verdicts changed, old -> new."""
    from starmill.output import render
    from starmill.regrade import regrade
    from warehouse import Warehouse

    if name is not None:
        from warehouse.versions import check_name

        check_name(name)
    report = regrade(Warehouse(warehouse), ref, verifiers, name=name, workers=workers)
    if as_json:
        click.echo(json.dumps(vars(report), indent=1))
        return
    click.echo(f"Regraded {report.source} ({report.rows} samples) with {', '.join(verifiers)} -> {report.result}")
    if report.changes:
        click.echo(render(["old -> new", "samples"], [[k, v] for k, v in report.changes.items()], "table"))
    else:
        click.echo("No verdict changed.")
    click.echo(f"{report.dropped_by_regrade} kept sample(s) no longer verify and are dropped; "
               f"{report.newly_correct_unkept} now verify but were not selected (rerun selection to use them).")
