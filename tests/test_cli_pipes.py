"""`starmill sql … | head`: a reader that leaves early ends the command quietly (no traceback, exit 0)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sql_into_a_closed_pipe_is_quiet(tmp_path):
    wh = str(tmp_path / "wh")
    env = {**os.environ, "STARMILL_WAREHOUSE": wh}
    starmill = [sys.executable, "-m", "starmill.cli"]
    subprocess.run(
        [*starmill, "ingest", "procedural", "-n", "3000"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    proc = subprocess.Popen(
        [*starmill, "sql", "--format", "csv", "SELECT * FROM problems"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does
    _, err = proc.communicate(timeout=60)
    assert first.startswith(b"problem_id,")
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err
