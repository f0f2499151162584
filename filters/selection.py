"""Selection: per-sample filters, then a per-problem selector, as plain objects over sample records.

``Selection`` composes them (built from the run config's ``selection:`` section by name): every sample
leaves with ``kept`` or a ``drop_reason``; a wrong answer is dropped first, with its verdict as the
reason. Selectors are registered by name like filters and chosen by ``selection.strategy``:
``distinct_correct`` (``reject``) is rejection sampling (up to k correct, distinct samples);
``majority`` keeps those of the largest answer cluster; ``best_of_n`` ranks by a scorer's value;
``weighted_best_of_n`` sums the values over equivalent answers. ``DifficultyBand`` then drops the kept
samples of problems outside a pass-rate band (``selection.difficulty``). Answer clustering, self-consistency
labels and pass rates are plain functions here too (``starmill eval`` uses the same ones).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from starmill.filters.quality import FilterContext, SampleFilter, bounded, get_filter
from starmill.schemas import ProblemRecord, SampleRecord
from starmill.schemas.registry import Registry
from starmill.schemas.samples import Stage

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
    return [
        s if s.correct or s.drop_reason else replace(s, kept=False, drop_reason=correctness_reason(s)) for s in samples
    ]


def pass_rates(samples: Iterable[SampleRecord]) -> dict[str, float]:
    """Per problem: the share of correct first-stage samples (an unbiased pass@1 estimate)."""
    total, right = Counter(), Counter()
    for s in samples:
        if s.stage == Stage.RATIONALE:
            total[s.problem_id] += 1
            right[s.problem_id] += s.correct
    return {p: right[p] / total[p] for p in total}


def first_pass_rates(samples: Iterable[SampleRecord]) -> dict[str, float]:
    """Per problem: the share of correct iteration-0 rationales (what an sft row's ``pass_rate`` holds)."""
    return pass_rates(s for s in samples if s.iteration == 0)


def mean_tokens(samples: Iterable[SampleRecord]) -> dict[str, float]:
    """Per problem: the teacher's mean completion tokens on its iteration-0 rationales (with the pass
    rate, the problem's difficulty: a problem solved as often but with longer answers is harder)."""
    total, tokens = Counter(), Counter()
    for s in samples:
        if s.stage == Stage.RATIONALE and s.iteration == 0:
            total[s.problem_id] += 1
            tokens[s.problem_id] += s.completion_tokens
    return {p: tokens[p] / total[p] for p in total}


class DifficultyBand:
    """Keeps the selected samples of problems whose pass rate lies from ``min_pass_rate`` to
    ``max_pass_rate`` (both ends kept), as RL recipes drop the always- and never-solved problems; a kept
    sample of a problem above the band is dropped as ``too_easy``, below it as ``too_hard``."""

    name = "difficulty"

    def __init__(self, min_pass_rate: float = 0.0, max_pass_rate: float = 1.0):
        low = bounded("selection.difficulty: min_pass_rate", min_pass_rate, 0, 1, integer=False)
        high = bounded("selection.difficulty: max_pass_rate", max_pass_rate, 0, 1, integer=False)
        if low > high:
            raise ValueError(f"selection.difficulty: min_pass_rate {low:g} is above max_pass_rate {high:g}")
        self.min_pass_rate, self.max_pass_rate = low, high

    def reason(self, rate: float) -> str | None:
        return "too_easy" if rate > self.max_pass_rate else "too_hard" if rate < self.min_pass_rate else None

    def apply(
        self, samples: Sequence[SampleRecord], rates: dict[str, float], stats: Counter | None = None
    ) -> list[SampleRecord]:
        """``samples`` with every kept one outside the band dropped; a problem without a rate counts 0.0,
        as its sft rows would say."""
        out = []
        for s in samples:
            reason = self.reason(rates.get(s.problem_id, 0.0)) if s.kept else None
            if stats is not None and s.kept:
                stats[f"{self.name}.dropped_{reason}" if reason else f"{self.name}.kept"] += 1
            out.append(replace(s, kept=False, drop_reason=reason) if reason else s)
        return out


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


def answers_equivalent(a: str, b: str) -> bool:
    """Two extracted answers are one answer: the same after folding, or equal by the answer checker."""
    if _answer_key(a) == _answer_key(b):
        return True
    from starmill.filters.answers import check_answer

    return check_answer(a, b, pred_is_answer=True).correct


Equivalent = Callable[[str, str], bool]


def cluster_answers(answers: Sequence[str | None], equivalent: Equivalent = answers_equivalent) -> list[list[int]]:
    """Indexes of ``answers`` grouped by equivalence (each compared with a cluster's first answer),
    clusters in the order their first answer appears; an empty answer is in none."""
    clusters: list[list[int]] = []
    for i, answer in enumerate(answers):
        if not answer:
            continue
        for cluster in clusters:
            first = answers[cluster[0]]
            if answer == first or equivalent(first, answer):
                cluster.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def majority_choice(answers: Sequence[str | None], equivalent: Equivalent = answers_equivalent) -> list[int]:
    """The indexes of the largest cluster (a tie goes to the answer seen first); [] with no answers."""
    clusters = cluster_answers(answers, equivalent)
    return max(clusters, key=len) if clusters else []  # max keeps the first of equal sizes


def weighted_choice(
    answers: Sequence[str | None], scores: Sequence[float], equivalent: Equivalent = answers_equivalent
) -> list[int]:
    """The indexes of the cluster with the largest sum of scores (weighted best-of-N; a tie goes to the
    answer seen first); [] with no answers."""
    clusters = cluster_answers(answers, equivalent)
    return max(clusters, key=lambda c: sum(scores[i] for i in c)) if clusters else []


def best_choice(scores: Sequence[float]) -> int | None:
    """The index of the highest score (the first of equal ones); None when there are none."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else None


class Selector:
    """Decides, for the samples of one problem, which are kept; every other one gets its reason.
    ``before`` are samples of the problem kept earlier (an earlier round): they count toward k and
    for duplicates, and are not returned."""

    name: ClassVar[str]
    takes_before: ClassVar[bool] = False  # whether it can select round by round (adaptive budgets)

    def select(self, samples: Sequence[SampleRecord], before: Sequence[SampleRecord] = ()) -> list[SampleRecord]:
        raise NotImplementedError


SELECTORS: Registry[Selector] = Registry("selector")


MAX_K = 1_000_000  # the most samples a selector keeps per problem (config bounds selection.k tighter)


def distinct_options(selector: str, k: Any, near_duplicate_threshold: Any) -> tuple[int, float]:
    """``(k, near_duplicate_threshold)`` checked: k from 1, the threshold in (0, 1]."""
    k = bounded(f"selector {selector!r}: k", k, 1, MAX_K)
    threshold = bounded(
        f"selector {selector!r}: near_duplicate_threshold", near_duplicate_threshold, 0, 1, integer=False
    )
    if threshold == 0:
        raise ValueError(
            f"selector {selector!r}: near_duplicate_threshold must be above 0 (0 calls every pair "
            "of samples a duplicate)"
        )
    return k, threshold


def compared_text(sample: SampleRecord) -> str:
    """What duplicates are judged on: a code sample's normalized program (``filters.code.normalize``: local
    names, docstrings and comments do not count), else the whole output."""
    if sample.verdicts and sample.verdicts[0].get("checker") == "code":
        from starmill.filters.code.normalize import normalized_program

        program = normalized_program(sample.extracted_answer)
        if program is not None:
            return program
    return sample.output_text()


class _Distinct:
    """Up to k samples of ``candidates`` in order, none a duplicate or near duplicate of another kept one
    (or of one in ``before``); the reason of each that is not kept."""

    def __init__(self, k: int, near_duplicate_threshold: float):
        self.k, self.near_duplicate_threshold = k, near_duplicate_threshold

    def reasons(
        self, candidates: Sequence[SampleRecord], before: Sequence[SampleRecord] = (), over: str = "over_k"
    ) -> dict[str, str | None]:
        kept_texts = {_normal(compared_text(s)) for s in before}
        kept_shingles = [shingles(compared_text(s)) for s in before]
        count, out = len(before), {}
        for s in candidates:
            text = compared_text(s)
            normal, grams = _normal(text), shingles(text)
            if normal in kept_texts:
                reason = "duplicate"
            elif any(jaccard(grams, other) >= self.near_duplicate_threshold for other in kept_shingles):
                reason = "near_duplicate"
            elif count >= self.k:
                reason = over
            else:
                reason = None
                count += 1
                kept_texts.add(normal)
                kept_shingles.append(grams)
            out[s.sample_id] = reason
        return out


def _finish(samples: Sequence[SampleRecord], reasons: dict[str, str | None]) -> list[SampleRecord]:
    """Every sample in selection order with ``kept`` and its reason (already dropped ones stay dropped)."""
    out = []
    for s in sorted(samples, key=_order):
        if s.drop_reason is not None or s.sample_id not in reasons:
            out.append(replace(s, kept=False))
        else:
            out.append(replace(s, kept=reasons[s.sample_id] is None, drop_reason=reasons[s.sample_id]))
    return out


def _alive(samples: Sequence[SampleRecord]) -> list[SampleRecord]:
    """Samples sorted by selection order, correctness marked; the caller filters for ``drop_reason``."""
    return sorted(mark_incorrect(samples), key=_order)


def _scores(samples: Sequence[SampleRecord], scorer: str, selector: str) -> list[float]:
    from starmill.filters.scorers import score_of

    values = []
    for s in samples:
        value = score_of(s, scorer)
        if value is None:
            raise ValueError(
                f"selector {selector!r}: sample {s.sample_id} has no {scorer!r} score (list the scorer under scorers:)"
            )
        values.append(value)
    return values


@SELECTORS.register
class DistinctCorrect(Selector):
    """Rejection sampling: up to ``k`` correct, distinct samples. Earlier stages, iterations and sample
    indexes win; exact duplicates (after whitespace and case folding) and near duplicates (word 5-gram
    Jaccard >= threshold against a kept sample) are dropped, then all beyond ``k``. Duplicates are
    judged on the whole output, so rationales that differ before the same answer are distinct."""

    name = "distinct_correct"
    takes_before = True

    def __init__(self, k: int = 2, near_duplicate_threshold: float = 0.9):
        self.k, self.near_duplicate_threshold = distinct_options(self.name, k, near_duplicate_threshold)

    def select(self, samples, before=()):
        marked = _alive(samples)
        alive = [s for s in marked if s.drop_reason is None]
        return _finish(marked, _Distinct(self.k, self.near_duplicate_threshold).reasons(alive, before))


@SELECTORS.register
class Majority(Selector):
    """Self-consistency: every sample with an extracted answer votes; answers are clustered by checker
    equivalence, and up to ``k`` distinct correct samples of the largest cluster are kept. Correct
    samples of another answer are dropped as ``not_majority`` (so a wrong majority keeps nothing)."""

    name = "majority"

    def __init__(self, k: int = 2, near_duplicate_threshold: float = 0.9):
        self.k, self.near_duplicate_threshold = distinct_options(self.name, k, near_duplicate_threshold)

    def select(self, samples, before=()):
        marked = _alive(samples)
        winners = {marked[i].sample_id for i in majority_choice([s.extracted_answer for s in marked])}
        alive = [s for s in marked if s.drop_reason is None]
        distinct = _Distinct(self.k, self.near_duplicate_threshold)
        reasons = distinct.reasons([s for s in alive if s.sample_id in winners])
        reasons.update({s.sample_id: "not_majority" for s in alive if s.sample_id not in winners})
        return _finish(marked, reasons)


@SELECTORS.register
class BestOfN(Selector):
    """Best-of-N: the top ``k`` correct, distinct samples by ``scorer``'s value (ties: selection order);
    the other correct ones are dropped as ``lower_score``."""

    name = "best_of_n"

    def __init__(self, k: int = 2, scorer: str = "steps", near_duplicate_threshold: float = 0.9):
        self.scorer = scorer
        self.k, self.near_duplicate_threshold = distinct_options(self.name, k, near_duplicate_threshold)

    def select(self, samples, before=()):
        marked = _alive(samples)
        alive = [s for s in marked if s.drop_reason is None]
        values = dict(zip((s.sample_id for s in alive), _scores(alive, self.scorer, self.name)))
        ranked = sorted(alive, key=lambda s: -values[s.sample_id])  # stable: ties keep selection order
        return _finish(marked, _Distinct(self.k, self.near_duplicate_threshold).reasons(ranked, over="lower_score"))


@SELECTORS.register
class WeightedBestOfN(Selector):
    """Weighted best-of-N: every sample with an extracted answer adds its ``scorer`` value to its answer
    (clustered by checker equivalence); up to ``k`` correct, distinct samples of the best answer are kept,
    best score first. Correct samples of another answer are dropped as ``not_best_answer``."""

    name = "weighted_best_of_n"

    def __init__(self, k: int = 2, scorer: str = "steps", near_duplicate_threshold: float = 0.9):
        self.scorer = scorer
        self.k, self.near_duplicate_threshold = distinct_options(self.name, k, near_duplicate_threshold)

    def select(self, samples, before=()):
        marked = _alive(samples)
        voters = [s for s in marked if s.extracted_answer]
        values = dict(zip((s.sample_id for s in voters), _scores(voters, self.scorer, self.name)))
        best = weighted_choice([s.extracted_answer for s in voters], [values[s.sample_id] for s in voters])
        winners = {voters[i].sample_id for i in best}
        alive = [s for s in marked if s.drop_reason is None]
        ranked = sorted((s for s in alive if s.sample_id in winners), key=lambda s: -values[s.sample_id])
        reasons = _Distinct(self.k, self.near_duplicate_threshold).reasons(ranked)
        reasons.update({s.sample_id: "not_best_answer" for s in alive if s.sample_id not in winners})
        return _finish(marked, reasons)


STRATEGIES = {
    "reject": None,
    "majority": "majority",
    "best_of_n": "best_of_n",
    "weighted_best_of_n": "weighted_best_of_n",
}  # selection.strategy -> selector (reject: selection.selector)


def get_selector(name: str, options: dict[str, Any] | None = None) -> Selector:
    """A new selector ``name`` with ``options``; an unknown name or option raises ValueError."""
    return SELECTORS.make(name, options)


def by_problem(samples: Iterable[SampleRecord]) -> dict[str, list[SampleRecord]]:
    groups: dict[str, list[SampleRecord]] = defaultdict(list)
    for s in samples:
        groups[s.problem_id].append(s)
    return groups


class Selection:
    """Correctness, the per-sample filters in order, the selector per problem, then the difficulty band if
    any. ``stats`` counts ``<filter>.kept`` and ``<filter>.dropped_<reason>`` (datatrove's names)."""

    def __init__(self, filters: Sequence[SampleFilter], selector: Selector, difficulty: DifficultyBand | None = None):
        self.filters, self.selector, self.difficulty = list(filters), selector, difficulty

    @classmethod
    def build(
        cls,
        filters: Sequence[tuple[str, dict[str, Any]]],
        selector: tuple[str, dict[str, Any]],
        context: FilterContext = FilterContext(),  # noqa: B008  frozen, so one shared default is safe
        difficulty: dict[str, Any] | None = None,
    ) -> Selection:
        band = DifficultyBand(**difficulty) if difficulty is not None else None
        return cls([get_filter(name, options, context) for name, options in filters], get_selector(*selector), band)

    def apply(
        self,
        samples: Iterable[SampleRecord],
        problems: dict[str, ProblemRecord],
        stats: Counter | None = None,
        before: dict[str, list[SampleRecord]] | None = None,
        rates: dict[str, float] | None = None,
    ) -> list[SampleRecord]:
        """``samples`` must hold every sample of each problem they name (the selector sees them together),
        or, round by round, the new ones with the problem's kept samples so far in ``before``. The
        difficulty band reads ``rates`` (problem -> pass rate), else the rates of ``samples``."""
        kept = self._select(samples, problems, stats, before)
        if self.difficulty is None:
            return kept
        return self.difficulty.apply(kept, first_pass_rates(kept) if rates is None else rates, stats)

    def _select(self, samples, problems, stats, before) -> list[SampleRecord]:
        checked = mark_incorrect(samples)
        for f in self.filters:
            checked = f.apply(checked, problems, stats)
        groups, before = by_problem(checked), before or {}
        if any(before.values()) and not self.selector.takes_before:
            raise ValueError(f"selector {self.selector.name!r} cannot select round by round")
        return [
            s
            for problem_id in sorted(groups)
            for s in self.selector.select(groups[problem_id], before.get(problem_id, ()))
        ]


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
