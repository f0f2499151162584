"""Typed atoms: answers that are neither numbers nor expressions and must never reach the expression
parser: integers written in base 2, 8 or 16 (``0x1854``, ``1011_2``), clock times, durations, dates,
ratios and words. Each is parsed into a value and compared by its type's rules; an atom against an
answer of another type is wrong, never re-read as something else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from starmill.filters.answers import clock
from starmill.filters.answers.errors import Unparseable

Decision = tuple[bool, str]

PREFIXED = re.compile(r"([-+]?)0([xXbBoO])([0-9a-fA-F]+)")
SUBSCRIPT = re.compile(r"([-+]?)([0-9][0-9a-zA-Z]*|[A-Z]{2,})_\{?(\d{1,2})\}?")
BASES = {"x": 16, "b": 2, "o": 8}
DECIMAL_INT = re.compile(r"[-+]?\d+")
RATIO = re.compile(r"[-+]?\d+(?:\.\d+)?(?:\s*:\s*[-+]?\d+(?:\.\d+)?)+")
# A ratio named by what it compares: V_1:V_2 = 11:21, AB : BC = 3:4, [ABC]:[DEF] = 1:4
RATIO_NAME = r"(?:[A-Za-z](?:_\{?\w+\}?)?|[A-Z]{2,3}|\[[A-Z]{2,4}\])"
LABELLED_RATIO = re.compile(rf"{RATIO_NAME}(?:\s*:\s*{RATIO_NAME})+\s*=\s*(?P<ratio>{RATIO.pattern})")
TEXT = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:\s+[A-Za-z][A-Za-z'’\-]*)*")
# Words the expression parser reads as functions or constants, and connectives of a list of symbols.
MATH_WORDS = {
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "asin",
    "acos",
    "atan",
    "log",
    "ln",
    "exp",
    "sqrt",
    "pi",
    "mod",
    "abs",
    "max",
    "min",
    "gcd",
    "lcm",
    "det",
    "oo",
}
CONNECTIVES = {"or", "and"}
GLUED = re.compile(r"(?<![\\a-zA-Z])\d+[a-zA-Z]+\d")  # 0x1854, 0a1: letters between digits are never a product


@dataclass(frozen=True, slots=True)
class Atom:
    kind: str  # integer | time | duration | date | ratio | text
    value: Any  # int; seconds; (year, month, day) or clock.AMBIGUOUS; tuple of Fractions; the words
    text: str  # as written


def _integer(text: str) -> int | None:
    if m := PREFIXED.fullmatch(text):
        base = BASES[m[2].lower()]
        try:
            value = int(m[3], base)
        except ValueError:
            return None
        return -value if m[1] == "-" else value
    if m := SUBSCRIPT.fullmatch(text):
        base = int(m[3])
        try:
            value = int(m[2], base) if 2 <= base <= 36 else None
        except ValueError:
            return None
        return None if value is None else (-value if m[1] == "-" else value)
    return None


def _is_text(text: str) -> bool:
    if not TEXT.fullmatch(text):
        return False
    words = [w.lower() for w in text.split()]
    return not any(w in MATH_WORDS for w in words) and any(len(w) >= 2 and w not in CONNECTIVES for w in words)


def classify(text: str, plain: str | None = None) -> Atom | None:
    """The atom ``text`` is, or None for numbers, expressions and shapes. ``plain`` is the same answer
    with its unit words kept (``8:30 pm``, ``90 minutes``), which times and durations need."""
    text = text.strip()
    plain = (plain or text).strip()
    if not text:
        return None
    if text[0] in "-+0123456789ABCDEF" and (value := _integer(text)) is not None:
        return Atom("integer", value, text)
    if ":" in text:
        if (m := LABELLED_RATIO.fullmatch(text)) and len(m["ratio"].split(":")) == text.split("=")[0].count(":") + 1:
            return Atom("ratio", tuple(Fraction(t.strip()) for t in m["ratio"].split(":")), text)
        if (seconds := clock.parse_time(plain)) is not None or (seconds := clock.parse_time(text)) is not None:
            return Atom("time", seconds, plain)
        if RATIO.fullmatch(text):
            return Atom("ratio", tuple(Fraction(t.strip()) for t in text.split(":")), text)
    if any(c.isdigit() for c in text):
        if (date := clock.parse_date(plain)) is not None:
            return Atom("date", date, plain)
        if any(c.isalpha() for c in plain) and (seconds := clock.parse_duration(plain)) is not None:
            return Atom("duration", seconds, plain)
        return None
    if _is_text(text):
        return Atom("text", " ".join(text.replace("’", "'").split()), text)
    return None


def _integer_value(atom: Atom | None, text: str) -> int | None:
    if atom is not None:
        return atom.value if atom.kind == "integer" else None
    return int(text) if DECIMAL_INT.fullmatch(text) else None


def _base(atom: Atom | None) -> tuple[int, bool]:
    """The base an integer is written in, and whether it was named by a subscript (``1011_2``)."""
    if atom is None:
        return 10, False
    if m := PREFIXED.fullmatch(atom.text):
        return BASES[m[2].lower()], False
    m = SUBSCRIPT.fullmatch(atom.text)
    return (int(m[3]), int(m[3]) != 10) if m else (10, False)


def _proportional(gold: tuple, pred: tuple) -> bool:
    if len(gold) != len(pred) or not any(gold):
        return False
    return all(gold[i] * pred[j] == gold[j] * pred[i] for i in range(len(gold)) for j in range(len(gold)))


def _ratio_names(text: str) -> str | None:
    return "".join(text.split("=")[0].split()) if LABELLED_RATIO.fullmatch(text) else None


def _as_ratio(atom: Atom) -> Atom:
    """A time written as a ratio (``11:21``) read as one, when the other side is a labelled ratio."""
    if atom.kind == "time" and RATIO.fullmatch(atom.text.strip()):
        return Atom("ratio", tuple(Fraction(t.strip()) for t in atom.text.split(":")), atom.text)
    return atom


def compare_atoms(
    gold: Atom | None, pred: Atom | None, gold_text: str, pred_text: str, case_sensitive: bool = False
) -> Decision | None:
    """The decision when either side is an atom, None when neither is (or when a duration meets a bare
    number: then units are ignored, as everywhere). Raises ``Unparseable`` for an ambiguous date."""
    if gold is None and pred is None:
        return None
    kinds = {a.kind for a in (gold, pred) if a is not None}
    if "integer" in kinds:
        g, p = _integer_value(gold, gold_text), _integer_value(pred, pred_text)
        if g is None or p is None:
            return False, "type:integer"
        (gold_base, gold_sub), (pred_base, pred_sub) = _base(gold), _base(pred)
        if (gold_sub or pred_sub) and gold_base != pred_base:
            return False, "integer:base"  # "Express 11 in base 2": 11 is the question, 1011_2 the answer
        return g == p, "integer"
    if gold is None or pred is None:
        if kinds == {"duration"}:
            return None
        return False, f"type:{(gold or pred).kind}"
    for side, atom in (("gold", gold), ("pred", pred)):
        if atom.kind == "date" and atom.value == clock.AMBIGUOUS:
            raise Unparseable(side, "date:ambiguous")
    if {gold.kind, pred.kind} == {"time", "ratio"} and any(LABELLED_RATIO.fullmatch(a.text) for a in (gold, pred)):
        gold, pred = _as_ratio(gold), _as_ratio(pred)  # 11:21 against V_1:V_2 = 11:21: the label says ratio
    if gold.kind != pred.kind:
        return False, "type:mismatch"
    if gold.kind == "date":
        return clock.same_date(gold.value, pred.value), "date"
    if gold.kind == "ratio":
        names = [_ratio_names(a.text) for a in (gold, pred)]
        if all(names) and names[0] != names[1]:
            return False, "ratio:names"  # a:b = 3:4 is not b:a = 3:4
        return _proportional(gold.value, pred.value), "ratio"
    if gold.kind == "text":
        if case_sensitive:
            return gold.value == pred.value, "text:case"
        return gold.value.casefold() == pred.value.casefold(), "text"
    return gold.value == pred.value, gold.kind  # time, duration: seconds
