"""Calling a Python function by import path inside the sandbox: a zygote process per sandbox imports
the modules once, then forks a fresh child per call (``zygote.py``). Arguments and replies are JSON,
never pickles. One call at a time per sandbox; ``workers`` sandboxes serve calls from many threads."""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from typing import Any

from starmill.filters.isolation.base import (
    Limits,
    Outcome,
    bwrap_argv,
    clean_env,
    outer_limits,
    readable_roots,
    require,
)

log = logging.getLogger(__name__)
ZYGOTE = os.path.join(os.path.dirname(os.path.realpath(__file__)), "zygote.py")  # real path: it is mounted
START_TIMEOUT = 120.0  # seconds for a sandbox to import its modules (cold imports on a busy box)
SLACK = 5.0  # seconds the host waits past a call's own wall limit before it kills the whole sandbox


def module_roots(modules: list[str]) -> tuple[list[str], list[str]]:
    """(folders to mount, entries for sys.path) for the packages of ``modules``: the top-level package's
    folder, found without importing it (``find_spec`` on a top-level name runs no code of the package),
    and the folder of every package on the way down that lives elsewhere (``starmill.filters`` is the
    repository's ``filters/`` folder in an editable install; finding a subpackage imports its parents,
    so that part runs only our own packages' ``__init__``)."""
    mounts, paths = [], []
    for name in modules:
        parts = name.split(".")
        top = parts[0]
        spec = importlib.util.find_spec(top)
        if spec is None:
            raise ModuleNotFoundError(f"no module named {top!r}")
        if spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                mounts.append(os.path.realpath(location))
                paths.append(os.path.dirname(os.path.realpath(location)))
            if top == "starmill":
                for depth in range(2, len(parts)):
                    sub = importlib.util.find_spec(".".join(parts[:depth]))
                    if sub is None or not sub.submodule_search_locations:
                        break
                    mounts.extend(os.path.realpath(location) for location in sub.submodule_search_locations)
                if len(parts) > 1:  # every room may import the bottom layer (a registry, the records)
                    below = importlib.util.find_spec("starmill.schemas")
                    mounts.extend(os.path.realpath(location) for location in below.submodule_search_locations or [])
        elif spec.origin and os.path.isfile(spec.origin):
            mounts.append(os.path.realpath(spec.origin))
            paths.append(os.path.dirname(os.path.realpath(spec.origin)))
    return sorted(set(mounts)), list(dict.fromkeys(paths))


class _Zygote:
    def __init__(self, modules: list[str], isolation: str, memory_mb: int):
        mounts, paths = module_roots(modules)
        mounts.append(os.path.dirname(ZYGOTE))
        self.scratch = None
        limits = Limits(memory_mb=memory_mb, file_size_mb=64, scratch_mb=256)
        argv = [sys.executable, "-I", "-B", ZYGOTE]
        roots = readable_roots(mounts)
        if isolation == "bwrap":
            argv = bwrap_argv(argv, roots=roots, limits=limits, env=clean_env())
            scratch, own_namespace = "/tmp", True
        else:
            self.scratch = scratch = tempfile.mkdtemp(prefix="starmill-unisolated-")
            own_namespace = False
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=clean_env(scratch if isolation == "none" else "/tmp"),
            cwd="/",
            start_new_session=True,
            preexec_fn=outer_limits(limits),
            close_fds=True,
        )
        self._send(
            {
                "modules": modules,
                "path": paths,
                "scratch": scratch,
                "own_namespace": own_namespace,
                "keep": roots if isolation == "bwrap" else [],
            }
        )
        reply = self._receive(START_TIMEOUT)
        if reply is None or reply.get("status") != "ready":
            self.kill()
            detail = (reply or {}).get("rule") or "it exited or did not answer"
            raise RuntimeError(f"the sandbox could not load {', '.join(modules)}: {detail}")

    def _send(self, obj) -> None:
        data = json.dumps(obj).encode()
        self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        self.proc.stdin.flush()

    def _receive(self, timeout: float) -> dict | None:
        box: list = []

        def read() -> None:
            try:
                head = self.proc.stdout.read(4)
                if len(head) == 4:
                    body = self.proc.stdout.read(struct.unpack(">I", head)[0])
                    box.append(json.loads(body))
            except (OSError, ValueError):
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            return None
        return box[0] if box else None

    def call(self, path: str, limits: Limits, kwargs: dict) -> dict | None:
        self._send(
            {
                "call": path,
                "kwargs": kwargs,
                "limits": limits.rlimits(),
                "wall_seconds": limits.wall_seconds,
                "reply_bytes": limits.output_bytes,
            }
        )
        return self._receive(limits.wall_seconds + SLACK)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


class FunctionSandbox:
    """``call(path, limits, **kwargs) -> Outcome`` in a sandbox that preloaded ``modules``; thread-safe."""

    def __init__(self, modules: list[str], *, workers: int = 1, isolation: str = "bwrap", memory_mb: int = 4096):
        require(isolation)
        self.modules = list(dict.fromkeys(modules))
        module_roots(self.modules)  # a missing module is an error now, not on the first call
        self.isolation, self.memory_mb = isolation, memory_mb
        self.size = max(1, workers)
        self._idle: queue.LifoQueue[_Zygote] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()
        self.replaced = 0
        self._closed = False

    def _take(self) -> _Zygote:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._made < self.size
            if grow:
                self._made += 1
        if grow:
            try:
                return _Zygote(self.modules, self.isolation, self.memory_mb)
            except BaseException:
                with self._lock:
                    self._made -= 1
                raise
        return self._idle.get()

    def _drop(self, zygote: _Zygote) -> None:
        zygote.kill()
        with self._lock:
            self._made -= 1
            self.replaced += 1

    def call(self, path: str, limits: Limits | None = None, **kwargs: Any) -> Outcome:
        if self._closed:
            raise RuntimeError("the function sandbox is closed")
        limits = limits or Limits()
        zygote = self._take()
        try:
            reply = zygote.call(path, limits, kwargs)
        except (OSError, ValueError):
            reply = None
        except BaseException:
            self._drop(zygote)
            raise
        if reply is None or zygote.proc.poll() is not None:
            self._drop(zygote)  # the sandbox itself hung or died: a new one serves the next call
            if reply is None:
                return Outcome("timeout" if zygote.proc.returncode in (None, -9) else "crashed", "sandbox_lost")
        else:
            self._idle.put(zygote)
        return Outcome(
            reply.get("status", "error"), reply.get("rule", ""), reply.get("value"), seconds=reply.get("seconds", 0.0)
        )

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


_SANDBOXES: dict[tuple, FunctionSandbox] = {}
_LOCK = threading.Lock()


def function_sandbox(modules: list[str], *, workers: int = 1, isolation: str = "bwrap") -> FunctionSandbox:
    """One shared sandbox per (modules, workers, isolation) in this process."""
    key = (tuple(dict.fromkeys(modules)), workers, isolation, os.getpid())
    with _LOCK:
        if key not in _SANDBOXES or _SANDBOXES[key]._closed:
            _SANDBOXES[key] = FunctionSandbox(list(key[0]), workers=workers, isolation=isolation)
        return _SANDBOXES[key]


@atexit.register
def _close_all() -> None:
    for box in list(_SANDBOXES.values()):
        box.close()
