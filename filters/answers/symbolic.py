"""The symbolic path, run only inside checker worker processes (``pool.py``): scalars that are not plain
numbers or typed atoms are parsed to sympy by our own constructor-based parser (``latex.py``; no text
ever reaches ``sympify``) and compared exactly, numerically or by simplifying the difference. What that
parser does not read is unparseable: there is no second, looser parser to guess with."""

from __future__ import annotations

import functools
from fractions import Fraction

import sympy

from starmill.filters.answers.compare import Backend, Unparseable, decide, fast_leaf, read_gold
from starmill.filters.answers.forms import NO_FORM, Form, is_prime_factorization, parse_form
from starmill.filters.answers.latex import Parsed, Unsupported, parse_factors, parse_latex
from starmill.filters.answers.numeric import REL_TOL, parse_number, round_half_away, terminates
from starmill.filters.answers.structure import Decision, split_top

EXACT_TOL = sympy.Rational(1, 10**20)  # two exact values that agree to 20 digits at 30 are equal
DIGITS = 30
MAX_NUMERIC_DIGITS = 20000  # beyond this magnitude only exact or symbolic arguments decide
POINTS = (  # values substituted for free symbols: positive, negative, mixed signs
    (sympy.Rational(13, 10), sympy.Rational(17, 10), sympy.Rational(23, 10), sympy.Rational(29, 10)),
    (sympy.Rational(-7, 10), sympy.Rational(-19, 10), sympy.Rational(-11, 10), sympy.Rational(-31, 10)),
    (sympy.Rational(37, 10), sympy.Rational(-3, 10), sympy.Rational(5, 7), sympy.Rational(-13, 3)),
)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Parsed | None:
    try:
        return parse_latex(text)
    except Unsupported:
        return None


def parse_side(text: str, side: str) -> Parsed:
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


def _fraction(expr: sympy.Basic) -> Fraction | None:
    """A sympy rational as a ``Fraction``; None for anything else."""
    return Fraction(int(expr.p), int(expr.q)) if expr.is_Rational else None


def compare_exprs(
    gold: sympy.Basic,
    pred: sympy.Basic,
    decimals: int | None,
    gold_value: Fraction | None,
    inexact: bool,
    pred_decimal: bool = False,
) -> Decision:
    """``pred_decimal``: the prediction was written with a decimal point, so it rounds to no decimal gold."""
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
                pred_q = _fraction(pred)
                if pred_decimal or (pred_q is not None and terminates(pred_q)):
                    return pred_q == gold_value, "rounding"
                return round_half_away(_fraction(sympy.Rational(p)), decimals) == gold_value, "rounding"
            gold_q = _fraction(gold)
            if inexact and not (gold_q is not None and terminates(gold_q)):
                return _close(g, p, tol), "tolerance"  # 9.9999999 is not \binom{5}{2}: 10 can be written exactly
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
    gl, gr = parse_side(sides[0][0], "gold").expr, parse_side(sides[0][1], "gold").expr
    pl, pr = parse_side(sides[1][0], "pred").expr, parse_side(sides[1][1], "pred").expr
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


def symbolic_leaf(gold: str, pred: str, scale: Fraction = Fraction(1), form: Form = NO_FORM) -> Decision:
    fast = fast_leaf(gold, pred, scale, form)
    if fast is not None:
        return fast
    if len(split_top(gold, {"="})) > 1 or len(split_top(pred, {"="})) > 1:
        return _equation(gold, pred)
    g, p = parse_side(gold, "gold"), parse_side(pred, "pred")
    if not g.symbols and p.implicit_symbols:
        return False, "type:symbols"  # a number against "0x" or "3y": an implicit product is not a number
    gold_expr = g.expr * sympy.Rational(scale.numerator, scale.denominator) if scale != 1 else g.expr
    number = parse_number(gold)
    decimals = number.decimals if number is not None and not form.exact else None
    if decimals is not None and scale != 1:
        decimals = max(decimals + (2 if scale < 1 else -2), 0)
    gold_value = number.value * scale if number is not None else None
    inexact = (g.inexact or p.inexact) and not form.exact
    return compare_exprs(gold_expr, p.expr, decimals, gold_value, inexact, p.inexact)


def _irreducible(factor: sympy.Expr) -> bool:
    if not factor.free_symbols:
        return True  # a constant factor
    base, exponent = factor.as_base_exp()
    if not (exponent.is_Integer and exponent >= 1):
        return False
    try:
        content, items = sympy.factor_list(base)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError):
        return False
    return abs(content) == 1 and len(items) == 1 and items[0][1] == 1


class SymbolicBackend(Backend):
    def leaf(self, gold: str, pred: str, scale: Fraction, form: Form) -> Decision:
        return symbolic_leaf(gold, pred, scale, form)

    def value(self, text: str) -> Fraction:
        expr = parse_side(text, "gold").expr
        value = _value(expr) if not expr.free_symbols else None
        if value is None or not value.is_real:
            raise Unparseable("gold", "form:not_a_number")
        exact = sympy.Rational(value.evalf(60))
        return Fraction(int(exact.p), int(exact.q))

    def readable(self, text: str) -> bool:
        fast = super().readable(text)
        return fast if fast is not None else bool(parse_side(text, "gold"))

    def factored(self, text: str) -> bool:
        integers = is_prime_factorization(text)
        if integers is not None:
            return integers
        try:
            return all(_irreducible(f) for f in parse_factors(text))
        except Unsupported:
            raise Unparseable("pred") from None


SYMBOLIC = SymbolicBackend()


def decide_symbolic(gold: str, pred: str | None, form: str = "") -> tuple[str, str]:
    """The full decision for two extracted answers under a declared form (``forms.parse_form``); with
    ``pred`` None, whether the gold alone can be read (``compare.read_gold``)."""
    if pred is None:
        return read_gold(gold, SYMBOLIC) or ("error", "undecided")
    return decide(gold, pred, SYMBOLIC, parse_form(form)) or ("error", "undecided")


def warm() -> None:
    """Load sympy's lazy parts before a worker takes real work."""
    for gold, pred in (
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
        ("x^2+2x+1", "(x+1)^2"),
        ("\\sin^2 x", "1-\\cos^2 x"),
        ("3+4i", "(2+i)^2"),
        ("y=2x+1", "2x-y=-1"),
        ("\\pi", "3.14"),
        ("a \\cdot b", "b \\times a"),
        ("\\overline{3}", "3"),
        ("exp(-8*x)", "e^{-8x}"),
    ):
        decide_symbolic(gold, pred)
    decide_symbolic("x^2-1", "(x-1)(x+1)", "factored")
    decide_symbolic("\\pi", "3.14", "sig_figs:3")
