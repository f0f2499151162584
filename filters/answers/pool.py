"""Checker worker processes for the symbolic path, with a hard per-check time limit enforced from
outside: a worker that misses its deadline is killed and replaced. It holds in any thread, under
asyncio and in Prefect tasks, because nothing here relies on signals in the calling process.

Workers (``worker.py``) start from a forkserver that has already imported and warmed sympy.
Messages are JSON, so the parent never unpickles what a worker sends.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import threading
import weakref
from multiprocessing import spawn

from starmill.filters.answers.worker import worker_main

DEFAULT_MEMORY_MB = 2048  # address-space cap per worker
DEFAULT_START_TIMEOUT = 120.0  # seconds a new worker may take to get ready (cold imports on a busy box)
PRELOAD = ["starmill.filters.answers._preload"]
CLOSE_WAIT = 3.0  # seconds close() waits for workers that are still starting


class PoolError(RuntimeError):
    """The pool could not start a worker or was used after ``close()``."""


_STARTING = threading.local()


def _preparation_data(name, _original=spawn.get_preparation_data):
    """Workers need nothing from ``__main__``: without this, every worker would re-run the calling
    script (multiprocessing's spawn rule), which breaks scripts without a ``__main__`` guard and
    re-imports whatever heavy libraries the script imports."""
    data = _original(name)
    if getattr(_STARTING, "worker", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


if getattr(spawn.get_preparation_data, "__name__", "") != "_preparation_data":
    spawn.get_preparation_data = _preparation_data


class _Worker:
    def __init__(self, ctx, memory_mb: int, target=worker_main, target_args: tuple = ()):
        self.conn, child = ctx.Pipe(duplex=True)
        pdeathsig = ctx.get_start_method() == "forkserver"
        self.proc = ctx.Process(
            target=target, args=(child, memory_mb, pdeathsig, *target_args), daemon=True, name="starmill-checker"
        )
        _STARTING.worker = True
        try:
            self.proc.start()
        finally:
            _STARTING.worker = False
        child.close()

    def wait_ready(self, timeout: float) -> None:
        if not self.conn.poll(timeout) or json.loads(self.conn.recv_bytes()) != "ready":
            raise PoolError(f"a checker worker did not start within {timeout:.0f} s")

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(2)
        self.conn.close()


def _context():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # only takes effect if the forkserver is not running yet
    return ctx


class CheckerPool:
    """Up to ``workers`` worker processes, started on first need; ``run`` is safe from any thread."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_mb: int = DEFAULT_MEMORY_MB,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        target=worker_main,
        target_args: tuple = (),
    ):
        self.target, self.target_args = target, target_args  # what a worker runs (the checker loop by default)
        self.size = max(1, workers or min(os.cpu_count() or 1, 4))
        self.memory_mb, self.start_timeout = memory_mb, start_timeout
        self.blocked: list[str] = []  # every sandbox refusal seen, for audits and tests
        self.replaced = 0  # workers killed for missing a deadline or dying
        self._ctx = _context()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._starting = 0
        self._error: Exception | None = None
        self._closed = False
        self._owner = os.getpid()  # a forked child must not talk to its parent's workers
        _POOLS.add(self)

    def __enter__(self) -> CheckerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grow(self, workers: int) -> None:
        with self._cond:
            self.size = max(self.size, workers)

    def _spawn(self) -> None:
        try:
            worker = _Worker(self._ctx, self.memory_mb, self.target, self.target_args)
            worker.wait_ready(self.start_timeout)
        except Exception as exc:
            with self._cond:
                self._starting -= 1
                self._error = exc
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            if self._closed:
                worker.kill()
            else:
                self._live.add(worker)
                self._idle.append(worker)
            self._cond.notify_all()

    def _spawn_later(self) -> None:
        """Start one worker in the background (the caller holds the lock)."""
        self._starting += 1
        threading.Thread(target=self._spawn, daemon=True, name="starmill-checker-start").start()

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise PoolError("the checker pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._error is not None and not self._live and not self._starting:
                    error, self._error = self._error, None
                    raise PoolError(str(error)) from error
                if len(self._live) + self._starting < self.size:
                    self._spawn_later()
                self._cond.wait(1.0)

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._live.discard(worker)
            self.replaced += 1
            if not self._closed and len(self._live) + self._starting < self.size:
                self._spawn_later()  # the replacement warms up while the caller gets its verdict
            self._cond.notify_all()

    def run(self, gold: str, pred: str | None, timeout: float, form: str = "") -> tuple[str, str]:
        """(verdict, rule) from ``symbolic.decide_symbolic`` under the declared ``form`` (with ``pred``
        None: whether the gold can be read); ("timeout", "time_limit") when a worker takes longer than
        ``timeout`` seconds, after which that worker is killed and replaced."""
        reply = self.exchange([gold, pred, form], timeout)
        return reply["verdict"], reply["rule"]

    def exchange(self, message, timeout: float) -> dict:
        """Send one JSON ``message`` to a worker and return its JSON reply; a worker that misses the
        deadline is killed and replaced (``{"verdict": "timeout", …}``), one that dies gives ``error``."""
        worker = self._acquire()
        try:
            worker.conn.send_bytes(json.dumps(message).encode())
            if not worker.conn.poll(timeout):
                self._discard(worker)
                return {"verdict": "timeout", "rule": "time_limit", "blocked": []}
            reply = json.loads(worker.conn.recv_bytes())
        except (EOFError, OSError, ValueError):
            self._discard(worker)
            return {"verdict": "error", "rule": "worker_died", "blocked": []}
        self.blocked.extend(reply["blocked"])
        if reply["retire"]:
            self._discard(worker)
        else:
            self._release(worker)
        return reply

    def worker_pids(self) -> list[int]:
        with self._cond:
            return sorted(w.proc.pid for w in self._live)

    def start(self, workers: int | None = None) -> CheckerPool:
        """Start workers now instead of on first need, and wait until they are ready."""
        want = min(workers or self.size, self.size)
        taken = [self._acquire() for _ in range(want)]
        for worker in taken:
            self._release(worker)
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            # A worker still starting (a replacement after a timeout) gets a moment to finish: killed
            # half-started, its forkserver child prints a traceback at interpreter exit.
            self._cond.wait_for(lambda: not self._starting, timeout=CLOSE_WAIT)
            workers, self._idle = list(self._live), []
            self._live.clear()
            self._cond.notify_all()
        for worker in workers:
            try:
                worker.conn.send_bytes(b"")
            except OSError:
                pass
            worker.proc.join(0.5)
            worker.kill()


_POOLS: weakref.WeakSet[CheckerPool] = weakref.WeakSet()
_SHARED: CheckerPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool(workers: int | None = None) -> CheckerPool:
    """The process-wide pool ``check_answer`` uses by default, grown to at least ``workers``."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED._closed or _SHARED._owner != os.getpid():
            _SHARED = CheckerPool(workers)
        elif workers:
            _SHARED.grow(workers)
        return _SHARED


@atexit.register
def _close_all() -> None:
    for pool in list(_POOLS):
        if pool._owner == os.getpid():
            pool.close()
