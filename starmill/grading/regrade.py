"""Re-grade a stored ``samples`` version with today's verifiers into a new version.

Verdicts are replaced (the primary verifier first; it decides ``correct``). Without ``reselect`` a kept
sample that no longer verifies is dropped with reason ``regraded:<verdict>`` and a sample that newly
verifies keeps its old selection (counted, so the report says what a new selection would gain). With
``reselect`` the run's own selection (``selection`` in the version's config) runs again, iteration by
iteration, and a new ``sft`` version is published whose parents are the new samples version, so a
checker fix reaches the training data without regenerating; its manifest (``reselected``) says which
rows were added and removed and the drop reasons before and after. The samples manifest keeps both
checker versions and the verdict changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from starmill.filters.selection import first_pass_rates
from starmill.schemas import ProblemRecord, SampleRecord
from starmill.schemas.errors import StarmillError
from starmill.warehouse.lineage import problems_parent

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
    reselected: dict | None = None  # with reselect: the new sft version and what selection changed


def _selection(config: dict | None):
    """The run's selection (filters, selector, k) and the hint phrases its hint_leak filter needs."""
    from starmill.build import run_selection
    from starmill.config import ConfigError, parse_config

    try:
        cfg = parse_config(config, "the samples version's config")
        return run_selection(cfg), cfg.datasets.sft
    except (ConfigError, ValueError, KeyError) as exc:
        raise RegradeError(f"can't rerun this version's selection: {exc}") from None


def reselect_samples(
    samples: list[SampleRecord], problems: dict[str, ProblemRecord], selection, stats: Counter | None = None
) -> list[SampleRecord]:
    """Selection again over graded samples, one iteration at a time (as the run selected them); a
    request the engine refused (``finish_reason`` error) stays dropped with its reason."""
    fresh = [s if s.finish_reason == "error" else replace(s, kept=False, drop_reason=None) for s in samples]
    out: list[SampleRecord] = []
    rates = first_pass_rates(fresh)  # the whole history's: a later iteration's band reads iteration 0
    for iteration in sorted({s.iteration for s in fresh}):
        out += selection.apply([s for s in fresh if s.iteration == iteration], problems, stats, rates=rates)
    return out


def _diff(old: dict[str, tuple[bool, str | None]], new: list[SampleRecord]) -> dict:
    was = {sid for sid, (kept, _) in old.items() if kept}
    now = {s.sample_id for s in new if s.kept}
    before = Counter(reason for kept, reason in old.values() if not kept and reason)
    after = Counter(s.drop_reason for s in new if not s.kept and s.drop_reason)
    return {
        "rows_before": len(was),
        "rows_after": len(now),
        "added": len(now - was),
        "removed": len(was - now),
        "added_ids": sorted(now - was)[:20],
        "removed_ids": sorted(was - now)[:20],
        "drops_before": dict(sorted(before.items())),
        "drops_after": dict(sorted(after.items())),
    }


def _verifiers(names: Sequence[str], workers: int):
    from starmill.filters.verifiers import get_verifier

    out = []
    for name in names:
        try:
            out.append(get_verifier(name, workers=workers) if name == "math" else get_verifier(name))
        except ValueError as exc:
            raise RegradeError(str(exc)) from None
        except TypeError as exc:  # an option it needs that a bare name can't give (python's function)
            reason = str(exc).split("() ", 1)[-1]
            raise RegradeError(
                f"verifier {name!r} can't be built from its name alone ({reason}): --verifier "
                "takes names only; grade with it in a run (source.verifiers: [{name: "
                f"{name}, …}}])"
            ) from None
    return out


def regrade(
    wh,
    ref: str,
    verifier_names: Sequence[str] = ("math",),
    name: str | None = None,
    workers: int = 1,
    reselect: bool = False,
    sft_name: str | None = None,
) -> RegradeReport:
    if not verifier_names:
        raise RegradeError("name at least one verifier")
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "samples":
        raise RegradeError(f"{version} holds '{manifest.table}' rows: regrade a samples version")
    problems_ref = problems_parent(wh, manifest, RegradeError)
    problems = {p["problem_id"]: ProblemRecord.from_row(p) for p in wh.read(problems_ref).to_pylist()}
    selection, default_sft = _selection(manifest.config) if reselect else (None, None)
    verifiers = _verifiers(verifier_names, workers)
    before: set[tuple[str, str]] = set()  # the checkers that made the old verdicts
    changes: Counter = Counter()
    newly, dropped, rows = 0, 0, 0
    old_state: dict[str, tuple[bool, str | None]] = {}
    held: list[SampleRecord] = []  # with reselect: every sample (a problem's samples are selected together)
    extra_keys = {k: v for k, v in (manifest.model_extra or {}).items() if k not in ("regraded", "reselected", "audit")}
    writer = wh.writer(
        name or manifest.dataset,
        "samples",
        parents=[str(version), problems_ref],
        config=manifest.config,
        sources=manifest.sources,
        models=manifest.models,
        sampling=manifest.sampling,
        partial=manifest.partial,
        extra=extra_keys,
    )
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
                if reselect:
                    old_state[s.sample_id] = (s.kept, s.drop_reason)
                elif s.kept and not primary.correct:
                    kept, reason = False, f"regraded:{primary.verdict}"
                    dropped += 1
                elif primary.correct and not s.correct and not s.kept:
                    newly += 1
                out.append(
                    replace(
                        s,
                        verdicts=rows_,
                        correct=primary.correct,
                        extracted_answer=primary.pred,
                        kept=kept,
                        drop_reason=reason,
                    )
                )
            if reselect:
                held += out
            else:
                writer.write(out)
            rows += len(out)
        reselected = None
        if reselect:
            stats: Counter = Counter()
            held = reselect_samples(held, problems, selection, stats)
            for start in range(0, len(held), BATCH):
                writer.write(held[start : start + BATCH])
            reselected = _diff(old_state, held)
            reselected["filter_stats"] = dict(sorted(stats.items()))
            newly, dropped = reselected["added"], reselected["removed"]
        writer.count("rows", rows)
        writer.extra["regraded"] = {
            "from": str(version),
            "verifiers": [{"name": v.name, "version": v.version} for v in verifiers],
            "checkers_before": [{"name": n, "version": ver} for n, ver in sorted(before)],
            "verdict_changes": {k: v for k, v in changes.items() if v},
            "dropped_by_regrade": dropped,
            "newly_correct_unkept": newly,
            "reselected": reselect,
        }
    result = f"{writer.name}@v{writer.version}"
    if reselect:
        reselected = {
            "sft": _publish_sft(
                wh,
                sft_name or default_sft,
                result,
                problems_ref,
                manifest,
                held,
                problems,
                {**reselected, "samples_from": str(version)},
                verifiers[0].name,
            ),
            **reselected,
        }
    return RegradeReport(
        str(version),
        result,
        {k: v for k, v in sorted(changes.items()) if v},
        rows,
        0 if reselect else newly,
        dropped,
        reselected,
    )


def _publish_sft(
    wh,
    name: str,
    samples_ref: str,
    problems_ref: str,
    manifest,
    samples: list[SampleRecord],
    problems: dict[str, ProblemRecord],
    reselected: dict,
    graded_by: str,
) -> str:
    from starmill.filters.selection import mean_tokens
    from starmill.grading.audit import audit_for_config
    from starmill.warehouse.publish import difficulty_key, sft_rows

    rows = sft_rows(samples, problems, first_pass_rates(samples), {}, mean_tokens(samples))  # as a run's rows
    if ((manifest.config or {}).get("selection") or {}).get("order") == "easy_to_hard":
        rows.sort(key=lambda r: difficulty_key(r.pass_rate, r.teacher_tokens, r.problem_id))  # as a run sorts
    extra = {k: v for k, v in (manifest.model_extra or {}).items() if k not in ("regraded", "reselected", "audit")}
    extra["reselected"] = reselected
    audit = audit_for_config(
        (manifest.config or {}).get("audit"),
        [r.to_row() for r in rows],
        problems,
        {s.sample_id: s.verdicts[0]["verdict"] for s in samples if s.kept and s.verdicts},
        graded_by=graded_by,
    )
    if audit:
        extra["audit"] = audit
    with wh.writer(
        name,
        "sft",
        parents=[samples_ref, problems_ref],
        config=manifest.config,
        sources=manifest.sources,
        models=manifest.models,
        sampling=manifest.sampling,
        partial=manifest.partial,
        extra=extra,
    ) as writer:
        writer.write(rows)
        writer.count("rows", len(rows))
        for reason, count in reselected["drops_after"].items():
            writer.drop(reason, count)
    return f"{writer.name}@v{writer.version}"
