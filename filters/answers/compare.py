"""One decision procedure for both paths: normalize, apply the policy (letters, typed atoms, multiple
answers, percent, declared forms), compare shapes, and compare scalars with the backend's leaf."""

from __future__ import annotations

from fractions import Fraction

from starmill.filters.answers import forms, letters, typed
from starmill.filters.answers.errors import Unparseable
from starmill.filters.answers.forms import NO_FORM, Form
from starmill.filters.answers.normalize import PLAIN_NUMBER, Normalized, in_words, normalize, squash
from starmill.filters.answers.numeric import numbers_match, parse_number
from starmill.filters.answers.shapes import compare_nodes
from starmill.filters.answers.structure import Decision, Node, is_label, parse_structure
from starmill.filters.answers.units import dropped_unit

__all__ = ["FAST", "Backend", "Unparseable", "decide", "fast_leaf", "read_gold"]

INFINITIES = {"\\infty": 1, "-\\infty": -1, "+\\infty": 1}


def fast_leaf(gold: str, pred: str, scale: Fraction = Fraction(1), form: Form = NO_FORM) -> Decision | None:
    """Scalars compared without sympy: equal strings, typed atoms, numbers, infinities; None if unsure."""
    if scale == 1 and squash(gold) == squash(pred):
        return True, "string"
    atoms = typed.compare_atoms(typed.classify(gold), typed.classify(pred), gold, pred, form.case_sensitive)
    if atoms is not None:
        return atoms
    g, p = parse_number(gold), parse_number(pred)
    if g is not None and p is not None:
        return numbers_match(g, p, scale, exact=form.exact)
    if g is not None and typed.GLUED.search(pred):
        return False, "type:number"  # 0a1 is not a number, and never 0·a·1
    gi, pi = INFINITIES.get(squash(gold)), INFINITIES.get(squash(pred))
    if gi is not None or pi is not None:
        if (gi is not None or g is not None) and (pi is not None or p is not None):
            return gi == pi, "infinity"
    return None


class Backend:
    """Scalar comparison, the value of a gold (for numeric forms) and the factored-form check. This one
    never imports sympy; it answers None ("not here") where the symbolic path is needed."""

    def leaf(self, gold: str, pred: str, scale: Fraction, form: Form) -> Decision | None:
        return fast_leaf(gold, pred, scale, form)

    def value(self, text: str) -> Fraction | None:
        number = parse_number(text)
        return number.value if number is not None else None

    def factored(self, text: str) -> bool | None:
        return forms.is_prime_factorization(text)

    def readable(self, text: str) -> bool | None:
        """Whether a scalar can be read (True), or None: the symbolic path parses it."""
        atom = typed.classify(text)
        if atom is not None:
            return True
        return True if parse_number(text) is not None or squash(text) in INFINITIES else None


FAST = Backend()


def _by_value(g: Normalized, p: Normalized, backend: Backend, form: Form) -> Decision | None:
    atoms = typed.compare_atoms(
        typed.classify(g.text, g.plain), typed.classify(p.text, p.plain), g.text, p.text, form.case_sensitive
    )
    if atoms is not None:
        return atoms
    gold_unit, pred_unit = dropped_unit(g), dropped_unit(p)
    if gold_unit and pred_unit and gold_unit != pred_unit:
        return False, "unit"  # 5 cm against 5 m: units are ignored, not ignored away
    if form.numeric:
        gold_value = backend.value(g.text)
        return None if gold_value is None else forms.check_numeric(form, gold_value, p.text)
    if squash(g.text) == squash(p.text) and g.percent == p.percent:
        return True, "string"
    gold_node, pred_node = parse_structure(g.text), parse_structure(p.text)
    scales = [Fraction(1)]
    if g.percent != p.percent and gold_node.kind == pred_node.kind == "scalar":
        scales.append(Fraction(1, 100) if g.percent else Fraction(100))
        gold_number = parse_number(g.text) if p.percent else None
        if gold_number is not None and 0 < abs(gold_number.value) < 1:
            scales = scales[1:]  # gold 0.5: 50% is it, 0.5% is a two-hundredth of it
    decisions = []
    for scale in scales:
        d = compare_nodes(gold_node, pred_node, lambda a, b, s=scale: backend.leaf(a, b, s, form), form.ordered)
        if d is not None and d[0]:
            return True, d[1] if scale == 1 else f"percent:{d[1]}"
        decisions.append(d)
    if any(d is None for d in decisions):
        return None
    return False, decisions[0][1]


def _as_written(pred: str, backend: Backend, form: Form) -> Decision | None:
    """The written-form half of a declared form, for a prediction whose value is right."""
    if form.reduced and not forms.is_reduced(pred):
        return False, "form:reduced"
    if form.factored:
        factored = backend.factored(pred)
        if factored is None:
            return None
        if not factored:
            return False, "form:factored"
    return True, ""


def decide(gold: str, pred: str, backend: Backend = FAST, form: Form = NO_FORM) -> tuple[str, str] | None:
    """(verdict, rule) for two extracted answers, or None when ``backend`` could not tell."""
    plain = PLAIN_NUMBER.fullmatch(gold) and PLAIN_NUMBER.fullmatch(pred)
    if plain and not (
        form.numeric or form.reduced or form.factored
    ):  # two plain numbers: what the full path decides, sooner
        decided = (
            (True, "string")
            if gold == pred
            else numbers_match(parse_number(gold), parse_number(pred), exact=form.exact)
        )
        return ("correct" if decided[0] else "wrong"), decided[1]
    g, p = in_words(normalize(gold)), in_words(normalize(pred))
    if not g.text:
        return "unparseable_gold", "empty"
    if not p.text:
        return "unparseable_pred", "empty"
    if letter := letters.gold_letter(g.text):
        return letters.decide_letter(letter, p.text)
    if option := letters.gold_option(g.text):
        return _decide_option(*option, p.text, backend, form)
    try:
        decided = _by_value(g, p, backend, form)
        if decided is not None and decided[0] and (form.reduced or form.factored):
            written = _as_written(p.text, backend, form)
            decided = None if written is None else (written if not written[0] else decided)
    except Unparseable as exc:
        return f"unparseable_{exc.side}", exc.rule
    if decided is None:
        return None
    return ("correct" if decided[0] else "wrong"), decided[1]


def _decide_option(letter: str, option: str, pred: str, backend: Backend, form: Form) -> tuple[str, str] | None:
    """A gold naming its option (``(B) 42``): a prediction opening with a letter is graded by the letter
    (``B``, ``(B)``), and any text after it must be the option's (``(B) 41`` is wrong); a prediction with
    no letter is compared with the option's text (``42``)."""
    found = letters.pred_letter(pred)
    if found is None:
        return decide(option, pred, backend, form)
    verdict = letters.decide_letter(letter, pred)
    rest = found[1].strip().lstrip(".:)").strip()
    if verdict[0] != "correct" or not rest:
        return verdict
    decided = decide(option, rest, backend, form)
    if decided is None:
        return None
    return ("correct", "letter") if decided[0] == "correct" else ("wrong", "letter:text")


def _readable(node: Node, backend: Backend) -> bool | None:
    if node.kind == "scalar":
        return backend.readable(node.text)
    parts = list(node.items)
    if node.kind == "eq" and not is_label(node.text):
        parts.append(Node("scalar", node.text))
    found = [_readable(n, backend) for n in parts]
    return None if None in found else all(found)


def read_gold(gold: str, backend: Backend = FAST) -> tuple[str, str] | None:
    """("correct", "readable") when the checker can read the gold answer ``gold``, ("unparseable_gold",
    why) when it cannot, None when ``backend`` cannot tell (an expression: the symbolic path parses it)."""
    g = normalize(gold)
    if not g.text:
        return "unparseable_gold", "empty"
    try:
        atom = typed.classify(g.text, g.plain)
        if letters.gold_letter(g.text) or letters.gold_option(g.text) or atom is not None:
            typed.compare_atoms(atom, atom, g.text, g.text)  # raises for an ambiguous date
            return "correct", "readable"
        readable = _readable(parse_structure(g.text), backend)
    except Unparseable as exc:
        return "unparseable_gold", exc.rule
    return None if readable is None else ("correct", "readable")
