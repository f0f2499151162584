"""``llm_judge``: a generative judge through any backend (DeepSeek-R1's recipe for answers no rule can
check), as a verifier (``LLMJudgeVerifier``) and as a scorer (``LLMJudgeScorer``: 1.0 when the verdict
is CORRECT, else 0.0). It lives here, above generators and filters, because a filter's interface runs
through a generation backend; each class registers where it is defined.

    scorers:
      - {name: llm_judge, model: starmill/demo-teacher, backend: transformers}

As a verifier the judge sees the problem, the reference answer and the candidate's output
(with any "VERDICT" the candidate wrote defused), answers greedily, and its last ``VERDICT: CORRECT|
INCORRECT`` line decides; no such line is ``unparseable_pred``. Its reasoning is stored as the
verdict's ``detail``; the template's id and hash are part of the verifier's version.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from starmill.filters.answers import Verdict, extract_answer
from starmill.filters.scorers import SCORERS, Score, Scorer, ScorerError
from starmill.filters.verifiers import VERIFIERS, Verifier
from starmill.filters.verifiers.base import gold_of
from starmill.schemas.errors import StarmillError

VERDICT_RE = re.compile(r"VERDICT:\s*\**\s*(CORRECT|INCORRECT)\b", re.IGNORECASE)
MAX_OUTPUT_CHARS = 6000  # of the candidate shown to the judge (its end: where the final answer is)
BATCH = 32


def _question(problem: Any, gold: str | None, output: str) -> str:
    text = problem.get("question") if isinstance(problem, dict) else getattr(problem, "question", "")
    shown = output[-MAX_OUTPUT_CHARS:]
    shown = VERDICT_RE.sub("[a verdict the candidate wrote]", re.sub(r"(?i)verdict", "verd1ct", shown))
    return f"Problem:\n{text}\n\nReference answer: {gold}\n\nCandidate solution:\n{shown}"


@VERIFIERS.register
class LLMJudgeVerifier(Verifier):
    name = "llm_judge"
    version = "1"

    def __init__(
        self,
        *,
        model: str,
        backend: str = "transformers",
        base_url: str | None = None,
        template: str = "llm_judge",
        max_tokens: int = 256,
        options: dict | None = None,
    ):
        from starmill.generators.prompts import get_template
        from starmill.generators.registry import check_teacher

        self.template = get_template(template)
        self.version = f"1+{self.template.id}:{self.template.hash}"
        self.teacher = {
            "backend": backend,
            "model": model,
            "revision": None,
            "base_url": base_url,
            "options": options or {},
        }
        check_teacher(self.teacher, "judge")  # a missing folder or bad option now, not at the first verdict
        self.max_tokens = max_tokens

    def verify(self, problem: Any, output: str) -> Verdict:
        return next(self.verify_batch([(problem, output)]))

    def verify_batch(self, items: Iterable[tuple[Any, str]]) -> Iterator[Verdict]:
        items = list(items)
        for start in range(0, len(items), BATCH):
            yield from self._judge(items[start : start + BATCH])

    def _judge(self, items: list[tuple[Any, str]]) -> list[Verdict]:
        from starmill.generators.base import GenerationRequest, SamplingParams
        from starmill.generators.registry import backend_for, backend_lock

        started = time.perf_counter()
        params = SamplingParams(n=1, temperature=0.0, max_tokens=self.max_tokens)
        requests = [
            GenerationRequest(
                f"judge-{i}", messages=self.template.render(_question(p, gold_of(p), o or "")), sampling=params
            )
            for i, (p, o) in enumerate(items)
        ]
        backend = backend_for(self.teacher)
        with backend_lock(self.teacher):
            results = backend.generate(requests)
        seconds = (time.perf_counter() - started) / max(len(items), 1)
        verdicts = []
        for (problem, output), result in zip(items, results):
            text = result.completions[0].text if result.completions else ""
            found = VERDICT_RE.findall(text)
            pred, gold = extract_answer(output or "").answer, gold_of(problem)
            if not found:
                verdicts.append(self._verdict("unparseable_pred", "judge:no_verdict", pred, gold, seconds, detail=text))
                continue
            kind = "correct" if found[-1].upper() == "CORRECT" else "wrong"
            reasoning = text[: VERDICT_RE.search(text).start()].strip() if text else ""
            verdicts.append(self._verdict(kind, "judge", pred, gold, seconds, detail=reasoning or None))
        return verdicts


@SCORERS.register
class LLMJudgeScorer(Scorer):
    name = "llm_judge"

    def __init__(
        self,
        *,
        model: str | None = None,
        backend: str = "transformers",
        base_url: str | None = None,
        template: str = "llm_judge",
        max_tokens: int = 256,
        options: dict | None = None,
    ):
        if not model:
            raise ScorerError(
                "scorer 'llm_judge' needs model: the judge (a folder, Hub id or alias) and, for a "
                "server, backend: openai with base_url"
            )
        try:
            self.judge = LLMJudgeVerifier(
                model=model,
                backend=backend,
                base_url=base_url,
                template=template,
                max_tokens=max_tokens,
                options=options,
            )
        except (KeyError, ValueError, StarmillError) as exc:
            raise ScorerError(f"scorer 'llm_judge': {exc}") from None  # e.g. an unknown template
        self.version = f"1+{self.judge.version}"

    def score_many(self, items):
        verdicts = self.judge.verify_batch([(problem, sample.output_text()) for problem, sample in items])
        return [Score(1.0 if v.verdict == "correct" else 0.0) for v in verdicts]
