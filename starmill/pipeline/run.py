"""What one STaR run works with: its config, warehouse, problems, ledger and key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starmill.config import RunConfig
from starmill.schemas import ProblemRecord, content_hash
from starmill.schemas.errors import StarmillError
from starmill.warehouse import Warehouse
from starmill.warehouse.ledger import Ledger


class RunError(StarmillError):
    pass


@dataclass
class Run:
    config: RunConfig
    wh: Warehouse
    problems_ref: str
    problems: dict[str, ProblemRecord]
    order: list[str]  # problem ids in source order
    ledger: Ledger
    run_key: str


def run_key(config: RunConfig, problems_ref_fingerprint: str) -> str:
    """What determines the generations: problems, teacher, prompts, sampling, R and iterations."""
    parts = config.model_dump(mode="json", include={"teacher", "prompts", "sampling", "rationalization", "iterations"})
    return content_hash("run", problems_ref_fingerprint, parts)[:16]


def prepare(config: RunConfig, warehouse: str | None = None) -> Run:
    from starmill.warehouse.sources import ensure_problems
    from starmill.warehouse.sources.many import ensure_sources

    wh = Warehouse(config.warehouse or warehouse, options=config.warehouse_options or None)
    if config.sources is not None:  # many sources: one problems version, each problem keeps its source
        ref, problems = ensure_sources(wh, config.sources, config.datasets.problems, *screens(config))
    else:
        ref, problems = ensure_problems(wh, config.source, config.datasets.problems, cleaner=screens(config)[0])
    if not problems:
        raise RunError(
            f"{ref} holds no problems: check the source and its rejects ({config.datasets.problems}_rejects)"
        )
    ids = [p.problem_id for p in problems]
    key = run_key(config, content_hash(ids))
    return Run(config, wh, ref, {p.problem_id: p for p in problems}, ids, Ledger(wh.root, key), key)


def screens(config: RunConfig):
    """What a run's ``decontamination:`` section checks its problems against at ingest: a ``Decontaminator``
    of its evaluation sets (None without any), and an empty near-duplicate index with the threshold
    between sources (None when off)."""
    spec = config.decontamination
    if spec is None:
        return None, None
    from starmill.warehouse.export.decontaminate import Decontaminator
    from starmill.warehouse.export.near_duplicates import NearIndex

    cleaner = Decontaminator.from_spec(spec) if spec.eval_sets else None
    near = NearIndex(threshold=spec.across_sources, num_perm=spec.num_perm) if spec.across_sources else None
    return cleaner, near


def model_record(teacher: dict[str, Any], iteration: int) -> dict[str, Any]:
    """The teacher of an iteration as the manifest records it (engine details filled in if loaded)."""
    from starmill.generators.registry import loaded_info, model_identity

    model, revision = model_identity(teacher)
    record = {
        "iteration": iteration,
        "model": model,
        "revision": revision,
        "backend": teacher["backend"],
        "options": teacher.get("options") or {},
    }
    info = loaded_info(teacher)
    if info is not None:
        record.update(engine=info.engine, engine_version=info.engine_version, dtype=info.dtype)
        record["revision"] = record["revision"] or info.model_revision  # openai: the model the server named
    if teacher["backend"] == "openai":
        record["server"] = server_host(teacher.get("base_url") or (teacher.get("options") or {}).get("base_url"))
    return record


def server_host(url: str | None) -> str | None:
    """``host:port`` of a server URL, never its credentials."""
    from urllib.parse import urlsplit

    if not url:
        return None
    parts = urlsplit(url)
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "") or None
