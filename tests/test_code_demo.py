"""The CPU code demo end to end (issue 19): ``starmill run examples/code-star.yaml`` (the CLI command, the
committed demo code teacher, the code verifier in the sandbox) publishes rows that the
code verifier grades correct, rationalized rows among them stored with the plain prompt (no hint); ``starmill
eval`` reports pass@k of the demo code teacher on held-out procedural code problems."""

import json
from pathlib import Path

import pytest

from starmill.filters.isolation import available
from tests.helpers import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not available(), reason="needs bubblewrap")]
REPO = Path(__file__).resolve().parent.parent
HINT_WORDS = ("Guidance for you alone", "A correct solution", "```python\ndef")


def starmill(capsys, *argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err[-3000:]
    return json.loads(out)


def plain_flow(monkeypatch):
    """``starmill run`` as the CLI runs it, the Prefect flow swapped for the plain loop it wraps (the temporary
    server alone can take minutes to answer on a loaded 2-core box)."""
    import starmill.flows.star
    from starmill.config import parse_config
    from starmill.flows import prefect_env
    from starmill.pipeline import run_star

    monkeypatch.setattr(prefect_env, "spawn_temporary_server", lambda: None)
    monkeypatch.setattr(
        starmill.flows.star,
        "star_flow",
        lambda config, warehouse, **kw: run_star(parse_config(config), warehouse, progress=False, **kw),
    )


def test_code_star_demo_publishes_verified_rows_and_eval_reports_pass_at_k(tmp_path, capsys, monkeypatch):
    from starmill.filters.verifiers import get_verifier
    from starmill.generators.prompts import render
    from starmill.warehouse import Warehouse

    wh = tmp_path / "wh"
    plain_flow(monkeypatch)
    summary = starmill(capsys, "run", str(REPO / "examples" / "code-star.yaml"), "-w", str(wh), "--json")
    counts = summary["counts"]
    assert counts["kept.rationale"] > 0 and counts["kept.rationalization"] > 0, counts
    assert 0 < summary["pass_at_k"]["1"] < 1  # room for STaR: some problems solved, not all
    assert summary["report"]["verifiers"] == {"code": "1"}

    warehouse = Warehouse(str(wh))
    problems = {p["problem_id"]: p for p in warehouse.read(summary["problems"]).to_pylist()}
    samples = warehouse.read(summary["samples"]).to_pylist()
    kept = [s for s in samples if s["kept"]]
    assert kept and all(s["correct"] and s["verdicts"][0]["checker"] == "code" for s in kept)
    assert all(s["verdicts"][0]["verdict"] == "correct" for s in kept)
    sft = warehouse.read(summary["sft"]).to_pylist()
    assert len(sft) == counts["kept"]
    verifier = get_verifier("code")
    for row in sft:  # graded again from the published row alone: the program passes its problem's tests
        assert verifier.verify(problems[row["problem_id"]], row["completion"]).verdict == "correct"
    rationalized = [r for r in sft if r["stage"] == "rationalization"]
    assert rationalized
    for row in rationalized:  # stored with the plain prompt, never the hinted one
        question = problems[row["problem_id"]]["question"]
        assert row["prompt"] == render("code_zero_shot", question)
        assert not any(word in row["prompt"][-1]["content"] for word in HINT_WORDS)

    report = starmill(
        capsys,
        "eval",
        "starmill/demo-code-teacher",
        "--on",
        "procedural_code:n=12,seed=1000,difficulty=3",
        "--template",
        "code_zero_shot",
        "-n",
        "2",
        "--max-tokens",
        "128",
        "--json",
        "-w",
        str(wh),
    )
    metrics = report["metrics"]
    assert set(metrics) >= {"greedy_pass@1", "pass@1", "pass@2"}
    assert 0 <= metrics["pass@1"] <= metrics["pass@2"] <= 1
    assert warehouse.manifest(report["evals"]).model_dump()["checker"]["name"] == "code"
