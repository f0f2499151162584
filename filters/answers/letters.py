"""Multiple-choice letters: a gold that is a letter (``C``, ``(C)``) is compared as a letter, and a
prediction that names two letters (``(C) or (D)``, ``C/D``) hedges and is wrong."""
from __future__ import annotations

import re

GOLD_LETTER = re.compile(r"\(?([A-J])\)?\.?|\(([a-j])\)")
PRED_LETTER = re.compile(r"\(([A-Ja-j])\)(?=$|[\s.:,/&])|([A-Ja-j])\)?(?=$|[\s.:),/&])")
ANOTHER = re.compile(r"\(([A-Ja-j])\)|^\s*(?:,|/|&|\bor\b|\band\b)\s*\(?([A-Ja-j])\)?(?![A-Za-z])")


def gold_letter(text: str) -> str | None:
    m = GOLD_LETTER.fullmatch(text)
    return (m[1] or m[2]).upper() if m else None


def decide_letter(letter: str, pred: str) -> tuple[str, str]:
    """(verdict, rule) for a letter gold: the prediction's leading letter, unless it names another."""
    m = PRED_LETTER.match(pred)
    if m is None:
        return "wrong", "letter"
    found, rest = (m[1] or m[2]).upper(), pred[m.end():]
    other = ANOTHER.search(rest)
    if other and (other[1] or other[2]).upper() != found:
        return "wrong", "multiple_answers"
    return ("correct" if found == letter else "wrong"), "letter"
