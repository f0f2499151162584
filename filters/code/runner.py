"""Run a program against its test spec in a fresh sandbox and read back what the trusted harness says.

Success is decided from a secret, never from an exit code or printed text: a random secret goes to the
harness on an inherited descriptor that it reads and closes before the program loads, and the harness
writes it back only after the last test ran. A reply without it (the program exited, crashed or was
killed) or with anything else on the result descriptor is not a pass.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from starmill.filters.isolation import Limits, require, run_program

if TYPE_CHECKING:  # schemas is not importable in the function sandbox, which loads filters.verifiers
    from starmill.schemas.code import CodeSpec

STATUSES = (
    "pass",
    "fail",
    "error",
    "exit",
    "memory",
    "syntax_error",
    "load_error",
    "missing_entry",
    "not_plain",
    "tampered",
    "harness_error",
)
STARTUP_SECONDS = 2.0  # the interpreter and the harness (about 0.1 s), on top of the tests' own time
MAX_REPLY_BYTES = 1 << 20


@dataclass
class TestRun:
    """How a program did: ``status`` is passed | failed | timeout | output_limit | no_result | tampered."""

    status: str
    results: list[str] = field(default_factory=list)  # one status per test, when the harness replied
    seconds: float = 0.0
    exit_code: int | None = None
    stderr: str = ""

    @property
    def passed(self) -> int:
        return sum(r == "pass" for r in self.results)


def harness_source() -> bytes:
    return resources.files("starmill.filters.code").joinpath("harness.py").read_bytes()


def harness_spec(spec: CodeSpec) -> dict:
    """What the harness needs: the spec, plus the names the asserts use and the modules the gold imports
    (found with ``ast`` here, so the harness does not parse anything once the program is loaded)."""
    row = {
        "kind": spec.kind,
        "entry_point": spec.entry_point,
        "test": spec.test,
        "prompt": spec.prompt,
        "setup": spec.setup,
        "asserts": list(spec.asserts),
        "cases": [list(c) for c in spec.cases],
    }
    gold = [t for t in (spec.prompt, spec.test, spec.setup, *spec.asserts) if t]
    names, imports = set(), set()
    for text in gold:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    imports.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                parts = node.module.split(".")
                imports.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    row["names"] = sorted(names) if spec.kind == "asserts" else []
    row["imports"] = sorted(imports)
    return row


def limits_for(spec: CodeSpec, time_limit: float | None = None, memory_mb: int | None = None) -> Limits:
    per_test = time_limit or spec.time_limit
    wall = min(3600.0, STARTUP_SECONDS + per_test * max(1, spec.n_tests))
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 1, memory_mb=memory_mb or spec.memory_mb)


def run_tests(
    spec: CodeSpec, program: str, *, isolation: str = "bwrap", limits: Limits | None = None, site_packages: bool = False
) -> TestRun:
    """Run ``program`` against ``spec`` in a fresh sandbox (``isolation``: bwrap, or none to opt out).
    The program imports from the standard library only, unless ``site_packages`` (the environment's
    packages too; their native code can read the harness's memory, so a program could forge its pass)."""
    require(isolation)
    secret = secrets.token_hex(32)
    payload = json.dumps(
        {"secret": secret, "spec": harness_spec(spec), "program": program, "site_packages": bool(site_packages)}
    ).encode()
    payload_fd = os.memfd_create("starmill-tests")
    reply_read, reply_write = os.pipe()
    try:
        try:
            _write_all(payload_fd, payload)
            os.lseek(payload_fd, 0, os.SEEK_SET)
        except BaseException:
            os.close(payload_fd)
            os.close(reply_write)
            raise
        # run_program closes both passed descriptors (closing them again here could close another
        # thread's descriptor that reused the number)
        flags = ["-I", "-B"] if site_packages else ["-I", "-S", "-B"]  # -S: no site, 30 ms less, stdlib only
        outcome = run_program(
            [sys.executable, *flags, "/input/harness.py", str(payload_fd), str(reply_write)],
            files={"harness.py": harness_source()},
            limits=limits or limits_for(spec),
            isolation=isolation,
            pass_fds=(payload_fd, reply_write),
        )
        reply = _read_all(reply_read)
    finally:
        os.close(reply_read)
    stderr = outcome.stderr[-500:].decode(errors="replace")
    if outcome.status in ("timeout", "output_limit"):
        return TestRun(outcome.status, seconds=outcome.seconds, exit_code=outcome.exit_code, stderr=stderr)
    results = parse_reply(reply, secret, spec.n_tests)
    if results is None:
        status = "tampered" if secret.encode() in reply or b"\n" in reply else "no_result"
        return TestRun(status, seconds=outcome.seconds, exit_code=outcome.exit_code, stderr=stderr)
    status = "passed" if all(r == "pass" for r in results) else "failed"
    return TestRun(status, results, outcome.seconds, outcome.exit_code, stderr)


def parse_reply(reply: bytes, secret: str, n_tests: int) -> list[str] | None:
    """The per-test statuses of a well-formed reply ending in the secret; None for anything else."""
    try:
        lines = reply.decode("ascii").split("\n")
    except UnicodeDecodeError:
        return None
    if len(lines) != n_tests + 2 or lines[-1] != "" or not secrets.compare_digest(lines[-2], f"end {secret}"):
        return None
    results = []
    for n, line in enumerate(lines[:n_tests]):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "t" or parts[1] != str(n) or parts[2] not in STATUSES:
            return None
        results.append(parts[2])
    return results


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int) -> bytes:
    """Everything on the reply pipe (every writer is gone by now), at most ``MAX_REPLY_BYTES``."""
    chunks, size = [], 0
    os.set_blocking(fd, False)
    while size <= MAX_REPLY_BYTES:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
