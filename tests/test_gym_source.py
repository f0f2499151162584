"""reasoning-gym as a problem source: weighted task sizes, determinism, entries rebuilt for scoring."""

import json
import re

import pytest

from starmill.schemas import ProblemRecord
from starmill.warehouse.sources.gym import GymSpec, gym_entry, iter_gym, task_sizes
from starmill.warehouse.sources.readers import SourceError

pytest.importorskip("reasoning_gym")


def test_sizes_follow_weights_and_add_up():
    spec = GymSpec(tasks={"basic_arithmetic": 1, "bitwise_arithmetic": 2, "time_intervals": 1}, size=7)
    sizes = task_sizes(spec)
    assert sum(sizes.values()) == 7
    assert sizes["bitwise_arithmetic"] == 3  # 3.5 rounds down: the remainders decide by name order
    assert sorted(sizes.values()) == [2, 2, 3]


def test_same_seed_same_problems_and_tasks_interleave():
    spec = GymSpec(tasks={"basic_arithmetic": 1, "gcd": 1}, size=6, seed=5)
    first = [r.problem_id for r in iter_gym(spec, "gym", "train")]
    again = [r.problem_id for r in iter_gym(spec, "gym", "train")]
    other = [r.problem_id for r in iter_gym(spec.model_copy(update={"seed": 6}), "gym", "train")]
    assert first == again and first != other
    tasks = [json.loads(r.metadata)["task"] for r in iter_gym(spec, "gym", "train")]
    assert tasks[:2] == ["basic_arithmetic", "gcd"]  # round-robin, so a prefix mixes the tasks


def test_metadata_rebuilds_the_entry_for_its_own_scorer():
    spec = GymSpec(tasks={"bitwise_arithmetic": 1}, size=3, seed=1)
    for record in iter_gym(spec, "gym", "train"):
        assert isinstance(record, ProblemRecord)
        entry, dataset = gym_entry(json.loads(record.metadata)["reasoning_gym"])
        assert entry["question"] == record.question
        assert dataset.score_answer(record.gold_answer, entry) == 1.0
        assert dataset.score_answer("0x0", entry) < 1.0


@pytest.mark.parametrize(
    "tasks, message",
    [
        ({"no_such_task": 1}, "reasoning_gym task 'no_such_task'"),
    ],
)
def test_unknown_task_is_a_source_error(tasks, message):
    with pytest.raises(SourceError, match=message):
        list(iter_gym(GymSpec(tasks=tasks, size=2), "gym", "train"))


@pytest.mark.parametrize("tasks", [{}, {"gcd": 0}, {"gcd": -1}, {"gcd": float("inf")}, {"gcd": float("nan")}])
def test_bad_weights_are_refused(tasks):
    with pytest.raises(ValueError):
        GymSpec(tasks=tasks, size=2)


def test_a_gym_source_ingests_and_is_reused_by_fingerprint(tmp_path):
    from starmill.warehouse import Warehouse
    from starmill.warehouse.sources import SourceSpec, ensure_problems

    spec = SourceSpec.model_validate(
        {"reasoning_gym": {"tasks": {"basic_arithmetic": 1, "gcd": 1}, "size": 6, "seed": 2}}
    )
    assert spec.uri == "reasoning_gym"
    wh = Warehouse(str(tmp_path / "wh"))
    ref, problems = ensure_problems(wh, spec, "gym")
    again, _ = ensure_problems(wh, spec, "gym")
    assert ref == again == "gym@v1" and len(problems) == 6
    assert {json.loads(p.metadata)["task"] for p in problems} == {"basic_arithmetic", "gcd"}
    bigger, more = ensure_problems(wh, spec.model_copy(update={"limit": 3}), "gym")
    assert bigger == "gym@v2" and len(more) == 3
    manifest = wh.manifest(ref)
    assert manifest.sources[0].uri == "reasoning_gym" and manifest.sources[0].fingerprint.startswith("reasoning_gym:")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"uri": "reasoning_gym"}, "needs a reasoning_gym section"),
        ({"uri": "data.jsonl", "reasoning_gym": {"tasks": {"gcd": 1}}}, "goes with uri 'reasoning_gym'"),
        ({"reasoning_gym": {"tasks": {"gcd": 1}, "size": 0}}, "greater than or equal to 1"),
    ],
)
def test_bad_gym_sections_are_refused(data, message):
    from pydantic import ValidationError

    from starmill.warehouse.sources import SourceSpec

    with pytest.raises(ValidationError, match=message):
        SourceSpec.model_validate(data)


def test_tasks_with_an_answer_form_declare_it_and_the_math_verifier_grades_it():
    from starmill.build import build_verifiers
    from starmill.filters.verifiers import get_verifier
    from starmill.warehouse.sources import SourceSpec

    spec = GymSpec(tasks={"fraction_simplification": 1, "prime_factorization": 1, "gcd": 1}, size=6, seed=3)
    records = list(iter_gym(spec, "gym", "train"))
    forms = {json.loads(r.metadata)["task"]: json.loads(r.metadata).get("answer_form") for r in records}
    assert forms == {"fraction_simplification": "reduced", "prime_factorization": "factored", "gcd": None}
    math = get_verifier("math")
    for record in records:
        task = json.loads(record.metadata)["task"]
        assert math.verify(record, f"The answer is \\boxed{{{record.gold_answer}}}").correct
        if task == "fraction_simplification":  # the same value, not in lowest terms
            n, d = re.findall(r"\d+", record.gold_answer)  # "138/583" or "$\\frac{138}{583}$"
            unreduced = math.verify(record, f"\\boxed{{{int(n) * 2}/{int(d) * 2}}}")
            assert (unreduced.verdict, unreduced.rule) == ("wrong", "form:reduced")
    source = SourceSpec.model_validate({"reasoning_gym": spec.model_dump()})
    assert build_verifiers(source) is not None  # not the plain checker's fast path, which reads no form
    plain = SourceSpec.model_validate({"reasoning_gym": {"tasks": {"gcd": 1}, "size": 2}})
    assert build_verifiers(plain) is None
