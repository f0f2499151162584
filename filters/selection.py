"""Rejection sampling and self-consistency as plain functions over sample records."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Iterable

from schemas import SampleRecord

STAGE_ORDER = {"rationale": 0, "rationalization": 1}


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
        if s.stage == "rationale":
            total[s.problem_id] += 1
            right[s.problem_id] += s.correct
    return {p: right[p] / total[p] for p in total}


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021) from n samples with c correct."""
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


def select(samples: Iterable[SampleRecord], k: int, near_duplicate_threshold: float) -> list[SampleRecord]:
    """Keep up to ``k`` correct, distinct samples per problem; every other sample gets its reason.

    Samples that already carry a drop reason stay dropped. Among the rest, earlier stages, iterations
    and sample indexes win; exact duplicates (after whitespace and case folding) and near duplicates
    (word 5-gram Jaccard >= threshold against a kept sample) are dropped, then all beyond ``k``.
    """
    by_problem: dict[str, list[SampleRecord]] = defaultdict(list)
    for s in samples:
        by_problem[s.problem_id].append(s)
    out: list[SampleRecord] = []
    for problem_id in sorted(by_problem):
        kept_texts: set[str] = set()
        kept_shingles: list[set[str]] = []
        for s in sorted(by_problem[problem_id], key=_order):
            if s.drop_reason is None and not s.correct:
                s = replace(s, kept=False, drop_reason=correctness_reason(s))
            if s.drop_reason is not None:
                out.append(replace(s, kept=False))
                continue
            text = _normal(s.completion)
            grams = shingles(s.completion)
            if text in kept_texts:
                reason = "duplicate"
            elif any(jaccard(grams, other) >= near_duplicate_threshold for other in kept_shingles):
                reason = "near_duplicate"
            elif len(kept_texts) >= k:
                reason = "over_k"
            else:
                reason = None
            if reason is None:
                kept_texts.add(text)
                kept_shingles.append(grams)
                out.append(replace(s, kept=True, drop_reason=None))
            else:
                out.append(replace(s, kept=False, drop_reason=reason))
    return out


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
