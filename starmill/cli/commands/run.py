"""``starmill run [CONFIG]``: the STaR flow; without CONFIG, the embedded demo."""

from __future__ import annotations

import atexit
import json
import shlex

import click


def farewell(config, warehouse, overrides) -> str:
    """What a stopped run prints: nothing was published, and the commands that go on from here."""
    from starmill.schemas.redact import redact_argv

    args = [
        "starmill",
        "run",
        *([config] if config else []),
        *(["-w", warehouse] if warehouse else []),
        *[a for item in overrides for a in ("--set", item)],
    ]
    again = shlex.join(redact_argv(args))
    return (
        f"\nStopped: nothing was published. Finished shards stay in the ledger: `{again}` resumes the run, "
        f"`{again} --publish-partial` publishes what finished (marked partial)."
    )


def print_summary(summary: dict) -> None:
    counts = summary["counts"]
    click.echo("")
    click.echo(
        f"Made {summary['samples']} ({counts.get('generated', 0)} samples) and {summary['sft']} "
        f"({counts.get('kept', 0)} training rows) from {summary['problems']}"
        + ("  [PARTIAL]" if summary["partial"] else "")
    )
    if summary.get("tree"):
        click.echo(f'The search tree: {summary["tree"]} (starmill sql "SELECT depth, count(*) FROM tree GROUP BY 1")')
    width = max(len(k) for k in counts) if counts else 0
    for key, value in sorted(counts.items()):
        click.echo(f"  {key:<{width}}  {value}")
    if summary["drops"]:
        click.echo("Dropped samples by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["drops"].items())))
    click.echo("pass@k: " + ", ".join(f"pass@{k} {v:.3f}" for k, v in summary["pass_at_k"].items()))
    if (summary.get("cost") or {}).get("tokens"):
        from starmill.schemas.cost import cost_line

        click.echo("Teacher: " + cost_line(summary["cost"]))
    best = summary.get("best_model")
    if best:
        click.echo(f"Best model: M{best['iteration']} (held-out {best['metric']} {best['value']:.3f}): {best['model']}")
    for failed in summary["failed_shards"]:
        click.echo(
            f"FAILED shard ({failed['stage']}, iteration {failed['iteration']}, {failed['problems']} "
            f"problems): {failed['error']}"
        )
    if summary.get("missing_shards"):
        click.echo(f"{summary['missing_shards']} shard(s) not generated yet: this version is marked partial.")
    samples, sft = (summary[k].split("@")[0] for k in ("samples", "sft"))
    wh = summary["warehouse"]
    click.echo("\nLook at them:")
    click.echo(
        f'  starmill sql -w {wh} "SELECT stage, drop_reason, count(*) AS n FROM {samples} GROUP BY ALL ORDER BY n DESC"'
    )
    click.echo(f'  starmill sql -w {wh} "SELECT prompt[1].content AS question, completion FROM {sft} LIMIT 3"')


def overlapped_flow(star_flow, cfg, server, preload: bool, **kwargs) -> dict:
    """The flow, after the teacher loads (``preload``) while Prefect's temporary server starts up
    (``server``: spawned, not yet waited for)."""
    from starmill.flows import prefect_env
    from starmill.generators import stopping

    if preload:
        from starmill.pipeline.preload import preload_teacher

        preload_teacher(cfg)
        stopping.check()
    if server is not None:
        prefect_env.wait_for_server(server)
    return star_flow(config=cfg.model_dump(mode="json"), **kwargs)


@click.command("run")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--warehouse",
    "-w",
    envvar="STARMILL_WAREHOUSE",
    default=None,
    help="Warehouse root (default: the config's, then STARMILL_WAREHOUSE, then ./starmill-data).",
)
@click.option(
    "--publish-partial",
    is_flag=True,
    help="Generate nothing: publish what the ledger holds from an interrupted run, marked partial.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Publish even when shards failed after their retries (marked partial); without it such a run "
    "publishes nothing and exits 1.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set sampling.n=8 --set source.procedural.n=20 (repeatable).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Publish even when the source (its fingerprint) and the config are those of the latest sft "
    "version; without it such a run publishes nothing and names that version.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the most teacher tokens (and cost, with teacher.price) the run "
    "can spend, and exit: nothing is generated or written.",
)
def command(config, warehouse, publish_partial, allow_partial, force, overrides, as_json, dry_run) -> None:
    """Run the STaR flow: generate, check, rationalize, rejection-sample, publish. Ctrl-C or SIGTERM
    stops it within seconds, publishes nothing and exits 130 (143); shards that fail after their
    retries make it publish nothing and exit 1, unless --allow-partial."""
    from starmill.cli import interrupts
    from starmill.flows import prefect_env
    from starmill.schemas.redact import redact_log_records

    prefect_env.apply()
    redact_log_records()
    from starmill.config import apply_overrides, load_config

    cfg = apply_overrides(load_config(config), overrides)
    from starmill.pipeline import preflight

    preflight(cfg, warehouse, generate=not publish_partial)  # before Prefect: a mistake is one line, at once
    if dry_run:
        from starmill.pipeline.estimate import estimate, estimate_lines

        figures = estimate(cfg)
        click.echo(json.dumps(figures, indent=2) if as_json else "\n".join(estimate_lines(figures)))
        return
    from starmill.flows.star import star_flow
    from starmill.pipeline.preload import worth_preloading

    prefect_env.quiet_user_errors()
    prefect_env.send_logs_to_prefect()
    goodbye = farewell(config, warehouse, overrides)
    atexit.register(interrupts.stop_children_if_stopped)  # runs after Prefect's exit handlers (registered later)
    preload = prefect_env.overlap_enabled() and worth_preloading(
        cfg, warehouse, force=force, publish_partial=publish_partial
    )
    try:
        with interrupts.Stoppable(goodbye) as work:
            server = prefect_env.spawn_temporary_server()  # from the main thread: it dies with the process
            if not preload and server is not None:
                prefect_env.wait_for_server(server)
            summary = work.run(
                overlapped_flow,
                star_flow,
                cfg,
                server if preload else None,
                preload,
                warehouse=warehouse,
                publish_partial=publish_partial,
                allow_partial=allow_partial,
                force=force,
            )
    except interrupts.Interrupted as stop:
        click.echo(goodbye, err=True)
        raise SystemExit(stop.code) from None
    if summary.get("flow_run_url"):
        click.echo(f"Prefect flow run: {summary['flow_run_url']}", err=True)
    if summary.get("unchanged"):
        click.echo(
            f"Unchanged: the source and config are those of {summary['sft']} (from {summary['samples']}); "
            "nothing new was published (--force publishes anyway).",
            err=True,
        )
        if as_json:
            click.echo(json.dumps(summary, indent=2, default=str))
        return
    resumed = (summary.get("shards") or {}).get("from_ledger", 0)
    if resumed:
        done = resumed + summary["shards"]["generated"]
        click.echo(
            f"Resumed: {resumed} of {done} shard(s) came from the ledger, "
            f"{summary['shards']['generated']} generated now.",
            err=True,
        )
    for warning in summary.get("warnings", []):
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary)
