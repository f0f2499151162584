"""Verifiers that need no parser: ``exact`` (string equality), ``numeric`` (a tolerance or significant
figures) and ``regex`` (the answer matches a pattern from config or the problem's metadata). Each reads
the final answer the way the ``math`` verifier does (``extract_answer``) unless told it is bare."""

from __future__ import annotations

import functools
import re
import time
from fractions import Fraction
from typing import Any

from starmill.filters.answers import extract_answer
from starmill.filters.answers.forms import round_sig
from starmill.filters.answers.normalize import normalize
from starmill.filters.answers.numeric import parse_number
from starmill.filters.answers.verdict import Verdict
from starmill.filters.verifiers.base import Verifier, gold_of, metadata_of
from starmill.filters.verifiers.registry import VERIFIERS

MAX_ANSWER_CHARS = 2000  # longer answers are unparseable, as in the math verifier


class _AnswerVerifier(Verifier):
    def __init__(self, *, pred_is_answer: bool = False, lenient: bool = False):
        self.pred_is_answer, self.lenient = pred_is_answer, lenient

    def verify(self, problem: Any, output: str) -> Verdict:
        started = time.perf_counter()
        gold = gold_of(problem)
        if output is None:
            return self._verdict("unparseable_pred", "empty", None, gold, time.perf_counter() - started)
        if self.pred_is_answer:
            pred, rule = str(output).strip(), "answer"
        else:
            found = extract_answer(str(output), lenient=self.lenient)
            pred, rule = found.answer, found.rule
        if pred is None:
            return self._verdict("unparseable_pred", rule, None, gold, time.perf_counter() - started)
        if len(pred) > MAX_ANSWER_CHARS:
            return self._verdict("unparseable_pred", "too_long", pred, gold, time.perf_counter() - started)
        verdict, rule = self.compare(problem, gold, pred)
        return self._verdict(verdict, rule, pred, gold, time.perf_counter() - started)

    def compare(self, problem: Any, gold: str | None, pred: str) -> tuple[str, str]:
        raise NotImplementedError


@VERIFIERS.register
class ExactVerifier(_AnswerVerifier):
    """The answer equals the gold as a string, whitespace collapsed (``ignore_case`` optional)."""

    name, version = "exact", "1"

    def __init__(self, *, ignore_case: bool = False, **options):
        super().__init__(**options)
        self.ignore_case = ignore_case

    def compare(self, problem: Any, gold: str | None, pred: str) -> tuple[str, str]:
        if gold is None or not str(gold).strip():
            return "unparseable_gold", "empty"
        g, p = " ".join(str(gold).split()), " ".join(pred.split())
        if self.ignore_case:
            g, p = g.casefold(), p.casefold()
        return ("correct" if g == p else "wrong"), "exact"


@VERIFIERS.register
class NumericVerifier(_AnswerVerifier):
    """Both answers are numbers (integers, decimals, fractions, scientific notation, thousands separators)
    within ``rel_tol`` of the gold or ``abs_tol``, or equal when both are rounded to ``sig_figs``."""

    name, version = (
        "numeric",
        "2",
    )  # 2: unit words that judge ("18 is incorrect", "12 dozen") are no longer dropped as units

    def __init__(self, *, rel_tol: float = 1e-6, abs_tol: float = 0.0, sig_figs: int | None = None, **options):
        super().__init__(**options)
        if sig_figs is not None and sig_figs < 1:
            raise ValueError("sig_figs must be at least 1")
        self.rel_tol, self.abs_tol, self.sig_figs = Fraction(str(rel_tol)), Fraction(str(abs_tol)), sig_figs

    def compare(self, problem: Any, gold: str | None, pred: str) -> tuple[str, str]:
        g = parse_number(normalize(str(gold)).text) if gold is not None else None
        if g is None:
            return "unparseable_gold", "not_a_number"
        p = parse_number(normalize(pred).text)
        if p is None:
            return "unparseable_pred", "not_a_number"
        if self.sig_figs is not None:
            same = round_sig(g.value, self.sig_figs) == round_sig(p.value, self.sig_figs)
            return ("correct" if same else "wrong"), "sig_figs"
        close = abs(p.value - g.value) <= max(self.rel_tol * abs(g.value), self.abs_tol)
        return ("correct" if close else "wrong"), "tolerance"


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


@VERIFIERS.register
class RegexVerifier(_AnswerVerifier):
    """The whole answer matches ``pattern``, or the pattern in the problem's metadata field
    ``pattern_field``; ``{gold}`` in a pattern stands for the escaped gold answer."""

    name, version = "regex", "1"

    def __init__(
        self, *, pattern: str | None = None, pattern_field: str = "answer_pattern", ignore_case: bool = False, **options
    ):
        super().__init__(**options)
        if pattern is not None:
            _compiled(pattern, ignore_case)  # a bad pattern is a config error, raised now
        self.pattern, self.pattern_field, self.ignore_case = pattern, pattern_field, ignore_case

    def compare(self, problem: Any, gold: str | None, pred: str) -> tuple[str, str]:
        pattern = metadata_of(problem).get(self.pattern_field) or self.pattern
        if not pattern:
            return "unparseable_gold", "no_pattern"
        if "{gold}" in pattern:
            if gold is None:
                return "unparseable_gold", "empty"
            pattern = pattern.replace("{gold}", re.escape(str(gold).strip()))
        try:
            compiled = _compiled(pattern, self.ignore_case)
        except re.error:
            return "unparseable_gold", "bad_pattern"
        return ("correct" if compiled.fullmatch(pred.strip()) else "wrong"), "regex"
