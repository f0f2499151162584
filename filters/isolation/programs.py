"""Running a program in a fresh sandbox: its files are written to a read-only ``/input`` folder, it
works in a private ``/tmp``, and the whole process tree is killed at the wall-clock limit."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time

from starmill.filters.isolation.base import Limits, Outcome, bwrap_argv, clean_env, readable_roots, require
from starmill.filters.isolation.zygote import no_fork_filter


def _set_limits(limits: Limits):
    import resource

    def apply() -> None:
        mb = 1024 * 1024
        for which, value in (
            (resource.RLIMIT_CPU, max(1, int(limits.cpu_seconds))),
            (resource.RLIMIT_AS, limits.memory_mb * mb),
            (resource.RLIMIT_FSIZE, limits.file_size_mb * mb),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(which, (value, value))

    return apply


def run_program(
    argv: list[str],
    *,
    files: dict[str, bytes] | None = None,
    stdin: bytes = b"",
    limits: Limits | None = None,
    isolation: str = "bwrap",
    pass_fds: tuple[int, ...] = (),
    roots: list[str] = (),
) -> Outcome:
    """Run ``argv`` (paths inside the sandbox; ``files`` appear under ``/input``) and return how it ended.
    ``pass_fds``: descriptors of ours the program inherits under the same numbers (closed here after)."""
    require(isolation)
    limits = limits or Limits()
    inputs = tempfile.mkdtemp(prefix="starmill-input-")
    try:
        for name, data in (files or {}).items():
            path = os.path.normpath(os.path.join(inputs, name))
            if not path.startswith(inputs + os.sep):
                raise ValueError(f"input file name escapes the input folder: {name!r}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        os.chmod(inputs, 0o755)
        fds = list(pass_fds)
        if isolation == "bwrap":
            seccomp = _filter_fd(fds)
            command = bwrap_argv(
                argv,
                roots=readable_roots(list(roots)),
                limits=limits,
                env=clean_env(),
                inputs=inputs,
                seccomp_fd=seccomp,
            )
            cwd = "/"
        else:
            command = [a.replace("/input", inputs, 1) if a.startswith("/input") else a for a in argv]
            cwd = inputs
        return _run(command, stdin, limits, cwd, fds)
    finally:
        shutil.rmtree(inputs, ignore_errors=True)


def _filter_fd(fds: list[int]) -> int | None:
    """A pipe holding the no-new-processes filter, for bwrap's ``--seccomp``."""
    program = no_fork_filter()
    if program is None:
        return None
    read_fd, write_fd = os.pipe()
    os.write(write_fd, program)  # a few hundred bytes: fits the pipe buffer
    os.close(write_fd)
    fds.append(read_fd)
    return read_fd


def _run(command: list[str], stdin: bytes, limits: Limits, cwd: str, pass_fds: list[int]) -> Outcome:
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=clean_env(cwd if cwd != "/" else "/tmp"),
        start_new_session=True,
        preexec_fn=_set_limits(limits),
        pass_fds=tuple(pass_fds),
    )
    out, err, status = bytearray(), bytearray(), None
    selector = selectors.DefaultSelector()
    try:
        if stdin:
            try:
                proc.stdin.write(stdin)
            except (BrokenPipeError, OSError):
                pass
        proc.stdin.close()
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        deadline = started + limits.wall_seconds
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                status = "timeout"
                break
            for key, _ in selector.select(min(left, 0.5)):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                key.data.extend(chunk)
                if len(out) + len(err) > limits.output_bytes:
                    status = "output_limit"
            if status:
                break
        if status is None:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                status = "timeout"
    finally:
        selector.close()
        _kill_tree(proc)
        for fd in pass_fds:
            try:
                os.close(fd)
            except OSError:
                pass
    seconds = time.monotonic() - started
    code = proc.returncode
    if status is None:
        if code is not None and code < 0:
            status = "timeout" if -code == signal.SIGXCPU else "crashed"
        elif code is not None and code >= 128 and code - 128 in (signal.SIGXCPU,):
            status = "timeout"
        else:
            status = "ok"
    return Outcome(
        status,
        rule=f"exit_{code}",
        exit_code=code,
        stdout=bytes(out[: limits.output_bytes]),
        stderr=bytes(err[: limits.output_bytes]),
        seconds=seconds,
    )


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the sandbox (its PID namespace dies with its first process) and the session it runs in."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        try:
            stream.close()
        except OSError:
            pass
