"""``starmill serve [CONFIG] --cron "…"``: serve the STaR flow on a schedule from a Prefect server."""

from __future__ import annotations

import os

import click

from starmill.schemas.errors import StarmillError


@click.command("serve")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--cron", required=True, help='Cron schedule, e.g. "0 3 * * *" (every day at 03:00).')
@click.option("--name", default="starmill-star", show_default=True, help="Deployment name.")
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of the cron schedule.")
@click.option("--warehouse", "-w", envvar="STARMILL_WAREHOUSE", default=None, help="Warehouse root.")
def command(config, cron, name, timezone, warehouse) -> None:
    """Serve the flow with CONFIG (default: the embedded demo) on a cron schedule. Needs a running
    Prefect server (PREFECT_API_URL); runs execute in this process until you stop it."""
    from starmill.flows import prefect_env

    prefect_env.apply()
    if not os.environ.get("PREFECT_API_URL"):
        raise StarmillError(
            "scheduling needs a running Prefect server: start one with `prefect server start --host "
            "127.0.0.1`, then `export PREFECT_API_URL=http://127.0.0.1:4200/api`"
        )
    from prefect.schedules import Cron

    from starmill.config import load_config

    cfg = load_config(config)
    from starmill.flows.star import star_flow

    try:
        Cron(cron, timezone=timezone)
    except Exception as exc:  # croniter's message names the bad field
        raise StarmillError(f"bad cron schedule {cron!r}: {exc}") from None
    click.echo(f"Serving deployment 'starmill-star/{name}' on '{cron}' ({timezone}); Ctrl-C stops.")
    star_flow.serve(
        name=name,
        cron=cron,
        parameters={"config": cfg.model_dump(mode="json"), "warehouse": warehouse},
        print_starting_message=False,
    )
