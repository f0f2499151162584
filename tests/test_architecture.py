"""The import contract (pyproject.toml, ``[tool.importlinter]``): layers import one way, the lower
layers never import the app, only flows and the CLI know Prefect, backends are independent, no
sibling modules import each other in a circle. A violation fails the normal test run."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-6000:]
    assert "Contracts: 5 kept, 0 broken." in report, report[-3000:]
