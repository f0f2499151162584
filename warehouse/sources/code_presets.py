"""MBPP and APPS rows, in their upstream shapes, as code problems (``--preset mbpp`` / ``--preset apps``).

    MBPP: {"task_id", "text", "code", "test_list": [assert, …], "test_setup_code", "challenge_test_list": […]}
    APPS: {"problem_id", "question", "solutions": "<JSON list of programs>", "starter_code",
           "input_output": "<JSON {inputs, outputs, fn_name?}>", "difficulty", "url"}

MBPP becomes an ``asserts`` spec (test_list and challenge_test_list, test_setup_code as setup); the question
shows the task and its test_list, as MBPP's own prompt does (they name the function). APPS becomes a ``stdio``
spec, or a ``functional`` one when ``fn_name`` is set (call-based: each input is the argument list; an output
may be wrapped in a one-item list, as APPS's own checker accepts). The first solution (MBPP's code) is the
reference. A row whose tests can't make a valid spec is a reject with the reason.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from starmill.schemas import ProblemRecord
from starmill.schemas.code import parse_code_spec

APPS_CHECK = """def check(candidate):
    for args, expected in CASES:
        got = candidate(*args)
        if isinstance(got, tuple):
            got = list(got)
        assert got == expected or (isinstance(expected, list) and len(expected) == 1 and got == expected[0])
"""


class BadRow(ValueError):
    """A row that makes no code problem: ``reason`` (a reject reason) and the detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _text(data: dict, field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BadRow("missing_question", f"field {field!r} is missing or empty")
    return value.strip()


def _json_field(data: dict, field: str) -> Any:
    value = data.get(field)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise BadRow("bad_spec", f"field {field!r} is not JSON ({exc})") from None
    return value


def _entry_point(code: str | None, asserts: list[str]) -> str | None:
    """The reference's top-level function the first assert calls (MBPP names it only there)."""
    try:
        defined = [n.name for n in ast.parse(code or "").body if isinstance(n, ast.FunctionDef)]
        called = {n.id for n in ast.walk(ast.parse(asserts[0])) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError):
        return None
    return next((name for name in defined if name in called), None)


def mbpp(data: dict) -> tuple[str, dict, str | None, dict]:
    question = _text(data, "text")
    tests, challenge = data.get("test_list"), data.get("challenge_test_list") or []
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t.strip() for t in tests):
        raise BadRow("bad_spec", "test_list must be a non-empty list of asserts")
    if not isinstance(challenge, list) or not all(isinstance(t, str) for t in challenge):
        raise BadRow("bad_spec", "challenge_test_list must be a list of asserts")
    code = data.get("code") if isinstance(data.get("code"), str) else None
    setup = data.get("test_setup_code") or None
    spec = {
        "kind": "asserts",
        "asserts": tests + [t for t in challenge if t.strip()],
        **({"setup": setup} if setup else {}),
        **({"reference": code} if code else {}),
    }
    entry = _entry_point(code, tests)
    if entry:
        spec["entry_point"] = entry
    question = question + "\nYour code should pass these tests:\n" + "\n".join(tests)
    return question, spec, code, {"task_id": data.get("task_id"), "entry_point": entry}


def apps(data: dict) -> tuple[str, dict, str | None, dict]:
    question = _text(data, "question")
    io = _json_field(data, "input_output")
    if not isinstance(io, dict):
        raise BadRow("bad_spec", "input_output must be a JSON object with inputs and outputs")
    inputs, outputs = io.get("inputs"), io.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs or len(inputs) != len(outputs):
        raise BadRow("bad_spec", "input_output needs inputs and outputs: non-empty lists of the same length")
    solutions = _json_field(data, "solutions") if data.get("solutions") not in (None, "") else []
    reference = solutions[0] if isinstance(solutions, list) and solutions and isinstance(solutions[0], str) else None
    fn_name = io.get("fn_name") or data.get("fn_name")
    starter = data.get("starter_code") if isinstance(data.get("starter_code"), str) else ""
    if fn_name:
        if "class Solution" in starter:
            raise BadRow(
                "bad_spec", "class-based starter code (class Solution): the code verifier calls a top-level function"
            )
        if not all(isinstance(i, list) for i in inputs):
            raise BadRow("bad_spec", "call-based inputs must be argument lists")
        test = f"CASES = {list(zip(inputs, outputs))!r}\n\n\n{APPS_CHECK}"
        spec = {"kind": "functional", "entry_point": fn_name, "test": test}
        how = f"Use Call-Based format: define the function {fn_name}."
    else:
        cases = [{"input": _lines(i), "output": _lines(o)} for i, o in zip(inputs, outputs)]
        spec = {"kind": "stdio", "cases": cases}
        how = "Use Standard Input format: read from stdin, print to stdout."
    if reference:
        spec["reference"] = reference
    starter_block = f"\n```python\n{starter.rstrip()}\n```" if starter.strip() else ""
    metadata = {
        "problem_id": data.get("problem_id"),
        "difficulty": data.get("difficulty"),
        "url": data.get("url"),
        **({"entry_point": fn_name} if fn_name else {}),
    }
    return f"{question}{starter_block}\n{how}", spec, reference, metadata


def _lines(value: Any) -> str:
    """An APPS stdin or stdout value as text: a list is its lines."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value) + "\n"
    if not isinstance(value, str):
        raise BadRow("bad_spec", f"a stdio input or output must be text, got {type(value).__name__}")
    return value


def code_problem(data: dict, preset: str, source: str, split: str) -> ProblemRecord:
    """One MBPP or APPS row as a problem graded by the code verifier; raises ``BadRow``."""
    question, spec, solution, metadata = {"mbpp": mbpp, "apps": apps}[preset](data)
    parsed = parse_code_spec(spec)
    if isinstance(parsed, str):
        raise BadRow("bad_spec", parsed)
    metadata = {k: v for k, v in metadata.items() if v is not None}
    return ProblemRecord.make(
        source=source,
        question=question,
        gold_answer=json.dumps(spec, ensure_ascii=False),
        split=str(data.get("__split__") or split),
        gold_solution=solution,
        metadata=metadata,
    )
