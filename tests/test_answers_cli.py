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
    assert (row["verdict"], row["rule"], row["pred"], row["gold"], row["checker"]) == (
        "correct",
        "string",
        "72",
        "72",
        "starmill",
    )


def test_single_check_options(capsys):
    assert (
        json.loads(run(capsys, "check", "--gold", "1/2", "--pred", "0.5", "--pred-is-answer")[1])["verdict"]
        == "correct"
    )
    assert json.loads(run(capsys, "check", "--gold", "1/2", "--pred", "0.5")[1])["verdict"] == "unparseable_pred"
    assert (
        json.loads(run(capsys, "check", "--gold", "13", "--pred", "got 12 then 13", "--lenient")[1])["verdict"]
        == "correct"
    )
    solution = "48 + 24 = 72\n#### 72"
    assert (
        json.loads(run(capsys, "check", "--gold", solution, "--pred", "#### 72", "--gold-is-solution")[1])["verdict"]
        == "correct"
    )


def test_file_mode_grades_in_order_with_bad_lines_reported(tmp_path, capsys, checker_pool, monkeypatch):
    monkeypatch.setattr("starmill.filters.answers.check.shared_pool", lambda workers=None: checker_pool)
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": 1, "gold": "72", "pred": "#### 72"}),
                "{not json",
                json.dumps({"id": 2, "gold": "\\sqrt{2}", "pred": "\\boxed{\\frac{2}{\\sqrt{2}}}"}),
                json.dumps({"id": 3, "gold": "3"}),
                "",
                json.dumps([1, 2]),
                json.dumps({"id": 4, "gold": 3, "pred": "The answer is 4."}),
            ]
        )
        + "\n"
    )
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


@pytest.mark.parametrize(
    "args,message",
    [
        (["check"], "Error: give FILE, or both --gold and --pred"),
        (["check", "--gold", "3"], "Error: give FILE, or both --gold and --pred"),
        (["check", "missing.jsonl"], "does not exist"),
        (["check", "IN", "--gold", "3"], "Error: give FILE or --gold/--pred, not both"),
        (["check", "IN", "-o", "/nonexistent-dir/out.jsonl"], "Error: cannot write /nonexistent-dir/out.jsonl"),
        (["check", "--gold", "3", "--pred", "3", "--timeout", "0"], "Invalid value for '--timeout'"),
    ],
)
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


def test_gold_kind_is_decided_per_gold_without_flags(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"gold": "Natalia sold 48 + 24 clips.\n#### 72", "pred": "#### 72"},
                {"gold": "so the total is \\boxed{\\frac{1}{2}}", "pred": "\\boxed{0.5}"},
                {"gold": "Adding them, the answer is 7.", "pred": "The answer is 7."},
                {"gold": "72", "pred": "#### 72"},
            ]
        )
        + "\n"
    )
    code, out, err = run(capsys, "check", str(source))
    assert code == 0, err
    assert [json.loads(line)["verdict"]["verdict"] for line in out.splitlines()] == ["correct"] * 4
    code, out, _ = run(capsys, "check", str(source), "--gold-is-answer")
    assert [json.loads(line)["verdict"]["verdict"] for line in out.splitlines()][:3] != ["correct"] * 3
    assert json.loads(out.splitlines()[3])["verdict"]["verdict"] == "correct"
    single = run(capsys, "check", "--gold", "so \\boxed{12}", "--pred", "\\boxed{12}")[1]
    assert json.loads(single)["verdict"] == "correct"


def test_summary_counts_unmarked_predictions_and_suggests_pred_is_answer(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(json.dumps({"gold": str(i), "pred": str(i)}) for i in range(3))
        + "\n"
        + json.dumps({"gold": "3", "pred": "#### 3"})
        + "\n"
    )
    code, _, err = run(capsys, "check", str(source))
    assert code == 0
    assert "graded 4 records: unparseable_pred 3, correct 1" in err
    assert "3 of 4 predictions had no marked answer" in err and "add --pred-is-answer" in err
    code, out, err = run(capsys, "check", str(source), "--pred-is-answer")
    assert "no marked answer" not in err and err.count("correct") == 1
    few = tmp_path / "few.jsonl"
    few.write_text(
        json.dumps({"gold": "1", "pred": "1"})
        + "\n"
        + json.dumps({"gold": "3", "pred": "#### 3"}) * 0
        + "\n".join(json.dumps({"gold": "3", "pred": "#### 3"}) for _ in range(2))
        + "\n"
    )
    _, _, err = run(capsys, "check", str(few))
    assert "1 of 3 predictions had no marked answer" in err and "--pred-is-answer" not in err
    _, _, err = run(capsys, "check", "--gold", "3", "--pred", "3")
    assert "hint: 1 of 1 predictions had no marked answer" in err


def test_output_file_is_replaced_only_when_grading_finished(tmp_path, capsys, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"gold": str(i), "pred": f"#### {i}"}) for i in range(5)) + "\n")
    target = tmp_path / "out.jsonl"
    target.write_text("previous results\n")
    from starmill.filters.answers import records

    real = records.grade_lines

    def crash_after_two(*args, **kwargs):
        for n, item in enumerate(real(*args, **kwargs)):
            if n == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(records, "grade_lines", crash_after_two)
    assert run(capsys, "check", str(source), "-o", str(target))[0] != 0  # interrupted (Ctrl-C) after two rows
    assert target.read_text() == "previous results\n"  # never half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary file left
    monkeypatch.setattr(records, "grade_lines", real)
    assert run(capsys, "check", str(source), "-o", str(target))[0] == 0
    assert [json.loads(line)["verdict"]["verdict"] for line in target.read_text().splitlines()] == ["correct"] * 5


def test_declared_forms_from_the_command_line_and_from_records(tmp_path, capsys):
    row = json.loads(
        run(capsys, "check", "--gold", "23/131", "--pred", "92/524", "--pred-is-answer", "--form", "reduced")[1]
    )
    assert (row["verdict"], row["rule"], row["form"]) == ("wrong", "form:reduced", "reduced")
    assert (
        json.loads(run(capsys, "check", "--gold", "23/131", "--pred", "92/524", "--pred-is-answer")[1])["verdict"]
        == "correct"
    )
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"gold": "2^4 \\times 41", "pred": "\\boxed{656}", "form": "factored"},
                {"gold": "2^4 \\times 41", "pred": "\\boxed{2^4 \\cdot 41}", "form": "factored"},
                {"gold": "851980", "pred": "\\boxed{8.52e+05}", "form": "sig_figs:3"},
                {"gold": "1", "pred": "\\boxed{1}", "form": "lowest_terms"},
                {"gold": "656", "pred": "\\boxed{656}"},
            ]
        )
        + "\n"
    )
    code, out, err = run(capsys, "check", str(source), "--form-field", "form")
    assert code == 1
    assert [json.loads(line)["verdict"]["verdict"] for line in out.splitlines()] == [
        "wrong",
        "correct",
        "correct",
        "correct",
    ]
    assert "line 4: bad answer form in 'form' (unknown answer form 'lowest_terms'" in err
    code, _, err = run(capsys, "check", "--gold", "1", "--pred", "1", "--form", "bogus")
    assert code != 0 and "Invalid value for '--form'" in err and "Traceback" not in err
