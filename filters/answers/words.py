"""Numbers written in words: ``twelve``, ``three hundred (and) five``, ``twenty-one``, ``a half``, ``two
thirds``, ``one and a half``. A whole answer in number words is read as its value; any other word
makes it no number (it stays text). Ordinals alone (``third``, ``second``) are never numbers."""

from __future__ import annotations

import re
from fractions import Fraction

UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
SCALES = {"thousand": 1000, "million": 10**6, "billion": 10**9}
DENOMINATORS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
}
SIGNS = {"negative": -1, "minus": -1}
VOCABULARY = set(UNITS) | set(TENS) | set(SCALES) | set(DENOMINATORS) | {"hundred", "a", "an", "and"} | set(SIGNS)
WORD = re.compile(r"[A-Za-z]+")
# A run of number words in running text; a lone "a", "an" or "and" is no number
RUN = re.compile(
    r"\b(?:(?:" + "|".join(sorted(VOCABULARY - {"and"}, key=len, reverse=True)) + r")(?:[\s-]+|\b))+", re.IGNORECASE
)


def _whole(words: list[str]) -> int | None:
    """``three hundred and five thousand two`` and the like; None unless every word belongs."""
    total, current, seen = 0, None, False
    for i, w in enumerate(words):
        if w in UNITS or w in TENS:
            value = UNITS.get(w, TENS.get(w))
            if (
                current is not None
                and not (w in UNITS and current % 100 >= 20 and current % 10 == 0 and value < 10)
                and not (current % 100 == 0 and current)
            ):
                return None  # "twelve five", "five twenty" are no numbers
            current = (current or 0) + value
            seen = True
        elif w == "hundred":
            if current is None or current >= 100 or current == 0:
                return None
            current *= 100
        elif w in SCALES:
            if current is None or current == 0:
                return None
            total, current = total + current * SCALES[w], None
        elif w == "and":  # "three hundred and five", "two thousand and five"
            if (
                (current is None and not total)
                or (current is not None and (current % 100 or not current))
                or i + 1 == len(words)
            ):
                return None
        else:
            return None
    if not seen:
        return None
    return total + (current or 0)


def _fraction(head: list[str], name: str) -> Fraction | None:
    whole = 0
    if "and" in head:  # "one and a half"; "three hundred and five sixths" has two readings: no number
        k = len(head) - 1 - head[::-1].index("and")
        if head[k + 1 :] not in (["a"], ["an"]) or (whole := _whole(head[:k])) is None:
            return None
        head = head[k + 1 :]
    numerator = 1 if head in (["a"], ["an"]) else _whole(head)
    plural = name.endswith("s")
    if numerator is None or numerator == 0 or (numerator == 1) == plural and name != "half":
        return None  # "two third", "one thirds"
    if name == "half" and numerator != 1:
        return None
    return whole + Fraction(numerator, DENOMINATORS[name])


def parse_number_words(text: str) -> Fraction | None:
    """The value of ``text`` when it is a number in words and nothing else, else None."""
    words = [w.lower() for w in WORD.findall(text)]
    if not words or re.sub(r"[A-Za-z\s-]", "", text).strip():
        return None
    sign = 1
    if words[0] in SIGNS:
        sign, words = SIGNS[words[0]], words[1:]
    if words and words[-1] in DENOMINATORS:  # a half, two thirds, one and a half
        return None if (value := _fraction(words[:-1], words[-1])) is None else sign * value
    value = _whole(words)
    return None if value is None else sign * Fraction(value)


def number_phrases(text: str) -> tuple[str, ...]:
    """The values of number words written in ``text`` ("although six is also possible"), as numerals."""
    found = []
    for m in RUN.finditer(text):
        value = parse_number_words(m.group().strip(" -"))
        if value is not None:
            found.append(str(value))
    return tuple(found)
