"""Prompt rendering helpers, the stored training prompt of a rationalization, and truncation."""

import pytest

from starmill.generators.parsing import split_output
from starmill.generators.prompts import TemplateError, get_template, render, training_prompt

Q = "Ava has {3} apples. Ava buys 4 more. How many apples does Ava have now?"


def test_render_by_id_keeps_braces_in_the_question():
    assert render("cot_zero_shot", Q) == get_template("cot_zero_shot").render(Q)
    assert render("cot_zero_shot", Q)[-1]["content"].startswith(Q)
    hinted = render("star_rationalization", Q, hint="7")[-1]["content"]
    assert Q in hinted and "the answer is 7" in hinted


def test_training_prompt_of_a_rationalization_is_the_plain_prompt():
    stored = training_prompt("star_rationalization", Q)
    assert stored == render("cot_zero_shot", Q)
    assert "Hint" not in stored[-1]["content"]
    assert training_prompt("r1", Q) == render("r1", Q)
    assert training_prompt("star_rationalization", Q, plain_template_id="r1") == render("r1", Q)
    with pytest.raises(TemplateError, match="cannot be a training prompt"):
        training_prompt("star_rationalization", Q, plain_template_id="star_rationalization")


def test_template_hashes_differ_and_are_stable():
    hashes = {t: get_template(t).hash for t in ("cot_zero_shot", "cot_few_shot", "r1", "star_rationalization")}
    assert len(set(hashes.values())) == 4 and all(len(h) == 16 for h in hashes.values())
    get_template.cache_clear()
    assert get_template("cot_zero_shot").hash == hashes["cot_zero_shot"]


@pytest.mark.parametrize(
    "text,finish,answer,truncated",
    [
        ("12 + 7 = 19\nThe answer", "length", "12 + 7 = 19\nThe answer", True),
        ("12 + 7 = 19\nThe answer is 19.", "stop", "12 + 7 = 19\nThe answer is 19.", False),
        ("<think>12 + 7 = 19</think>The answer is", "length", "The answer is", True),
        ("<think>12 + 7 =", "stop", None, True),
    ],
)
def test_truncation_from_finish_reason_or_unclosed_think(text, finish, answer, truncated):
    parts = split_output(text, finish_reason=finish)
    assert (parts.answer, parts.truncated) == (answer, truncated)
    assert split_output("19", reasoning="r", finish_reason="length").truncated
