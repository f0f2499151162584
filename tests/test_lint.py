"""ruff over the code (pyproject.toml, ``[tool.ruff]``): the linter finds nothing and the formatter would
change nothing. Run ``ruff check --fix . && ruff format .`` before committing."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_finds_nothing():
    proc = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


def test_the_code_is_formatted():
    proc = subprocess.run(
        [str(RUFF), "format", "--no-cache", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, "run `ruff format .`:\n" + (proc.stdout + proc.stderr)[-6000:]
