"""Options shared by several commands."""
from __future__ import annotations

from pathlib import Path

import click

from schemas.errors import StarmillError


class BadWarehouse(StarmillError):
    pass


def _warehouse(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a root that is a file (or /dev/null) up front; remember it so ``cli.main`` can name it
    in an OS error (a full disk, a read-only mount) that pyarrow reports without a path."""
    if "://" not in value:
        path = Path(value).expanduser()
        existing = next((p for p in [path, *path.parents] if p.exists()), None)
        if existing is not None and not existing.is_dir():
            where = "is not a folder" if existing == path else f"is inside {existing}, which is not a folder"
            raise BadWarehouse(f"--warehouse {value} {where}: give a folder (it is created if missing)")
    if isinstance(ctx.obj, dict):
        ctx.obj["warehouse"] = value
    return value


warehouse_option = click.option(
    "--warehouse", "-w", "warehouse", envvar="STARMILL_WAREHOUSE", default="./starmill-data",
    show_default=True, callback=_warehouse, help="Warehouse root folder (env STARMILL_WAREHOUSE).",
)
