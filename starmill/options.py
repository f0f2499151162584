"""Options shared by several commands."""
from __future__ import annotations

import click

warehouse_option = click.option(
    "--warehouse", "-w", "warehouse", envvar="STARMILL_WAREHOUSE", default="./starmill-data",
    show_default=True, help="Warehouse root folder (env STARMILL_WAREHOUSE).",
)
