"""A backend without a model, for tests and benchmarks of everything around generation: it answers
one-step sums and differences (the first two numbers of the question), right with probability
``accuracy`` (a hash of the request and the sample decides, so the same request always gets the same
answers), and a hinted prompt with the hint's answer. ``respond(question, hint, sample index) ->
Completion`` replaces the canned answers. ``generators.registry.use_backend`` installs it for a teacher."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from starmill.generators.base import Completion, EngineInfo, GenerationRequest, GenerationResult
from starmill.schemas import content_hash

HINT = re.compile(r"\(Hint: the answer is (.+?)\.\)")
OPENINGS = ("We add", "First", "Let us compute", "Step by step", "Counting on", "Working it out", "So", "Then")

Respond = Callable[[str, str | None, int], Completion]


class StubBackend:
    def __init__(self, model: str = "stub", *, accuracy: float = 0.6, respond: Respond | None = None):
        self.accuracy, self.respond = accuracy, respond or self.canned
        self._info = EngineInfo("stub", "1", model, None, None)
        self.calls = 0

    def info(self) -> EngineInfo:
        return self._info

    def close(self) -> None:
        pass

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.calls += 1
        results = []
        for r in requests:
            text = r.messages[-1]["content"] if r.messages else r.text or ""
            hint = HINT.search(text)
            question = text.split("\n")[0]
            completions = [self.respond(question, hint.group(1) if hint else None, i) for i in range(r.sampling.n)]
            results.append(GenerationResult(r.request_id, completions, self._info))
        return results

    def canned(self, question: str, hint: str | None, index: int) -> Completion:
        a, b, *_ = [int(n) for n in re.findall(r"\d+", question)] + [0, 0]
        op = "-" if re.search(r" - |fewer|loses|gives away|eats|spends", question) else "+"
        value: int | str = a + b if op == "+" else a - b
        if hint is not None:
            value = hint
        elif int(content_hash(question, index)[:8], 16) / 16**8 >= self.accuracy:
            value = int(value) + 1 + index  # a wrong answer
        opening = OPENINGS[index % len(OPENINGS)]
        text = f"{opening}: {a} {op} {b} = {value}.\nThe answer is {value}."
        return Completion(
            text, "stop", len(question.split()), len(text.split()), token_ids=tuple(range(len(text.split())))
        )
