"""Re-grade a stored ``samples`` version with today's verifiers into a new version.

Verdicts are replaced (the primary verifier first; it decides ``correct``); a kept sample that no
longer verifies is dropped with reason ``regraded:<verdict>``. A sample that newly verifies keeps
its old selection (selection is not re-run here) and is counted, so the report says what a new
selection would gain. The manifest keeps both checker versions and the verdict changes.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Sequence

from schemas import ProblemRecord, SampleRecord
from schemas.errors import StarmillError
from warehouse.lineage import problems_parent

BATCH = 4096  # sample rows graded at a time


class RegradeError(StarmillError):
    pass


@dataclass
class RegradeReport:
    source: str  # the version re-graded
    result: str  # the new version
    changes: dict[str, int]  # "old -> new": samples
    rows: int
    newly_correct_unkept: int
    dropped_by_regrade: int


def _verifiers(names: Sequence[str], workers: int):
    from filters.verifiers import get_verifier

    out = []
    for name in names:
        try:
            out.append(get_verifier(name, workers=workers) if name == "math" else get_verifier(name))
        except ValueError as exc:
            raise RegradeError(str(exc)) from None
        except TypeError as exc:  # an option it needs that a bare name can't give (python's function)
            reason = str(exc).split("() ", 1)[-1]
            raise RegradeError(f"verifier {name!r} can't be built from its name alone ({reason}): --verifier "
                               "takes names only; grade with it in a run (source.verifiers: [{name: "
                               f"{name}, …}}])") from None
    return out


def regrade(wh, ref: str, verifier_names: Sequence[str] = ("math",), name: str | None = None,
            workers: int = 1) -> RegradeReport:
    if not verifier_names:
        raise RegradeError("name at least one verifier")
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "samples":
        raise RegradeError(f"{version} holds '{manifest.table}' rows: regrade a samples version")
    problems_ref = problems_parent(wh, manifest, RegradeError)
    problems = {p["problem_id"]: ProblemRecord.from_row(p) for p in wh.read(problems_ref).to_pylist()}
    verifiers = _verifiers(verifier_names, workers)
    before: set[tuple[str, str]] = set()  # the checkers that made the old verdicts
    changes: Counter = Counter()
    newly, dropped, rows = 0, 0, 0
    extra_keys = {k: v for k, v in (manifest.model_extra or {}).items() if k not in ("regraded",)}
    writer = wh.writer(name or manifest.dataset, "samples", parents=[str(version), problems_ref],
                       config=manifest.config, sources=manifest.sources, models=manifest.models,
                       sampling=manifest.sampling, partial=manifest.partial, extra=extra_keys)
    with writer:
        for batch in wh.dataset(version).to_batches(batch_size=BATCH):
            samples = [SampleRecord.from_row(r) for r in batch.to_pylist()]
            missing = {s.problem_id for s in samples} - set(problems)
            if missing:
                raise RegradeError(f"{len(missing)} sample(s) name problems not in {problems_ref}")
            pairs = [(problems[s.problem_id], s.completion) for s in samples]
            verdicts = [list(v.verify_batch(pairs)) for v in verifiers]
            out = []
            for i, s in enumerate(samples):
                rows_ = [per[i].to_row() for per in verdicts]
                primary = verdicts[0][i]
                old = s.verdicts[0]["verdict"] if s.verdicts else "none"
                if s.verdicts:
                    before.add((s.verdicts[0]["checker"], s.verdicts[0]["checker_version"]))
                changes[f"{old} -> {primary.verdict}"] += old != primary.verdict
                kept, reason = s.kept, s.drop_reason
                if s.kept and not primary.correct:
                    kept, reason = False, f"regraded:{primary.verdict}"
                    dropped += 1
                elif primary.correct and not s.correct and not s.kept:
                    newly += 1
                out.append(replace(s, verdicts=rows_, correct=primary.correct, extracted_answer=primary.pred,
                                   kept=kept, drop_reason=reason))
            writer.write(out)
            rows += len(out)
        writer.count("rows", rows)
        writer.extra["regraded"] = {
            "from": str(version), "verifiers": [{"name": v.name, "version": v.version} for v in verifiers],
            "checkers_before": [{"name": n, "version": ver} for n, ver in sorted(before)],
            "verdict_changes": {k: v for k, v in changes.items() if v},
            "dropped_by_regrade": dropped, "newly_correct_unkept": newly,
        }
    return RegradeReport(str(version), f"{writer.name}@v{writer.version}",
                         {k: v for k, v in sorted(changes.items()) if v}, rows, newly, dropped)

