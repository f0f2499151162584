"""The isolation layer's records and its bubblewrap command line: which folders a sandbox sees, its
namespaces, its environment and its resource limits."""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field

ISOLATION_MODES = ("bwrap", "none")  # "none" is an explicit opt-out, warned about on every use
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
# Files of /etc a Python process may need; the rest of /etc (keys, shadow, machine secrets) stays out.
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "hosts",
    "mime.types",
    "ssl/certs",
    "alternatives",
)


class IsolationError(RuntimeError):
    """The sandbox could not be set up for a call (not a verdict about the code it would have run)."""


class IsolationUnavailable(IsolationError):
    """No OS-level sandbox on this machine, and isolation was not opted out of."""


@dataclass(frozen=True)
class Limits:
    """What one check may use. Sandboxed code never starts a process (a seccomp filter; threads are fine)."""

    wall_seconds: float = 10.0  # the whole call, then the process tree is killed
    cpu_seconds: int = 10  # RLIMIT_CPU
    memory_mb: int = 2048  # RLIMIT_AS
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    output_bytes: int = 1 << 20  # stdout/stderr (or a function's reply) kept; more is a failure
    scratch_mb: int = 64  # the private tmpfs

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"isolation limit {name} must be a positive number, got {value!r}")
        if self.wall_seconds > 3600 or self.memory_mb > 1 << 20:
            raise ValueError("isolation limits: wall_seconds at most 3600, memory_mb at most 1048576")

    def rlimits(self) -> dict:
        return {
            "cpu_seconds": max(1, int(self.cpu_seconds)),
            "memory_mb": self.memory_mb,
            "file_size_mb": self.file_size_mb,
            "open_files": self.open_files,
        }


@dataclass
class Outcome:
    """How a sandboxed run ended. ``status``: ok | timeout | memory | crashed | blocked | error |
    output_limit. ``value`` is a function's JSON reply; ``exit_code``/``stdout``/``stderr`` a program's."""

    status: str
    rule: str = ""
    value: object = None
    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    seconds: float = 0.0
    files: dict = field(default_factory=dict)


def available() -> bool:
    """Whether bubblewrap runs here (it needs unprivileged user namespaces or root)."""
    return _probe() is None


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        done = subprocess.run(
            [exe, *_namespace_args(), "--ro-bind", "/", "/", "--", "/bin/true"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap did not start: {exc}"
    if done.returncode != 0:
        return "bubblewrap cannot create namespaces here: " + done.stderr.decode(errors="replace").strip()[:200]
    return None


def require(mode: str) -> None:
    """Raise ``IsolationUnavailable`` unless ``mode`` can run here."""
    if mode not in ISOLATION_MODES:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, got {mode!r}")
    if mode == "bwrap" and (reason := _probe()) is not None:
        raise IsolationUnavailable(
            f"no sandbox for code starmill did not write: {reason}; install it, or set "
            "isolation: none on the verifier to run such code unisolated (not recommended)"
        )


def _namespace_args() -> list[str]:
    return [
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--disable-userns",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "sandbox",
    ]


def readable_roots(extra: list[str] = ()) -> list[str]:
    """The folders a sandboxed Python sees read-only: the interpreter, the environment's packages and
    ``extra`` (the folders of the modules a call needs). Never the home folder or the working folder."""
    roots = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, *extra)}
    for entry in sys.path:
        if entry and "site-packages" in entry and os.path.isdir(entry):
            roots.add(os.path.realpath(entry))
    return sorted(r for r in roots if os.path.exists(r))


def bwrap_argv(
    argv: list[str],
    *,
    roots: list[str],
    limits: Limits,
    env: dict[str, str],
    inputs: str | None = None,
    chdir: str = "/tmp",
    seccomp_fd: int | None = None,
) -> list[str]:
    """The command line that runs ``argv`` in a fresh sandbox."""
    cmd = ["bwrap", *_namespace_args()]
    for top in ("usr", "bin", "lib", "lib32", "lib64", "sbin"):
        path = "/" + top
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    for name in ETC_FILES:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # the scratch tmpfs first: a folder the call needs that lives under /tmp is bound on top of it
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    for root in roots:
        cmd += ["--ro-bind", root, root]
    if inputs is not None:
        cmd += ["--ro-bind", inputs, "/input"]
    cmd += ["--chdir", chdir, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return [*cmd, "--", *argv]


def clean_env(home: str = "/tmp") -> dict[str, str]:
    """The whole environment a sandboxed process gets: no tokens, no proxies, nothing of the caller's."""
    return {
        "PATH": SANDBOX_PATH,
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "TMPDIR": home,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def outer_limits(limits: Limits):
    """A ``preexec_fn`` for the sandbox's outermost process: address space and file size for the whole tree,
    no core files. Per-call limits (CPU, processes) are set inside, where they count only the call."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        size = limits.file_size_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply
