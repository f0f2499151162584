"""`starmill regrade`: a samples version graded by an older checker, graded again into a new version
with the old -> new verdict changes, both checker versions in the manifest, and the parent recorded."""

import json

from starmill.schemas import ProblemRecord, SampleRecord
from tests.helpers import run_cli


def _sample(problem, index, completion, verdict, kept):
    return SampleRecord(
        sample_id=f"s{index}",
        problem_id=problem.problem_id,
        stage="rationale",
        iteration=0,
        sample_index=index,
        template_id="cot_zero_shot",
        template_hash="h",
        prompt=[{"role": "user", "content": problem.question}],
        completion=completion,
        reasoning=None,
        answer_text=completion,
        extracted_answer=None,
        finish_reason="stop",
        prompt_tokens=5,
        completion_tokens=5,
        model="m",
        model_revision=None,
        engine="transformers",
        engine_version=None,
        sampling="{}",
        seed=index,
        verdicts=[
            {
                "checker": "starmill",
                "checker_version": "1.0.0",
                "verdict": verdict,
                "rule": "old",
                "pred": None,
                "gold": problem.gold_answer,
                "seconds": 0.0,
            }
        ],
        correct=verdict == "correct",
        kept=kept,
        drop_reason=None if kept else "wrong_answer",
    )


def _old_version(wh):
    hexed = ProblemRecord.make("t", "What is 0x1000 + 0x854 in hex?", "0x1854")
    with wh.writer("problems", "problems") as writer:
        writer.write([hexed])
    samples = [
        _sample(hexed, 0, "The answer is 0x1855.", "correct", True),  # the old checker's false accept
        _sample(hexed, 1, "The answer is 6228.", "wrong", False),  # the same integer in decimal
        _sample(hexed, 2, "The answer is 0x1854.", "correct", True),
    ]
    with wh.writer("samples", "samples", parents=["problems@v1"]) as writer:
        writer.write(samples)
    return wh


def test_regrade_writes_a_new_version_with_the_changes(tmp_path, capsys):
    from starmill.warehouse import Warehouse

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    code, stdout, stderr = run_cli(capsys, "regrade", "samples@v1", "--json", "-w", wh.root)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["result"] == "samples@v2" and report["rows"] == 3
    assert report["changes"] == {"correct -> wrong": 1, "wrong -> correct": 1}
    assert report["dropped_by_regrade"] == 1 and report["newly_correct_unkept"] == 1
    rows = {r["sample_id"]: r for r in wh.read("samples@v2").to_pylist()}
    assert rows["s0"]["kept"] is False and rows["s0"]["drop_reason"] == "regraded:wrong"
    assert rows["s1"]["correct"] is True and rows["s1"]["kept"] is False
    assert rows["s2"]["kept"] is True and rows["s2"]["verdicts"][0]["checker"] == "math"
    manifest = wh.manifest("samples@v2")
    assert manifest.parents == ["samples@v1", "problems@v1"]
    regraded = manifest.model_extra["regraded"]
    assert regraded["checkers_before"] == [{"name": "starmill", "version": "1.0.0"}]
    from starmill.filters.answers import CHECKER_VERSION

    assert regraded["verifiers"] == [{"name": "math", "version": CHECKER_VERSION}]
    assert wh.read("samples@v1").num_rows == 3  # the old version is untouched


def test_regrade_with_two_verifiers_stores_both(tmp_path, capsys):
    from starmill.warehouse import Warehouse

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    code, stdout, stderr = run_cli(
        capsys,
        "regrade",
        "samples",
        "--verifier",
        "math",
        "--verifier",
        "exact",
        "--name",
        "samples_regraded",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    assert "samples_regraded@v1" in stdout
    row = [r for r in wh.read("samples_regraded").to_pylist() if r["sample_id"] == "s1"][0]
    assert [v["checker"] for v in row["verdicts"]] == ["math", "exact"]
    assert [v["verdict"] for v in row["verdicts"]] == ["correct", "wrong"]  # the primary decides
    assert row["correct"] is True


def test_regrade_bad_input_is_one_error_line(tmp_path, capsys):
    from starmill.warehouse import Warehouse

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    for args, message in [
        (["problems"], "regrade a samples version"),
        (["samples", "--verifier", "nope"], "unknown verifier 'nope'"),
        (["samples", "--name", "../x"], "bad dataset name"),
        (["missing"], "no dataset 'missing'"),
    ]:
        code, _, stderr = run_cli(capsys, "regrade", *args, "-w", wh.root)
        assert code == 1 and stderr.strip().splitlines()[-1].startswith("Error:") and message in stderr, (args, stderr)
    assert wh.versions("samples") == [1]


def test_regrade_reselect_publishes_a_new_sft_version_from_the_new_samples(tmp_path, capsys):
    from starmill.warehouse import Warehouse

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    code, stdout, stderr = run_cli(capsys, "regrade", "samples@v1", "--reselect", "--json", "-w", wh.root)
    assert code == 0, stderr
    report = json.loads(stdout)
    reselected = report["reselected"]
    assert report["result"] == "samples@v2" and reselected["sft"] == "sft@v1"
    # s0 (a false accept) leaves; s1 (6228 is 0x1854) and s2 are kept: k=2 distinct correct ones
    assert (reselected["rows_before"], reselected["rows_after"]) == (2, 2)
    assert (reselected["added"], reselected["removed"]) == (1, 1)
    assert (reselected["added_ids"], reselected["removed_ids"]) == (["s1"], ["s0"])
    assert reselected["drops_before"] == {"wrong_answer": 1} and reselected["drops_after"] == {"wrong_answer": 1}
    rows = {r["sample_id"]: r for r in wh.read("samples@v2").to_pylist()}
    assert {k for k, r in rows.items() if r["kept"]} == {"s1", "s2"}
    assert rows["s0"]["drop_reason"] == "wrong_answer"
    assert sorted(r["sample_id"] for r in wh.read("sft@v1").to_pylist()) == ["s1", "s2"]
    manifest = wh.manifest("sft@v1")
    assert manifest.parents == ["samples@v2", "problems@v1"]
    assert manifest.model_extra["reselected"]["samples_from"] == "samples@v1"
    code, stdout, _ = run_cli(capsys, "regrade", "samples@v1", "--reselect", "--sft-name", "sft_fixed", "-w", wh.root)
    assert code == 0 and "Reselected -> sft_fixed@v1: 2 -> 2 rows (+1 added, -1 removed)" in stdout
    code, _, stderr = run_cli(capsys, "regrade", "samples@v1", "--sft-name", "x", "-w", wh.root)
    assert code == 1 and stderr.strip() == "Error: --sft-name goes with --reselect"
