"""`starmill eval`: greedy pass@1, unbiased pass@k and maj@k on held-out problems with the demo teacher,
written as an ``evals`` version; overlap with a trained model's data; the accuracy plot; bad input."""

import json
from pathlib import Path

from starmill.evaluation.metrics import accuracy, ks_for, majority_correct
from tests.helpers import run_cli

TEACHER = str(Path(__file__).resolve().parent.parent / "generators" / "demo_teacher")


def _string_equal(a: str, b: str) -> bool:
    return a == b


def test_majority_clusters_by_equivalence_not_string():
    from starmill.filters.answers import check_answer

    def equivalent(a, b):
        return check_answer(a, b, pred_is_answer=True).correct

    votes = [("3", False), ("0.5", True), ("1/2", True)]
    assert majority_correct(votes, equivalent) is True  # 0.5 and 1/2 are one answer with two votes
    assert majority_correct(votes, _string_equal) is False  # by string: three singletons, the first wins
    assert majority_correct([(None, False), ("", False)], equivalent) is False
    assert majority_correct([("7", True), ("8", False)], equivalent) is True  # a tie goes to the first seen


def test_accuracy_metrics_follow_their_definitions():
    sampled = {
        "a": [("1", True), ("2", False), ("2", False), ("2", False)],
        "b": [("5", False), ("6", True), ("6", True), ("9", False)],
    }
    metrics = accuracy({"a": True, "b": False}, sampled, _string_equal)
    assert ks_for(4) == [1, 2, 4] and ks_for(6) == [1, 2, 4, 6]
    assert metrics["greedy_pass@1"] == 0.5
    assert metrics["pass@1"] == round((1 / 4 + 2 / 4) / 2, 4)
    assert metrics["pass@4"] == 1.0
    assert metrics["maj@4"] == 0.5  # a: "2" wins (wrong); b: "6" wins (right)
    assert metrics["maj@1"] == 0.5  # first answers: a's "1" is right, b's "5" is wrong


def test_eval_cli_writes_evals_and_metrics_match_rows(tmp_path, capsys):
    wh = str(tmp_path / "wh")
    code, stdout, stderr = run_cli(
        capsys, "eval", TEACHER, "--on", "procedural:n=12,seed=321,difficulty=1", "-n", "4", "--json", "-w", wh
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["evals"] == "evals@v1" and result["problems"] == "eval_problems@v1"
    m = result["metrics"]
    assert set(m) == {"greedy_pass@1", "pass@1", "maj@1", "pass@2", "maj@2", "pass@4", "maj@4"}
    assert m["pass@1"] <= m["pass@2"] <= m["pass@4"]
    code, stdout, _ = run_cli(
        capsys,
        "sql",
        "-w",
        wh,
        "--format",
        "json",
        "SELECT mode, count(*) AS n, avg(correct::INT) AS acc FROM evals GROUP BY mode ORDER BY mode",
    )
    rows = {r["mode"]: r for r in json.loads(stdout)}
    assert rows["greedy"]["n"] == 12 and rows["sampled"]["n"] == 48
    assert round(rows["greedy"]["acc"], 4) == m["greedy_pass@1"]
    assert round(rows["sampled"]["acc"], 4) == m["pass@1"]  # unbiased pass@1 is the mean over samples
    assert result["overlap"]["trained_on"] == []  # the demo teacher has no starmill training manifest


def test_eval_reports_overlap_with_training_data_and_plots(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=12)  # procedural difficulty 2, seed 0
    out = tmp_path / "m1"
    code, _, stderr = run_cli(
        capsys,
        "train",
        ref,
        "--base",
        TEACHER,
        "--output",
        str(out),
        "--max-steps",
        "1",
        "--set",
        "train.batch_size=4",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    sft_ids = {r["problem_id"] for r in wh.read(ref).select(["problem_id"]).to_pylist()}
    png = tmp_path / "acc.png"
    for model in (TEACHER, str(out)):
        code, stdout, stderr = run_cli(
            capsys,
            "eval",
            model,
            "--on",
            "procedural:n=12,seed=0,difficulty=2",
            "-n",
            "2",
            "--plot",
            str(png),
            "-w",
            wh.root,
        )
        assert code == 0, stderr
    assert f"Overlap with the training data ({ref}): {len(sft_ids)} problems by id" in stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"Plot: {png}\n" in stdout
    from starmill.evaluation.plot import eval_history

    history = eval_history(wh, on="eval_problems@v1")
    assert [h["ref"] for h in history] == ["evals@v1", "evals@v2"]


def test_eval_bad_input_is_one_error_line(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=4)
    cases = [
        ([str(tmp_path / "no-model"), "--on", "procedural:n=2"], "does not exist"),
        ([TEACHER, "--on", "procedural:x=2"], "bad procedural source"),
        ([TEACHER, "--on", ref], "holds 'sft' rows"),
        (
            [TEACHER, "--on", "procedural:n=-3"],
            "bad procedural source 'procedural:n=-3': n: Input should be greater than or equal to 0",
        ),
        (
            [TEACHER, "--on", "procedural:n=two"],
            "bad procedural source 'procedural:n=two': n: Input should be a valid integer",
        ),
    ]
    on = ["--on", "procedural:n=2"]  # a good source: a bad --plot must fail before it is evaluated
    cases += [
        ([TEACHER, *on, "--plot", str(tmp_path / "acc.txt")], "the plot is a PNG, give a file name ending in .png"),
        ([TEACHER, *on, "--plot", str(tmp_path / "hostname")], "the plot is a PNG, give a file name ending in .png"),
        (
            [TEACHER, *on, "--plot", str(tmp_path / "no" / "acc.png")],
            f"--plot '{tmp_path / 'no' / 'acc.png'}': its folder does not exist",
        ),
    ]
    for args, message in cases:
        code, _, stderr = run_cli(capsys, "eval", *args, "-w", wh.root)
        assert code == 1 and stderr.strip().splitlines()[-1].startswith("Error:") and message in stderr, (args, stderr)
        assert "Traceback" not in stderr
    assert not wh.versions("evals")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "wh") == []  # no plot written anywhere
