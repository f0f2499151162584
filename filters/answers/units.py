"""Unit words: dropped from both answers before comparing values (``18 dollars`` is 18), except that two
answers naming different units (``5 cm`` and ``5 m``, ``90 min`` and ``90 s``) are different answers."""

from __future__ import annotations

import re

from starmill.filters.answers.normalize import Normalized

ALIASES = {
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "km": "kilometer",
    "metre": "meter",
    "centimetre": "centimeter",
    "millimetre": "millimeter",
    "kilometre": "kilometer",
    "in": "inch",
    "inches": "inch",
    "ft": "foot",
    "feet": "foot",
    "yd": "yard",
    "mi": "mile",
    "mg": "milligram",
    "g": "gram",
    "kg": "kilogram",
    "lb": "pound",
    "lbs": "pound",
    "oz": "ounce",
    "ml": "milliliter",
    "l": "liter",
    "litre": "liter",
    "s": "second",
    "sec": "second",
    "secs": "second",
    "min": "minute",
    "mins": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "usd": "dollar",
    "deg": "degree",
    "mph": "mile/hour",
    "kph": "kilometer/hour",
    "rad": "radian",
}
DEGREE_MARK = re.compile(r"\^\s*\{?\s*\\circ|\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])")
TRIG = re.compile(r"(?:arc)?(?:sin|cos|tan|sec|csc|cot)(?![a-zA-Z])")
POWER = re.compile(r"\^\{?(\d)\}?$")


def _word(word: str) -> str:
    word = word.lower().strip(".")
    if word in ALIASES:
        return ALIASES[word]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]  # plurals
    return ALIASES.get(word, word)


def dropped_unit(answer: Normalized) -> str | None:
    """The unit words normalization dropped from the end of the answer, canonical; None if none. A degree
    mark outside a trigonometric function is the unit "degree" (``60^\\circ`` is not ``60 radians``)."""
    degree = bool(DEGREE_MARK.search(answer.source)) and not TRIG.search(answer.source)
    plain = answer.plain
    if plain == answer.text or not plain.startswith(answer.text):
        return "degree" if degree else None
    unit = plain[len(answer.text) :].strip()
    if not unit:
        return "degree" if degree else None
    if degree:
        unit = "degree " + unit  # 100^\\circ C is not 100^\\circ F
    power = POWER.search(unit)
    words = POWER.sub("", unit) if power else unit
    canonical = " ".join(_word(w) for w in re.split(r"[\s]+", words) if w)
    return canonical + (f"^{power[1]}" if power else "")
