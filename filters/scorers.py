"""Scorers: a number for a sample, and per-step numbers for a process scorer, stored in its ``scores``.

    scorer = get_scorer("steps", {"aggregate": "min"})
    scorer.score(problem, sample)          # Score(value=0.0, steps=(1.0, 0.0))
    samples = score_samples(samples, problems, [scorer])   # each sample's ``scores`` row set

Built in: ``steps``, the symbolic step checker (``filters.steps``) as a rule-based process scorer;
``orm`` and ``prm``, reward models starmill trained (``filters.reward_scorers``); ``llm_judge``, a
generative judge, is registered by ``starmill.scorers`` (it runs through a generation backend).
A bad name or option raises ``ScorerError`` (a ``ValueError`` and a ``StarmillError``): one clear line.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Sequence

from starmill.filters import reward_scorers  # noqa: F401  (registers orm and prm)
from starmill.filters.scorer_base import (AGGREGATES, SCORERS, Score, Scorer, ScorerError, aggregate,  # noqa: F401
                                 check_aggregate)
from starmill.schemas import ProblemRecord, SampleRecord


@SCORERS.register
class StepsScorer(Scorer):
    """Every arithmetic claim of the whole output checked exactly: 1.0 per right claim, 0.0 per wrong
    one, aggregated by ``aggregate`` (min: any wrong step scores 0)."""

    name = "steps"
    version = "1"

    def __init__(self, aggregate: str = "min"):
        self.aggregate = check_aggregate("steps", aggregate)

    def score(self, problem, sample):
        return self.score_texts([sample.prompt], [sample.output_text()])[0]

    def score_texts(self, prompts: Sequence[Any], texts: Sequence[str]) -> list[Score]:
        """Any texts, partial paths too (the prompts are not needed: the claims are checked on their own)."""
        from starmill.filters.steps import check_steps

        out = []
        for text in texts:
            steps = tuple(1.0 if c.verdict == "ok" else 0.0 for c in check_steps(text))
            out.append(Score(aggregate(steps, self.aggregate), steps))
        return out


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


def score_samples(samples: Iterable[SampleRecord], problems: dict[str, ProblemRecord],
                  scorers: Sequence[Scorer]) -> list[SampleRecord]:
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
