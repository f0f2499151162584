"""``starmill verify [NAME[@vN]]``: check every file of the warehouse against its manifest, sha256 included
(checksums, not grading: the graders are ``filters.verifiers``)."""

from __future__ import annotations

import click

from starmill.cli.options import warehouse_option
from starmill.cli.output import output_options, render
from starmill.schemas.errors import StarmillError


@click.command("verify")
@click.argument("ref", required=False)
@warehouse_option
@output_options
def command(ref: str | None, warehouse: str, fmt: str) -> None:
    """Check every version (of NAME, or only NAME@vN): manifest, file sizes, rows, schemas and sha256.
    Exits 1 when any version is damaged."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.health import verify

    wh = Warehouse(warehouse)
    reports = verify(wh, ref)
    if not reports and fmt == "table":
        click.echo(f"No datasets in {wh.root}.")
        return
    rows = [[r.ref, r.status, r.problem] for r in reports]
    click.echo(_table(rows) if fmt == "table" else render(["version", "status", "problem"], rows, fmt))
    bad = [r for r in reports if not r.ok]
    if bad:
        raise StarmillError(f"{len(bad)} of {len(reports)} versions can't be served: {', '.join(r.ref for r in bad)}")


def _table(rows: list[list[str]]) -> str:
    """Like the shared table, but the problem column is never cut: it is the point of the command."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("version", "status"))]
    lines = [
        f"{'version':<{widths[0]}}  {'status':<{widths[1]}}  problem",
        f"{'-' * widths[0]}  {'-' * widths[1]}  -------",
    ]
    lines += [f"{ref:<{widths[0]}}  {status:<{widths[1]}}  {problem}".rstrip() for ref, status, problem in rows]
    return "\n".join(lines)
