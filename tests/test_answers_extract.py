"""Extraction of final answers from model outputs and gold solutions."""

import pytest

from starmill.filters.answers import check_answer, extract_answer, extract_gold
from starmill.generators.procedural import generate_problems


@pytest.mark.parametrize(
    "output,answer,rule",
    [
        (r"so \boxed{\frac{1}{2}} apples", r"\frac{1}{2}", "boxed"),
        (r"\fbox{7}", "7", "boxed"),
        (r"\boxed 5$ done", "5", "boxed"),
        (r"\boxed{\boxed{3}}", r"\boxed{3}", "boxed"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}", "boxed"),
        (r"\boxed{1} text \boxed{2}", "2", "boxed"),
        ("work\n#### 1,234\n", "1,234", "hashes"),
        ("The answer is 72. Then more text.", "72", "phrase"),
        ("the final answer is: $3.5$ I hope", "$3.5$", "phrase"),
        ("The answer is 5 apples, as computed.", "5 apples", "phrase"),
        ("<answer> x = 2 </answer>", "x = 2", "answer_tag"),
        (r"\boxed{4} #### 5 The answer is 6 <answer>7</answer>", "4", "boxed"),
        ("#### 5 The answer is 6", "5 The answer is 6", "hashes"),
    ],
)
def test_extract_answer(output, answer, rule):
    found = extract_answer(output)
    assert (found.answer, found.rule) == (answer, rule)


@pytest.mark.parametrize(
    "output,rule",
    [
        ("I think it is 12.", "no_answer"),
        (r"\boxed{12", "no_answer"),
        ("<think>so the answer is \\boxed{3}", "truncated_think"),
        ("<think>x</think>", "no_answer"),
    ],
)
def test_no_answer(output, rule):
    found = extract_answer(output)
    assert (found.answer, found.rule) == (None, rule)


def test_only_text_after_think_counts():
    assert extract_answer(r"<think>\boxed{1}</think> so \boxed{2}").candidates == ("2",)
    assert extract_answer(r"<think>a</think><think>b</think>The answer is 3").answer == "3"


def test_lenient_mode_is_opt_in():
    assert extract_answer("we get 12 then 13.5 in the end").answer is None
    found = extract_answer("we get 12 then 13.5 in the end", lenient=True)
    assert (found.answer, found.rule) == ("13.5", "last_number")


def test_gold_solutions():
    assert extract_gold("Natalia sold 48/2 = 24 clips.\n#### 72").answer == "72"
    assert extract_gold(r"first \boxed{3}, finally \boxed{\frac{1}{2}}.").candidates == (r"\frac{1}{2}",)
    assert extract_gold("no answer here").answer is None


def test_procedural_gold_solutions_extract_to_their_gold_answers():
    for problem in generate_problems(200, seed=3, difficulty=5):
        assert extract_gold(problem.gold_solution).answer == problem.gold_answer
        verdict = check_answer(problem.gold_solution, f"The answer is {problem.gold_answer}.", gold_is_solution=True)
        assert verdict.verdict == "correct", problem.gold_solution


def test_two_megabyte_output_ending_in_a_box_is_graded(checker_pool):
    output = ("Let me think about this carefully. 3 + 4 = 7 {x} \\frac{1}{2} $y$ #### " * 30_000)[
        :2_000_000
    ] + r"\boxed{42}"
    assert len(output) > 2_000_000
    verdict = check_answer("42", output, pool=checker_pool, timeout=2)
    assert (verdict.verdict, verdict.pred) == ("correct", "42")
    wrong = check_answer("41", output, pool=checker_pool, timeout=2)
    assert wrong.verdict == "wrong"


def test_many_unclosed_boxes_stay_linear():
    output = "\\boxed{" * 200_000 + "\\boxed{5}"
    assert extract_answer(output).answer == "5"
