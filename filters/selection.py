"""Selection: per-sample filters, then a per-problem selector, as plain objects over sample records.

``Selection`` composes them (built from the run config's ``selection:`` section by name): every sample
leaves with ``kept`` or a ``drop_reason``; a wrong answer is dropped first, with its verdict as the
reason. Selectors are registered by name like filters: ``distinct_correct`` is rejection sampling
(up to k correct, distinct samples), a later best-of-N ranks by a score. Self-consistency and pass
rates are plain functions here too.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any, ClassVar, Iterable, Sequence

from filters.quality import FilterContext, SampleFilter, get_filter
from schemas import ProblemRecord, SampleRecord
from schemas.registry import Registry
from schemas.samples import Stage

STAGE_ORDER = {Stage.RATIONALE: 0, Stage.RATIONALIZATION: 1}


def first_verdict(sample: SampleRecord) -> str | None:
    return sample.verdicts[0]["verdict"] if sample.verdicts else None


def correctness_reason(sample: SampleRecord) -> str | None:
    """Why a sample is not a correct one: its verdict (``wrong_answer`` for a plain wrong answer)."""
    if sample.correct:
        return None
    verdict = first_verdict(sample)
    return "wrong_answer" if verdict in (None, "wrong") else verdict


def mark_incorrect(samples: Iterable[SampleRecord]) -> list[SampleRecord]:
    return [s if s.correct or s.drop_reason else replace(s, kept=False, drop_reason=correctness_reason(s))
            for s in samples]


def pass_rates(samples: Iterable[SampleRecord]) -> dict[str, float]:
    """Per problem: the share of correct first-stage samples (an unbiased pass@1 estimate)."""
    total, right = Counter(), Counter()
    for s in samples:
        if s.stage == Stage.RATIONALE:
            total[s.problem_id] += 1
            right[s.problem_id] += s.correct
    return {p: right[p] / total[p] for p in total}


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021) from n samples with c correct."""
    if c == 0:
        return 0.0  # also when n < k (a refused request leaves one sample)
    if n - c < k:
        return 1.0
    result = 1.0
    for i in range(n - c + 1, n + 1):
        result *= 1 - k / i
    return 1 - result


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def shingles(text: str, size: int = 5) -> set[str]:
    words = _normal(text).split(" ")
    if len(words) < size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _order(sample: SampleRecord) -> tuple:
    return (STAGE_ORDER.get(sample.stage, 9), sample.iteration, sample.sample_index, sample.sample_id)


class Selector:
    """Decides, for the samples of one problem, which are kept; every other one gets its reason."""

    name: ClassVar[str]

    def select(self, samples: Sequence[SampleRecord]) -> list[SampleRecord]:
        raise NotImplementedError


SELECTORS: Registry[Selector] = Registry("selector")


@SELECTORS.register
class DistinctCorrect(Selector):
    """Rejection sampling: up to ``k`` correct, distinct samples. Earlier stages, iterations and sample
    indexes win; exact duplicates (after whitespace and case folding) and near duplicates (word 5-gram
    Jaccard >= threshold against a kept sample) are dropped, then all beyond ``k``. Duplicates are
    judged on the whole output, so rationales that differ before the same answer are distinct."""

    name = "distinct_correct"

    def __init__(self, k: int = 2, near_duplicate_threshold: float = 0.9):
        self.k, self.near_duplicate_threshold = k, near_duplicate_threshold

    def select(self, samples):
        kept_texts: set[str] = set()
        kept_shingles: list[set[str]] = []
        out = []
        for s in sorted(samples, key=_order):
            if s.drop_reason is None and not s.correct:
                s = replace(s, kept=False, drop_reason=correctness_reason(s))
            if s.drop_reason is not None:
                out.append(replace(s, kept=False))
                continue
            text = s.output_text()
            normal, grams = _normal(text), shingles(text)
            if normal in kept_texts:
                reason = "duplicate"
            elif any(jaccard(grams, other) >= self.near_duplicate_threshold for other in kept_shingles):
                reason = "near_duplicate"
            elif len(kept_texts) >= self.k:
                reason = "over_k"
            else:
                reason = None
            if reason is None:
                kept_texts.add(normal)
                kept_shingles.append(grams)
            out.append(replace(s, kept=reason is None, drop_reason=reason))
        return out


def get_selector(name: str, options: dict[str, Any] | None = None) -> Selector:
    """A new selector ``name`` with ``options``; an unknown name or option raises ValueError."""
    return SELECTORS.make(name, options)


def by_problem(samples: Iterable[SampleRecord]) -> dict[str, list[SampleRecord]]:
    groups: dict[str, list[SampleRecord]] = defaultdict(list)
    for s in samples:
        groups[s.problem_id].append(s)
    return groups


class Selection:
    """Correctness, the per-sample filters in order, then the selector per problem. ``stats`` counts
    ``<filter>.kept`` and ``<filter>.dropped_<reason>`` (datatrove's names)."""

    def __init__(self, filters: Sequence[SampleFilter], selector: Selector):
        self.filters, self.selector = list(filters), selector

    @classmethod
    def build(cls, filters: Sequence[tuple[str, dict[str, Any]]], selector: tuple[str, dict[str, Any]],
              context: FilterContext = FilterContext()) -> "Selection":
        return cls([get_filter(name, options, context) for name, options in filters], get_selector(*selector))

    def apply(self, samples: Iterable[SampleRecord], problems: dict[str, ProblemRecord],
              stats: Counter | None = None) -> list[SampleRecord]:
        """``samples`` must hold every sample of each problem they name (the selector sees them together)."""
        checked = mark_incorrect(samples)
        for f in self.filters:
            checked = f.apply(checked, problems, stats)
        groups = by_problem(checked)
        return [s for problem_id in sorted(groups) for s in self.selector.select(groups[problem_id])]


def select(samples: Iterable[SampleRecord], k: int, near_duplicate_threshold: float) -> list[SampleRecord]:
    """``distinct_correct`` over every problem of ``samples`` (already filtered samples stay dropped)."""
    selector = DistinctCorrect(k, near_duplicate_threshold)
    groups = by_problem(samples)
    return [s for problem_id in sorted(groups) for s in selector.select(groups[problem_id])]


def _answer_key(answer: str) -> str:
    return re.sub(r"\s+|\\[,;! ]|\.$", "", answer.strip()).replace("{,}", "").lower()


def majority_labels(samples: Iterable[SampleRecord], threshold: float) -> dict[str, tuple[str, float]]:
    """Self-consistency: per problem, the majority extracted answer and its share, when the share
    reaches ``threshold`` (problems without a clear majority get no pseudo-label)."""
    votes: dict[str, Counter] = defaultdict(Counter)
    first_form: dict[tuple[str, str], str] = {}
    totals: Counter = Counter()
    for s in samples:
        totals[s.problem_id] += 1
        if s.extracted_answer:
            key = _answer_key(s.extracted_answer)
            votes[s.problem_id][key] += 1
            first_form.setdefault((s.problem_id, key), s.extracted_answer)
    labels = {}
    for problem_id, counter in votes.items():
        key, count = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        share = count / totals[problem_id]
        if share >= threshold:
            labels[problem_id] = (first_form[(problem_id, key)], share)
    return labels
