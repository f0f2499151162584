"""Rejection sampling, quality filters, pass rates and self-consistency: exact drop reasons."""

from collections import Counter

import pytest

from starmill.filters.quality import HintLeak, Length, MixedLanguage, Truncated
from starmill.filters.selection import majority_labels, pass_at_k, pass_rates, select
from tests.helpers import problem, sample


def reasons(samples):
    return [
        (s.sample_index, s.stage, s.kept, s.drop_reason)
        for s in sorted(samples, key=lambda s: (s.stage, s.sample_index))
    ]


def test_select_keeps_k_distinct_correct_samples_with_reasons():
    p = problem()
    samples = [
        sample(p.problem_id, "2 + 3 = 5\nThe answer is 5.", index=0),
        sample(p.problem_id, "2 + 3 = 5\nThe  answer is 5.", index=1),  # same after whitespace folding
        sample(p.problem_id, "2 + 3 = 6\nThe answer is 6.", index=2, correct=False),
        sample(p.problem_id, "We add two and three to get five, so the result is 5. The answer is 5.", index=3),
        sample(p.problem_id, "Three plus two makes five in total here. The answer is 5.", index=4),
        sample(p.problem_id, "no answer", index=5, correct=False, verdict="unparseable_pred"),
    ]
    out = select(samples, k=2, near_duplicate_threshold=0.9)
    assert reasons(out) == [
        (0, "rationale", True, None),
        (1, "rationale", False, "duplicate"),
        (2, "rationale", False, "wrong_answer"),
        (3, "rationale", True, None),
        (4, "rationale", False, "over_k"),
        (5, "rationale", False, "unparseable_pred"),
    ]


def test_near_duplicates_are_dropped_and_rationales_beat_rationalizations():
    p = problem()
    base = "first we take two then we add three more and we get five as the total so the answer is five"
    samples = [
        sample(p.problem_id, base + " indeed", index=0, stage="rationalization"),
        sample(p.problem_id, base, index=0),
        sample(p.problem_id, base + " ok", index=1),
    ]
    out = select(samples, k=3, near_duplicate_threshold=0.8)
    assert reasons(out) == [
        (0, "rationale", True, None),
        (1, "rationale", False, "near_duplicate"),
        (0, "rationalization", False, "near_duplicate"),
    ]


def test_filters_give_exact_reasons():
    p = problem("Compute 17 + 25.", "42")
    stats = Counter()
    samples = [
        sample(p.problem_id, "17 + 25 = 42\nThe answer is 42.", index=0),
        sample(p.problem_id, "17 + 25 = 4", index=1, finish="length"),
        sample(p.problem_id, "<think>17 + 25 is", index=2),
        sample(p.problem_id, "x", index=3),
        sample(p.problem_id, "17 + 25 = 42 因为 十七 加 二十五 等于 四十二 The answer is 42.", index=4),
    ]
    out = samples
    for f in (Truncated(), Length(3, 1000), MixedLanguage()):
        out = f.apply(out, {p.problem_id: p}, stats)
    assert [s.drop_reason for s in out] == [None, "truncated", "truncated", "too_short", "mixed_language"]
    assert stats["truncated.dropped_truncated"] == 2 and stats["length.dropped_too_short"] == 1
    assert stats["mixed_language.kept"] == 1


@pytest.mark.parametrize(
    "text,reason",
    [
        ("17 + 25 = 42\nThe answer is 42.", None),
        ("The hint says 42, so 17 + 25 = 42.", "hint_leak"),
        ("Using the given answer, 17 + 25 = 42.", "hint_leak"),
        ("42 is what we want. 17 + 25 = 42.", "answer_before_reasoning"),
        ("The correct answer is 42 because 17 + 25 = 42", "hint_leak"),
        ("We already know the answer should match 42 exactly here.", "hint_leak"),
    ],
)
def test_hint_leak(text, reason):
    p = problem("Compute 17 + 25.", "42")
    s = sample(p.problem_id, text, stage="rationalization")
    leak = HintLeak(hint_phrases=["we already know the answer should match"])
    assert leak.reason(s, p) == reason
    assert leak.reason(sample(p.problem_id, text), p) is None  # only rationalizations are checked


def test_answer_in_the_question_is_not_a_leak():
    p = problem("Ava has 42 apples and eats 0. How many are left?", "42")
    s = sample(p.problem_id, "42 - 0 = 42\nThe answer is 42.", stage="rationalization")
    assert HintLeak().reason(s, p) is None


def test_pass_rates_and_pass_at_k():
    a, b = problem("a?", "1"), problem("b?", "2")
    samples = [sample(a.problem_id, "x", index=i, correct=i < 1) for i in range(4)]
    samples += [sample(b.problem_id, "y", index=i, correct=False) for i in range(4)]
    samples += [sample(b.problem_id, "z", stage="rationalization")]
    assert pass_rates(samples) == {a.problem_id: 0.25, b.problem_id: 0.0}
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pass_at_k(4, 0, 4) == 0.0 and pass_at_k(4, 2, 3) == 1.0


def test_a_jaccard_at_the_threshold_is_a_near_duplicate():
    p = problem()
    six = "one two three four five six"  # two word 5-grams
    eight = six + " seven eight"  # four, the same two among them: Jaccard 2/4
    out = select(
        [sample(p.problem_id, six, index=0), sample(p.problem_id, eight, index=1)], k=5, near_duplicate_threshold=0.5
    )
    assert reasons(out) == [(0, "rationale", True, None), (1, "rationale", False, "near_duplicate")]


def test_pass_at_k_when_the_wrong_samples_just_fill_k():
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    assert pass_at_k(5, 2, 3) == pytest.approx(1 - 1 / 10)  # 1 - C(3,3)/C(5,3)


def test_a_majority_share_at_the_threshold_labels_the_problem():
    q = problem("q?", "")
    votes = [sample(q.problem_id, "", index=i, extracted=a) for i, a in enumerate(["1", "2", "1", "3"])]
    assert majority_labels(votes, threshold=0.5) == {q.problem_id: ("1", 0.5)}


def test_majority_labels_need_the_threshold():
    p, q = problem("p?", ""), problem("q?", "")
    votes = [sample(p.problem_id, "", index=i, extracted=a) for i, a in enumerate(["7", " 7", "7.", "8"])]
    votes += [sample(q.problem_id, "", index=i, extracted=a) for i, a in enumerate(["1", "2", "1", "3"])]
    labels = majority_labels(votes, threshold=0.6)
    assert labels == {p.problem_id: ("7", 0.75)}
