"""A run grades with its source's verifiers: reasoning-gym's own scorer first (it decides) and the math
checker second; both verdicts are stored and the report counts where they disagree (gsm_symbolic's
scorer accepts -N for N, a known bug the math checker does not share)."""

import pytest

from starmill.config import parse_config
from starmill.generators import registry
from starmill.generators.base import Completion
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import run_star

pytest.importorskip("reasoning_gym")


def test_gym_and_math_grade_together_and_disagreements_are_reported(tmp_path):
    from starmill.warehouse import Warehouse
    from starmill.warehouse.sources import SourceSpec, ensure_problems

    source = {
        "reasoning_gym": {"tasks": {"gsm_symbolic": 1}, "size": 6, "seed": 1},
        "verifiers": ["reasoning_gym", "math"],
        "keep_unparseable_gold": True,
    }
    wh = Warehouse(str(tmp_path / "wh"))
    _, problems = ensure_problems(wh, SourceSpec.model_validate(source), "problems")
    gold = {p.question.split("\n")[0]: p.gold_answer for p in problems}

    def respond(question, hint, index):  # the right number with a minus sign: gym's scorer takes it
        answer = gold.get(question, "0").lstrip("-")
        return Completion(f"Working it out.\nThe answer is -{answer}.", "stop", 5, 8)

    cfg = parse_config(
        {
            "source": source,
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "sampling": {"n": 2},
            "rationalization": {"enabled": False},
        }
    )
    registry.use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(respond=respond))
    summary = run_star(cfg, wh.root, progress=False)
    samples = wh.read(summary["samples"]).to_pylist()
    assert samples and all([v["checker"] for v in s["verdicts"]] == ["reasoning_gym", "math"] for s in samples)
    accepted_by_gym_only = [
        s for s in samples if s["verdicts"][0]["verdict"] == "correct" and s["verdicts"][1]["verdict"] != "correct"
    ]
    assert accepted_by_gym_only, "expected the gsm_symbolic minus bug to show"
    assert all(s["correct"] for s in accepted_by_gym_only)  # the primary decides
    report = wh.manifest(summary["samples"]).report
    assert report.verifier_disagreements == {"reasoning_gym vs math": len(accepted_by_gym_only)}
    assert set(report.verifiers) == {"reasoning_gym", "math"}


def test_an_unknown_verifier_is_refused_before_generating(tmp_path):
    from starmill.schemas.errors import StarmillError

    cfg = parse_config(
        {"source": {"procedural": {"n": 4}, "verifiers": ["nope"]}, "teacher": {"model": f"stub-{tmp_path.name}"}}
    )
    backend = StubBackend()
    registry.use_backend(cfg.teacher.model_dump(mode="json"), backend)
    with pytest.raises(StarmillError, match="source.verifiers: nope: unknown verifier 'nope'"):
        run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert backend.calls == 0
