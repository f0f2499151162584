"""Ingest validates golds with the source's primary verifier: a gold the math verifier can never read
is an `unparseable_gold` reject (with why), unless kept on purpose or another verifier decides."""

import json

from tests.helpers import run_cli

ROWS = [
    {"question": "q1", "answer": "42"},
    {"question": "q2", "answer": "Integral(x**2, x)"},
    {"question": "q3", "answer": "03/05/2024"},
    {"question": "q4", "answer": "yes"},
    {"question": "q5", "answer": "\\frac{3}{4}"},
]


def _file(tmp_path):
    path = tmp_path / "golds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return str(path)


def test_unreadable_golds_are_rejects_with_the_reason(tmp_path, capsys):
    wh = str(tmp_path / "wh")
    code, stdout, stderr = run_cli(capsys, "ingest", _file(tmp_path), "-w", wh)
    assert code == 0, stderr
    assert "problems@v1: 3 problems, 2 rejects" in stdout and "unparseable_gold" in stdout
    code, stdout, _ = run_cli(
        capsys, "sql", "-w", wh, "--format", "json", "SELECT reason, detail FROM problems_rejects ORDER BY detail"
    )
    rejects = json.loads(stdout)
    assert [r["reason"] for r in rejects] == ["unparseable_gold"] * 2
    assert "'03/05/2024' (date:ambiguous)" in rejects[0]["detail"] and "Integral" in rejects[1]["detail"]


def test_keep_unparseable_gold_and_other_verifiers_skip_the_check(tmp_path, capsys):
    wh = str(tmp_path / "wh")
    for extra in (["--keep-unparseable-gold"], ["--verifier", "exact"]):
        code, stdout, stderr = run_cli(capsys, "ingest", _file(tmp_path), "-w", wh, *extra)
        assert code == 0, stderr
        assert "5 problems, 0 rejects" in stdout, extra


def test_procedural_golds_all_read(tmp_path, capsys):
    code, stdout, stderr = run_cli(
        capsys, "ingest", "procedural", "-n", "300", "--difficulty", "5", "-w", str(tmp_path / "wh")
    )
    assert code == 0 and "300 problems, 0 rejects" in stdout, stdout + stderr
