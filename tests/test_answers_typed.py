"""Typed answers and declared forms: the parts under the labelled suite, tested directly."""

import ast
from pathlib import Path

import pytest

from starmill.filters.answers import Form, check_answer, check_batch, looks_like_solution, parse_form
from starmill.filters.answers.typed import classify


@pytest.mark.parametrize(
    "text,plain,kind,value",
    [
        ("0x1854", None, "integer", 6228),
        ("-0x585", None, "integer", -1413),
        ("0b101", None, "integer", 5),
        ("0o17", None, "integer", 15),
        ("1011_2", None, "integer", 11),
        ("AB_{16}", None, "integer", 171),
        ("20:34", None, "time", 74040),
        ("8:30", "8:30 pm", "time", 73800),
        ("3:4", None, "ratio", (3, 4)),
        ("2024-03-05", None, "date", (2024, 3, 5)),
        ("June 20", None, "date", (None, 6, 20)),
        ("90", "90 minutes", "duration", 5400),
        ("No", None, "text", "No"),
    ],
)
def test_atoms(text, plain, kind, value):
    atom = classify(text, plain)
    assert (atom.kind, atom.value) == (kind, value)


@pytest.mark.parametrize("text", ["x_1", "b_{16}", "A_{12}", "72", "x^2", "a or b", "sin x", "8:5 pm", "\\frac{1}{2}"])
def test_not_atoms(text):
    assert classify(text) is None


def test_forms_parse_to_one_canonical_spelling():
    assert str(parse_form("sig_figs:3, reduced")) == "reduced,sig_figs:3"
    assert parse_form(["exact", "ordered"]) == Form(exact=True, ordered=True)
    assert parse_form(None) == parse_form("") == Form() and not Form()
    for bad in ("lowest", "sig_figs", "sig_figs:0", "decimal_places:x", "reduced:2"):
        with pytest.raises(ValueError, match="unknown answer form"):
            parse_form(bad)


def test_a_declared_form_is_recorded_in_the_verdict_and_its_row(checker_pool):
    verdict = check_answer("23/131", "92/524", pred_is_answer=True, form="reduced")
    assert (verdict.verdict, verdict.rule, verdict.form) == ("wrong", "form:reduced", "reduced")
    assert (verdict.to_row()["rule"], verdict.to_row()["form"]) == ("form:reduced", "reduced")
    plain = check_answer("23/131", "92/524", pred_is_answer=True)
    assert (plain.verdict, plain.form, plain.to_row()["rule"]) == ("correct", None, "rational")
    symbolic = check_answer("x^2-1", "(x-1)(x+1)", pred_is_answer=True, form="factored", pool=checker_pool)
    assert (symbolic.verdict, symbolic.form) == ("correct", "factored")


def test_batch_takes_a_form_per_pair_or_one_for_all(checker_pool):
    pairs = [
        ("23/131", "92/524"),
        ("23/131", "92/524", "reduced"),
        ("2^4 \\times 41", "656", "factored"),
        ("\\pi", "3.14", "sig_figs:3"),
        ("x^2-1", "x^2-1", "factored"),
    ]
    verdicts = list(check_batch(pairs, pred_is_answer=True, pool=checker_pool, workers=2))
    assert [(v.verdict, v.form) for v in verdicts] == [
        ("correct", None),
        ("wrong", "reduced"),
        ("wrong", "factored"),
        ("correct", "sig_figs:3"),
        ("wrong", "factored"),
    ]
    exact = list(
        check_batch([("\\sqrt2", "1.41421356"), ("1/2", "0.5")], pred_is_answer=True, form="exact", pool=checker_pool)
    )
    assert [v.verdict for v in exact] == ["wrong", "correct"]
    with pytest.raises(ValueError):
        list(check_batch([("1", "1", "lowest")], pred_is_answer=True))


@pytest.mark.parametrize(
    "gold,solution",
    [
        ("Natalia sold 24 clips.\n#### 72", True),
        ("so \\boxed{3}", True),
        ("Thus the answer is 5.", True),
        ("The Final Answer is 5", True),
        ("72", False),
        ("\\frac{1}{2}", False),
        ("x = 3", False),
        ("answer 5", False),
    ],
)
def test_solutions_are_told_from_answers(gold, solution):
    assert looks_like_solution(gold) is solution
    assert check_answer(gold, "#### 72" if "72" in gold else "\\boxed{5}", gold_is_solution=None).gold is not None


def test_no_answer_text_reaches_eval_exec_or_sympify():
    """The checker builds expressions from constructors only: no code in it names a parser of Python
    code or calls eval/exec/compile (the workers' audit hook refuses those too: see test_answers_safety)."""
    banned = {"sympify", "parse_expr", "latex2sympy", "parse_latex_lark", "eval", "exec", "compile", "__import__"}
    for path in Path("filters/answers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in banned and not (name == "compile" and isinstance(node, ast.Attribute)):  # re.compile is fine
                raise AssertionError(f"{path}:{node.lineno} uses {name}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any("latex2sympy" in m or "sympy_parser" in m for m in modules), path


def test_python_syntax_and_latex_parse_to_the_same_expression():
    from starmill.filters.answers.latex import Unsupported, parse_latex

    for python, latex in [
        ("10*x**7 + 4*x**3/5 + C", "10x^7+\\frac{4x^3}{5}+C"),
        ("exp(-8*x - 6)", "e^{-8x-6}"),
        ("sqrt(2)/2", "\\frac{\\sqrt2}{2}"),
        ("2**10", "1024"),
        ("pi/4", "\\frac{\\pi}{4}"),
        ("Abs(x)*E**I", "|x|e^{i}"),
        ("atan(x)", "\\arctan x"),
    ]:
        assert parse_latex(python).expr == parse_latex(latex).expr, python
    for text in (
        "factorial(5)",
        "x(x+1)*2",
        "log 100",
        "\\lim_{x\\to 0} x",
        "\\int_0^1 x\\,dx",
        "0a1",
        "hours",
        "\\sum_{k=1}^{n} k",
        "\\sum_{k=1}^{5000} k",
    ):
        with pytest.raises(Unsupported):
            parse_latex(text)
    assert parse_latex("\\sum_{i=1}^{10} i").expr == 55  # the index is a plain symbol, never the imaginary unit
    assert parse_latex("0x").implicit_symbols and not parse_latex("0 \\cdot y").implicit_symbols


@pytest.mark.parametrize(
    "gold,why",
    [
        ("72", None),
        ("0x1854", None),
        ("12:00", None),
        ("\\frac{1}{2}", None),
        ("x^2+1", None),
        ("10*x**7 + C", None),
        ("(1, 2)", None),
        ("y = 2x + 1", None),
        ("2x+3y=6", None),
        ("C", None),
        ("No", None),
        ("Natalia…\n#### 72", None),
        ("", "empty"),
        ("   ", "empty"),
        ("03/05/2024", "date:ambiguous"),
        ("\\lim_{x\\to 0} x", "parse_error"),
        ("factorial(5)", "parse_error"),
        ("so \\boxed{", "no_answer"),
        ("1" * 3000, "too_long"),
    ],
)
def test_golds_the_checker_cannot_read_are_named_for_ingest(gold, why, checker_pool):
    from starmill.filters.answers import unreadable_gold

    assert unreadable_gold(gold, gold_is_solution=None, pool=checker_pool) == why
