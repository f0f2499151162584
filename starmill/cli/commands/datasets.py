"""``starmill datasets``: list datasets with their versions, rows, creation times and health."""

from __future__ import annotations

import click

from starmill.cli.options import warehouse_option
from starmill.cli.output import output_options, render


@click.command("datasets")
@warehouse_option
@output_options
def command(warehouse: str, fmt: str) -> None:
    """List datasets: kind, versions, rows and creation time of the latest version, and whether every
    version opens cleanly (a damaged one is named on stderr; `starmill verify` checks every byte)."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.health import survey

    wh = Warehouse(warehouse)
    rows = []
    for name in wh.datasets():
        health = survey(wh, name)
        manifest = health.manifests.get(health.latest)
        if health.damaged:
            click.echo(health.warning(), err=True)
        cells = [manifest.table, manifest.rows, manifest.created_at, manifest.partial] if manifest else ["", "", "", ""]
        rows.append([name, cells[0], len(health.versions), f"v{health.latest}", *cells[1:], health.status])
    if not rows and fmt == "table":
        click.echo(f"No datasets in {wh.root}. Make one with `starmill ingest` or `starmill run`.")
        return
    click.echo(render(["dataset", "kind", "versions", "latest", "rows", "created_at", "partial", "status"], rows, fmt))
