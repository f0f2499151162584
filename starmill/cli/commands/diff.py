"""``starmill diff NAME@vA NAME@vB``: rows, problems, counts, drops and config that changed between two versions."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option
from starmill.cli.output import output_options, render

COLUMNS = ["section", "item", "a", "b", "change"]


@click.command("diff")
@click.argument("ref_a")
@click.argument("ref_b")
@warehouse_option
@output_options
def command(ref_a: str, ref_b: str, warehouse: str, fmt: str) -> None:
    """Compare two versions: rows added, removed and changed (by key), problems added, removed and
    changed, counts per stage, drops per reason, and config and lineage differences (manifests)."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.diff import diff_lines, diff_versions

    found = diff_versions(Warehouse(warehouse), ref_a, ref_b)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(render(COLUMNS, diff_lines(found), fmt))
