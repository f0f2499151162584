"""The procedural_code source: seeded function-writing problems with functional test specs and a reference;
the teacher's step-by-step program and the reference pass the code verifier, and the step-by-step program is
no copy of the reference (so a rationalization shown the reference can be kept)."""

import json

import pytest

from starmill.filters.code.hints import code_hint, reference_of
from starmill.filters.code.normalize import copies_reference
from starmill.filters.isolation import available
from starmill.generators.procedural_code import generate_problems, generate_tasks
from starmill.warehouse.sources import SourceSpec, iter_problems


def test_seeded_distinct_and_levelled():
    for level in (1, 2, 3):
        first = [p.question for p in generate_problems(40, seed=5, difficulty=level)]
        assert first == [p.question for p in generate_problems(40, seed=5, difficulty=level)]
        assert len(set(first)) == 40
        assert first != [p.question for p in generate_problems(40, seed=6, difficulty=level)]
    with pytest.raises(ValueError, match="difficulty must be one of"):
        next(generate_problems(1, difficulty=4))


def test_source_spec_and_ingest():
    spec = SourceSpec(uri="procedural_code", procedural={"n": 6, "seed": 1, "difficulty": 3})
    assert spec.verifiers == ["code"]
    records, entry = iter_problems(spec)
    problems = list(records)
    assert len(problems) == 6 and entry.uri == "procedural_code"
    assert entry.fingerprint == "procedural_code:n=6,seed=1,difficulty=3"
    gold = json.loads(problems[0].gold_answer)
    assert gold["kind"] == "functional" and gold["test"].startswith("def check(candidate):\n    assert candidate(")
    assert problems[0].question.startswith(f"Write a Python function `{gold['entry_point']}(")
    assert code_hint(problems[0], "reference") == f"A correct solution:\n```python\n{gold['reference'].rstrip()}\n```"
    with pytest.raises(ValueError, match="levels 1-3"):
        SourceSpec(uri="procedural_code", procedural={"difficulty": 4})


def test_steps_are_no_copy_of_the_reference():
    for level in (1, 2, 3):
        for task in generate_tasks(200, seed=2, difficulty=level):
            assert not copies_reference(task.steps, task.reference, task.entry_point)


@pytest.mark.skipif(not available(), reason="needs bubblewrap")
def test_teacher_program_and_reference_pass_the_code_verifier():
    from starmill.filters.verifiers import get_verifier

    verifier = get_verifier("code")
    for level in (1, 2, 3):
        for problem in generate_problems(3, seed=3, difficulty=level):
            assert verifier.verify(problem, problem.gold_solution).verdict == "correct"
            assert verifier.verify(problem, f"```python\n{reference_of(problem)}```").verdict == "correct"
            entry = json.loads(problem.gold_answer)["entry_point"]
            assert verifier.verify(problem, f"```python\ndef {entry}(v):\n    return None\n```").rule == "wrong_answer"


def test_generation_runs_no_generated_text_in_this_process(monkeypatch):
    """The expected values come from Python functions written beside each template, never from exec or
    eval of the generated reference or arguments in the host process."""
    import builtins

    from starmill.generators.procedural_code import generate_problems

    def refuse(*args, **kwargs):
        raise AssertionError("exec/eval called while generating problems")

    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    assert sum(1 for d in (1, 2, 3) for _ in generate_problems(50, seed=3, difficulty=d)) == 150
