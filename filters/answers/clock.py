"""Clock times, durations and dates parsed into exact values, so ``12:00`` is never a ratio and
``2024-03-05`` never a subtraction."""

from __future__ import annotations

import datetime
import re
from fractions import Fraction

TIME = re.compile(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?:\s*([ap])\.?\s*m\.?)?", re.IGNORECASE)
UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "wk": 604800,
    "week": 604800,
    "weeks": 604800,
}
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\.?")
DURATION_GAP = re.compile(r"\s*(?:,|\band\b)?\s*")
MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})-(\d{2})|([/.])(\d{1,2})\4(\d{1,2}))")
DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
MONTH_DAY = re.compile(rf"{_MONTH}\s+{_DAY}(?:,?\s+(\d{{4}}))?", re.IGNORECASE)
DAY_MONTH = re.compile(rf"{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?", re.IGNORECASE)
AMBIGUOUS = "ambiguous"  # a numeric date that reads as two different days (03/05/2024)


def parse_time(text: str) -> int | None:
    """Seconds after midnight of ``H:MM``, ``HH:MM:SS``, ``8:30 pm``; None if it is not a clock time."""
    m = TIME.fullmatch(text.strip())
    if not m:
        return None
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    if m[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
    elif hour > 23:
        return None
    return hour * 3600 + minute * 60 + second


def parse_duration(text: str) -> Fraction | None:
    """Seconds in ``90 minutes``, ``2 hours 30 minutes``, ``1h 30m``; None without a time unit."""
    text, i, total, parts, after_hours = text.strip(), 0, Fraction(0), 0, False
    while i < len(text):
        m = DURATION_PART.match(text, i)
        if not m:
            return None
        unit = m[2].lower()
        if unit == "m" and after_hours:
            unit = "min"  # "1h 30m"; a bare "m" is metres
        if unit not in UNIT_SECONDS:
            return None
        total += Fraction(m[1]) * UNIT_SECONDS[unit]
        after_hours, parts = UNIT_SECONDS[unit] == 3600, parts + 1
        i = DURATION_GAP.match(text, m.end()).end()
    return total if parts else None


def _date(year: int | None, month: int, day: int) -> tuple[int | None, int, int] | None:
    try:
        datetime.date(year or 2000, month, day)  # 2000 is a leap year: February 29 without a year is fine
    except ValueError:
        return None
    return year, month, day


def parse_date(text: str) -> tuple[int | None, int, int] | str | None:
    """(year or None, month, day), ``AMBIGUOUS`` for a numeric date with two readings, or None."""
    text = text.strip()
    if m := ISO_DATE.fullmatch(text):
        return _date(int(m[1]), int(m[2] or m[5]), int(m[3] or m[6]))
    if m := DAY_MONTH_YEAR.fullmatch(text):
        first, second, year = int(m[1]), int(m[3]), int(m[4])
        readings = {r for r in (_date(year, first, second), _date(year, second, first)) if r}
        return readings.pop() if len(readings) == 1 else (AMBIGUOUS if readings else None)
    if m := MONTH_DAY.fullmatch(text):
        return _date(int(m[3]) if m[3] else None, MONTHS[m[1].lower()], int(m[2]))
    if m := DAY_MONTH.fullmatch(text):
        return _date(int(m[3]) if m[3] else None, MONTHS[m[2].lower()], int(m[1]))
    return None


def same_date(gold: tuple[int | None, int, int], pred: tuple[int | None, int, int]) -> bool:
    """A gold without a year ignores the prediction's year; a prediction without one misses the gold's."""
    if gold[0] is not None and gold[0] != pred[0]:
        return False
    return gold[1:] == pred[1:]
