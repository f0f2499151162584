"""What a tree search (``generators.strategies``: beam, dvts, mcts) is given from filters: a path
scorer, the answer extractor and, for data generation only, a reward from the gold answer.

The scorer sees the prompt and the path text, never the problem's gold answer. ``GoldReward`` is the
one hook that reads gold, and only ``starmill.build.tree_strategy(..., gold=problems)`` gives it
(``starmill run``'s MCTS with ``search.reward: score_and_answer``); eval builds its search with ``gold=None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starmill.schemas import ProblemRecord, SampleRecord


class PathScore:
    """A ``filters.scorers`` scorer as the search's ``score(prompts, texts) -> values`` (picklable)."""

    def __init__(self, scorer: Any):
        self.scorer = scorer
        self.identity = {"name": scorer.name, "version": scorer.version, "options": _options(scorer)}

    def __call__(self, prompts: Sequence[Sequence[dict]], texts: Sequence[str]) -> list[float]:
        if hasattr(self.scorer, "score_texts"):
            return [s.value for s in self.scorer.score_texts([list(p) for p in prompts], list(texts))]
        return [self.scorer.score(None, _as_sample(p, t)).value for p, t in zip(prompts, texts)]


def _options(scorer: Any) -> dict[str, Any]:
    """A scorer's settings as far as they are plain values (a reward model's folder, an aggregate)."""
    return {k: v for k, v in sorted(vars(scorer).items()) if isinstance(v, (str, int, float, bool, type(None)))}


def _as_sample(prompt: Sequence[dict], text: str) -> SampleRecord:
    """A partial path as the sample a scorer reads (nothing else of it is known yet)."""
    return SampleRecord(
        sample_id="",
        problem_id="",
        stage="rationale",
        iteration=0,
        sample_index=0,
        template_id="",
        template_hash="",
        prompt=[dict(m) for m in prompt],
        completion=text,
        reasoning=None,
        answer_text=None,
        extracted_answer=None,
        finish_reason="stop",
        prompt_tokens=0,
        completion_tokens=0,
        model="",
        model_revision=None,
        engine="",
        engine_version=None,
        sampling="{}",
        seed=None,
    )


class FinalAnswer:
    """The final answer a path has written, None while it has none (the answer checker's extractor)."""

    def __call__(self, text: str) -> str | None:
        from starmill.filters.answers.extract import extract_answer

        return extract_answer(text).answer


class GoldReward:
    """1.0 when a finished path's answer is the gold answer, else 0.0 (data generation only)."""

    identity = {"name": "gold_answer"}

    def __init__(self, problems: dict[str, ProblemRecord]):
        self.gold = {p: r.gold_answer for p, r in problems.items() if r.gold_answer}

    def narrowed(self, problem_ids: set[str]) -> GoldReward:
        """The same reward for ``problem_ids`` only (one shard's)."""
        shard = GoldReward({})
        shard.gold = {p: g for p, g in self.gold.items() if p in problem_ids}
        return shard

    def __call__(self, problem_id: str, text: str) -> float:
        from starmill.filters.answers import check_answer

        gold = self.gold.get(problem_id)
        return 1.0 if gold and check_answer(gold, text).correct else 0.0
