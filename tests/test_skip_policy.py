"""CI fails on a skip it does not allow (tests/skip_policy.py): a pytest run of a small test file, in
its own process, with and without CI=true, against an allow-list written here."""

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

from tests.skip_policy import ALLOWED, load_allowed

REPO = Path(__file__).resolve().parent.parent
SAMPLE = """
import pytest

def test_runs():
    pass

def test_gpu():
    pytest.skip("needs a CUDA GPU")

def test_dependency():
    pytest.importorskip("starmill_no_such_module")
"""


def pytest_run(tmp_path, ci, allowed, module_skip=False):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    if module_skip:
        (tmp_path / "test_module.py").write_text(
            "import pytest\npytest.importorskip('starmill_no_such_module')\ndef test_never():\n    pass\n"
        )
    (tmp_path / "allowed.txt").write_text(allowed)
    env = {**os.environ, "STARMILL_ALLOWED_SKIPS": str(tmp_path / "allowed.txt")}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.skip_policy",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def test_outside_ci_a_skip_is_a_skip(tmp_path):
    code, out = pytest_run(tmp_path, None, "")
    assert code == 0 and "1 passed, 2 skipped" in out, out
    assert "skips CI does not allow" not in out


def test_in_ci_an_unlisted_skip_fails_the_run_and_is_named(tmp_path):
    code, out = pytest_run(tmp_path, "true", "test_sample.py::test_gpu | needs a CUDA GPU\n")
    assert code == 1, out
    section = out.split("skips CI does not allow", 1)[1]
    assert "SKIPPED test_sample.py::test_dependency: could not import 'starmill_no_such_module'" in section, out
    assert "test_gpu" not in section and "1 skip(s) not listed in" in section, out


def test_in_ci_listed_skips_pass_and_the_reason_must_match(tmp_path):
    listed = "*::test_gpu | needs a CUDA GPU\ntest_sample.py::test_dep* | starmill_no_such_module\n"
    code, out = pytest_run(tmp_path, "true", "# a comment\n\n" + listed)
    assert code == 0 and "1 passed, 2 skipped" in out, out
    code, out = pytest_run(tmp_path, "1", listed.replace("CUDA GPU", "TPU"))  # listed, but for another reason
    assert code == 1 and "SKIPPED test_sample.py::test_gpu: needs a CUDA GPU" in out, out


def test_in_ci_a_module_level_skip_fails_the_run(tmp_path):
    code, out = pytest_run(tmp_path, "true", "*::test_gpu | GPU\n*::test_dep* | such\n", module_skip=True)
    assert code == 1 and "SKIPPED test_module.py: could not import 'starmill_no_such_module'" in out, out


def test_a_malformed_line_is_a_usage_error(tmp_path):
    code, out = pytest_run(tmp_path, "true", "tests/test_x.py::test_y without a reason\n")
    assert code == 4 and "allowed.txt:1: write 'TEST-ID-PATTERN | REASON'" in out, out


def test_the_allow_list_parses_and_names_test_files_that_exist():
    tests = [p.relative_to(REPO).as_posix() for p in (REPO / "tests").glob("test_*.py")]
    for pattern, reason in load_allowed(ALLOWED):
        assert any(fnmatch.fnmatchcase(path, pattern.split("::")[0]) for path in tests), pattern
        assert len(reason) >= 3, pattern
