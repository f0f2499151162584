"""One loaded backend per teacher per process, shared by every task that runs in it."""

from __future__ import annotations

import inspect
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from starmill.generators.base import Backend, SettingsError
from starmill.generators.weights import check_model_path, snapshot_revision, weights_hash

DEMO_ALIAS = "starmill/demo-teacher"
DEMO_PATH = Path(__file__).resolve().parent / "demo_teacher"
STUDENT_ALIAS = "starmill/demo-student"
STUDENT_PATH = Path(__file__).resolve().parent / "demo_student"
CODE_ALIAS = "starmill/demo-code-teacher"
CODE_PATH = Path(__file__).resolve().parent / "demo_code_teacher"  # scripts/train_code_teacher.py
_BACKENDS: dict[str, Backend] = {}
LOAD_SECONDS: dict[str, float] = {}  # engine start-up (imports and weights) per teacher, this process
_GENERATE_LOCKS: dict[str, threading.Lock] = {}
_LOCK = threading.Lock()
log = logging.getLogger(__name__)
KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}  # of backend options


def _key(teacher: dict[str, Any]) -> str:
    return json.dumps(teacher, sort_keys=True, default=str)


def backend_for(teacher: dict[str, Any]) -> Backend:
    """The backend for a teacher config (``backend``, ``model``, ``revision``, ``base_url``, ``dtype``,
    ``options``), loaded on first use in this process."""
    from starmill.generators import load_backend

    key = _key(teacher)
    with _LOCK:
        if key not in _BACKENDS:
            opts = dict(teacher.get("options") or {})
            if teacher.get("backend") in ("openai", "openai-batch"):
                servers = opts.get("base_urls") or [None]  # data parallel: one server per node
                opts.setdefault("base_url", teacher.get("base_url") or servers[0])
            else:
                if teacher.get("revision"):
                    opts.setdefault("revision", teacher["revision"])
                if teacher.get("dtype") and teacher["dtype"] != "auto":
                    opts.setdefault("dtype", teacher["dtype"])
            start = time.perf_counter()
            _BACKENDS[key] = load_backend(teacher["backend"], resolve_model(teacher["model"]), **opts)
            LOAD_SECONDS[key] = time.perf_counter() - start
            # one engine per worker process (Dask, Ray, a worker per GPU): which process loaded which
            log.info(
                "teacher engine %s %s loaded in process %d in %.1fs (CUDA_VISIBLE_DEVICES=%s)",
                teacher["backend"],
                teacher["model"],
                os.getpid(),
                LOAD_SECONDS[key],
                os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
            )
        return _BACKENDS[key]


def check_teacher(teacher: dict[str, Any], where: str = "teacher") -> None:
    """The teacher's settings checked without loading anything: a known backend, options it takes (of the
    right kind: a number where its default is one), a loadable local model folder, a server for openai."""
    from starmill.generators import BACKENDS, backend_class, resolve_kind

    kind, model, opts = teacher.get("backend"), str(teacher.get("model")), dict(teacher.get("options") or {})
    if kind == "openai" and "batch" in opts:  # batch: true is the openai-batch backend
        if not isinstance(opts["batch"], bool):
            raise SettingsError(
                f"{where}: option batch of the openai backend must be true or false, got {opts['batch']!r}"
            )
        kind = resolve_kind(kind, opts)
        opts.pop("batch")
    if kind not in BACKENDS:
        raise SettingsError(f"{where}: unknown backend {kind!r} (use one of {', '.join(BACKENDS)})")
    params = inspect.signature(backend_class(kind)).parameters
    known = {n: p for n, p in params.items() if n != "model" and p.kind != p.VAR_KEYWORD}
    for name, value in opts.items():
        param = known.get(name)
        if param is None:
            if any(p.kind == p.VAR_KEYWORD for p in params.values()):
                continue  # vLLM's engine arguments: vLLM checks them as it starts
            raise SettingsError(
                f"{where}: the {kind} backend has no option {name!r} (its options: {', '.join(sorted(known))})"
            )
        default = param.default
        if isinstance(default, (bool, int, float, str)) and not _same_kind(value, default):
            raise SettingsError(
                f"{where}: option {name} of the {kind} backend must be {KINDS[type(default)]} "
                f"(default {default!r}), got {value!r}"
            )
    if kind in ("openai", "openai-batch"):
        if not (teacher.get("base_url") or opts.get("base_url") or opts.get("base_urls")):
            raise SettingsError(f"{where}: the openai backend needs base_url (the server's /v1 URL)")
        return
    if kind == "transformers":
        from starmill.generators.transformers_backend import check_dtype

        check_dtype(teacher.get("dtype") or "auto")
    try:
        check_model_path(resolve_model(model), trust_remote_code=opts.get("trust_remote_code") is True)
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _same_kind(value: Any, default: Any) -> bool:
    """``value`` can stand where ``default`` does: a bool for a bool, a number (not a bool) for a number."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and (isinstance(default, float) or isinstance(value, int))
    return isinstance(value, type(default))


def use_backend(teacher: dict[str, Any], backend: Backend) -> None:
    """Serve ``teacher`` with ``backend`` in this process (a stub in tests and benchmarks)."""
    with _LOCK:
        _BACKENDS[_key(teacher)] = backend


def backend_lock(teacher: dict[str, Any]) -> threading.Lock:
    """The lock that serializes generate calls on one teacher's engine within this process."""
    with _LOCK:
        return _GENERATE_LOCKS.setdefault(_key(teacher), threading.Lock())


def load_seconds(teacher: dict[str, Any]) -> float:
    """Seconds this process spent starting the teacher's engine (0 if it did not start it)."""
    return LOAD_SECONDS.get(_key(teacher), 0.0)


def loaded_info(teacher: dict[str, Any]):
    """The engine identity of a teacher already loaded in this process, else None."""
    with _LOCK:
        backend = _BACKENDS.get(_key(teacher))
    return backend.info() if backend is not None else None


def release(teacher: dict[str, Any] | None = None) -> None:
    """Close one teacher's backend (or all) and forget it."""
    with _LOCK:
        keys = [_key(teacher)] if teacher is not None else list(_BACKENDS)
        for key in keys:
            backend = _BACKENDS.pop(key, None)
            if backend is not None:
                backend.close()


def resolve_model(model: str) -> str:
    """The path or id to load: the demo aliases name the committed demo teachers (math, code) and student."""
    return {DEMO_ALIAS: str(DEMO_PATH), STUDENT_ALIAS: str(STUDENT_PATH), CODE_ALIAS: str(CODE_PATH)}.get(model, model)


def model_identity(teacher: dict[str, Any]) -> tuple[str, str | None]:
    """(model, revision) without loading it: the configured revision, a Hub snapshot's commit, or a
    hash of local weights."""
    model = teacher["model"]
    if teacher.get("revision"):
        return model, teacher["revision"]
    path = Path(resolve_model(model)).expanduser()
    if teacher.get("backend") not in ("openai", "openai-batch") and path.is_dir():
        return model, snapshot_revision(path) or weights_hash(path)
    return model, None
