"""The scorer interface: ``Score``, ``Scorer`` (one sample, or many at once), the registry scorers are
chosen from by name (``get_scorer``), per-step aggregation, and scores stored on samples."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from starmill.schemas import ProblemRecord, SampleRecord
from starmill.schemas.errors import StarmillError
from starmill.schemas.registry import Registry

AGGREGATES = ("min", "last", "product", "mean")


@dataclass(frozen=True)
class Score:
    value: float
    steps: tuple[float, ...] | None = None  # a process scorer's per-step values


class ScorerError(StarmillError, ValueError):
    """A scorer that cannot be built or used as configured (a bad option, a model that is no reward model)."""


class Scorer:
    """Scores one sample of one problem; subclasses set ``name`` and ``version`` and implement ``score``
    or, to batch (a model), ``score_many``."""

    name: ClassVar[str]
    version: ClassVar[str]

    def score(self, problem: ProblemRecord, sample: SampleRecord) -> Score:
        return self.score_many([(problem, sample)])[0]

    def score_many(self, items: Sequence[tuple[ProblemRecord, SampleRecord]]) -> list[Score]:
        return [self.score(problem, sample) for problem, sample in items]

    def row(self, problem: ProblemRecord, sample: SampleRecord) -> dict[str, Any]:
        return self.as_row(self.score(problem, sample))

    def as_row(self, found: Score) -> dict[str, Any]:
        return {
            "scorer": self.name,
            "version": self.version,
            "value": float(found.value),
            "steps": None if found.steps is None else [float(v) for v in found.steps],
        }


SCORERS: Registry[Scorer] = Registry("scorer")


def aggregate(values: Sequence[float], how: str) -> float:
    """One value of per-step values; no steps at all is 1.0 (nothing was found wrong)."""
    if not values:
        return 1.0
    if how == "min":
        return min(values)
    if how == "last":
        return values[-1]
    if how == "product":
        return math.prod(values)
    return sum(values) / len(values)


def check_aggregate(scorer: str, how: str) -> str:
    if how not in AGGREGATES:
        raise ScorerError(f"scorer {scorer!r}: aggregate {how!r} is not one of {', '.join(AGGREGATES)}")
    return how


def available() -> list[str]:
    return SCORERS.names()


def get_scorer(name: str, options: dict[str, Any] | None = None) -> Scorer:
    """A new scorer ``name`` with ``options``; an unknown name or a bad option raises ScorerError.
    Model scorers load nothing here (their model loads on first use, once per process)."""
    try:
        return SCORERS.make(name, options)
    except ScorerError:
        raise
    except ValueError as exc:
        raise ScorerError(str(exc)) from None


def score_samples(
    samples: Iterable[SampleRecord], problems: dict[str, ProblemRecord], scorers: Sequence[Scorer]
) -> list[SampleRecord]:
    """Samples with one ``scores`` row per scorer (a scorer's earlier row on a sample is replaced)."""
    if not scorers:
        return list(samples)
    samples = list(samples)
    names = {s.name for s in scorers}
    items = [(problems[s.problem_id], s) for s in samples]
    found = [[scorer.as_row(score) for score in scorer.score_many(items)] for scorer in scorers]  # batched
    out = []
    for i, sample in enumerate(samples):
        rows = [r for r in sample.scores or [] if r["scorer"] not in names]
        out.append(replace(sample, scores=rows + [per_scorer[i] for per_scorer in found]))
    return out


def score_of(sample: SampleRecord, scorer: str) -> float | None:
    """The value ``scorer`` gave ``sample``, or None when it did not score it."""
    for row in sample.scores or []:
        if row["scorer"] == scorer:
            return row["value"]
    return None
