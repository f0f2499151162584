"""Run a named Python function on hostile input in the checker's sandbox: a worker process with a
memory cap, the audit hook that refuses processes, sockets and file writes (code from strings is
allowed here: third-party scorers eval answers and build dataclasses), and a hard time limit enforced from outside (a late worker is killed and replaced).

Arguments and results travel as JSON, never pickles. The modules a function needs are imported in
the worker *before* the audit hook is installed (their imports may write caches); calls import nothing.
"""
from __future__ import annotations

import importlib
import json
import sys
import threading
from typing import Any

from filters.answers.pool import CheckerPool
from filters.answers.worker import install_guard, serve, start_worker

DEFAULT_MEMORY_MB = 2048


def _resolve(path: str):
    module, _, name = path.replace(":", ".").rpartition(".")
    if not module or module not in sys.modules:
        raise LookupError(f"{path}: module not preloaded")
    return getattr(sys.modules[module], name)


def function_worker_main(conn, memory_mb: int, pdeathsig: bool, modules: tuple[str, ...]) -> None:
    start_worker(memory_mb, pdeathsig)
    for name in modules:
        importlib.import_module(name)
    blocked: list[str] = []
    install_guard(blocked, allow_code=True)  # scorers eval answers and build dataclasses; side effects stay refused

    def handle(message) -> tuple[dict, bool]:
        try:
            path, kwargs = message
            value = _resolve(path)(**kwargs)
            json.dumps(value)  # the reply must be plain JSON
            return {"verdict": "ok", "rule": "called", "value": value}, False
        except MemoryError:
            return {"verdict": "timeout", "rule": "memory_limit", "value": None}, True
        except RecursionError:
            return {"verdict": "error", "rule": "too_deep", "value": None}, False
        except Exception as exc:  # the function's bug or refusal: a verdict, not a crash
            return {"verdict": "error", "rule": f"exception:{type(exc).__name__}", "value": None}, False

    serve(conn, blocked, handle)


class FunctionPool:
    """``call(path, timeout, **kwargs)`` in a sandboxed worker; safe from any thread."""

    def __init__(self, modules: list[str], workers: int = 1, memory_mb: int = DEFAULT_MEMORY_MB):
        self.modules = tuple(dict.fromkeys(modules))
        self.pool = CheckerPool(workers, memory_mb=memory_mb, target=function_worker_main,
                                target_args=(self.modules,))

    def call(self, path: str, timeout: float, **kwargs: Any) -> dict:
        """``{"verdict": "ok"|"timeout"|"error", "rule": …, "value": …}``."""
        return self.pool.exchange([path, kwargs], timeout)

    def close(self) -> None:
        self.pool.close()


_POOLS: dict[tuple, FunctionPool] = {}
_LOCK = threading.Lock()


def function_pool(modules: list[str], workers: int = 1) -> FunctionPool:
    """One shared pool per set of preloaded modules in this process."""
    key = (tuple(dict.fromkeys(modules)), workers)
    with _LOCK:
        if key not in _POOLS:
            _POOLS[key] = FunctionPool(list(key[0]), workers)
        return _POOLS[key]
