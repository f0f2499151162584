"""``starmill sql``: read-only SQL over every dataset through DuckDB."""
from __future__ import annotations

import sys

import click

from starmill.options import warehouse_option
from starmill.output import emit_arrow, output_options


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: use NAME=VALUE", param_hint="--param")
        key, value = item.split("=", 1)
        params[key.strip()] = value
    return params


@click.command("sql")
@click.argument("query")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A query parameter, used as $NAME in the SQL (repeatable).")
@warehouse_option
@output_options
def command(query: str, params: tuple[str, ...], warehouse: str, fmt: str) -> None:
    """Run read-only SQL (QUERY, or - to read it from stdin) over the warehouse.

    Views: NAME (latest version), NAME_all (every version, with a version column),
    NAME_rejects (rejected input rows), manifests (lineage of every version).
    """
    from warehouse.sql import connect, query as run_query

    text = sys.stdin.read() if query == "-" else query
    con = connect(warehouse)
    emit_arrow(run_query(con, text, _params(params)), fmt)
