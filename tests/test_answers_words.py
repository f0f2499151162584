"""Numbers in words and the numbers that follow a final answer in its sentence."""

from fractions import Fraction

import pytest

from starmill.filters.answers.extract import extract_answer, tail_numbers
from starmill.filters.answers.words import number_phrases, parse_number_words


@pytest.mark.parametrize(
    "text, value",
    [
        ("twelve", 12),
        ("three hundred five", 305),
        ("three hundred and five", 305),
        ("twenty-one", 21),
        ("one thousand", 1000),
        ("two thousand and five", 2005),
        ("zero", 0),
        ("negative five", -5),
        ("a half", Fraction(1, 2)),
        ("one third", Fraction(1, 3)),
        ("two thirds", Fraction(2, 3)),
        ("three quarters", Fraction(3, 4)),
        ("one and a half", Fraction(3, 2)),
    ],
)
def test_number_words_are_read(text, value):
    assert parse_number_words(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "third",
        "half",
        "second",
        "a",
        "and",
        "twelve five",
        "five twenty",
        "one thirds",
        "two third",
        "three hundred and five sixths",  # 305/6 or 300 5/6: two readings
        "twelve apples",
        "a dozen",
        "one or two",
        "12",
    ],
)
def test_what_is_not_a_number_in_words(text):
    assert parse_number_words(text) is None


def test_numbers_after_the_answer_in_its_sentence():
    assert tail_numbers(" (or possibly 4)", "3") == ("4",)
    assert tail_numbers(", although six is also possible", "5") == ("6",)
    assert tail_numbers(" \\text{ cm}^2, with V_1 \\approx 3.46", "5") == ()  # exponent, index, rounding
    assert tail_numbers(", because 3 > 2", "yes") == ()  # an answer in words has no rival number
    assert number_phrases("the only one") == ("1",)


@pytest.mark.parametrize(
    "output, candidates",
    [
        ("\\boxed{3} (or possibly 4).", ("3", "4")),
        ("The answer is: 64 squares, plus 1 more for the border is 65.", ("64 squares", "1", "65")),
        ("#### 1,200 (that is 1200 dollars)", ("1,200", "1200")),
        ("Final Answer: The total cost is 18 dollars.", ("18",)),
        ("Final Answer: She pays at least 18 dollars.", ("She pays at least 18 dollars",)),
    ],
)
def test_candidates_hold_every_number_of_the_final_sentence(output, candidates):
    assert extract_answer(output).candidates == candidates


def test_a_markdown_heading_is_no_answer():
    assert extract_answer("#### Explanation\nWe multiply 6 by 7 to get 42.").answer is None
    assert extract_answer("#### Explanation\nWe get 42.\n#### 42").answer == "42"
    assert extract_answer("#### Tuesday").answer == "Tuesday"  # the last line: an answer
