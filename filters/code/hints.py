"""What a code rationalization shows the teacher instead of the gold (the gold is the tests, which must
never reach a prompt): the reference solution, or the feedback of a failed attempt's verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

HINT_MODES = ("reference", "feedback")
MAX_FEEDBACK_CHARS = 1500  # a prompt's worth of test output


def _field(problem: Any, name: str) -> Any:
    """A field of a ``ProblemRecord`` or of its row as a mapping."""
    return problem.get(name) if isinstance(problem, Mapping) else getattr(problem, name, None)


def _metadata(problem: Any) -> dict:
    raw = _field(problem, "metadata")
    try:
        raw = json.loads(raw or "{}") if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


def spec_of(problem: Any):
    """The problem's parsed test spec (``metadata.tests``, else its gold answer, as the code verifier reads
    it), or None when it has none or a malformed one."""
    from starmill.schemas.code import parse_code_spec

    tests = _metadata(problem).get("tests")
    spec = parse_code_spec(tests if tests is not None else _field(problem, "gold_answer"))
    return None if isinstance(spec, str) else spec


def reference_of(problem: Any) -> str | None:
    """The spec's ``reference``, else the problem's ``gold_solution`` (HumanEval: prompt + canonical body)."""
    spec = spec_of(problem)
    if spec is not None and spec.reference:
        return spec.reference
    return _field(problem, "gold_solution") or None


def feedback_of(verdict: dict[str, Any]) -> str | None:
    """A failed code verdict's test report as text: the rule, tests passed, the failing statuses, stderr."""
    if verdict.get("checker") != "code" or verdict.get("verdict") == "correct":
        return None
    try:
        detail = json.loads(verdict.get("detail") or "{}")
    except ValueError:
        detail = {}
    lines = [f"Your previous program failed: {verdict.get('rule')}."]
    if "passed" in detail:
        lines.append(f"Tests passed: {detail['passed']} of {detail.get('total')}.")
        failing = [f"test {i + 1}: {s}" for i, s in enumerate(detail.get("tests") or []) if s != "pass"]
        if failing:
            lines.append("Failing: " + ", ".join(failing[:10]) + ".")
    if detail.get("stderr"):
        lines.append("Error output:\n" + str(detail["stderr"]))
    return "\n".join(lines)[-MAX_FEEDBACK_CHARS:]


def code_hint(problem: Any, mode: str, feedback: str | None = None) -> str | None:
    """The hint for ``problem`` under ``mode`` (``reference`` or ``feedback``); None when there is none."""
    if mode not in HINT_MODES:
        raise ValueError(f"code_hint must be one of {', '.join(HINT_MODES)}, not {mode!r}")
    if mode == "reference":
        reference = reference_of(problem)
        return f"A correct solution:\n```python\n{reference.rstrip()}\n```" if reference else None
    return feedback


def longest_hint(problem: Any, mode: str) -> str | None:
    """For a cost bound: the longest hint ``problem`` can be shown (its gold answer when it is no code problem;
    None when a code problem gets none, so it is never rationalized)."""
    if spec_of(problem) is None:
        return _field(problem, "gold_answer")
    return code_hint(problem, mode, "x" * MAX_FEEDBACK_CHARS)
