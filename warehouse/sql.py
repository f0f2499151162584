"""Read-only SQL over the warehouse through DuckDB: ``connect`` once, then ``query``.

The views are built first (``warehouse.sql_views``), then the connection is confined to the
warehouse root and locked (``warehouse.sql_guard``); every query is one checked read-only statement.
An object-store warehouse is read through its fsspec filesystem, registered on the connection (no
DuckDB extension is installed or loaded); the confinement is the same, with the root as a URL.
Parameters are bound as the Python values given: ``parse_param`` turns ``NAME=VALUE`` into a string
and ``NAME:int=3`` (``int``, ``float``, ``bool``, ``str``) into a typed value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from warehouse import sql_guard
from warehouse.errors import QueryError
from warehouse.health import DatasetHealth
from warehouse.sql_views import build_views
from warehouse.versions import Warehouse

PARAM_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(:(?P<type>[a-z]+))?=(?P<value>.*)", re.DOTALL)
MISSING_TABLE = re.compile(r"Table with name (.+?) does not exist")
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass
class Session:
    """A confined DuckDB connection with the warehouse's views."""
    con: duckdb.DuckDBPyConnection
    damaged: list[DatasetHealth] = field(default_factory=list)
    not_served: dict[str, str] = field(default_factory=dict)  # view -> why it is not there

    @property
    def warnings(self) -> list[str]:
        """One line per damaged dataset, for stderr."""
        return [health.warning() for health in self.damaged]


def connect(warehouse: Warehouse | str | None = None) -> Session:
    """Views over every dataset that opens cleanly, then the connection confined to the warehouse."""
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    con = duckdb.connect(":memory:")
    wh.storage.register(con)
    damaged, not_served = build_views(con, wh)
    sql_guard.confine(con, wh.storage.url)
    return Session(con, damaged, not_served)


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
        return session.con.sql(statement.query, params=params or None).to_arrow_table()
    except duckdb.CatalogException as exc:
        missing_table = MISSING_TABLE.search(str(exc))
        name = missing_table.group(1).strip('"').lower() if missing_table else None
        if name in session.not_served:
            raise QueryError(session.not_served[name]) from None
        raise QueryError(sql_guard.first_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(sql_guard.first_line(exc)) from None
