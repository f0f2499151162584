"""Scorers: a number for a sample, and per-step numbers for a process scorer, stored in its ``scores``.

    scorer = get_scorer("steps", {"aggregate": "min"})
    scorer.score(problem, sample)          # Score(value=0.0, steps=(1.0, 0.0))
    samples = score_samples(samples, problems, [scorer])   # each sample's ``scores`` row set

Built in: ``steps``, the symbolic step checker (``filters.steps``) as a rule-based process scorer.
``orm``, ``prm`` and ``llm_judge`` (reward models, a generative judge) are named but not built yet:
asking for them raises a ``ValueError`` that says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Iterable, Sequence

from schemas import ProblemRecord, SampleRecord
from schemas.registry import Registry

FUTURE = {"orm": "a sequence-classification reward model", "prm": "a process reward model",
          "llm_judge": "a generative judge"}
AGGREGATES = ("min", "last", "product", "mean")


@dataclass(frozen=True)
class Score:
    value: float
    steps: tuple[float, ...] | None = None  # a process scorer's per-step values


class Scorer:
    """Scores one sample of one problem; subclasses set ``name`` and ``version``."""

    name: ClassVar[str]
    version: ClassVar[str]

    def score(self, problem: ProblemRecord, sample: SampleRecord) -> Score:
        raise NotImplementedError

    def row(self, problem: ProblemRecord, sample: SampleRecord) -> dict[str, Any]:
        found = self.score(problem, sample)
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


@SCORERS.register
class StepsScorer(Scorer):
    """Every arithmetic claim of the whole output checked exactly: 1.0 per right claim, 0.0 per wrong
    one, aggregated by ``aggregate`` (min: any wrong step scores 0)."""

    name = "steps"
    version = "1"

    def __init__(self, aggregate: str = "min"):
        if aggregate not in AGGREGATES:
            raise ValueError(f"scorer 'steps': aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}")
        self.aggregate = aggregate

    def score(self, problem, sample):
        from filters.steps import check_steps

        steps = tuple(1.0 if c.verdict == "ok" else 0.0 for c in check_steps(sample.output_text()))
        return Score(aggregate(steps, self.aggregate), steps)


def available() -> list[str]:
    return SCORERS.names()


def get_scorer(name: str, options: dict[str, Any] | None = None) -> Scorer:
    """A new scorer ``name`` with ``options``; unknown names, options and future scorers raise ValueError."""
    if name in FUTURE and name not in SCORERS.classes:
        raise ValueError(f"scorer {name!r} ({FUTURE[name]}) is not available yet (available: "
                         f"{', '.join(available())})")
    return SCORERS.make(name, options)


def score_samples(samples: Iterable[SampleRecord], problems: dict[str, ProblemRecord],
                  scorers: Sequence[Scorer]) -> list[SampleRecord]:
    """Samples with one ``scores`` row per scorer (a scorer's earlier row on a sample is replaced)."""
    if not scorers:
        return list(samples)
    names = {s.name for s in scorers}
    out = []
    for sample in samples:
        problem = problems[sample.problem_id]
        rows = [r for r in sample.scores or [] if r["scorer"] not in names]
        out.append(replace(sample, scores=rows + [s.row(problem, sample) for s in scorers]))
    return out


def score_of(sample: SampleRecord, scorer: str) -> float | None:
    """The value ``scorer`` gave ``sample``, or None when it did not score it."""
    for row in sample.scores or []:
        if row["scorer"] == scorer:
            return row["value"]
    return None
