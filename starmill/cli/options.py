"""Options shared by several commands."""

from __future__ import annotations

import click

from starmill.schemas.errors import StarmillError
from starmill.warehouse.root import not_a_folder


class BadWarehouse(StarmillError):
    pass


def _warehouse(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a root that is a file (or /dev/null) up front; remember it so ``cli.main`` can name it
    in an OS error (a full disk, a read-only mount) that pyarrow reports without a path."""
    problem = not_a_folder(value)
    if problem is not None:
        raise BadWarehouse(f"--warehouse {problem}")
    if isinstance(ctx.obj, dict):
        ctx.obj["warehouse"] = value
    return value


warehouse_option = click.option(
    "--warehouse",
    "-w",
    "warehouse",
    envvar="STARMILL_WAREHOUSE",
    default="./starmill-data",
    show_default=True,
    callback=_warehouse,
    help="Warehouse root folder (env STARMILL_WAREHOUSE).",
)
