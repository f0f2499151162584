"""Which evaluation problems a model saw in training: by problem id, or by a shared word 8-gram."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starmill.schemas import ProblemRecord
from starmill.warehouse.export.decontaminate import normalize, word_grams

NGRAM = 8


def training_refs(model_path: str) -> list[str]:
    """The dataset versions a starmill-trained model folder says it was trained on."""
    manifest = Path(model_path) / "starmill_training.json"
    if not manifest.is_file():
        return []
    try:
        return list(json.loads(manifest.read_text()).get("data") or [])
    except (OSError, ValueError):
        return []


def _trained_rows(wh, ref: str) -> list[dict[str, Any]]:
    """``problem_id`` and ``prompt`` of what a model trained on: a warehouse version, or an export folder's
    train split."""
    from starmill.training.export_data import export_rows, is_export

    if is_export(ref):
        return export_rows(ref)[0]
    return wh.read(ref).select(["problem_id", "prompt"]).to_pylist()


def _user_text(prompt: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in prompt if m.get("role") == "user")


def overlap(wh, model_path: str, problems: Sequence[ProblemRecord], n: int = NGRAM) -> dict[str, Any]:
    """``{"trained_on": [...], "by_id": k, "by_ngram": k, "problem_ids": [...]}`` (unreadable refs listed)."""
    return find_overlap(wh, model_path, problems, n)[0]


def find_overlap(
    wh, model_path: str, problems: Sequence[ProblemRecord], n: int = NGRAM
) -> tuple[dict[str, Any], set[str]]:
    """The overlap report (its ``problem_ids`` the first 50) and every overlapping problem's id."""
    refs = training_refs(model_path)
    report: dict[str, Any] = {"trained_on": refs, "by_id": 0, "by_ngram": 0, "problem_ids": [], "unreadable": []}
    if not refs:
        return report, set()
    ids: set[str] = set()
    grams: set[str] = set()
    for ref in refs:
        try:
            table = _trained_rows(wh, ref)
        except Exception as exc:  # a training set deleted or damaged since: say so, don't fail the eval
            report["unreadable"].append(f"{ref}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        for row in table:
            ids.add(row["problem_id"])
            grams |= word_grams(normalize(_user_text(row["prompt"])).split(), n)
    flagged = []
    for p in problems:
        if p.problem_id in ids:
            report["by_id"] += 1
            flagged.append(p.problem_id)
        elif word_grams(normalize(p.question).split(), n) & grams:
            report["by_ngram"] += 1
            flagged.append(p.problem_id)
    report["problem_ids"] = flagged[:50]
    return report, set(flagged)
