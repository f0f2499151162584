"""The ``models`` dataset: each trained model is one row; every version holds all models so far."""

from __future__ import annotations

import json

from starmill.schemas import ModelRecord


def record_model(wh, manifest: dict, path: str) -> str:
    """Append the model a training made to ``models``; returns the new version ("models@vN")."""
    previous = []
    parents = list(manifest["data"])
    if wh.versions("models"):
        ref = wh.resolve("models")
        previous = [ModelRecord.from_row(r) for r in wh.read(ref).to_pylist()]
        parents.append(str(ref))
    record = ModelRecord(
        model_id=manifest["weights"] or "unknown",
        path=path,
        kind=manifest["kind"],
        base_model=manifest["base_model"],
        base_revision=manifest["base_revision"],
        method=manifest["method"],
        data=list(manifest["data"]),
        rows=manifest["rows"],
        steps=manifest["steps"],
        final_loss=manifest["final_loss"],
        seed=manifest["seed"],
        settings=json.dumps(manifest["settings"], sort_keys=True),
        created_at=manifest["created_at"],
        starmill_version=manifest["starmill_version"],
    )
    writer = wh.writer(
        "models",
        "models",
        parents=parents,
        config={"train": manifest["settings"]},
        models=[{"model": manifest["base_model"], "revision": manifest["base_revision"]}],
    )
    with writer:
        writer.write(previous + [record])
        writer.count("models", len(previous) + 1)
    return f"models@v{writer.version}"
