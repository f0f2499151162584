"""The audit number: a seeded sample of an sft version's kept rows graded again by a second verifier
(``math-verify`` by default), with the share that agrees with the verdict that kept them and every
disagreement (problem, sample, both verdicts). Runs publish it in the sft manifest (``audit``), the
card shows it, and ``starmill audit SFT[@vN]`` computes it on demand."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from starmill.filters.verifiers.base import label_gold
from starmill.schemas.errors import StarmillError

DEFAULT_VERIFIER = "math-verify"  # a checker written by other people: its blind spots are not ours
DEFAULT_SAMPLE = 200  # kept rows graded (all of them when fewer)
SHOWN = 50  # disagreements listed in a manifest


class AuditError(StarmillError):
    pass


def build_auditor(verifier: str, timeout: float = 5.0):
    from starmill.build import build_verifier

    try:
        try:
            return build_verifier(verifier, timeout=timeout)
        except TypeError:  # a verifier without a time limit of its own
            return build_verifier(verifier)
    except (ValueError, TypeError, StarmillError) as exc:
        raise AuditError(f"audit verifier {verifier!r}: {exc}") from None


def audit_rows(
    rows: Iterable[dict[str, Any]],
    problems: dict[str, Any],
    verifier,
    *,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    primary: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Grade ``sample`` of the kept ``rows`` (sft rows: sample_id, problem_id, completion, gold_answer),
    picked by ``seed`` from the rows in sample-id order, with ``verifier``; ``primary`` gives each row's
    deciding verdict (kept rows default to ``correct``)."""
    rows = sorted(rows, key=lambda r: r["sample_id"])
    picked = (
        rows if len(rows) <= sample else sorted(random.Random(seed).sample(rows, sample), key=lambda r: r["sample_id"])
    )
    primary = primary or {}

    def problem_of(row):
        known = problems.get(row["problem_id"])
        metadata = getattr(known, "metadata", None) if known is not None else None
        gold = getattr(known, "gold_answer", None) if known is not None else None
        if not gold:  # a row's gold may be a pseudo-label
            gold = label_gold(verifier, row.get("gold_answer"))
        return {
            "problem_id": row["problem_id"],
            "gold_answer": gold or "",
            "question": getattr(known, "question", None),
            "metadata": metadata,
        }

    verdicts = list(verifier.verify_batch((problem_of(r), r["completion"]) for r in picked))
    disagreements = []
    for r, v in zip(picked, verdicts):
        first = primary.get(r["sample_id"], "correct")
        if v.correct != (first == "correct"):
            disagreements.append(
                {
                    "problem_id": r["problem_id"],
                    "sample_id": r["sample_id"],
                    "primary": first,
                    "audit": v.verdict,
                    "audit_pred": v.pred,
                }
            )
    agreed = len(picked) - len(disagreements)
    return {
        "verifier": verifier.name,
        "verifier_version": getattr(verifier, "version", None),
        "seed": seed,
        "sample": len(picked),
        "of": len(rows),
        "agreed": agreed,
        "agreement": round(agreed / len(picked), 4) if picked else None,
        "disagreement_count": len(disagreements),
        "disagreements": disagreements[:SHOWN],
    }


def audit_version(
    wh, ref: str, verifier: str = DEFAULT_VERIFIER, sample: int = DEFAULT_SAMPLE, seed: int = 0
) -> dict[str, Any]:
    """The audit of sft version ``ref``; problems and the deciding verdicts come from its parents."""
    from starmill.schemas import ProblemRecord

    if sample < 1:
        raise AuditError("--sample must be at least 1")
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "sft":
        raise AuditError(f"{version} holds '{manifest.table}' rows: audit an sft version")
    auditor = build_auditor(verifier)
    problems: dict[str, Any] = {}
    primary: dict[str, str] = {}
    for parent in manifest.parents or []:
        table = wh.manifest(parent).table
        if table == "problems":
            problems = {p["problem_id"]: ProblemRecord.from_row(p) for p in wh.read(parent).to_pylist()}
        elif table == "samples":
            for row in wh.read(parent).select(["sample_id", "verdicts", "kept"]).to_pylist():
                if row["kept"] and row["verdicts"]:
                    primary[row["sample_id"]] = row["verdicts"][0]["verdict"]
    rows = wh.read(version).select(["sample_id", "problem_id", "completion", "gold_answer"]).to_pylist()
    return {"version": str(version), **audit_rows(rows, problems, auditor, sample=sample, seed=seed, primary=primary)}


def audit_for_config(
    audit: Any,
    rows: Iterable[dict[str, Any]],
    problems: dict[str, Any],
    primary: dict[str, str] | None = None,
    graded_by: str | None = None,
) -> dict[str, Any] | None:
    """The ``audit`` a version publishes, from the run config's ``audit`` section (a model or its dump):
    None when turned off; ``{"skipped": why}`` when the default math-verify is not installed or the rows
    are programs (``graded_by`` code), which it can't read."""
    spec = audit if isinstance(audit, dict) else audit.model_dump() if audit is not None else {}
    if not spec.get("enabled", True):
        return None
    name = spec.get("verifier", DEFAULT_VERIFIER)
    if name == DEFAULT_VERIFIER and graded_by == "code":
        return {
            "verifier": name,
            "skipped": "the rows are programs graded by code; name a verifier for them (audit.verifier)",
        }
    if name == DEFAULT_VERIFIER:
        import importlib.util

        if importlib.util.find_spec("math_verify") is None:
            return {"verifier": name, "skipped": "math-verify is not installed (pip install 'starmill[dev]')"}
    return audit_rows(
        rows,
        problems,
        build_auditor(name),
        sample=spec.get("sample", DEFAULT_SAMPLE),
        seed=spec.get("seed", 0),
        primary=primary,
    )
