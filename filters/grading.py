"""Grade samples against gold answers (or self-consistency pseudo-labels) with the answer checker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from starmill.schemas import ProblemRecord, SampleRecord


def grade(
    samples: Sequence[SampleRecord],
    problems: dict[str, ProblemRecord],
    *,
    workers: int = 1,
    timeout: float = 5.0,
    labels: dict[str, str] | None = None,
    progress: bool = False,
    verifiers: Sequence | None = None,
) -> list[SampleRecord]:
    """Samples with their verdict, extracted answer and ``correct`` flag set.

    ``labels`` gives a pseudo gold answer for problems without one (self-consistency); a problem with
    neither is graded against its empty gold, which the checker reports as ``unparseable_gold``.
    ``verifiers`` (``filters.verifiers``), when given, grade instead of the plain checker: every one
    stores its verdict, the first decides ``correct``.
    """
    from starmill.filters.answers import check_batch

    labels = labels or {}
    if isinstance(verifiers, Mapping):  # a run over many sources: each problem's source has its verifiers
        return _grade_by_source(samples, problems, verifiers, workers=workers, timeout=timeout, labels=labels)
    if verifiers:
        return _grade_with(samples, problems, labels, list(verifiers))
    pairs = [(problems[s.problem_id].gold_answer or labels.get(s.problem_id, ""), s.completion) for s in samples]
    verdicts = check_batch(pairs, workers=workers, timeout=timeout)
    if progress:
        from tqdm.auto import tqdm

        verdicts = tqdm(verdicts, total=len(pairs), desc="check answers", unit="sample")
    graded = []
    for sample, verdict in zip(samples, verdicts):
        graded.append(
            replace(sample, extracted_answer=verdict.pred, verdicts=[verdict.to_row()], correct=verdict.correct)
        )
    return graded


def _grade_by_source(samples, problems, by_source: Mapping, **options) -> list[SampleRecord]:
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(problems[s.problem_id].source, []).append(i)
    graded: list[SampleRecord | None] = [None] * len(samples)
    for source, indexes in groups.items():
        if source not in by_source:
            raise KeyError(f"no verifiers for source {source!r} (known: {', '.join(sorted(by_source))})")
        done = grade([samples[i] for i in indexes], problems, verifiers=by_source[source], **options)
        for i, sample in zip(indexes, done):
            graded[i] = sample
    return graded


def _grade_with(samples, problems, labels, verifiers) -> list[SampleRecord]:
    from starmill.filters.verifiers.base import label_gold

    def problem_of(s, verifier):
        problem = problems[s.problem_id]
        label = "" if problem.gold_answer else label_gold(verifier, labels.get(s.problem_id))
        return replace(problem, gold_answer=label) if label else problem

    per_verifier = [list(v.verify_batch([(problem_of(s, v), s.completion) for s in samples])) for v in verifiers]
    graded = []
    for i, sample in enumerate(samples):
        primary = per_verifier[0][i]
        graded.append(
            replace(
                sample,
                extracted_answer=primary.pred,
                correct=primary.correct,
                verdicts=[verdicts[i].to_row() for verdicts in per_verifier],
            )
        )
    return graded


def extracted_answers(samples: Sequence[SampleRecord]) -> list[SampleRecord]:
    """Samples with ``extracted_answer`` filled in, without grading (for majority votes)."""
    from starmill.filters.answers import extract_answer

    return [replace(s, extracted_answer=extract_answer(s.completion).answer) for s in samples]
