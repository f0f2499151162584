"""Under CI (``CI=true``) a skip fails the run unless ``tests/allowed_skips.txt`` lists it with its reason.

A skip that hides is a test that never ran: a missing dev dependency, a tmpfs that could not be mounted.
Outside CI skips stay skips (a laptop without the S3 server still runs the rest). ``STARMILL_ALLOWED_SKIPS``
names another list (the policy's own tests use it).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest

ALLOWED = Path(__file__).with_name("allowed_skips.txt")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def load_allowed(path: Path) -> list[tuple[str, str]]:
    """``(test id pattern, reason)`` per line ``PATTERN | REASON``; ``#`` starts a comment line."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, bar, reason = (part.strip() for part in line.partition("|"))
        if not bar or not pattern or not reason:
            raise pytest.UsageError(f"{path}:{number}: write 'TEST-ID-PATTERN | REASON', got {line!r}")
        entries.append((pattern, reason))
    return entries


def skip_reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


class SkipPolicy:
    def __init__(self, allowed: list[tuple[str, str]], source: Path):
        self.allowed, self.source = allowed, source
        self.skipped: list[tuple[str, str]] = []  # (test or module id, reason)
        self.unexpected: list[tuple[str, str]] = []

    def _seen(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):  # an xfail is reported as skipped too
            self.skipped.append((report.nodeid, skip_reason(report)))

    def pytest_runtest_logreport(self, report) -> None:
        self._seen(report)

    def pytest_collectreport(self, report) -> None:  # a module-level importorskip
        self._seen(report)

    def allows(self, nodeid: str, reason: str) -> bool:
        return any(fnmatch.fnmatchcase(nodeid, pattern) and allowed in reason for pattern, allowed in self.allowed)

    def pytest_sessionfinish(self, session) -> None:
        self.unexpected = [(nodeid, reason) for nodeid, reason in self.skipped if not self.allows(nodeid, reason)]
        if self.unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.unexpected:
            return
        terminalreporter.section("skips CI does not allow", sep="=", red=True, bold=True)
        for nodeid, reason in self.unexpected:
            terminalreporter.write_line(f"SKIPPED {nodeid}: {reason}")
        terminalreporter.write_line(
            f"CI=true and {len(self.unexpected)} skip(s) not listed in {self.source}: the run "
            "fails. Install what they need (scripts/install.sh --dev, root for the tmpfs "
            "tests), or list the skip there with its reason.",
            red=True,
        )


def pytest_configure(config) -> None:
    if in_ci():
        source = Path(os.environ.get("STARMILL_ALLOWED_SKIPS") or ALLOWED)
        config.pluginmanager.register(SkipPolicy(load_allowed(source), source), "starmill-skip-policy")
