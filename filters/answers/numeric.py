"""The fast path: numbers written as integers, decimals, fractions, mixed numbers or scientific
notation, compared as exact rationals with the documented rounding and tolerance rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_DIGITS = 1000  # longer literals go to the symbolic path, where a time limit holds
MAX_EXPONENT = 1000  # 10^k beyond this is not built as an exact integer here
REL_TOL = Fraction(1, 10**6)

NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
SIGNED = rf"[-+]?\s*{NUM}"
PLAIN = re.compile(rf"([-+]?)\s*({NUM})")
SLASH = re.compile(rf"({SIGNED})\s*/\s*({SIGNED})")
FRAC = re.compile(rf"([-+]?)\s*\\frac\s*\{{\s*({SIGNED})\s*\}}\s*\{{\s*({SIGNED})\s*\}}")
MIXED = re.compile(r"([-+]?)\s*(\d+)\s*(?:\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|\s(\d+)\s*/\s*(\d+))")
SCI = re.compile(
    rf"({SIGNED})\s*(?:[eE]\s*([-+]?\d+)|(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*(?:\{{\s*([-+]?\d+)\s*\}}|(\d)))"
)
POWER_OF_TEN = re.compile(r"([-+]?)\s*10\s*\^\s*(?:\{\s*([-+]?\d+)\s*\}|(\d))")
REPEATING = re.compile(r"([-+]?)(\d*)\.(\d*)\\overline\s*\{(\d+)\}")
SCALE = re.compile(rf"({SIGNED})\s+(thousand|million|billion|trillion)")
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


@dataclass(frozen=True, slots=True)
class Number:
    value: Fraction
    exact: bool  # written without a decimal point (integers, fractions of integers)
    decimals: int | None = None  # digits after the point of a plain decimal literal (the rounding rule)


def _literal(text: str) -> tuple[Fraction, bool, int | None]:
    text = text.replace(" ", "")
    if "." not in text:
        return Fraction(int(text)), True, None
    return Fraction(text if not text.endswith(".") else text[:-1]), False, len(text.split(".")[1])


def _exponent(text: str) -> int | None:
    k = int(text)
    return k if abs(k) <= MAX_EXPONENT else None


def parse_number(text: str) -> Number | None:
    """Parse a whole answer as one number, or return None (it is then not a plain number)."""
    text = text.strip()
    if not text or sum(c.isdigit() for c in text) > MAX_DIGITS:
        return None
    if m := PLAIN.fullmatch(text):
        value, exact, decimals = _literal(m[2])
        return Number(-value if m[1] == "-" else value, exact, decimals)
    if m := FRAC.fullmatch(text) or SLASH.fullmatch(text):
        sign = m[1] if m.re is FRAC else ""
        (num, e1, _), (den, e2, _) = _literal(m[m.re.groups - 1]), _literal(m[m.re.groups])
        if den == 0:
            return None
        return Number(-num / den if sign == "-" else num / den, e1 and e2)
    if m := MIXED.fullmatch(text):
        whole, num, den = int(m[2]), int(m[3] or m[5]), int(m[4] or m[6])
        if den == 0 or num >= den:
            return None
        value = whole + Fraction(num, den)
        return Number(-value if m[1] == "-" else value, True)
    if m := SCI.fullmatch(text):
        k = _exponent(m[2] or m[3] or m[4])
        if k is None:
            return None
        mantissa, exact, _ = _literal(m[1].lstrip("+"))
        return Number(mantissa * Fraction(10) ** k, exact)
    if m := POWER_OF_TEN.fullmatch(text):
        k = _exponent(m[2] or m[3])
        if k is None:
            return None
        return Number((-1 if m[1] == "-" else 1) * Fraction(10) ** k, True)
    if m := REPEATING.fullmatch(text):  # 0.1\overline{6} = 1/6
        head, fixed, cycle = m[2] or "0", m[3], m[4]
        value = Fraction(int(head + fixed + cycle) - int(head + fixed), (10 ** len(cycle) - 1) * 10 ** len(fixed))
        return Number(-value if m[1] == "-" else value, True)
    if m := SCALE.fullmatch(text):
        value, exact, _ = _literal(m[1].lstrip("+"))
        return Number(value * SCALES[m[2]], exact or (value * SCALES[m[2]]).denominator == 1)
    return None


def round_half_away(value: Fraction, digits: int) -> Fraction:
    scaled = abs(value) * 10**digits
    rounded = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    return Fraction(rounded if value >= 0 else -rounded, 10**digits)


def terminates(value: Fraction) -> bool:
    """Whether ``value`` has a finite decimal expansion (36, 1/8): then a decimal must write it exactly."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def within_tolerance(gold: complex | Fraction, pred: complex | Fraction) -> bool:
    return abs(pred - gold) <= REL_TOL * abs(gold)


def numbers_match(gold: Number, pred: Number, scale: Fraction = Fraction(1), exact: bool = False) -> tuple[bool, str]:
    """Exact when both are exact; a decimal gold with d digits accepts an exact value that has no finite
    decimal (1/3, 0.\\overline{3}) and rounds to it at d digits, never another decimal (2.49 is not 2.5);
    otherwise relative tolerance 1e-6, except for an exact gold a decimal can write exactly (35.9999999 is
    not 36). ``exact`` (the declared form) allows neither."""
    target = gold.value * scale
    decimals = gold.decimals
    if decimals is not None and scale != 1:
        decimals = max(decimals + (2 if scale < 1 else -2), 0)
    if target == pred.value:
        return True, "rational"
    if exact:
        return False, "exact"
    if decimals is not None:
        if terminates(pred.value):
            return False, "rounding"  # 2.49, 2.45, 249/100 are other decimals than 2.5, not 2.5 rounded
        return round_half_away(pred.value, decimals) == target, "rounding"
    if gold.exact and (pred.exact or terminates(target)):
        return False, "rational"
    return within_tolerance(target, pred.value), "tolerance"
