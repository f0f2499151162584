"""A symbolic step checker: every arithmetic claim in a rationale, checked exactly.

A claim is a chain ``e1 = e2 (= e3 …)`` of pure arithmetic (numbers, ``+ - * / × ÷ ·``, ``^``,
parentheses, ``%`` after a number) or a GSM8K calculator note ``<<48/2=24>>``. Each side is evaluated
with exact fractions by our own small parser (never ``eval``), under limits on size and exponents.

Conservative by construction, because a wrong "bad step" drops a good rationale: a chain counts only
when every side parses as arithmetic *and* the text before it does not carry the expression on in
words (``of``, ``half``, ``times``, ``plus``, ``sqrt``, …; see ``CONTINUATIONS``). "half of 6 + 4 = 7" is
not checked; "So 6 + 13 = 6" is, and is wrong.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_NUMBER_CHARS = 40  # digits in one literal
MAX_EXPONENT = 64  # largest integer power evaluated
MAX_TOKENS = 200  # tokens in one side
CONTINUATIONS = frozenset(  # words that carry an expression on in words: a chain after them is only part of it
    "of half twice double triple thrice times per than plus minus by from over into under quarter third "
    "thirds fourth fourths fifth fifths tenth tenths percent squared cubed root sqrt log ln sin cos tan mod "
    "divided multiplied less more sum product difference quotient power exp the a an each every".split()
)

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
TOKEN_RE = re.compile(rf"\s*(?:(?P<num>{NUMBER})|(?P<op>[-+*/×÷·^()%−–])|(?P<eq>=))")
CALC_RE = re.compile(r"<<([^<>=]{1,200}(?:=[^<>=]{1,200})+)>>")
WORD_BEFORE_RE = re.compile(r"([A-Za-z]+)\W*$")


@dataclass(frozen=True)
class StepCheck:
    text: str  # the claim as written
    verdict: str  # "ok" | "wrong"
    values: tuple[str, ...]  # each side's exact value


class _Unparseable(Exception):
    pass


def _number(text: str) -> Fraction:
    text = text.replace(",", "")
    if len(text) > MAX_NUMBER_CHARS:
        raise _Unparseable(text)
    return Fraction(text)


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ; unary := '-' unary | power ;
    power := atom ('^' unary)? ; atom := number '%'? | '(' expr ')'"""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _Unparseable("end")
        self.i += 1
        return token

    def parse(self) -> Fraction:
        value = self.expr()
        if self.peek() is not None:
            raise _Unparseable("trailing")
        return value

    def expr(self) -> Fraction:
        value = self.term()
        while (t := self.peek()) and t[1] in "+-":
            self.take()
            value = value + self.term() if t[1] == "+" else value - self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (t := self.peek()) and t[1] in "*/":
            self.take()
            right = self.unary()
            if t[1] == "/":
                if right == 0:
                    raise _Unparseable("division by zero")
                value /= right
            else:
                value *= right
        return value

    def unary(self) -> Fraction:
        if (t := self.peek()) and t[1] == "-":
            self.take()
            return -self.unary()
        return self.power()

    def power(self) -> Fraction:
        base = self.atom()
        if (t := self.peek()) and t[1] == "^":
            self.take()
            exponent = self.unary()
            if exponent.denominator != 1 or abs(exponent) > MAX_EXPONENT or (base == 0 and exponent < 0):
                raise _Unparseable("exponent")
            return base ** int(exponent)
        return base

    def atom(self) -> Fraction:
        kind, text = self.take()
        if kind == "num":
            value = _number(text)
            if (t := self.peek()) and t[1] == "%":
                self.take()
                value /= 100
            return value
        if text == "(":
            value = self.expr()
            if self.take()[1] != ")":
                raise _Unparseable("paren")
            return value
        raise _Unparseable(text)


_OPS = {"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-"}


def _tokens(text: str) -> list[tuple[str, str]] | None:
    """Tokens of ``text`` when all of it is arithmetic, else None."""
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            return None
        pos = match.end()
        if match.group("num"):
            out.append(("num", match.group("num")))
        elif match.group("op"):
            out.append(("op", _OPS.get(match.group("op"), match.group("op"))))
        else:
            out.append(("eq", "="))
        if len(out) > MAX_TOKENS:
            return None
    return out


def _evaluate(tokens: list[tuple[str, str]]) -> Fraction | None:
    if not tokens:
        return None
    try:
        return _Parser(tokens).parse()
    except (_Unparseable, ZeroDivisionError, OverflowError, ValueError):
        return None


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _check_chain(sides: list[str], text: str) -> StepCheck | None:
    tokens = [_tokens(side) for side in sides]  # each side tokenized once
    values = [_evaluate(t) if t is not None else None for t in tokens]
    if len(values) < 2 or any(v is None for v in values) or not any(len(t) > 1 for t in tokens):
        return None  # not all arithmetic, or "7 = 7": no claim
    links = (_link(tokens[i + 1], values[i], values[i + 1]) for i in range(len(values) - 1))
    return StepCheck(text.strip(), "ok" if all(links) else "wrong", tuple(_fmt(v) for v in values))


def _link(right: list[tuple[str, str]], left_value: Fraction, right_value: Fraction) -> bool:
    """One ``=`` of a chain holds, or is a running total ("5 + 3 = 8 + 2 = 10": the next side starts
    from the value so far), which people write and mean; only its arithmetic is judged."""
    if left_value == right_value:
        return True
    return len(right) > 1 and right[0][0] == "num" and _number(right[0][1]) == left_value


def _clause_start(prefix: str) -> bool:
    """Whether the text before a chain ends a clause, so the chain is the whole expression."""
    stripped = prefix.rstrip()
    if not stripped or stripped[-1] in ":;,.(\n!?=" or stripped.endswith(("$", "\\(")):
        return True
    word = WORD_BEFORE_RE.search(stripped)
    return bool(word) and stripped[-1].isalpha() and word.group(1).lower() not in CONTINUATIONS


CHAIN_RE = re.compile(rf"(?:(?:{NUMBER})|[-+*/×÷·^()%−–\s])+?(?:=(?:(?:{NUMBER})|[-+*/×÷·^()%−–\s])+)+")


def check_steps(text: str) -> list[StepCheck]:
    """Every checkable arithmetic claim in ``text``, in order, with its verdict."""
    return list(_checked(text))


@functools.lru_cache(maxsize=4096)  # the steps scorer and the bad_step filter read the same outputs in a row
def _checked(text: str) -> tuple[StepCheck, ...]:
    checks: list[StepCheck] = []
    for note in CALC_RE.finditer(text):
        found = _check_chain(note.group(1).split("="), note.group(0))
        if found:
            checks.append(found)
    plain = CALC_RE.sub("\0", text)  # "48/2 = <<48/2=24>>24" is one claim: the note stands for the rest
    for line in plain.splitlines():
        for match in CHAIN_RE.finditer(line):
            claim = match.group(0)
            lead = len(claim) - len(claim.lstrip())
            claim = claim.strip().rstrip(".").rstrip()
            sides = claim.split("=")
            if not sides[0].strip() or not sides[-1].strip():
                continue
            if not _clause_start(line[: match.start() + lead]):
                continue
            after = line[match.start() + lead + len(claim) :]
            if after[:1].isalpha() or after.lstrip()[:1] in ("/", "^", "*", "("):
                continue  # "= 7x", "= 7 / sqrt…": the last side goes on past what we read
            found = _check_chain(sides, claim)
            if found:
                checks.append(found)
    return tuple(checks)


def bad_steps(text: str) -> list[StepCheck]:
    return [c for c in check_steps(text) if c.verdict == "wrong"]
