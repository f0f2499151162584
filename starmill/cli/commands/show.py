"""``starmill show NAME[@vN]``: a version's manifest, schema and summary."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option


@click.command("show")
@click.argument("ref")
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
def command(ref: str, warehouse: str, as_json: bool) -> None:
    """Show the manifest, schema and summary stats of NAME (latest) or NAME@vN, after checking every
    file of that version against its manifest (sizes, rows, schemas and sha256)."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.summary import summarize

    wh = Warehouse(warehouse)
    info = summarize(wh, wh.resolve(ref))
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False, default=str))
        return
    manifest = info["manifest"]
    click.echo(
        f"{info['ref']}  ({manifest['table']}, {info['rows']} rows, {info['bytes']} bytes, "
        f"created {manifest['created_at']})"
    )
    lines = {
        "starmill": f"{manifest['starmill_version']} (git {manifest.get('git_commit') or 'unknown'})",
        "command": manifest.get("command"),
        "parents": ", ".join(manifest.get("parents") or []) or "-",
        "sources": ", ".join(
            f"{s['name']} ({s['uri']}, {s.get('fingerprint') or '-'})" for s in manifest.get("sources") or []
        )
        or "-",
        "models": ", ".join(m.get("model", "?") for m in manifest.get("models") or []) or "-",
        "counts": json.dumps(manifest.get("counts") or {}),
        "drops": json.dumps(manifest.get("drops") or {}),
        "partial": str(manifest.get("partial", False)).lower(),
        "verified": (
            f"sha256 of {info['checksums']['verified']} files"
            if info["checksums"]["verified"]
            else "sizes, rows and schemas (no checksums: written by an older starmill)"
        ),
    }
    report = info.get("report")
    if report:
        checker = report.get("checker") or {}
        lines["pass@k"] = ", ".join(f"pass@{k} {v:.3f}" for k, v in report["pass_at_k"].items()) or "-"
        lines["iterations"] = (
            "; ".join(
                f"{i['iteration']}: {i['solved_by_rationale']} + {i['solved_by_rationalization']} of {i['attempted']} solved"
                for i in report["iterations"]
            )
            or "-"
        )
        lines["checker"] = f"{checker.get('name', '-')} {checker.get('version', '')}".strip()
        if (report.get("cost") or {}).get("tokens"):
            from starmill.schemas.cost import cost_line

            lines["cost"] = cost_line(report["cost"])
        if report["failed_shards"]:
            lines["failed"] = f"{len(report['failed_shards'])} shard(s)"
    for key, value in lines.items():
        click.echo(f"  {key + ':':<10} {value}")
    for table, schema in info["schema"].items():
        click.echo(f"\nTable {table} ({info['tables'][table]} rows)")
        for column in schema:
            nulls = column["nulls"]
            click.echo(f"  {column['name']:<20} {column['type']:<40} nulls: {nulls}")
    if info.get("config"):
        click.echo("\nConfig:\n" + json.dumps(info["config"], indent=2, ensure_ascii=False))
