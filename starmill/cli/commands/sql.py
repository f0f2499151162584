"""``starmill sql``: read-only SQL over every dataset through DuckDB."""

from __future__ import annotations

import sys

import click

from starmill.cli.options import warehouse_option
from starmill.cli.output import emit_arrow, output_options


@click.command("sql")
@click.argument("query")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME[:TYPE]=VALUE",
    help="A query parameter, used as $NAME in the SQL: a string, or typed with :int, :float, :bool, "
    ":str (e.g. -p n:int=3); repeatable.",
)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    envvar="STARMILL_SQL_TIMEOUT",
    metavar="SECONDS",
    help="Stop the query after this long (0: no limit; env STARMILL_SQL_TIMEOUT).",
)
@click.option(
    "--memory-limit",
    default="25%",
    show_default=True,
    envvar="STARMILL_SQL_MEMORY_LIMIT",
    metavar="SIZE",
    help="DuckDB's memory for the query: 4GB, 512MB, or a share of the machine's memory "
    "(env STARMILL_SQL_MEMORY_LIMIT).",
)
@warehouse_option
@output_options
def command(query: str, params: tuple[str, ...], timeout: float, memory_limit: str, warehouse: str, fmt: str) -> None:
    """Run one read-only SELECT (QUERY, or - to read it from stdin) over the warehouse.

    Views: NAME (latest version), NAME_all (every version, with a version column),
    NAME_rejects (rejected input rows), manifests (lineage of every version).
    Ctrl-C stops a running query (exit 130).
    """
    from starmill.warehouse.sql import connect, parse_param
    from starmill.warehouse.sql import query as run_query

    text = sys.stdin.read() if query == "-" else query
    values = dict(parse_param(item) for item in params)
    session = connect(warehouse, timeout=timeout, memory_limit=memory_limit)
    for line in session.warnings:
        click.echo(line, err=True)
    emit_arrow(run_query(session, text, values), fmt)
