"""``starmill check``: one verdict, a graded file, and every user mistake as one line, not a traceback."""
import json

import pytest

from starmill.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_single_check_prints_one_verdict(capsys):
    code, out, _ = run(capsys, "check", "--gold", "72", "--pred", "so \\boxed{72}")
    assert code == 0
    row = json.loads(out)
    assert (row["verdict"], row["rule"], row["pred"], row["gold"], row["checker"]) == ("correct", "string", "72", "72", "starmill")


def test_single_check_options(capsys):
    assert json.loads(run(capsys, "check", "--gold", "1/2", "--pred", "0.5", "--pred-is-answer")[1])["verdict"] == "correct"
    assert json.loads(run(capsys, "check", "--gold", "1/2", "--pred", "0.5")[1])["verdict"] == "unparseable_pred"
    assert json.loads(run(capsys, "check", "--gold", "13", "--pred", "got 12 then 13", "--lenient")[1])["verdict"] == "correct"
    solution = "48 + 24 = 72\n#### 72"
    assert json.loads(run(capsys, "check", "--gold", solution, "--pred", "#### 72", "--gold-is-solution")[1])["verdict"] == "correct"


def test_file_mode_grades_in_order_with_bad_lines_reported(tmp_path, capsys, checker_pool, monkeypatch):
    monkeypatch.setattr("filters.answers.check.shared_pool", lambda workers=None: checker_pool)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([
        json.dumps({"id": 1, "gold": "72", "pred": "#### 72"}),
        "{not json",
        json.dumps({"id": 2, "gold": "\\sqrt{2}", "pred": "\\boxed{\\frac{2}{\\sqrt{2}}}"}),
        json.dumps({"id": 3, "gold": "3"}),
        "",
        json.dumps([1, 2]),
        json.dumps({"id": 4, "gold": 3, "pred": "The answer is 4."}),
    ]) + "\n")
    target = tmp_path / "out.jsonl"
    code, out, err = run(capsys, "check", str(source), "-o", str(target))
    assert code == 1
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["id"], r["verdict"]["verdict"]) for r in rows] == [(1, "correct"), (2, "correct"), (4, "wrong")]
    assert "line 2: not valid JSON" in err and "line 4: no field 'pred'" in err and "line 6: not a JSON object" in err
    assert "graded 3 records: correct 2, wrong 1" in err
    assert "Error: 3 lines could not be graded" in err
    assert "Traceback" not in err and out == ""


def test_file_mode_custom_fields_to_stdout(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"gold_answer": "5", "completion": "The answer is 5 apples."}) + "\n")
    code, out, err = run(capsys, "check", str(source), "--gold-field", "gold_answer", "--pred-field", "completion")
    assert code == 0
    assert json.loads(out)["verdict"]["verdict"] == "correct"


@pytest.mark.parametrize("args,message", [
    (["check"], "Error: give FILE, or both --gold and --pred"),
    (["check", "--gold", "3"], "Error: give FILE, or both --gold and --pred"),
    (["check", "missing.jsonl"], "does not exist"),
    (["check", "IN", "--gold", "3"], "Error: give FILE or --gold/--pred, not both"),
    (["check", "IN", "-o", "/nonexistent-dir/out.jsonl"], "Error: cannot write /nonexistent-dir/out.jsonl"),
    (["check", "--gold", "3", "--pred", "3", "--timeout", "0"], "Invalid value for '--timeout'"),
])
def test_user_mistakes_are_one_line(tmp_path, capsys, args, message):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"gold": "1", "pred": "#### 1"}) + "\n")
    code, out, err = run(capsys, *[str(source) if a == "IN" else a for a in args])
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_console_script_runs_outside_pytest(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("starmill")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"gold": "\\frac{1}{2}", "pred": "\\boxed{\\frac{\\sqrt{2}}{\\sqrt{8}}}"}) + "\n")
    done = subprocess.run([str(exe), "check", str(source)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"]["rule"] == "symbolic"
