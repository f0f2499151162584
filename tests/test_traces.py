"""Long-trace filters (filters/quality/traces.py): exact drop reasons on the labelled fixture, clean long traces
kept by the default selection filters, and per-filter precision and recall floors."""

from collections import Counter

import pytest

from starmill.config import SelectionConfig
from starmill.filters.quality import get_filter
from starmill.filters.quality.traces import split_trace
from tests.helpers import problem, sample
from tests.long_traces import compose

TARGETS = {
    "repetition": ("loop", {"repetition_loop"}),
    "thought_language": ("language_switch", {"language_switch"}),
    "thought_answer": ("answer_mismatch", {"answer_mismatch"}),
    "overthinking": ("overthinking", {"overthinking"}),
    "think_format": ("truncated", {"unclosed_think", "no_final_answer"}),
    "thought_budget": ("too_long", {"thought_too_long"}),
}
FLOOR = 0.9  # precision against clean traces and recall of each filter's own defect on the fixture


@pytest.fixture(scope="module")
def cases():
    return compose(n_clean=12, n_defect=4, seed=1)


def first(cases, label):
    return next((p, s) for lab, p, s in cases if lab == label)


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_filter_drops_its_defect_with_its_reason_and_keeps_clean(cases, name):
    label, reasons = TARGETS[name]
    f = get_filter(name)
    assert f.reason(*reversed(first(cases, label))) in reasons
    assert f.reason(*reversed(first(cases, None))) is None


@pytest.mark.parametrize("name", list(TARGETS))
def test_precision_and_recall_floor(cases, name):
    label, reasons = TARGETS[name]
    f = get_filter(name)
    why = [(lab, f.reason(s, p)) for lab, p, s in cases]
    assert {w for _, w in why if w} <= reasons
    recall = sum(1 for lab, w in why if lab == label and w) / sum(1 for lab, _ in why if lab == label)
    clean_drops = sum(1 for lab, w in why if lab is None and w)
    precision = 1 - clean_drops / max(1, sum(1 for _, w in why if w))
    assert recall >= FLOOR and precision >= FLOOR, (recall, precision)


def test_default_selection_keeps_clean_long_traces_and_drops_defects(cases):
    """The old length default (8,000 characters) dropped every clean trace here as too_long."""
    filters = [get_filter(n, o) for n, o in (f.pair() for f in SelectionConfig().filters)]
    problems = {p.problem_id: p for _, p, _ in cases}
    samples = [s for _, _, s in cases]
    for f in filters:
        samples = f.apply(samples, problems)
    allowed = {
        None: {None},
        "overthinking": {None},  # opt-in: not among the default filters
        "loop": {"repetition_loop", "too_long"},
        "language_switch": {"language_switch"},
        "answer_mismatch": {"answer_mismatch"},
        "truncated": {"truncated", "no_final_answer"},
        "too_long": {"thought_too_long", "too_long"},
    }  # too_long: over the length filter's 200,000 chars
    got = Counter((lab, s.drop_reason) for (lab, _, _), s in zip(cases, samples))
    assert all(why in allowed[lab] for lab, why in got), got
    assert got[(None, None)] == 12 and got[("loop", "repetition_loop")] >= 3
    assert min(len(s.completion) for (lab, _, _), s in zip(cases, samples) if lab is None) < 20_000
    assert max(len(s.completion) for (lab, _, _), s in zip(cases, samples) if lab is None) > 8_000


def test_metrics_are_stored_as_score_rows_and_plain_completions_are_left_alone():
    p = problem(question="Compute 2 + 3.", gold="5")
    plain = sample(p.problem_id, "2 + 3 = 5. The answer is 5.")
    thought = sample(p.problem_id, "<think>\n2 + 3 = 5, so the answer is 5.\n</think>\n\n\\boxed{5}", index=1)
    stats = Counter()
    out = get_filter("thought_budget", {"max_tokens": 5}).apply([plain, thought], {p.problem_id: p}, stats)
    assert out[0] == plain
    assert out[1].scores == [{"scorer": "trace:thought_budget", "version": "1", "value": 32 / 4, "steps": None}]
    assert (out[1].kept, out[1].drop_reason) == (False, "thought_too_long")
    assert stats == Counter({"thought_budget.dropped_thought_too_long": 1})


def test_exact_reasons_on_small_traces():
    p = problem(question="Compute 2 + 3.", gold="5")
    pid = {p.problem_id: p}

    def reason(name, completion, options=None, **kw):
        return get_filter(name, options).apply([sample(p.problem_id, completion, **kw)], pid)[0].drop_reason

    assert reason("think_format", "<think>\n2 + 3 is") == "unclosed_think"
    assert reason("think_format", "<think>\n2 + 3 = 5\n</think>\n\n  ") == "no_final_answer"
    assert reason("think_format", "2 + 3 = 5\n</think>\n\n\\boxed{5}") is None  # R1 templates open <think> themselves
    assert reason("think_format", "", reasoning="2 + 3 = 5") == "no_final_answer"  # a server's reasoning_content
    assert reason("thought_answer", "<think>So the answer is 6.</think>\n\\boxed{5}") == "answer_mismatch"
    assert reason("thought_answer", "<think>So the answer is 5.0.</think>\n\\boxed{5}") is None
    assert (
        reason(
            "thought_language",
            "<think>" + "add them " * 20 + "我们需要先计算每个箱子里的物品数量然后再乘以" + "</think>5",
        )
        == "language_switch"
    )
    assert reason("overthinking", "<think>5" + " check" * 30 + "</think>\\boxed{5}") == "overthinking"
    assert reason("overthinking", "<think>5" + " check" * 30 + "</think>\\boxed{5}", {"max_after": None}) is None
    loop = " ".join(f"step {i} adds one more" for i in range(40)) + " wait let me redo this from the start" * 30
    assert reason("repetition", f"<think>{loop}</think>\\boxed{{5}}") == "repetition_loop"
    assert split_trace(sample(p.problem_id, "no tags at all")) == (None, "no tags at all")


def test_a_chinese_thought_may_write_math_notation_but_not_switch_to_english():
    p = problem(question="一个长方形的长是12厘米，宽是5厘米，面积是多少？", gold="60")
    pid = {p.problem_id: p}
    math = (
        "<think>\n长方形的面积等于长乘以宽。我们先读题：题目给出了长和宽，要求的是面积，单位是平方厘米。"
        "设长为 x cm，宽为 y cm，那么面积 S = x y。"
        "所以 $S = 12 \\times 5$，也就是 \\frac{120}{2} 的两倍，得到 60 平方厘米。\n</think>\n\n\\boxed{60}"
    )
    english = math.replace(
        "得到 60 平方厘米。", "Let me double check this multiplication carefully once more. 得到 60 平方厘米。"
    )
    f = get_filter("thought_language")
    assert f.apply([sample(p.problem_id, math)], pid)[0].drop_reason is None
    assert f.apply([sample(p.problem_id, english)], pid)[0].drop_reason == "language_switch"
