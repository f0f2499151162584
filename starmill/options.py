"""Options shared by several commands."""
from __future__ import annotations

from pathlib import Path

import click

from schemas.errors import StarmillError


class BadWarehouse(StarmillError):
    pass


def not_a_folder(value: str) -> str | None:
    """Why a warehouse root can't be one (it, or a folder above it, is a file), or None."""
    if "://" in value:
        return None
    path = Path(value).expanduser()
    existing = next((p for p in [path, *path.parents] if p.exists()), None)
    if existing is None or existing.is_dir():
        return None
    where = "is not a folder" if existing == path else f"is inside {existing}, which is not a folder"
    return f"{value} {where}: give a folder (it is created if missing)"


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
    "--warehouse", "-w", "warehouse", envvar="STARMILL_WAREHOUSE", default="./starmill-data",
    show_default=True, callback=_warehouse, help="Warehouse root folder (env STARMILL_WAREHOUSE).",
)
