"""Verifiers that run code we did not write, in the sandbox with a time limit:

- ``reasoning_gym``: the task's own ``score_answer`` on the output's final answer;
- ``python``: a user's function, ``function: "package.module:name"``, called as
  ``fn(problem={question, gold_answer, metadata, problem_id}, output=..., answer=...)`` and returning
  a bool, a score (correct at ``threshold`` or above) or one of the verdict names.
"""
from __future__ import annotations

import time
from typing import Any

from filters.answers import KINDS, extract_answer
from filters.verifiers.base import Verifier, gold_of, metadata_of
from filters.verifiers.registry import register
from filters.verifiers.sandbox import function_pool

DEFAULT_TIMEOUT = 5.0  # seconds per call


def _field(problem: Any, name: str) -> Any:
    return problem.get(name) if isinstance(problem, dict) else getattr(problem, name, None)


class _SandboxedVerifier(Verifier):
    modules: tuple[str, ...] = ()
    function: str = ""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, threshold: float = 1.0, workers: int = 1):
        if not 0 < timeout <= 3600:
            raise ValueError("timeout must be in (0, 3600] seconds")
        self.timeout, self.threshold, self.workers = timeout, threshold, workers

    def kwargs(self, problem: Any, output: str, answer: str) -> dict | None:
        raise NotImplementedError

    def verify(self, problem: Any, output: str) -> Any:
        started = time.perf_counter()
        answer = extract_answer(output or "").answer
        gold = gold_of(problem)
        if not answer:
            return self._verdict("unparseable_pred", "no_answer", None, gold, time.perf_counter() - started)
        kwargs = self.kwargs(problem, output, answer)
        if kwargs is None:
            return self._verdict("unparseable_gold", "no_metadata", answer, gold, time.perf_counter() - started)
        reply = function_pool(list(self.modules), self.workers).call(self.function, self.timeout, **kwargs)
        seconds = time.perf_counter() - started
        if reply["verdict"] != "ok":
            return self._verdict(reply["verdict"], reply["rule"], answer, gold, seconds)
        return self._judge(reply["value"], answer, gold, seconds)

    def _judge(self, value: Any, answer: str, gold: str | None, seconds: float):
        if isinstance(value, bool):
            return self._verdict("correct" if value else "wrong", "returned", answer, gold, seconds)
        if isinstance(value, (int, float)):
            kind = "correct" if value >= self.threshold else "wrong"
            return self._verdict(kind, f"score:{value:g}", answer, gold, seconds)
        if isinstance(value, str) and value in KINDS:
            return self._verdict(value, "returned", answer, gold, seconds)
        return self._verdict("error", f"bad_return:{type(value).__name__}", answer, gold, seconds)


@register
class ReasoningGymVerifier(_SandboxedVerifier):
    """Scores with the reasoning-gym task a problem came from (``metadata.reasoning_gym``)."""

    name = "reasoning_gym"
    version = "1"
    modules = ("reasoning_gym", "filters.verifiers.gym_score")
    function = "filters.verifiers.gym_score:score"

    def kwargs(self, problem: Any, output: str, answer: str) -> dict | None:
        meta = metadata_of(problem).get("reasoning_gym")
        return {"meta": meta, "answer": answer} if isinstance(meta, dict) else None


@register
class PythonVerifier(_SandboxedVerifier):
    """A user's function by import path; its module is imported in the sandbox worker."""

    name = "python"
    version = "1"

    def __init__(self, *, function: str, **options: Any):
        super().__init__(**options)
        module, sep, attr = function.replace(":", ".").rpartition(".")
        if not module or not attr.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
            raise ValueError(f"python verifier: function must be 'package.module:name', got {function!r}")
        self.function, self.modules = f"{module}:{attr}", (module,)
        self.version = f"1+{function}"

    def kwargs(self, problem: Any, output: str, answer: str) -> dict:
        return {"problem": {"question": _field(problem, "question"), "gold_answer": gold_of(problem),
                            "metadata": metadata_of(problem), "problem_id": _field(problem, "problem_id")},
                "output": output, "answer": answer}
