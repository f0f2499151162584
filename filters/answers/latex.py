"""A small LaTeX-to-sympy parser for the answers models write (numbers, + - * /, powers, \\frac, \\sqrt,
functions, constants, implicit products, finite sums and products), which also reads Python/sympy
syntax (``pysyntax.py``): the tokens here, the grammar in ``grammar.py`` and ``commands.py``. It builds
expressions from sympy constructors only: no text ever reaches ``sympify``, ``eval`` or ``exec``.
Anything outside its grammar raises ``Unsupported``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from starmill.filters.answers.grammar import Parser
from starmill.filters.answers.pysyntax import Unsupported, is_python, python_tokens
from starmill.filters.answers.typed import GLUED

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<fn>(?:arc)?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt)(?![a-zA-Z])"
    r"|(?P<cmd>\\[a-zA-Z]+)|(?P<ch>[a-zA-Z])|(?P<op>\*\*|[-+*/^!()\[\]{}|_,=]))"
)
WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}(?![a-zA-Z])(\s*\()?")  # a word is never a product of letters
FUNCTION_NAME = re.compile(r"(?:arc)?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt")
BARS = {"\\lvert": "|", "\\rvert": "|", "\\vert": "|", "\\mid": "|"}


@dataclass(frozen=True, slots=True)
class Parsed:
    expr: sympy.Expr
    inexact: bool  # a decimal literal was written
    symbols: frozenset  # names of the free symbols as written (0x has x even though 0x is 0)
    implicit_symbols: bool  # a symbol took part in an implicit product (2x, 0 a)


def _tokens(text: str) -> list[tuple[str, str]]:
    if GLUED.search(text):
        raise Unsupported("letters between digits")
    for m in WORD.finditer(text):
        if (len(m[0]) >= 4 or m[1]) and not FUNCTION_NAME.fullmatch(m[0].rstrip("( \t")):
            raise Unsupported(f"a word: {m[0][:20]!r}")
    out, i, text = [], 0, text.rstrip()
    while i < len(text):
        m = TOKEN.match(text, i)
        if not m or m.end() == i:
            raise Unsupported(f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        value = m[kind]
        if kind == "fn":
            if value == "log" and not text[m.end() :].lstrip().startswith("_"):
                raise Unsupported("log without a backslash or a base: ln or log10?")  # sympy's log is ln
            kind, value = "cmd", "\\" + value
        if value in BARS:
            kind, value = "op", BARS[value]
        out.append((kind, value))
        i = m.end()
    return out


def parse_latex(text: str) -> Parsed:
    """Parse LaTeX, or Python/sympy syntax when the text is written that way (``pysyntax.is_python``)."""
    python = is_python(text)
    parser = Parser(python_tokens(text) if python else _tokens(text), implicit=not python)
    expr = parser.parse()
    return Parsed(expr, parser.inexact, frozenset(parser.symbols), parser.implicit_symbols)


def parse_factors(text: str) -> list[sympy.Expr]:
    """The factors of a product as written (``2(x+1)^2(x-3)``: 2, (x+1)^2, x-3), each parsed on its
    own so sympy cannot multiply them out; a sum or quotient at the top is one factor."""
    python = is_python(text)
    tokens = python_tokens(text) if python else _tokens(text)
    parser = Parser(tokens, implicit=not python)
    negative = bool(parser.peek()) and parser.peek()[1] == "-"
    if negative:
        parser.take()
    factors = [parser.power()]
    while (tok := parser.peek()) is not None:
        if tok[1] in ("*", "\\cdot", "\\times"):
            parser.take()
            factors.append(parser.power())
        elif parser.implicit and parser.starts_primary(tok) and tok[0] != "num":
            factors.append(parser.power())
        else:
            return [Parser(tokens, implicit=not python).parse()]
    return [-factors[0], *factors[1:]] if negative else factors
