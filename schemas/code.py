"""The test spec of a code problem (its gold answer): what a program must pass to be graded correct.

    {"kind": "functional", "entry_point": "add", "test": "def check(candidate): ...", "prompt": "def add(a, b):\n"}
    {"kind": "asserts", "asserts": ["assert add(1, 2) == 3"]}
    {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}

``functional`` is HumanEval's form (``test`` defines ``check(candidate)``; ``prompt``, when given, is the
code the model completes: its definitions are the test's too), ``asserts`` MBPP's, ``stdio`` a judge's
(input on stdin, output compared line by line without trailing whitespace). Optional on every kind:
``reference`` (a known-good program), ``setup`` (asserts: gold code run before them), ``time_limit`` (seconds per test) and ``memory_mb``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("functional", "asserts", "stdio")
DEFAULT_TIME_LIMIT = 5.0  # seconds per test (a check function, an assert, a stdio case)
DEFAULT_MEMORY_MB = 2048  # address space of the whole run
MAX_TESTS = 1000
MAX_SPEC_CHARS = 4_000_000


@dataclass(frozen=True, slots=True)
class CodeSpec:
    kind: str
    entry_point: str | None = None
    test: str | None = None
    prompt: str | None = None
    setup: str | None = None  # asserts: gold code the asserts need (MBPP's test_setup_code, imports)
    asserts: tuple[str, ...] = ()
    cases: tuple[tuple[str, str], ...] = ()  # (input, expected output)
    reference: str | None = None
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_mb: int = DEFAULT_MEMORY_MB

    @property
    def n_tests(self) -> int:
        return {"functional": 1, "asserts": len(self.asserts), "stdio": len(self.cases)}[self.kind]

    def to_json(self) -> dict[str, Any]:
        """The spec as the JSON object it was read from (defaults included)."""
        row = {k: v for k, v in asdict(self).items() if v not in (None, ())}
        if self.cases:
            row["cases"] = [{"input": i, "output": o} for i, o in self.cases]
        if self.asserts:
            row["asserts"] = list(self.asserts)
        return row


def parse_code_spec(value: Any) -> CodeSpec | str:
    """The ``CodeSpec`` in ``value`` (a mapping or its JSON text), or why it is not one."""
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_SPEC_CHARS:
            return "spec too long"
        try:
            value = json.loads(value)
        except ValueError as exc:
            return f"spec is not JSON ({exc})"
    if not isinstance(value, dict):
        return f"spec must be a JSON object, not {type(value).__name__}"
    kind = value.get("kind")
    if kind not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}, got {kind!r}"
    common = _common(value)
    if isinstance(common, str):
        return common
    if kind == "functional":
        entry, test, prompt = value.get("entry_point"), value.get("test"), value.get("prompt")
        if not isinstance(entry, str) or not entry.isidentifier():
            return f"entry_point must be a Python identifier, got {entry!r}"
        if not isinstance(test, str) or not test.strip():
            return "functional spec needs test code defining check(candidate)"
        if prompt is not None and not isinstance(prompt, str):
            return "prompt must be a string"
        if (reason := _code_reason(test, "test")) is not None:
            return reason
        if not any(isinstance(n, ast.FunctionDef) and n.name == "check" for n in ast.parse(test).body):
            return "test does not define check(candidate)"
        if prompt and (reason := _code_reason(prompt, "prompt")) is not None:
            return reason
        return CodeSpec(kind, entry_point=entry, test=test, prompt=prompt or None, **common)
    if kind == "asserts":
        asserts = value.get("asserts")
        if not isinstance(asserts, list) or not asserts:
            return "asserts spec needs a non-empty list of asserts"
        if len(asserts) > MAX_TESTS:
            return f"more than {MAX_TESTS} asserts"
        for n, text in enumerate(asserts):
            if not isinstance(text, str) or not text.strip():
                return f"assert {n} is not code"
            if (reason := _code_reason(text, f"assert {n}")) is not None:
                return reason
        entry = value.get("entry_point")
        if entry is not None and (not isinstance(entry, str) or not entry.isidentifier()):
            return f"entry_point must be a Python identifier, got {entry!r}"
        setup = value.get("setup")
        if setup is not None and (not isinstance(setup, str) or (reason := _code_reason(setup, "setup")) is not None):
            return reason if isinstance(setup, str) else "setup must be code"
        return CodeSpec(kind, asserts=tuple(asserts), entry_point=entry, setup=setup or None, **common)
    cases = value.get("cases")
    if not isinstance(cases, list) or not cases:
        return "stdio spec needs a non-empty list of cases"
    if len(cases) > MAX_TESTS:
        return f"more than {MAX_TESTS} cases"
    pairs = []
    for n, case in enumerate(cases):
        if (
            not isinstance(case, dict)
            or not isinstance(case.get("input"), str)
            or not isinstance(case.get("output"), str)
        ):
            return f"case {n} needs string input and output"
        pairs.append((case["input"], case["output"]))
    return CodeSpec(kind, cases=tuple(pairs), **common)


def _common(value: dict) -> dict | str:
    limit, memory, reference = (
        value.get("time_limit", DEFAULT_TIME_LIMIT),
        value.get("memory_mb", DEFAULT_MEMORY_MB),
        value.get("reference"),
    )
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= 600:
        return f"time_limit must be seconds in (0, 600], got {limit!r}"
    if isinstance(memory, bool) or not isinstance(memory, int) or not 64 <= memory <= 65536:
        return f"memory_mb must be an integer from 64 to 65536, got {memory!r}"
    if reference is not None and not isinstance(reference, str):
        return "reference must be a program's text"
    return {"time_limit": float(limit), "memory_mb": memory, "reference": reference}


def _code_reason(text: str, what: str) -> str | None:
    """Why ``text`` is not Python (parsed, never run), or None."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"{what} is not valid Python ({type(exc).__name__}: {getattr(exc, 'msg', exc)})"
    return None
