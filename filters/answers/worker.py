"""The checker worker process: a memory cap, an audit hook that refuses everything model text should
never be able to do (compiling or executing code that is not a file, starting processes, sockets, file
writes), then a loop that answers JSON requests with ``symbolic.decide_symbolic`` verdicts."""

from __future__ import annotations

import json
import os
import sys

BLOCKED_EVENTS = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "subprocess.",
    "socket.",
    "ctypes.",
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.rename",
    "os.replace",
    "shutil.",
    "os.kill",
    "os.killpg",
    "os.putenv",
    "os.unsetenv",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.link",
    "os.symlink",
    "os.mkdir",
    "pty.",
    "webbrowser.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "glob.",
    "os.chdir",
    "pickle.find_class",
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def install_guard(blocked: list[str]) -> None:
    """Refuse, from now on in this process, everything model text should never be able to do; each
    refusal is appended to ``blocked`` (the tests use this in a throwaway process too). This is a
    tripwire over starmill's own checker code, not a sandbox: code starmill did not write runs in
    ``filters.isolation``."""

    def refuse(event: str) -> None:
        blocked.append(event)
        raise PermissionError(f"refused by the answer checker's sandbox: {event}")

    def hook(event: str, args: tuple) -> None:
        if event == "compile":
            filename = args[1] if len(args) > 1 else None
            if not isinstance(filename, (str, bytes)) or not os.path.isfile(filename):
                refuse(f"compile {str(filename)[:60]}")
        elif event == "exec":
            code = args[0] if args else None
            filename = getattr(code, "co_filename", "")
            if not filename or not os.path.isfile(filename):
                refuse(f"exec {filename[:60]}")
        elif event == "open":
            mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
            if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
                refuse(f"open for writing {str(args[0])[:60]}")
        elif event.startswith(BLOCKED_EVENTS):
            refuse(event)

    sys.addaudithook(hook)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the forkserver (its parent) exits with the pool's owner."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


def start_worker(memory_mb: int, pdeathsig: bool) -> None:
    """What every sandbox worker does first: die with its parent, cap its address space."""
    import resource

    if pdeathsig:
        _die_with_parent()
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(conn, blocked: list[str], handle) -> None:
    """Answer JSON requests until the pipe closes: ``handle(message) -> (reply dict, retire)``; a sandbox
    refusal during the call turns the reply into an ``error``. A retiring worker exits after replying."""
    conn.send_bytes(b'"ready"')
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        reply, retire = handle(json.loads(data))
        if blocked:
            reply.update(verdict="error", rule=f"blocked:{blocked[0]}")
        conn.send_bytes(json.dumps({**reply, "blocked": blocked, "retire": retire}, default=str).encode())
        blocked.clear()
        if retire:
            return


def worker_main(conn, memory_mb: int, pdeathsig: bool) -> None:
    start_worker(memory_mb, pdeathsig)
    from starmill.filters.answers.symbolic import decide_symbolic, warm

    if "starmill.filters.answers._preload" not in sys.modules:
        warm()
    blocked: list[str] = []
    install_guard(blocked)

    def handle(message) -> tuple[dict, bool]:
        try:
            gold, pred, *form = message
            verdict, rule = decide_symbolic(gold, pred, *form)
        except MemoryError:
            return {"verdict": "timeout", "rule": "memory_limit"}, True
        except RecursionError:
            verdict, rule = "unparseable_pred", "too_deep"
        except Exception as exc:  # a checker bug: report it as a verdict, keep serving
            verdict, rule = "error", f"exception:{type(exc).__name__}"
        return {"verdict": verdict, "rule": rule}, False

    serve(conn, blocked, handle)
