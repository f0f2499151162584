"""The ``llm_judge`` scorer: the ``llm_judge`` verifier's generative judge (``starmill.judging``, any
backend) as a score: 1.0 when the judge's last VERDICT line says CORRECT, else 0.0 (INCORRECT, or no
verdict line). It lives here, not in ``filters``, because the judge runs through a generation backend;
importing this module registers it (``starmill.config`` and ``starmill.evaluation`` do).

    scorers:
      - {name: llm_judge, model: starmill/demo-teacher, backend: transformers}
"""
from __future__ import annotations

from starmill.filters.scorers import SCORERS, Score, Scorer, ScorerError
from starmill.schemas.errors import StarmillError


@SCORERS.register
class LLMJudgeScorer(Scorer):
    name = "llm_judge"

    def __init__(self, *, model: str | None = None, backend: str = "transformers", base_url: str | None = None,
                 template: str = "llm_judge", max_tokens: int = 256, options: dict | None = None):
        from starmill.judging import LLMJudgeVerifier

        if not model:
            raise ScorerError("scorer 'llm_judge' needs model: the judge (a folder, Hub id or alias) and, for a "
                              "server, backend: openai with base_url")
        try:
            self.judge = LLMJudgeVerifier(model=model, backend=backend, base_url=base_url, template=template,
                                          max_tokens=max_tokens, options=options)
        except (KeyError, ValueError, StarmillError) as exc:
            raise ScorerError(f"scorer 'llm_judge': {exc}") from None  # e.g. an unknown template
        self.version = f"1+{self.judge.version}"

    def score_many(self, items):
        verdicts = self.judge.verify_batch([(problem, sample.output_text()) for problem, sample in items])
        return [Score(1.0 if v.verdict == "correct" else 0.0) for v in verdicts]
