"""The public API around the verdicts: the stored row, policy corner cases, streaming."""

import itertools

import pyarrow as pa
import pytest

from starmill.filters.answers import CHECKER_VERSION, KINDS, Verdict, check_answer, check_batch
from starmill.schemas.samples import VERDICT, VERDICTS


def test_verdict_rows_fit_the_samples_schema(checker_pool):
    verdicts = [
        check_answer("72", "#### 72"),
        check_answer("\\sqrt{2}", "\\boxed{\\frac{2}{\\sqrt2}}", pool=checker_pool),
        check_answer("3", "no answer"),
        check_answer("3", "\\boxed{" + "1" * 5000 + "}"),
    ]
    rows = [v.to_row() for v in verdicts]
    array = pa.array(rows, type=VERDICT)
    assert array.to_pylist() == rows
    assert set(KINDS) == set(VERDICTS)
    assert rows[0] | {"seconds": 0} == {
        "checker": "starmill",
        "checker_version": CHECKER_VERSION,
        "verdict": "correct",
        "rule": "string",
        "pred": "72",
        "gold": "72",
        "seconds": 0,
        "form": None,
        "detail": None,
    }
    assert rows[2]["pred"] is None and rows[2]["rule"] == "no_answer"
    assert len(rows[3]["pred"]) < 1100  # stored answers are clipped
    assert all(r["seconds"] >= 0 for r in rows)


def test_unknown_verdict_kinds_are_refused():
    with pytest.raises(ValueError):
        Verdict("maybe", "x", None, None, 0.0)


def test_fast_path_needs_no_pool():
    class NoPool:
        def run(self, *args):
            raise AssertionError("the fast path used the pool")

    for gold, pred in [
        ("72", "#### 72"),
        ("1,000", "The answer is 1000."),
        ("\\frac34", "\\boxed{0.75}"),
        ("50\\%", "\\boxed{0.5}"),
        ("(1, 2)", "\\boxed{(2, 1)}"),
        ("C", "\\boxed{\\text{(C)}}"),
    ]:
        assert check_answer(gold, pred, pool=NoPool()).verdict in ("correct", "wrong")


@pytest.mark.parametrize("gold,pred", [(None, "\\boxed{3}"), ("", "\\boxed{3}"), ("   ", "3")])
def test_missing_gold_is_never_correct(gold, pred):
    assert check_answer(gold, pred).verdict == "unparseable_gold"


def test_missing_prediction():
    assert check_answer("3", None).verdict == "unparseable_pred"


def test_batch_is_lazy_and_ordered(checker_pool):
    pulled = []

    def pairs():
        for i in itertools.count():
            pulled.append(i)
            yield (
                (str(i), f"\\boxed{{{i}}}") if i % 2 else ("\\sqrt{4}", f"\\boxed{{\\frac{{4}}{{\\sqrt{{{i + 4}}}}}}}")
            )

    stream = check_batch(pairs(), workers=2, pool=checker_pool, timeout=10)
    first = list(itertools.islice(stream, 10))
    stream.close()
    assert [v.verdict for v in first] == ["correct" if i % 2 or i == 0 else "wrong" for i in range(10)]
    assert len(pulled) < 100  # it streamed instead of reading the endless input


def test_batch_timeouts_do_not_stall_the_rest(checker_pool):
    pairs = [
        ("1", "\\boxed{9^{9^{9^{9}}}}"),
        ("2", "\\boxed{\\sqrt{4}}"),
        ("1", "\\boxed{9^{9^{9^{9}}}}"),
        ("3", "\\boxed{3}"),
    ]
    verdicts = list(check_batch(pairs, workers=2, pool=checker_pool, timeout=1.0))
    assert [v.verdict for v in verdicts] == ["timeout", "correct", "timeout", "correct"]
