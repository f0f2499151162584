"""``starmill datasets``: list datasets with their versions, rows and creation times."""
from __future__ import annotations

import click

from starmill.options import warehouse_option
from starmill.output import output_options, render


@click.command("datasets")
@warehouse_option
@output_options
def command(warehouse: str, fmt: str) -> None:
    """List datasets: kind, versions, rows and creation time of the latest version."""
    from warehouse import Warehouse

    wh = Warehouse(warehouse)
    rows = []
    for name in wh.datasets():
        versions = wh.versions(name)
        manifest = wh.manifest(wh.resolve(name))
        rows.append([name, manifest.table, len(versions), f"v{versions[-1]}", manifest.rows,
                     manifest.created_at, manifest.partial])
    if not rows and fmt == "table":
        click.echo(f"No datasets in {wh.root}. Make one with `starmill ingest` or `starmill run`.")
        return
    click.echo(render(["dataset", "kind", "versions", "latest", "rows", "created_at", "partial"], rows, fmt))
