"""The symbolic step checker on a labelled set of arithmetic steps, written from its policy: a chain is
checked only when it is pure arithmetic that starts a clause; wrong arithmetic is 'wrong', anything it
can't be sure of is not a claim (so a good rationale is never dropped for a misread)."""

import pytest

from starmill.filters.steps import bad_steps, check_steps

# (text, verdicts of the claims found, in order)
LABELLED = [
    ("3 + 6 = 9\n9 + 9 = 18\nThe answer is 18.", ["ok", "ok"]),
    ("3 + 6 = 8\n8 + 9 = 17\nThe answer is 17.", ["wrong", "ok"]),
    ("6 + 13 = 6. The answer is 6.", ["wrong"]),
    ("So 12 - 5 = 7.", ["ok"]),
    ("So 12 - 5 = 8.", ["wrong"]),
    ("Step 1: 4 × 7 = 28", ["ok"]),
    ("Step 1: 4 × 7 = 27", ["wrong"]),
    ("Then 45 ÷ 9 = 5 and 5 · 2 = 10", ["ok", "ok"]),
    ("She pays 3 * 1.25 = 3.75 dollars.", ["ok"]),
    ("The total is 1,200 + 300 = 1,500 people.", ["ok"]),
    ("The total is 1,200 + 300 = 1,600 people.", ["wrong"]),
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.", ["ok"]),  # the note is checked once as a note
    ("Natalia sold <<48/2=25>>25 clips in May.", ["wrong"]),
    ("(2 + 3) * 4 = 20", ["ok"]),
    ("2 + 3 * 4 = 20", ["wrong"]),  # precedence: 14
    ("2^10 = 1024", ["ok"]),
    ("50% = 0.5", ["ok"]),
    ("1/3 + 1/6 = 1/2", ["ok"]),
    ("2 - 5 = -3", ["ok"]),
    ("5 + 3 = 8 + 2 = 10", ["ok"]),  # a running total, not a false claim
    ("5 + 3 = 8 + 2 = 11", ["wrong"]),
    ("3 + 4 = 7 = 7", ["ok"]),
    ("We have 10 / 4 = 2.5 each.", ["ok"]),
    # not claims: words continue the expression, variables, units, lone numbers, ratios, times
    ("half of 6 + 4 = 7", []),
    ("2x + 3 = 7, so x = 2", []),
    ("x = 5", []),
    ("The ratio 3:4 = 6:8", []),
    ("At 10:30 = half past ten", []),
    ("7 = 7", []),
    ("5 apples + 2 apples = 7 apples", []),
    ("5 + 2 = 7x", []),
    ("10 / 0 = 5", []),  # undefined: not judged
    ("2^100000 = 1", []),  # over the exponent limit: not evaluated
    ("The answer is 42.", []),
    ("He buys 3 packs of 4 + 2 = 14", []),
    ("Divide 12 by 3 + 1 = 4", []),
    ("sqrt 16 + 2 = 6", []),
    ("$3 + $4 = $7", []),
    ("3 hours * 5 = 15", []),
]


@pytest.mark.parametrize("text, verdicts", LABELLED)
def test_labelled_steps(text, verdicts):
    assert [c.verdict for c in check_steps(text)] == verdicts


def test_values_are_exact_and_bad_steps_lists_only_wrong_ones():
    [check] = check_steps("So 0.1 + 0.2 = 0.3")
    assert check.verdict == "ok" and check.values == ("3/10", "3/10")
    wrong = bad_steps("3 + 6 = 8\n8 + 9 = 17")
    assert [w.text for w in wrong] == ["3 + 6 = 8"] and wrong[0].values == ("9", "8")


def test_hostile_input_is_bounded():
    import time

    start = time.perf_counter()
    assert check_steps("1" * 100_000 + " + 1 = 2") == []  # a literal over the size limit
    assert check_steps("(" * 5000 + "1" + ")" * 5000 + " = 1") == []  # too many tokens: not a claim
    check_steps(("1 + " * 20_000) + "1 = 20001")
    assert time.perf_counter() - start < 5


def test_check_steps_in_the_cli(tmp_path, capsys):
    import json

    from tests.helpers import run_cli

    code, stdout, _ = run_cli(
        capsys, "check", "--gold", "6", "--pred", "6 + 13 = 6.\nSo 2 * 3 = 6.\nThe answer is 6.", "--steps"
    )
    lines = stdout.strip().splitlines()
    assert code == 0 and json.loads(lines[0])["verdict"] == "correct"  # the final answer alone is right
    assert lines[1:] == ["step wrong  6 + 13 = 6   (19 vs 6)", "step ok     2 * 3 = 6"]
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"gold": "6", "pred": "6 + 13 = 6. The answer is 6."}) + "\n")
    code, stdout, _ = run_cli(capsys, "check", str(data), "--steps")
    assert code == 0 and json.loads(stdout)["steps"] == [
        {"text": "6 + 13 = 6", "verdict": "wrong", "values": ["19", "6"]}
    ]
