"""`starmill sql` keeps one query in bounds: Ctrl-C stops it (exit 130), a time limit stops it with one
``Error:`` line, and DuckDB's memory is capped (a share of the machine, not DuckDB's 80%) before the
configuration is locked. Real DuckDB; Ctrl-C is a real SIGINT to a real ``starmill sql`` process."""

import os
import signal
import subprocess
import sys
import time

import duckdb
import psutil
import pytest

from starmill.warehouse import QueryError
from starmill.warehouse.sql import connect, query
from tests.helpers import run_cli as run

SLOW = "SELECT count(*) AS n FROM range(100000000) a, range(100000) b WHERE a.range + b.range = 7"  # hours


def read_back(limit: str) -> str:
    """How DuckDB shows a memory limit once set."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{limit}'")
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


@pytest.fixture
def root(warehouse_root):
    warehouse_root.mkdir()
    return warehouse_root


def test_ctrl_c_stops_a_running_query(root):
    env = {**os.environ, "STARMILL_WAREHOUSE": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "starmill.cli", "sql", "--timeout", "0", SLOW],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        busy = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while busy.cpu_times().user < 3 and time.monotonic() < deadline:  # past imports: DuckDB is at work
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # the query itself would run for hours
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "Aborted."
    assert out == ""


def test_a_query_past_the_time_limit_is_stopped_with_one_error_line(root, capsys, monkeypatch):
    code, out, err = run(capsys, "sql", "--timeout", "0.5", SLOW)
    assert (code, out) == (1, "")
    assert err == "Error: the query ran longer than 0.5 s and was stopped (the limit is --timeout)\n"
    monkeypatch.setenv("STARMILL_SQL_TIMEOUT", "0.2")
    code, _, err = run(capsys, "sql", SLOW)
    assert (code, err) == (1, "Error: the query ran longer than 0.2 s and was stopped (the limit is --timeout)\n")
    assert run(capsys, "sql", "SELECT 1 AS x", "--csv")[:2] == (0, "x\n1\n")  # quick ones still answer


def test_the_library_session_has_the_same_limits(root):
    session = connect(root, timeout=0.3)
    with pytest.raises(QueryError, match="ran longer than 0.3 s"):
        query(session, SLOW)
    assert query(session, "SELECT 42 AS x").to_pylist() == [{"x": 42}]  # the connection still works
    limit = connect(root).con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert (
        limit
        == read_back("25%")
        != duckdb.connect(":memory:").execute("SELECT current_setting('memory_limit')").fetchone()[0]
    )


def test_memory_is_capped_before_the_lock(root, capsys, monkeypatch):
    show = "SELECT current_setting('memory_limit') AS m, current_setting('lock_configuration') AS locked"
    assert run(capsys, "sql", show, "--csv")[1] == f"m,locked\n{read_back('25%')},True\n"
    assert run(capsys, "sql", show, "--memory-limit", "64MB", "--csv")[1] == f"m,locked\n{read_back('64MB')},True\n"
    monkeypatch.setenv("STARMILL_SQL_MEMORY_LIMIT", "1GiB")
    assert run(capsys, "sql", show, "--csv")[1] == "m,locked\n1.0 GiB,True\n"

    code, out, err = run(capsys, "sql", "SELECT list(range) AS l FROM range(10000000)", "--memory-limit", "8MB")
    assert (code, out) == (1, "")
    assert err.startswith("Error: Out of Memory Error: ") and err.endswith(" (the limit is --memory-limit)\n")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--memory-limit", "lots"],
            "Error: bad memory limit 'lots': give a size such as 4GB, 512MB or 25% (of the machine's memory)",
        ),
        (
            ["--memory-limit", "1GB'; SET lock_configuration=false; --"],
            "Error: bad memory limit "
            "\"1GB'; SET lock_configuration=false; --\": give a size such as 4GB, 512MB or 25% (of the machine's memory)",
        ),
        (["--timeout", "-1"], "Error: bad time limit -1.0: give the seconds a query may run (0: no limit)"),
        (["--timeout", "nan"], "Error: bad time limit nan: give the seconds a query may run (0: no limit)"),
    ],
)
def test_bad_limits_are_one_error_line(root, capsys, args, message):
    assert run(capsys, "sql", "SELECT 1", *args) == (1, "", message + "\n")
