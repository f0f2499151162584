"""The wheel installs ``starmill`` and nothing else at the top of site-packages: the repository's rooms
(schemas, generators, filters, warehouse, flows) are mapped to ``starmill.<room>`` (setup.py), so
starmill never shadows PyPI packages of the same names, and every subpackage and data file ships."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.fixtures_wheel import PACKAGE_FOLDERS, REPO

ROOMS = [f for f in PACKAGE_FOLDERS if f != "starmill"]


def test_the_wheel_installs_only_starmill(installed_wheel):
    wheel, site = installed_wheel
    tops = sorted(p.name for p in site.iterdir())
    assert [t for t in tops if not t.endswith(".dist-info")] == ["starmill"], tops
    top_level = next(site.glob("starmill-*.dist-info")) / "top_level.txt"
    if top_level.exists():
        assert top_level.read_text().split() == ["starmill"]


def test_every_package_and_data_file_ships(installed_wheel):
    _, site = installed_wheel
    for room in ROOMS:
        for init in (REPO / room).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.relative_to(REPO)
            assert (site / "starmill" / rel).is_file(), f"{rel} is missing from the wheel"
    for rel in (
        "generators/demo_teacher/model.safetensors",
        "generators/demo_student/tokenizer.json",
        "filters/code/harness.py",
        "filters/isolation/zygote.py",
    ):
        assert (site / "starmill" / rel).is_file(), rel
    assert any((site / "starmill" / "generators" / "templates").glob("*.yaml"))
    assert (site / "starmill" / "viewer" / "templates").is_dir()


def test_the_unpacked_wheel_imports_and_runs(installed_wheel, tmp_path):
    """From the unpacked wheel alone (not the working tree): the rooms import as starmill.<room>, the
    bare names do not, and the CLI answers."""
    _, site = installed_wheel
    code = (
        "import importlib.util, starmill.filters.answers as a, starmill.generators.procedural, "
        "starmill.warehouse.sql, starmill.flows.star\n"
        f"assert a.__file__.startswith({str(site)!r}), a.__file__\n"
        "assert all(importlib.util.find_spec(n) is None for n in "
        "('filters', 'schemas', 'warehouse', 'generators', 'flows'))\n"
        "print(a.check_answer('72', 'so she has \\\\boxed{72} apples').verdict)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n{code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "correct"


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def test_nothing_imports_a_room_by_its_bare_name():
    """Run from the repository root, ``import filters`` would still find the folder: a bare import there
    would pass in the working tree and fail for every user, and load a second copy of the module."""
    offenders = []
    for folder in [*PACKAGE_FOLDERS, "tests", "bench", "examples", "docs", "scripts"]:
        for path in sorted((REPO / folder).rglob("*.py")) if (REPO / folder).is_dir() else []:
            if ".venv" in path.parts or "__pycache__" in path.parts:
                continue
            bad = _imported_tops(path) & set(ROOMS)
            if bad:
                offenders.append(f"{path.relative_to(REPO)}: {sorted(bad)}")
    assert not offenders, "import these as starmill.<room>:\n" + "\n".join(offenders)
