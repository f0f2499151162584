"""The CLI over the warehouse: exact output, and one ``Error:`` line with exit 1 for mistakes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli as run

DATA = Path(__file__).parent / "data" / "sources"


@pytest.fixture
def loaded(warehouse_root, capsys):
    code, out, _ = run(capsys, "ingest", str(DATA / "gsm8k_broken.jsonl"), "--preset", "gsm8k", "--name", "gsm8k")
    assert code == 0
    return out


def test_ingest_reports_counts_and_rejects(loaded):
    lines = loaded.splitlines()
    assert lines[0] == "gsm8k@v1: 2 problems, 8 rejects (read 10)"
    assert "  rejected      1  bad_json" in lines
    assert "  rejected      1  duplicate" in lines
    assert lines[-1] == 'Inspect them: starmill sql "SELECT reason, row_index, detail FROM gsm8k_rejects"'


def test_sql_formats(loaded, capsys):
    sql = "SELECT gold_answer, length(question) > 10 AS long FROM gsm8k ORDER BY gold_answer"
    assert run(capsys, "sql", sql, "--csv")[1] == "gold_answer,long\n10,True\n72,True\n"
    assert json.loads(run(capsys, "sql", sql, "--json")[1]) == [
        {"gold_answer": "10", "long": True},
        {"gold_answer": "72", "long": True},
    ]
    assert run(capsys, "sql", sql, "--nl")[1].splitlines() == [
        '{"gold_answer": "10", "long": true}',
        '{"gold_answer": "72", "long": true}',
    ]
    table = run(capsys, "sql", sql)[1].splitlines()
    assert table[0].split() == ["gold_answer", "long"] and table[2].split() == ["10", "True"]


def test_sql_parameters_and_stdin(loaded, capsys, monkeypatch):
    import io

    code, out, _ = run(
        capsys, "sql", "SELECT count(*) AS n FROM gsm8k_rejects WHERE reason = $r", "-p", "r=duplicate", "--csv"
    )
    assert (code, out) == (0, "n\n1\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT count(*) AS n FROM gsm8k_all;\n"))
    assert run(capsys, "sql", "-", "--csv")[1] == "n\n2\n"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sql", "DELETE FROM gsm8k"], "Error: only SELECT queries are allowed here (got DELETE)"),
        (["sql", "SELECT * FROM nothing"], "Error: Catalog Error: Table with name nothing does not exist!"),
        (["show", "gsm8k@v7"], "Error: dataset 'gsm8k' has no version v7 (versions: v1)"),
        (["show", "missing"], "Error: no dataset 'missing' in"),
        (["ingest", "/no/such/file.jsonl"], "Error: source file '/no/such/file.jsonl' not found"),
        (["ingest", "procedural", "--name", "Bad-Name"], "Error: bad dataset name 'Bad-Name'"),
    ],
)
def test_user_mistakes_are_one_error_line(loaded, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith(message) and err.count("\n") == 1
    assert "Traceback" not in err


def test_datasets_and_show(loaded, capsys):
    run(capsys, "ingest", "procedural", "-n", "12", "--seed", "3")
    code, out, _ = run(capsys, "datasets", "--csv")
    rows = [line.split(",") for line in out.splitlines()]
    assert rows[0] == ["dataset", "kind", "versions", "latest", "rows", "created_at", "partial", "status"]
    assert [r[:5] + r[7:] for r in rows[1:]] == [
        ["gsm8k", "problems", "1", "v1", "2", "ok"],
        ["problems", "problems", "1", "v1", "12", "ok"],
    ]
    code, out, _ = run(capsys, "show", "gsm8k@v1")
    assert out.splitlines()[0].startswith("gsm8k@v1  (problems, 2 rows,")
    assert "Table rejects (8 rows)" in out
    assert "  gold_solution        string" in out
    assert "  verified:  sha256 of 2 files" in out
    info = json.loads(run(capsys, "show", "gsm8k", "--json")[1])
    assert info["manifest"]["drops"]["undecodable"] == 1 and info["tables"] == {"problems": 2, "rejects": 8}


def test_console_script_help_is_fast_and_light():
    exe = Path(sys.executable).parent / "starmill"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "sql" in proc.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, starmill.cli; print(sorted(m for m in ('torch','vllm','prefect','duckdb','sympy','datasets','transformers') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "[]"  # heavy libraries load only inside the commands that use them


def test_every_warehouse_command_takes_the_warehouse_option_as_the_readme_says():
    """The docs (Commands at a glance): every command that reads or writes the warehouse takes
    --warehouse (-w), all but check and generate, which work on answers and prompts only."""
    from pathlib import Path

    from starmill.cli.commands import COMMANDS

    readme = (Path(__file__).resolve().parent.parent / "docs" / "reference" / "commands.md").read_text()
    assert "takes `--warehouse PATH` (`-w`, env\n`STARMILL_WAREHOUSE`): all but `check` and `generate`" in readme
    takes = {c.name: any("--warehouse" in p.opts and "-w" in p.opts for p in c.params) for c in COMMANDS}
    assert {name for name, yes in takes.items() if not yes} == {"check", "generate"}
