"""The symbolic path, run only inside checker worker processes (``pool.py``): scalars that are not plain
numbers are parsed to sympy (our own parser first, latex2sympy2_extended as a fallback with its
number parsing replaced so no text reaches ``sympify``) and compared exactly, numerically or by
simplifying the difference."""
from __future__ import annotations

import functools
import re
from fractions import Fraction

import sympy
import latex2sympy2_extended.latex2sympy2 as l2s
from latex2sympy2_extended.latex2sympy2 import ConversionConfig, latex2sympy

from filters.answers.compare import Unparseable, decide, fast_leaf
from filters.answers.latex import Unsupported, parse_latex
from filters.answers.numeric import REL_TOL, parse_number, round_half_away
from filters.answers.structure import Decision

EXACT_TOL = sympy.Rational(1, 10**20)  # two exact values that agree to 20 digits at 30 are equal
DIGITS = 30
MAX_NUMERIC_DIGITS = 20000  # beyond this magnitude only exact or symbolic arguments decide
POINTS = (  # values substituted for free symbols: positive, negative, mixed signs
    (sympy.Rational(13, 10), sympy.Rational(17, 10), sympy.Rational(23, 10), sympy.Rational(29, 10)),
    (sympy.Rational(-7, 10), sympy.Rational(-19, 10), sympy.Rational(-11, 10), sympy.Rational(-31, 10)),
    (sympy.Rational(37, 10), sympy.Rational(-3, 10), sympy.Rational(5, 7), sympy.Rational(-13, 3)),
)
SAFE_NUMBER = re.compile(r"\d*\.?\d*(?:[eE][-+]?\d+)?")


def _safe_number(text: str) -> sympy.Expr:
    """latex2sympy's number parsing without ``sympy.Number(str)`` (which calls ``sympify``)."""
    text = text.replace(",", "").replace(" ", "")
    if not text or not SAFE_NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {text[:40]!r}")
    mantissa, _, exponent = text.lower().partition("e")
    value = Fraction(mantissa.rstrip(".") or "0")
    number = sympy.Rational(value.numerator, value.denominator)
    if exponent:
        number = number * sympy.Pow(10, sympy.Integer(int(exponent)), evaluate=abs(int(exponent)) <= 1000)
    return sympy.Float(number, 30) if "." in mantissa or exponent else number


l2s.convert_number = _safe_number
l2s._Latex2Sympy.parse_number = lambda self, text: _safe_number(text)
CONVERSION = ConversionConfig(interpret_as_mixed_fractions=True, lowercase_symbols=False)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[sympy.Basic, bool] | None:
    try:
        return parse_latex(text)
    except Unsupported:
        pass
    try:
        expr = latex2sympy(text, normalization_config=None, conversion_config=CONVERSION)
    except Exception:  # the parser signals every syntax error with a bare Exception
        return None
    if not isinstance(expr, (sympy.Basic, sympy.MatrixBase)):
        return None
    expr = expr.xreplace({sympy.Symbol("i"): sympy.I}) if hasattr(expr, "xreplace") else expr
    return expr, bool(getattr(expr, "has", lambda *_: False)(sympy.Float))


def parse_side(text: str, side: str) -> tuple[sympy.Basic, bool]:
    parsed = _parse(text)
    if parsed is None:
        raise Unparseable(side)
    return parsed


def _value(expr: sympy.Expr, subs: dict | None = None) -> sympy.Expr | None:
    value = expr.evalf(DIGITS, subs=subs) if subs else expr.evalf(DIGITS)
    if not value.is_number or value.has(sympy.zoo, sympy.nan) or value.free_symbols:
        return None
    return value


def _expandable(expr: sympy.Expr) -> bool:
    """Expanding is cheap only without large powers and factorials."""
    return not any(
        (isinstance(a, sympy.Pow) and not (a.exp.is_Number and abs(a.exp) <= 50)) or isinstance(a, sympy.factorial)
        for a in sympy.preorder_traversal(expr)
    )


def _close(gold: sympy.Expr, pred: sympy.Expr, tol: sympy.Expr) -> bool:
    if gold.is_infinite or pred.is_infinite:
        return bool(gold == pred)
    return bool(sympy.Abs(gold - pred).evalf(DIGITS) <= tol * sympy.Abs(gold).evalf(DIGITS))


def _exact_equal(gold: sympy.Expr, pred: sympy.Expr, g: sympy.Expr, p: sympy.Expr) -> bool | None:
    """Exact constants: a rational difference decides exactly (2^100 + 1 is not 2^100); otherwise the
    difference is evaluated with enough digits for the magnitude and must vanish to 20 digits."""
    diff = gold - pred
    if diff.is_Rational:
        return diff == 0
    if g.is_infinite or p.is_infinite:
        return bool(g == p)
    if not _close(g, p, EXACT_TOL):
        return False  # they differ within the first 20 of 30 correct digits
    magnitude = max(sympy.Abs(g), sympy.Abs(p))
    if magnitude == 0:
        return True
    digits = max(0, int(sympy.log(magnitude, 10).evalf(15)) + 1)
    if digits > MAX_NUMERIC_DIGITS:
        return None
    d = diff.evalf(DIGITS + digits)
    if not d.is_number or d.has(sympy.zoo, sympy.nan):
        return None
    return bool(sympy.Abs(d) <= EXACT_TOL * min(magnitude, 1))


def compare_exprs(gold: sympy.Basic, pred: sympy.Basic, decimals: int | None, gold_value: Fraction | None, inexact: bool) -> Decision:
    if gold == pred:
        return True, "symbolic"
    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)):
        return bool(sympy.simplify(gold) == sympy.simplify(pred)), "structure"
    tol = sympy.Rational(REL_TOL.numerator, REL_TOL.denominator) if inexact else EXACT_TOL
    names = sorted(gold.free_symbols | pred.free_symbols, key=str)
    if not names:
        g, p = _value(gold), _value(pred)
        if g is not None and p is not None:
            if decimals is not None and gold_value is not None and p.is_real:
                exact = sympy.Rational(p)
                return round_half_away(Fraction(int(exact.p), int(exact.q)), decimals) == gold_value, "rounding"
            if inexact:
                return _close(g, p, tol), "tolerance"
            same = _exact_equal(gold, pred, g, p)
            if same is not None:
                return same, "numeric"
    else:
        if _expandable(gold - pred) and sympy.expand(gold - pred) == 0:
            return True, "symbolic"
        agreed = 0
        for point in POINTS:
            subs = {s: point[k % len(point)] + k // len(point) for k, s in enumerate(names)}
            g, p = _value(gold, subs), _value(pred, subs)
            if g is None or p is None:
                continue
            if not _close(g, p, tol):
                return False, "numeric"
            agreed += 1
        if agreed >= 2:
            return True, "numeric"
    return bool(sympy.simplify(gold - pred) == 0), "simplify"


def _equation(gold: str, pred: str) -> Decision:
    """``L1 = R1`` against ``L2 = R2``: equal when L1 - R1 is a non-zero constant multiple of L2 - R2."""
    sides = [s.split("=") for s in (gold, pred)]
    if any(len(s) != 2 for s in sides):
        return False, "equation"
    (gl, _), (gr, _) = parse_side(sides[0][0], "gold"), parse_side(sides[0][1], "gold")
    (pl, _), (pr, _) = parse_side(sides[1][0], "pred"), parse_side(sides[1][1], "pred")
    f, h = gl - gr, pl - pr
    names = sorted(f.free_symbols | h.free_symbols, key=str)
    ratios = []
    for point in POINTS:
        subs = {s: point[k % len(point)] + k // len(point) for k, s in enumerate(names)}
        a, b = _value(f, subs), _value(h, subs)
        if a is not None and b is not None and b != 0:
            ratios.append(a / b)
    if len(ratios) >= 2 and ratios[0] != 0:
        return all(_close(ratios[0], r, EXACT_TOL) for r in ratios), "equation"
    return bool(sympy.simplify(f - h) == 0 or sympy.simplify(f + h) == 0), "equation"


def symbolic_leaf(gold: str, pred: str, scale: Fraction = Fraction(1)) -> Decision:
    fast = fast_leaf(gold, pred, scale)
    if fast is not None:
        return fast
    if "=" in gold or "=" in pred:
        return _equation(gold, pred)
    g, g_inexact = parse_side(gold, "gold")
    p, p_inexact = parse_side(pred, "pred")
    if scale != 1:
        g = g * sympy.Rational(scale.numerator, scale.denominator)
    number = parse_number(gold)
    decimals = number.decimals if number is not None else None
    if decimals is not None and scale != 1:
        decimals = max(decimals + (2 if scale < 1 else -2), 0)
    gold_value = number.value * scale if number is not None else None
    return compare_exprs(g, p, decimals, gold_value, g_inexact or p_inexact)


def decide_symbolic(gold: str, pred: str) -> tuple[str, str]:
    """The full decision for two extracted answers; never returns None."""
    return decide(gold, pred, symbolic_leaf) or ("error", "undecided")


def warm() -> None:
    """Load sympy's lazy parts and the fallback parser's tables before a worker takes real work."""
    for gold, pred in (("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("x^2+2x+1", "(x+1)^2"),
                       ("\\sin^2 x", "1-\\cos^2 x"), ("3+4i", "(2+i)^2"), ("y=2x+1", "2x-y=-1"),
                       ("\\pi", "3.14"), ("a \\cdot b", "b \\times a"), ("\\overline{3}", "3")):
        decide_symbolic(gold, pred)
    for text in ("x \\in \\mathbb{R}", "\\begin{pmatrix}1&2\\end{pmatrix}", "f'(x)", "\\{1,2\\}"):
        _parse(text)
