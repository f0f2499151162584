"""The labelled suite: every case's verdict, and the batch API agreeing with single checks."""

from collections import Counter

import pytest

from starmill.filters.answers import check_answer, check_batch
from tests.fixtures_answers import load_suite

CASES = load_suite()
CATEGORIES = {
    "gsm8k",
    "gsm8k_near_miss",
    "gsm8k_bare",
    "procedural",
    "extraction",
    "extraction_gold",
    "lenient",
    "multiple_answers",
    "letters",
    "percent",
    "decimals",
    "fractions",
    "units_text",
    "radicals_pi",
    "expressions",
    "equations",
    "intervals",
    "tuples",
    "sets",
    "matrices",
    "complex",
    "infinity",
    "unparseable",
    "math_outputs",
    "math_answers",
    "relations_shapes",
    # typed answers and declared forms (issue 10)
    "hex_bases",
    "clock_times",
    "ratios",
    "durations",
    "dates",
    "words",
    "letters_hedged",
    "extraction_phrases",
    "python_syntax",
    "limits_sums",
    "box_lists",
    "labelled",
    "separators_approx",
    "inequalities",
    "identities",
    "numeric_context",
    "forms_reduced",
    "forms_factored",
    "forms_sig_figs",
    "forms_decimal_places",
    "forms_exact",
    "forms_case",
    "forms_ordered",
    "unseen_shapes",  # labelled from the policy in shapes the checker has no specific code for
    "answer_shapes",  # issue 24: hedges after the answer, unit words, number words, option golds, unions, cases
}


def _options(case: dict) -> dict:
    return dict(
        gold_is_solution=case.get("gold_is_solution", False),
        pred_is_answer=case["pred_kind"] == "answer",
        lenient=case.get("lenient", False),
        form=case.get("form"),
    )


def test_suite_covers_every_category_with_hundreds_of_cases():
    counts = Counter(c["category"] for c in CASES)
    assert set(counts) == CATEGORIES
    assert len(CASES) >= 850
    assert all(c.get("type") for c in CASES)  # bench/checker_quality.py reports per answer type
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert Counter(c["expect"] for c in CASES)["wrong"] >= 280  # near misses, not just easy positives


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, checker_pool):
    verdict = check_answer(case["gold"], case["pred"], pool=checker_pool, timeout=10, **_options(case))
    assert verdict.verdict == case["expect"], (
        f"rule {verdict.rule}, extracted pred {verdict.pred!r}, gold {verdict.gold!r}"
    )


def test_batch_streams_the_same_verdicts_in_order(checker_pool):
    plain = [c for c in CASES if not c.get("gold_is_solution") and not c.get("lenient") and not c.get("form")]
    for options in ({"pred_is_answer": True}, {"pred_is_answer": False}):
        group = [c for c in plain if _options(c)["pred_is_answer"] == options["pred_is_answer"]]
        pairs = [(c["gold"], c["pred"]) for c in group]
        verdicts = list(check_batch(iter(pairs), workers=2, pool=checker_pool, timeout=10, **options))
        assert [v.verdict for v in verdicts] == [c["expect"] for c in group]
        assert [v.gold for v in verdicts][:3] == [
            check_answer(g, p, pool=checker_pool, **options).gold for g, p in pairs[:3]
        ]


def test_no_case_is_an_error_or_a_sandbox_refusal():
    """``error`` means a checker bug, and a sandbox refusal means some text reached a code parser: neither
    may happen on any labelled case (a fresh pool, so its refusal log holds only these checks)."""
    from starmill.filters.answers import CheckerPool

    with CheckerPool(2, start_timeout=120) as pool:
        verdicts = [check_answer(c["gold"], c["pred"], pool=pool, timeout=10, **_options(c)) for c in CASES]
        assert pool.blocked == []
    assert [v for v in verdicts if v.verdict == "error"] == []
