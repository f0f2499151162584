"""One decision procedure for both paths: normalize, apply the policy (letters, multiple answers,
percent), compare shapes, and compare scalars with the leaf function the caller passes."""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable, Optional

from filters.answers.normalize import normalize, squash
from filters.answers.numeric import numbers_match, parse_number
from filters.answers.structure import Decision, compare_nodes, parse_structure

ScaledLeaf = Callable[[str, str, Fraction], Optional[Decision]]

GOLD_LETTER = re.compile(r"\(?([A-J])\)?\.?|\(([a-j])\)")
PRED_LETTER = re.compile(r"\(?([A-Ja-j])\)?(?=$|[\s.:)])")
WORDS = re.compile(r"[A-Za-z][A-Za-z'\- ]*")
MATH_WORDS = {"sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "sqrt", "frac", "pi", "infty"}
INFINITIES = {"\\infty": 1, "-\\infty": -1, "+\\infty": 1}


class Unparseable(Exception):
    """A side that no parser understands; ``side`` is "gold" or "pred"."""

    def __init__(self, side: str, rule: str = "parse_error"):
        super().__init__(side, rule)
        self.side, self.rule = side, rule


def _wordy(text: str) -> bool:
    return bool(WORDS.fullmatch(text)) and any(
        len(w) >= 3 and w.lower() not in MATH_WORDS for w in re.split(r"[\s\-]+", text)
    )


def fast_leaf(gold: str, pred: str, scale: Fraction = Fraction(1)) -> Decision | None:
    """Scalars compared without sympy: equal strings, numbers, infinities, words; None if unsure."""
    if scale == 1 and squash(gold) == squash(pred):
        return True, "string"
    g, p = parse_number(gold), parse_number(pred)
    if g is not None and p is not None:
        return numbers_match(g, p, scale)
    gi, pi = INFINITIES.get(squash(gold)), INFINITIES.get(squash(pred))
    if gi is not None or pi is not None:
        if (gi is not None or g is not None) and (pi is not None or p is not None):
            return gi == pi, "infinity"
        return None
    if _wordy(gold) and _wordy(pred):
        return squash(gold).lower() == squash(pred).lower(), "text"
    return None


def decide(gold: str, pred: str, leaf: ScaledLeaf = fast_leaf) -> tuple[str, str] | None:
    """(verdict, rule) for two extracted answers, or None when ``leaf`` could not tell."""
    g, p = normalize(gold), normalize(pred)
    if not g.text:
        return "unparseable_gold", "empty"
    if not p.text:
        return "unparseable_pred", "empty"
    if letter := GOLD_LETTER.fullmatch(g.text):
        found = PRED_LETTER.match(p.text)
        same = found is not None and found[1].upper() == (letter[1] or letter[2]).upper()
        return ("correct" if same else "wrong"), "letter"
    if squash(g.text) == squash(p.text) and g.percent == p.percent:
        return "correct", "string"
    gold_node, pred_node = parse_structure(g.text), parse_structure(p.text)
    scales = [Fraction(1)]
    if g.percent != p.percent and gold_node.kind == pred_node.kind == "scalar":
        scales.append(Fraction(1, 100) if g.percent else Fraction(100))
    try:
        decisions = []
        for scale in scales:
            d = compare_nodes(gold_node, pred_node, lambda a, b, s=scale: leaf(a, b, s))
            if d is not None and d[0]:
                return "correct", d[1] if scale == 1 else f"percent:{d[1]}"
            decisions.append(d)
    except Unparseable as exc:
        return f"unparseable_{exc.side}", exc.rule
    if any(d is None for d in decisions):
        return None
    return "wrong", decisions[0][1]
