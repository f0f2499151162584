"""Verifiers that run code we did not write (reasoning-gym's scorers, a user's function) in the sandbox:
right verdicts, a hard time limit, and no side effect reaches the machine."""

import json
import time

import pytest

from starmill.filters.verifiers import get_verifier
from starmill.schemas import ProblemRecord


def problem(gold="Paris", **metadata):
    return ProblemRecord.make("t", "Capital of France?", gold, metadata=metadata)


@pytest.fixture(scope="module")
def gym_problems():
    pytest.importorskip("reasoning_gym")
    from starmill.schemas.sources import GymSpec
    from starmill.warehouse.sources.gym import iter_gym

    spec = GymSpec(
        tasks={"bitwise_arithmetic": 1, "basic_arithmetic": 1, "time_intervals": 1, "gsm_symbolic": 1}, size=8, seed=3
    )
    return list(iter_gym(spec, "gym", "train"))


def test_reasoning_gym_scores_with_the_tasks_own_scorer(gym_problems):
    verifier = get_verifier("reasoning_gym")
    for p in gym_problems:
        right = verifier.verify(p, f"Step by step.\nThe answer is {p.gold_answer}.")
        assert (right.verdict, right.checker, right.checker_version) == ("correct", "reasoning_gym", "1"), p.gold_answer
        assert verifier.verify(p, "The answer is 123456789.").verdict == "wrong"
    assert verifier.verify(gym_problems[0], "no marked answer here").verdict == "unparseable_pred"
    assert verifier.verify(problem(), "The answer is Paris.").verdict == "unparseable_gold"  # not a gym problem


def test_gym_and_math_can_disagree_and_math_stays_strict(gym_problems):
    """gsm_symbolic's scorer drops a leading minus (NOTES.md): it accepts -N for N; the math verifier does not."""
    gym, math = get_verifier("reasoning_gym"), get_verifier("math")
    found = False
    for p in gym_problems:
        meta = json.loads(p.metadata)
        if meta["task"] == "gsm_symbolic" and not p.gold_answer.startswith("-"):
            output = f"The answer is -{p.gold_answer}."
            assert math.verify(p, output).verdict == "wrong"
            found = found or gym.verify(p, output).verdict == "correct"
    assert found, "expected reasoning-gym's known gsm_symbolic bug to show on one of these problems"


def test_python_verifier_calls_the_users_function():
    exact = get_verifier("python", function="tests.verifier_functions:exact_upper")
    assert exact.verify(problem(), "The answer is paris.").verdict == "correct"
    assert exact.verify(problem(), "The answer is Lyon.").verdict == "wrong"
    assert exact.verify(problem(), "The answer is Paris.").checker_version == "1+tests.verifier_functions:exact_upper"
    half = get_verifier("python", function="tests.verifier_functions:half_credit", threshold=0.5)
    assert (half.verify(problem(), "The answer is x.").verdict, half.verify(problem(), "The answer is x.").rule) == (
        "correct",
        "score:0.5",
    )
    named = get_verifier("python", function="tests.verifier_functions:named_verdict")
    assert named.verify(problem(), "The answer is x.").verdict == "unparseable_pred"


@pytest.mark.parametrize(
    "name, verdict, rule",
    [
        ("escape", "error", "blocked:os.system"),
        ("write_file", "error", "blocked:open for writing"),
        ("crash", "error", "exception:RuntimeError"),
        ("not_json", "error", "exception:TypeError"),
    ],
)
def test_a_users_function_cannot_reach_the_machine(name, verdict, rule, tmp_path):
    marker = tmp_path / f"{name}.marker"
    verifier = get_verifier("python", function=f"tests.verifier_functions:{name}")
    got = verifier.verify(problem(marker=str(marker)), "The answer is Paris.")
    assert got.verdict == verdict and got.rule.startswith(rule), got
    assert not marker.exists()


def test_a_hanging_function_is_cut_off_at_the_limit():
    verifier = get_verifier("python", function="tests.verifier_functions:hang", timeout=1.0)
    start = time.perf_counter()
    got = verifier.verify(problem(), "The answer is Paris.")
    assert (got.verdict, got.rule) == ("timeout", "time_limit")
    assert time.perf_counter() - start < 3.0
    ok = get_verifier("python", function="tests.verifier_functions:exact_upper")
    assert ok.verify(problem(), "The answer is Paris.").verdict == "correct"  # the pool replaced the worker


@pytest.mark.parametrize(
    "options", [{"function": "no_colon_or_dot"}, {"function": "a.b:c d"}, {"function": "x:y", "timeout": 0}]
)
def test_bad_python_verifier_settings(options):
    with pytest.raises((ValueError, TypeError)):
        get_verifier("python", **options)
