"""Python/sympy syntax (``10*x**7 + 4*x**3/5 + C``, ``exp(-8*x - 6)``, ``pi/4``), as procedural task
suites write golds: recognized, then turned into the tokens of the LaTeX parser (``latex.py``). Names
follow sympy: ``E`` is e, ``I`` is i, ``log`` is the natural log, ``pi``, ``oo``; every other name is
one symbol (``e``, ``x_1``, ``alpha``) and juxtaposition is not a product. A call of an unknown
function is outside the grammar."""

from __future__ import annotations

import re

TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/^()!,]))")
FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sec": "sec",
    "csc": "csc",
    "cot": "cot",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "exp": "exp",
    "log": "ln",
    "ln": "ln",
    "sqrt": "sqrt",
    "Abs": "abs",
}
CONSTANTS = {"pi": ("cmd", "\\pi"), "E": ("ch", "e"), "I": ("ch", "i"), "oo": ("cmd", "\\infty")}
PYTHON_NAMES = re.compile(r"\b(?:pi|asin|acos|atan|Abs|oo)\b")


class Unsupported(ValueError):
    """The text is outside the parser's grammar."""


def is_python(text: str) -> bool:
    """Written in Python syntax: no LaTeX commands or braces, and ``**``, or ``*`` without ``^``, or a
    name only sympy uses (``pi``, ``atan``, ``Abs``, ``oo``)."""
    if "\\" in text or "{" in text:
        return False
    return "**" in text or ("*" in text and "^" not in text) or bool(PYTHON_NAMES.search(text))


def python_tokens(text: str) -> list[tuple[str, str]]:
    out, i, text = [], 0, text.rstrip()
    while i < len(text):
        m = TOKEN.match(text, i)
        if not m or m.end() == i:
            raise Unsupported(f"unexpected character {text[i]!r}")
        i = m.end()
        if m["num"]:
            out.append(("num", m["num"]))
        elif m["op"]:
            out.append(("op", m["op"]))
        elif m["name"] in FUNCTIONS:
            out.append(("cmd", "\\" + FUNCTIONS[m["name"]]))
        elif m["name"] in CONSTANTS:
            out.append(CONSTANTS[m["name"]])
        elif TOKEN.match(text, i) and text[i:].lstrip().startswith("("):
            raise Unsupported(f"unknown function {m['name']!r}")
        else:
            out.append(("sym", m["name"]))
    return out
