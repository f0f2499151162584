"""The scorer interface: ``Score``, ``Scorer`` (one sample, or many at once), the registry scorers are
chosen from by name, and per-step aggregation. The scorers themselves: ``filters.scorers``."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

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
        return {"scorer": self.name, "version": self.version, "value": float(found.value),
                "steps": None if found.steps is None else [float(v) for v in found.steps]}


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
