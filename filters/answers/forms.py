"""Declared answer forms: what a problem asks of an answer beyond its value ("in lowest terms", "as a
prime factorization", "to 3 significant figures"). A problem declares its form (``check_answer(…,
form="sig_figs:3")``); without one only the value counts. The checks here read the prediction as
written, because a form is about how the answer is written."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from fractions import Fraction

from starmill.filters.answers.numeric import round_half_away

FLAGS = ("reduced", "factored", "exact", "case_sensitive", "ordered")
COUNTS = ("sig_figs", "decimal_places")
LITERAL = re.compile(
    r"([-+]?)(\d+)(?:\.(\d*))?(?:\s*(?:[eE]\s*([-+]?\d+)|(?:\\times|\\cdot|\*)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?))?"
)
SLASHED = re.compile(r"(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d.])")
DECIMAL = re.compile(r"\d?\.\d")
LEADING = re.compile(r"(\d+)\s*(?:\\cdot|\\times|\*)?\s*(.*)")
TOP_SUM = re.compile(r"[+-]")
PRIME_POWER = re.compile(r"(\d+)(?:\s*\^\s*\{?\s*(\d+)\s*\}?)?")
PRODUCT = re.compile(r"\\times|\\cdot|\*")


@dataclass(frozen=True, slots=True)
class Form:
    reduced: bool = False  # fractions in lowest terms (no decimals)
    factored: bool = False  # a product of primes (integers) or of irreducible factors (polynomials)
    exact: bool = False  # no rounding or tolerance: the value itself
    case_sensitive: bool = False  # text answers compare with their case
    ordered: bool = False  # lists compare in order
    sig_figs: int | None = None  # written with this many significant figures, equal to the rounded gold
    decimal_places: int | None = None  # written with exactly this many decimals, equal to the rounded gold

    def __str__(self) -> str:
        parts = [f.name for f in fields(self) if f.name in FLAGS and getattr(self, f.name)]
        parts += [f"{name}:{getattr(self, name)}" for name in COUNTS if getattr(self, name) is not None]
        return ",".join(parts)

    def __bool__(self) -> bool:
        return bool(str(self))

    @property
    def numeric(self) -> bool:
        return self.sig_figs is not None or self.decimal_places is not None


NO_FORM = Form()


def parse_form(spec: str | Iterable[str] | Form | None) -> Form:
    """``"reduced"``, ``"sig_figs:3,exact"``, ``["factored"]`` or a ``Form``; unknown names raise ValueError."""
    if spec is None or isinstance(spec, Form):
        return spec or NO_FORM
    items = re.split(r"[,;\s]+", spec) if isinstance(spec, str) else list(spec)
    values: dict = {}
    for item in (i.strip() for i in items):
        name, _, count = item.replace("=", ":").partition(":")
        if not name:
            continue
        if name in FLAGS and not count:
            values[name] = True
        elif name in COUNTS and count.isdigit() and int(count) <= 100 and (int(count) > 0 or name == "decimal_places"):
            values[name] = int(count)
        else:
            known = ", ".join(FLAGS + tuple(f"{c}:N" for c in COUNTS))
            raise ValueError(f"unknown answer form {item!r} (known: {known})")
    return Form(**values)


@dataclass(frozen=True, slots=True)
class Literal:
    value: Fraction
    decimals: int  # digits after the point, counting the exponent (8.52e5 has none)
    sig_min: int  # significant figures: 852000 has 3 to 6, 852000. and 8.52e5 exactly 6 and 3
    sig_max: int


def parse_literal(text: str) -> Literal | None:
    m = LITERAL.fullmatch(text.strip())
    if not m:
        return None
    whole, frac, exponent = m[2], m[3] or "", int(m[4] or m[5] or 0)
    value = Fraction(f"{whole}.{frac}" if frac else whole) * Fraction(10) ** exponent
    digits = (whole + frac).lstrip("0")
    if m[3] is not None or m[4] or m[5]:
        low = high = len(digits) or max(len(frac), 1)
    else:
        low, high = len(digits.rstrip("0")) or 1, len(digits) or 1
    return Literal(-value if m[1] == "-" else value, max(len(frac) - exponent, 0), low, high)


def round_sig(value: Fraction, figures: int) -> Fraction:
    if value == 0:
        return value
    k = len(str(abs(value.numerator))) - len(str(value.denominator))
    while Fraction(10) ** k > abs(value):
        k -= 1
    while Fraction(10) ** (k + 1) <= abs(value):
        k += 1
    places = figures - 1 - k
    scaled = round_half_away(value * Fraction(10) ** places, 0)
    return scaled / Fraction(10) ** places


def check_numeric(form: Form, gold: Fraction, pred_text: str) -> tuple[bool, str]:
    """sig_figs / decimal_places: the prediction is a number literal written that way and equal to the
    gold rounded that way (half away from zero)."""
    rule = "form:sig_figs" if form.sig_figs is not None else "form:decimal_places"
    lit = parse_literal(pred_text)
    if lit is None:
        return False, rule
    if form.sig_figs is not None:
        n = form.sig_figs
        if not lit.sig_min <= n <= lit.sig_max or lit.value != round_sig(gold, n):
            return False, "form:sig_figs"
    if form.decimal_places is not None:
        d = form.decimal_places
        if lit.decimals != d or lit.value != round_half_away(gold, d):
            return False, "form:decimal_places"
    return True, rule


def _coefficient(text: str) -> int | None:
    """The integer a numerator or denominator is a multiple of as written (``2\\sqrt2`` → 2, ``x`` → 1),
    None for a sum."""
    text = text.strip().lstrip("-+").strip()
    if not text or TOP_SUM.search(text):
        return None
    m = LEADING.fullmatch(text)
    return int(m[1]) if m else 1


def _group(text: str, i: int) -> tuple[str, int] | None:
    """The balanced ``{…}`` at ``i`` (after spaces) and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth, j = 0, i
    while j < len(text):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j], j + 1
        j += 1
    return None


def _written_fractions(text: str) -> list[tuple[str, str]] | None:
    """Numerator and denominator of every ``\\frac{…}{…}`` and ``a/b`` as written; None for a fraction
    inside a fraction or one that is not written with two groups."""
    found, i = [], text.find("\\frac")
    while i >= 0:
        num = _group(text, i + 5)
        den = num and _group(text, num[1])
        if not den or "\\frac" in num[0] + den[0]:
            return None
        found.append((num[0], den[0]))
        i = text.find("\\frac", den[1])
    return found + [(m[1], m[2]) for m in SLASHED.finditer(text)]


def is_reduced(pred_text: str) -> bool:
    """No decimals, no compound fractions, and every written fraction in lowest terms."""
    fractions = _written_fractions(pred_text)
    if DECIMAL.search(pred_text) or fractions is None:
        return False
    for num, den in fractions:
        a, b = _coefficient(num), _coefficient(den)
        if den.strip().lstrip("-+").strip() == "1":
            return False  # 6/1
        if a is not None and b is not None and math.gcd(a, b) > 1:
            return False
    return True


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):  # deterministic below 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return n < 3 * 10**24


def is_prime_factorization(pred_text: str) -> bool | None:
    """``2^4 \\times 41``, ``2 \\cdot 2 \\cdot 41``: a product of prime powers; None when the answer has
    letters (a polynomial, which the symbolic path checks)."""
    text = pred_text.replace("**", "^")
    if re.search(r"[a-zA-Z]", PRODUCT.sub("", text)):
        return None
    for part in PRODUCT.split(text):
        m = PRIME_POWER.fullmatch(part.strip())
        if not m or len(m[1]) > 24 or not _is_prime(int(m[1])) or (m[2] is not None and int(m[2]) < 1):
            return False
    return True
