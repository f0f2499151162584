"""A run whose input and config are those of the latest published version publishes nothing new:
each scheduled run of an unchanged source would otherwise add another identical version."""

from __future__ import annotations

from typing import Any

from starmill.pipeline.run import Run
from starmill.warehouse.writer import NOT_LINEAGE


def unchanged_summary(run: Run) -> dict[str, Any] | None:
    """The summary of the latest ``sft`` version when it was made, whole, from the same problems (the
    run key holds their content, so the source's fingerprint) and the same config; else None."""
    cfg, wh = run.config, run.wh
    name = cfg.datasets.sft
    if not wh.versions(name):
        return None
    ref = str(wh.resolve(name))
    manifest = wh.manifest(ref)
    report = manifest.report.model_dump(mode="json") if manifest.report is not None else {}
    config = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in NOT_LINEAGE}
    if manifest.partial or report.get("run_key") != run.run_key or manifest.config != config:
        return None
    samples = next((p for p in manifest.parents if p.split("@")[0] == cfg.datasets.samples), None)
    return {
        "unchanged": True,
        "problems": run.problems_ref,
        "samples": samples,
        "sft": ref,
        "counts": dict(manifest.counts),
        "drops": dict(manifest.drops),
        "partial": False,
        "warehouse": wh.root,
        "warnings": [],
        "shards": {"generated": 0, "from_ledger": 0},
        "pass_at_k": report.get("pass_at_k") or {},
        "iterations": report.get("iterations") or [],
        "failed_shards": [],
        "missing_shards": 0,
        "best_model": report.get("best_model"),
        "cost": report.get("cost"),
        "report": report,
    }
