"""The process that runs *inside* the sandbox for function calls (standard library only: it is started
as a file with ``python -I``, before anything else is importable).

It imports the modules a verifier needs once, then answers one request at a time from its stdin: it
forks a child per call, so nothing a call leaves behind (threads, globals, monkey-patches) reaches the
next; the child drops the control channel, takes the per-call resource limits, calls the function and
sends back JSON. After each call every other process in the sandbox is killed and the scratch folder is
emptied. The zygote is not dumpable, so a child cannot ptrace it or read its memory or file descriptors.

Frames on stdin/stdout: 4-byte big-endian length, then JSON.
"""

import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

SCRATCH = "/tmp"
KEEP = frozenset()  # read-only folders bound under the scratch folder (a checkout or venv under /tmp)
# Audit events that mean the call tried to leave its lane: the call's verdict becomes `error` however
# the function answers (the OS-level sandbox is what contains them; this only keeps them from counting).
TRIPWIRE = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "subprocess.",
    "socket.",
    "ctypes.",
    "os.kill",
    "os.killpg",
    "pty.",
    "os.putenv",
    "sys.setprofile",
    "sys.settrace",
    "sys.addaudithook",
    "cpython.remote_debugger_script",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.rmdir",
    "shutil.",
)
# Code compiled from a string during a call (a scorer that evals the model's answer: sympy's parse_expr)
# must not reach for these: with them, the answer's code could forge the call's own reply.
CODE_TRIPWIRE = (
    "__",
    "import",
    "exec",
    "eval",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars(",
    "open(",
    "chr(",
    "compile",
    "breakpoint",
    "memoryview",
    "builtins",
    "os.",
    "sys.",
    "posix",
    "signal",
)
# What libraries compile from strings on their own (sympy's parse_expr, dataclasses, namedtuple).
CODE_ALLOWED = ("from sympy import *", "def __create_fn__(")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def no_fork_filter(machine=None):
    """A seccomp-BPF program that refuses new processes (fork, vfork, clone without CLONE_THREAD, clone3),
    ptrace, cross-process memory access and new namespaces; threads stay allowed. In a user namespace
    the kernel does not hold RLIMIT_NPROC for these processes, so this is what caps a fork bomb.
    None on a machine it doesn't know (the other layers still hold there)."""
    machine = machine or os.uname().machine
    if machine == "x86_64":
        arch, clone, clone3 = 0xC000003E, 56, 435
        deny = (57, 58, 101, 310, 311, 272, 308)  # fork vfork ptrace process_vm_readv/writev unshare setns
    elif machine == "aarch64":
        arch, clone, clone3 = 0xC00000B7, 220, 435
        deny = (117, 270, 271, 97, 268)
    else:
        return None
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000

    def errno(number):
        return 0x00050000 | number

    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if machine == "x86_64":
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, errno(38))]  # the x32 ABI
    for number in deny:
        prog += [(jeq, 0, 1, number), (ret, 0, 0, errno(1))]
    prog += [(jeq, 0, 1, clone3), (ret, 0, 0, errno(38))]  # ENOSYS: libc falls back to clone
    prog += [(jeq, 0, 3, clone), (ld, 0, 0, 16), (jset, 1, 0, 0x00010000), (ret, 0, 0, errno(11)), (ret, 0, 0, allow)]
    return b"".join(struct.pack("=HBBI", *insn) for insn in prog)


def _forbid_new_processes():
    import ctypes

    program = no_fork_filter()
    if program is None:
        return

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = Program(len(program) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def _read_frame(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_frame(fd, obj):
    data = json.dumps(obj, default=str).encode()
    os.write(fd, struct.pack(">I", len(data)) + data)


def _not_dumpable():
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def _set_limits(limits):
    pairs = [
        (resource.RLIMIT_CPU, limits.get("cpu_seconds")),
        (resource.RLIMIT_AS, _mb(limits.get("memory_mb"))),
        (resource.RLIMIT_FSIZE, _mb(limits.get("file_size_mb"))),
        (resource.RLIMIT_NOFILE, limits.get("open_files")),
        (resource.RLIMIT_NPROC, limits.get("processes")),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in pairs:
        if value is not None:
            value = int(value)
            resource.setrlimit(which, (value, value))


def _mb(value):
    return None if value is None else int(value) * 1024 * 1024


def _resolve(path):
    module, _, name = path.replace(":", ".").rpartition(".")
    if not module or module not in sys.modules:
        raise LookupError(path + ": module not preloaded")
    return getattr(sys.modules[module], name)


DESCRIBE = "__describe__"


def _describe(target):
    """What ``target`` (an import path) is, so a verifier can refuse a builtin or a non-function."""
    import inspect

    found = _resolve(target)
    params = []
    try:
        params = [p.name for p in inspect.signature(found).parameters.values() if p.kind != p.VAR_POSITIONAL]
        accepts_any = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(found).parameters.values())
    except (TypeError, ValueError):
        accepts_any = False
    return {
        "python_function": inspect.isfunction(found),
        "module": getattr(found, "__module__", None),
        "params": params,
        "accepts_any": accepts_any,
    }


def _child(request, out_fd, channel_fds):
    """In the forked child: never returns."""
    code = 0
    try:
        for fd in channel_fds:
            os.close(fd)
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        os.setsid()
        work = os.path.join(SCRATCH, "call")
        os.makedirs(work, exist_ok=True)
        os.chdir(work)
        tripped = []

        def hook(event, args):
            if tripped:
                return
            if event.startswith(TRIPWIRE):
                tripped.append(event)
            elif event == "compile" and args and isinstance(args[0], (str, bytes)):
                source = args[0].decode(errors="replace") if isinstance(args[0], bytes) else args[0]
                if not source.startswith(CODE_ALLOWED):
                    hit = next((token for token in CODE_TRIPWIRE if token in source), None)
                    if hit:
                        tripped.append("compile:" + hit)
                        raise PermissionError("refused by the sandbox: code from a string that reaches for " + hit)
            elif event == "open":
                mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
                if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
                    tripped.append("open for writing " + str(args[0])[:60])

        function = _describe if request["call"] == DESCRIBE else _resolve(request["call"])
        _set_limits(request.get("limits") or {})
        _forbid_new_processes()
        if function is not _describe:
            sys.addaudithook(hook)
        try:
            value = function(**(request.get("kwargs") or {}))
            reply = {"status": "ok", "value": value}
            json.dumps(value)
        except MemoryError:
            reply = {"status": "memory"}
        except RecursionError:
            reply = {"status": "error", "rule": "too_deep"}
        except (TypeError, ValueError) as exc:
            reply = {"status": "error", "rule": "exception:" + type(exc).__name__}
        except BaseException as exc:  # noqa: BLE001  (the function's bug or refusal is a verdict, not a crash)
            reply = {"status": "error", "rule": "exception:" + type(exc).__name__}
        if tripped:
            reply = {"status": "blocked", "rule": "blocked:" + tripped[0]}
        data = json.dumps(reply, default=str).encode()
        limit = int(request.get("reply_bytes") or 1 << 20)
        if len(data) > limit:
            data = json.dumps({"status": "error", "rule": "reply_too_large"}).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(out_fd, view) :]
    except BaseException:  # noqa: BLE001
        code = 70
    os._exit(code)


def _reap_all(pid, own_namespace):
    """Kill what the call left running, then wait for it: in the sandbox's own PID namespace every
    process but this one and the namespace's init; without one (isolation opted out) the call's session."""
    try:
        if own_namespace and os.getpid() <= 3:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def _wipe_scratch(folder=None):
    """Empty the scratch folder, but for the read-only folders bound inside it (``KEEP``) and the way to them."""
    folder = folder or SCRATCH
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if path in KEEP:
            continue
        if any(kept.startswith(path + "/") for kept in KEEP):
            _wipe_scratch(path)
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _call(request, channel_fds, own_namespace):
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(request, write_fd, channel_fds)
    os.close(write_fd)
    deadline = started + float(request.get("wall_seconds") or 10)
    limit = int(request.get("reply_bytes") or 1 << 20) + 64
    chunks, size, failure = [], 0, None
    while failure is None:
        left = deadline - time.monotonic()
        if left <= 0:
            failure = {"status": "timeout", "rule": "time_limit"}
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            failure = {"status": "error", "rule": "reply_too_large"}
        chunks.append(chunk)
    os.close(read_fd)
    exit_status = None
    if failure is None:  # the reply is in: wait for the child to exit, up to the deadline
        pidfd = os.pidfd_open(pid)
        try:
            if select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                exit_status = os.waitpid(pid, 0)[1]
            else:
                failure = {"status": "timeout", "rule": "time_limit"}
        finally:
            os.close(pidfd)
    _reap_all(pid, own_namespace)
    _wipe_scratch()
    seconds = time.monotonic() - started
    if failure is not None:
        return {**failure, "seconds": seconds}
    if os.WIFSIGNALED(exit_status):
        sig = os.WTERMSIG(exit_status)
        kind = "timeout" if sig == signal.SIGXCPU else "crashed"
        return {"status": kind, "rule": "signal:" + signal.Signals(sig).name, "seconds": seconds}
    try:
        reply = json.loads(b"".join(chunks)) if chunks else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or "status" not in reply:
        return {"status": "crashed", "rule": "no_reply:exit_" + str(os.WEXITSTATUS(exit_status)), "seconds": seconds}
    reply["seconds"] = seconds
    return reply


def main():
    channel_in, channel_out = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    setup = _read_frame(channel_in)
    if setup is None:
        return
    _not_dumpable()
    import ctypes  # noqa: F401  (each call's seccomp filter is installed through it, before the call's tripwire)

    global SCRATCH, KEEP
    SCRATCH = setup.get("scratch") or SCRATCH
    KEEP = frozenset(path for path in setup.get("keep") or () if path.startswith(SCRATCH.rstrip("/") + "/"))
    for entry in reversed(setup.get("path") or []):
        sys.path.insert(0, entry)
    try:
        import importlib

        for name in setup.get("modules") or []:
            importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001
        _write_frame(channel_out, {"status": "setup_failed", "rule": type(exc).__name__ + ": " + str(exc)[:300]})
        return
    _write_frame(channel_out, {"status": "ready"})
    while True:
        request = _read_frame(channel_in)
        if request is None:
            return
        _write_frame(channel_out, _call(request, (channel_in, channel_out), bool(setup.get("own_namespace"))))


if __name__ == "__main__":
    main()
