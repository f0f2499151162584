"""``steps``: the symbolic step checker (``filters.steps``) as a rule-based process scorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starmill.filters.scorers.base import SCORERS, Score, Scorer, aggregate, check_aggregate


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
