"""The import contract (pyproject.toml, ``[tool.importlinter]``): layers import one way, the lower
layers never import the app, only flows and the CLI know Prefect, backends are independent, no
sibling modules import each other in a circle. A violation fails the normal test run.

The contract is checked on the installed layout (the unpacked wheel), where ``starmill.filters`` and
the other rooms really are folders under ``starmill/``; in the editable install they are mapped there
from the repository's top-level folders, which import-linter's folder walk would not see."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds(installed_wheel, tmp_path):
    _, site = installed_wheel
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-6000:]
    assert "Contracts: 5 kept, 0 broken." in report, report[-3000:]
    # the contract saw the mapped rooms, not only starmill's own folder
    probe = subprocess.run([sys.executable, "-c", "import starmill.filters.answers as m; print(m.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip().startswith(str(site)), probe.stdout + probe.stderr
