"""Verifiers that run code we did not write, in the OS-level sandbox (``filters.isolation``) with limits:

- ``reasoning_gym``: the task's own ``score_answer`` on the output's final answer;
- ``python``: a user's function, ``function: "package.module:name"``, called as
  ``fn(problem={question, gold_answer, metadata, problem_id}, output=..., answer=...)`` and returning
  a bool, a score (correct at ``threshold`` or above) or one of the verdict names.

Both refuse to run without a sandbox unless the config says ``isolation: none`` (warned about on every
build, and the verifier's version says ``+unisolated`` in every verdict and manifest).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from starmill.filters.answers import KINDS, extract_answer
from starmill.filters.isolation import Limits, function_sandbox, require
from starmill.filters.isolation.zygote import DESCRIBE
from starmill.filters.verifiers.base import Verifier, gold_of, metadata_of
from starmill.filters.verifiers.registry import VERIFIERS

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 5.0  # seconds per call
DEFAULT_MEMORY_MB = 2048  # address space per call
PARAMS = ("problem", "output", "answer")


def _field(problem: Any, name: str) -> Any:
    return problem.get(name) if isinstance(problem, dict) else getattr(problem, name, None)


class _SandboxedVerifier(Verifier):
    modules: tuple[str, ...] = ()
    function: str = ""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        threshold: float = 1.0,
        workers: int = 1,
        isolation: str = "bwrap",
        memory_mb: int = DEFAULT_MEMORY_MB,
    ):
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
            raise ValueError("timeout must be in (0, 3600] seconds")
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
            raise ValueError("workers must be an integer from 1 to 64")
        require(isolation)  # no sandbox here: one clear error before any generation
        self.timeout, self.threshold, self.workers, self.isolation = timeout, threshold, workers, isolation
        self.limits = Limits(wall_seconds=timeout, cpu_seconds=max(1, int(timeout) + 1), memory_mb=memory_mb)
        if isolation == "none":
            log.warning("verifier %s runs code starmill did not write WITHOUT isolation (isolation: none)", self.name)
            self.version = f"{self.version}+unisolated"

    def _box(self):
        return function_sandbox(list(self.modules), workers=self.workers, isolation=self.isolation)

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
        outcome = self._box().call(self.function, self.limits, **kwargs)
        seconds = time.perf_counter() - started
        if outcome.status == "ok":
            return self._judge(outcome.value, answer, gold, seconds)
        if outcome.status == "timeout":
            return self._verdict("timeout", "time_limit", answer, gold, seconds)
        if outcome.status == "memory":
            return self._verdict("timeout", "memory_limit", answer, gold, seconds)
        return self._verdict("error", outcome.rule or outcome.status, answer, gold, seconds)

    def _judge(self, value: Any, answer: str, gold: str | None, seconds: float):
        if isinstance(value, bool):
            return self._verdict("correct" if value else "wrong", "returned", answer, gold, seconds)
        if isinstance(value, (int, float)):
            kind = "correct" if value >= self.threshold else "wrong"
            return self._verdict(kind, f"score:{value:g}", answer, gold, seconds)
        if isinstance(value, str) and value in KINDS:
            return self._verdict(value, "returned", answer, gold, seconds)
        return self._verdict("error", f"bad_return:{type(value).__name__}", answer, gold, seconds)


@VERIFIERS.register
class ReasoningGymVerifier(_SandboxedVerifier):
    """Scores with the reasoning-gym task a problem came from (``metadata.reasoning_gym``)."""

    name = "reasoning_gym"
    version = "1"
    modules = ("reasoning_gym", "starmill.filters.verifiers.gym_score")
    function = "starmill.filters.verifiers.gym_score:score"

    def kwargs(self, problem: Any, output: str, answer: str) -> dict | None:
        meta = metadata_of(problem).get("reasoning_gym")
        return {"meta": meta, "answer": answer} if isinstance(meta, dict) else None


@VERIFIERS.register
class PythonVerifier(_SandboxedVerifier):
    """A user's function by import path; its module is imported only inside the sandbox."""

    name = "python"
    version = "1"

    def __init__(self, *, function: str | None = None, **options: Any):
        if not isinstance(function, str) or not function:
            raise ValueError("python verifier: set function: 'package.module:name'")
        module, sep, attr = function.replace(":", ".").rpartition(".")
        if not module or not attr.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
            raise ValueError(f"python verifier: function must be 'package.module:name', got {function!r}")
        if module.split(".")[0] in sys.stdlib_module_names or module.split(".")[0] == "builtins":
            raise ValueError(f"python verifier: {function!r} is in Python's standard library, not a verifier function")
        self.function, self.modules = f"{module}:{attr}", (module,)
        self.version = f"1+{function}"
        super().__init__(**options)
        self._check_function(function, module)

    def _check_function(self, function: str, module: str) -> None:
        """Load the module in the sandbox (never here) and check the name is a function taking
        ``problem, output, answer``: a typo or a builtin is one error before any generation."""
        try:
            outcome = self._box().call(DESCRIBE, Limits(wall_seconds=10, cpu_seconds=10), target=self.function)
        except (ImportError, RuntimeError) as exc:  # the module is missing, or failed to import in the sandbox
            raise ValueError(f"python verifier: cannot import {module!r}: {exc}") from None
        if outcome.status != "ok":
            raise ValueError(
                f"python verifier: {function!r} not found in {module!r} ({outcome.rule or outcome.status})"
            )
        info = outcome.value
        if not info.get("python_function"):
            raise ValueError(f"python verifier: {function!r} is not a Python function")
        if not info.get("accepts_any") and not set(PARAMS) <= set(info.get("params") or []):
            raise ValueError(
                f"python verifier: {function!r} must accept problem, output and answer "
                f"(it takes {', '.join(info.get('params') or []) or 'nothing'})"
            )

    def kwargs(self, problem: Any, output: str, answer: str) -> dict:
        return {
            "problem": {
                "question": _field(problem, "question"),
                "gold_answer": gold_of(problem),
                "metadata": metadata_of(problem),
                "problem_id": _field(problem, "problem_id"),
            },
            "output": output,
            "answer": answer,
        }
