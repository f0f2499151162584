"""``starmill view``: browse the warehouse in a web browser (read-only, local by default)."""

from __future__ import annotations

import click

from starmill.cli.options import warehouse_option


@click.command("view")
@warehouse_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but a loopback address needs --token.",
)
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind (0: any free port).",
)
@click.option(
    "--token",
    envvar="STARMILL_VIEW_TOKEN",
    default=None,
    help="Required on every request (open /?token=T once; env STARMILL_VIEW_TOKEN).",
)
@click.option("--log", is_flag=True, help="Print one line per request on stderr.")
def command(warehouse: str, host: str, port: int, token: str | None, log: bool) -> None:
    """Serve a read-only web viewer of the warehouse: datasets, versions, run reports, rows, problems
    with every sample side by side, search trees, evals and diffs. Ctrl-C stops it."""
    from starmill.viewer.server import make_server

    server = make_server(warehouse, host, port, token, log=log)
    click.echo(
        f"starmill view: {server.catalog.root} at {server.url}"
        + (" (token required)" if token else "")
        + "  (Ctrl-C stops it)",
        err=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
