"""Read-only SQL over the warehouse through DuckDB: ``connect`` once, then ``query``.

The views are built first (``warehouse.sql_views``), then the connection is confined to the
warehouse root and locked (``warehouse.sql_guard``); every query is one checked read-only statement.
An object-store warehouse is read through its fsspec filesystem, registered on the connection (no
DuckDB extension is installed or loaded); the confinement is the same, with the root as a URL.
Parameters are bound as the Python values given: ``parse_param`` turns ``NAME=VALUE`` into a string
and ``NAME:int=3`` (``int``, ``float``, ``bool``, ``str``) into a typed value.
A statement runs in a worker thread, so that the time limit and Ctrl-C can interrupt DuckDB: the main
thread waits, and Python signal handlers run only there, between bytecodes, never inside a C call.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from starmill.warehouse import sql_guard
from starmill.warehouse.errors import QueryError
from starmill.warehouse.health import DatasetHealth
from starmill.warehouse.sql_views import build_views
from starmill.warehouse.versions import Warehouse

PARAM_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(:(?P<type>[a-z]+))?=(?P<value>.*)", re.DOTALL)
MISSING_TABLE = re.compile(r"Table with name (.+?) does not exist")
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
TIMEOUT = 60.0  # seconds one statement may run (0: no limit)
POLL_SECONDS = 0.1  # how often the waiting main thread looks at the clock
STOP_SECONDS = 5.0  # after an interrupt: how long to wait for DuckDB to give the worker thread back


@dataclass
class Session:
    """A confined DuckDB connection with the warehouse's views."""

    con: duckdb.DuckDBPyConnection
    damaged: list[DatasetHealth] = field(default_factory=list)
    not_served: dict[str, str] = field(default_factory=dict)  # view -> why it is not there
    timeout: float = TIMEOUT  # seconds one statement may run (0: no limit)

    @property
    def warnings(self) -> list[str]:
        """One line per damaged dataset, for stderr."""
        return [health.warning() for health in self.damaged]


def connect(
    warehouse: Warehouse | str | None = None, *, timeout: float = TIMEOUT, memory_limit: str = sql_guard.MEMORY_LIMIT
) -> Session:
    """Views over every dataset that opens cleanly, then the connection confined to the warehouse, with
    ``memory_limit`` (a DuckDB size: ``4GB``, ``25%`` of the machine); each statement may run ``timeout`` s."""
    if not (isinstance(timeout, (int, float)) and 0 <= timeout < math.inf):
        raise QueryError(f"bad time limit {timeout!r}: give the seconds a query may run (0: no limit)")
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    con = duckdb.connect(":memory:")
    wh.storage.register(con)
    damaged, not_served = build_views(con, wh)
    sql_guard.confine(con, wh.storage.url, memory_limit)
    return Session(con, damaged, not_served, float(timeout))


def _bool(value: str) -> bool:
    if value.lower() not in TRUE | FALSE:
        raise ValueError(value)
    return value.lower() in TRUE


CASTS = {"str": str, "int": int, "float": float, "bool": _bool}


def parse_param(item: str) -> tuple[str, Any]:
    """``NAME=VALUE`` (a string, as given) or ``NAME:TYPE=VALUE`` with TYPE int, float, bool or str."""
    match = PARAM_RE.fullmatch(item)
    if not match:
        raise QueryError(f"bad parameter {item!r}: use NAME=VALUE, or NAME:TYPE=VALUE with TYPE int, float, bool, str")
    name, kind, value = match.group("name"), match.group("type") or "str", match.group("value")
    if kind not in CASTS:
        raise QueryError(f"bad parameter {item!r}: type {kind!r} is not one of int, float, bool, str")
    try:
        return name, CASTS[kind](value)
    except ValueError:
        raise QueryError(f"bad parameter {item!r}: {value!r} is not of type {kind}") from None


def query(session: Session, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run one read-only statement (SELECT, or a plain EXPLAIN of one); its result."""
    statement = sql_guard.check(session.con, sql)
    params = params or {}
    missing = set(statement.named_parameters) - set(params)
    if missing:
        raise QueryError(f"missing query parameter(s): {', '.join(sorted(missing))}")
    unused = set(params) - set(statement.named_parameters)
    if unused:
        raise QueryError(f"parameter(s) not used by the query: {', '.join(sorted(unused))}")
    try:
        return _run(session, statement.query, params or None)
    except duckdb.CatalogException as exc:
        missing_table = MISSING_TABLE.search(str(exc))
        name = missing_table.group(1).strip('"').lower() if missing_table else None
        if name in session.not_served:
            raise QueryError(session.not_served[name]) from None
        raise QueryError(sql_guard.first_line(exc)) from None
    except duckdb.OutOfMemoryException as exc:
        raise QueryError(f"{sql_guard.first_line(exc)} (the limit is --memory-limit)") from None
    except duckdb.Error as exc:
        raise QueryError(sql_guard.first_line(exc)) from None


def _run(session: Session, sql: str, params: dict[str, Any] | None) -> pa.Table:
    """The statement's result, run in a worker thread while this one waits: past ``session.timeout`` or
    on Ctrl-C (``KeyboardInterrupt``, raised here) the connection is interrupted."""
    outcome: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: on 3.11 a Ctrl-C inside join marks a running thread stopped

    def work() -> None:
        try:
            outcome["table"] = session.con.sql(sql, params=params).to_arrow_table()
        except BaseException as exc:  # handed to the waiting thread as is
            outcome["error"] = exc
        finally:
            done.set()

    deadline = time.monotonic() + session.timeout if session.timeout else math.inf
    try:
        threading.Thread(target=work, name="starmill-sql", daemon=True).start()
        while not done.wait(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0))):
            if time.monotonic() >= deadline:
                _stop(session, done)
                if "table" in outcome:  # it finished at the last moment
                    break
                raise QueryError(
                    f"the query ran longer than {session.timeout:g} s and was stopped (the limit is --timeout)"
                )
    except KeyboardInterrupt:
        _stop(session, done)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["table"]


def _stop(session: Session, done: threading.Event) -> None:
    """Interrupt the running statement and give DuckDB a moment to hand the worker thread back."""
    session.con.interrupt()
    done.wait(STOP_SECONDS)
