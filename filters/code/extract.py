"""The program in a model's output: the last Python code block after any ``</think>``, or the bare output
when it parses as Python. Parsed with ``ast`` only (parsing never runs anything)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

MAX_PROGRAM_CHARS = 200_000  # a longer program is refused before parsing
FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)
OPEN_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n", re.MULTILINE)
PYTHON_TAGS = ("", "python", "py", "python3", "py3")


@dataclass(frozen=True, slots=True)
class Extracted:
    program: str | None  # the whole program to run (the prompt prepended where it completes one)
    rule: str  # fenced | fenced_unclosed | bare | continuation | no_code | syntax_error | too_long


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def defines(program: str, name: str) -> bool:
    """Whether ``program`` binds ``name`` at its top level (def, class, assignment or import)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
    return False


def extract_program(output: str, *, prompt: str | None = None, entry_point: str | None = None) -> Extracted:
    """The program of ``output``. With a ``prompt`` (HumanEval: the model completes it) the prompt comes
    first, so its imports and helpers are there; a completion that does not define ``entry_point`` is
    read as the rest of the prompt's function."""
    text = (output or "").rsplit("</think>", 1)[-1]
    if len(text) > MAX_PROGRAM_CHARS:
        return Extracted(None, "too_long")
    blocks = [body for tag, body in FENCE.findall(text) if tag.lower() in PYTHON_TAGS]
    unclosed = OPEN_FENCE.search(FENCE.sub("", text))  # an output cut off inside its last block
    if unclosed and unclosed.group(1).lower() in PYTHON_TAGS:
        code, rule = text[text.rindex(unclosed.group(0)) + len(unclosed.group(0)) :], "fenced_unclosed"
    elif blocks:
        code, rule = blocks[-1], "fenced"
    elif text.strip() and parses(text):
        code, rule = text, "bare"
    elif prompt and text.strip() and parses(prompt + text):
        return Extracted(prompt + text, "continuation")
    else:
        return Extracted(None, "no_code")
    if prompt and parses(prompt):
        if entry_point and not defines(code, entry_point) and parses(prompt + code):
            code, rule = prompt + code, "continuation"
        else:
            code = prompt.rstrip() + "\n\n\n" + code
    return Extracted(code, rule) if parses(code) else Extracted(None, "syntax_error")
