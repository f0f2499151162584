"""Scorers: a number for a sample, and per-step numbers for a process scorer, stored in its ``scores``.

    scorer = get_scorer("steps", {"aggregate": "min"})
    scorer.score(problem, sample)          # Score(value=0.0, steps=(1.0, 0.0))
    samples = score_samples(samples, problems, [scorer])   # each sample's ``scores`` row set

Built in: ``steps``, the symbolic step checker (``filters.steps``) as a rule-based process scorer;
``orm`` and ``prm``, reward models starmill trained (``reward``; their models: ``reward_models``,
``reward_vllm``); ``llm_judge``, a generative judge, registers from ``starmill.adapters.judge`` (it runs
through a generation backend, which filters may not import). A scorer registers where its class is defined
(``@SCORERS.register``); this package imports its own modules once, so every built-in is known.
A bad name or option raises ``ScorerError`` (a ``ValueError`` and a ``StarmillError``): one clear line.
"""

from starmill.filters.scorers import reward, steps  # noqa: F401  (the built-ins register where defined)
from starmill.filters.scorers.base import (
    AGGREGATES,
    SCORERS,
    Score,
    Scorer,
    ScorerError,
    aggregate,
    available,
    check_aggregate,
    get_scorer,
    score_of,
    score_samples,
)
from starmill.filters.scorers.reward import OrmScorer, PrmScorer
from starmill.filters.scorers.steps import StepsScorer

__all__ = [
    "AGGREGATES",
    "SCORERS",
    "OrmScorer",
    "PrmScorer",
    "Score",
    "Scorer",
    "ScorerError",
    "StepsScorer",
    "aggregate",
    "available",
    "check_aggregate",
    "get_scorer",
    "score_of",
    "score_samples",
]
