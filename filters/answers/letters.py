"""Multiple-choice letters: a gold that is a letter (``C``, ``(C)``) is compared as a letter, and a
prediction that names two letters (``(C) or (D)``, ``C/D``) hedges and is wrong."""

from __future__ import annotations

import re

GOLD_LETTER = re.compile(r"\(?([A-J])\)?\.?|\(([a-j])\)")
# A bare letter followed by "=" is an equation (E = mc^2), and a bare lowercase one followed by a word is
# an article or a pronoun ("a prime number", "i think"), not a choice.
PRED_LETTER = re.compile(
    r"\(([A-Ja-j])\)(?=$|[\s.:,/&])|([A-J])\)?(?=$|[.:),/&]|\s+(?![\s=]))"
    r"|([a-j])\)?(?=$|[.:),/&]|\s+(?![\sa-z=]))"
)
ARTICLE = re.compile(r"A\s+(?!(?:is|was|because|since|as|and|or|would|should|must)\b)[a-z]")  # "A prime number"
ANOTHER = re.compile(r"\(([A-Ja-j])\)|^\s*(?:,|/|&|\bor\b|\band\b)\s*\(?([A-Ja-j])\)?(?![A-Za-z])")


GOLD_OPTION = re.compile(r"\(([A-J])\)\s*(\S.*)|([A-J])[.)]\s+(\S.*)", re.DOTALL)  # (B) 42, B. 42, B) 42


def gold_option(text: str) -> tuple[str, str] | None:
    """(letter, option text) of a gold that carries its option's text (``(B) 42``), else None."""
    m = GOLD_OPTION.fullmatch(text.strip())
    if m is None or re.search(r"\([A-J]\)", m[2] or m[4]):
        return None  # "(A) and (C)" names two options: no option's text
    return (m[1] or m[3]), (m[2] or m[4]).strip()


def pred_letter(pred: str) -> tuple[str, str] | None:
    """(letter, the text after it) when the prediction opens with a choice letter, else None."""
    m = PRED_LETTER.match(pred)
    if m is None or ARTICLE.match(pred):
        return None
    return (m[1] or m[2] or m[3]).upper(), pred[m.end() :]


def gold_letter(text: str) -> str | None:
    m = GOLD_LETTER.fullmatch(text)
    return (m[1] or m[2]).upper() if m else None


def decide_letter(letter: str, pred: str) -> tuple[str, str]:
    """(verdict, rule) for a letter gold: the prediction's leading letter, unless it names another."""
    m = PRED_LETTER.match(pred)
    if m is None or ARTICLE.match(pred):
        return "wrong", "letter"
    found, rest = (m[1] or m[2] or m[3]).upper(), pred[m.end() :]
    other = ANOTHER.search(rest)
    if other and (other[1] or other[2]).upper() != found:
        return "wrong", "multiple_answers"
    return ("correct" if found == letter else "wrong"), "letter"
