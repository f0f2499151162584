"""Read-only SQL over the warehouse through DuckDB.

Views (built from folder listings and one manifest per dataset, so opening stays fast):
  ``<name>``           the latest version's main table
  ``<name>_all``       every version's main table, with a ``version`` column
  ``<name>_<table>``   the latest version's side tables (e.g. ``problems_rejects``)
  ``manifests``        one row per version with its lineage fields
"""
from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from warehouse.errors import QueryError, WarehouseError
from warehouse.versions import Warehouse

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

MANIFEST_COLUMNS = """
    j->>'dataset' AS dataset,
    CAST(j->>'version' AS INTEGER) AS version,
    j->>'table' AS table_kind,
    CAST(j->>'schema_version' AS INTEGER) AS schema_version,
    CAST(j->>'created_at' AS TIMESTAMPTZ) AS created_at,
    j->>'starmill_version' AS starmill_version,
    j->>'git_commit' AS git_commit,
    j->>'command' AS command,
    CAST(j->>'partial' AS BOOLEAN) AS partial,
    j->'tables' AS tables,
    j->'counts' AS counts,
    j->'drops' AS drops,
    j->'parents' AS parents,
    j->'sources' AS sources,
    j->'models' AS models,
    j->'sampling' AS sampling,
    j->'config' AS config,
    j AS manifest
"""


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _files(paths: list[str]) -> str:
    return "[" + ", ".join(_lit(p) for p in paths) + "]"


def connect(warehouse: Warehouse | str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the warehouse's views; run queries with ``query``."""
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    con = duckdb.connect(":memory:")
    manifest_paths = []
    for name in wh.datasets():
        versions = wh.versions(name)
        ref = wh.resolve(f"{name}@v{versions[-1]}")
        manifest_paths += [wh.storage.path(name, f"v{v}", "manifest.json") for v in versions]
        try:
            manifest = wh.manifest(ref)
        except WarehouseError as exc:  # a newer schema: querying the view says so
            con.execute(f"CREATE VIEW {_ident(name)} AS SELECT error({_lit(str(exc))})")
            continue
        for table in manifest.tables:
            view = name if table == manifest.table else f"{name}_{table}"
            con.execute(f"CREATE VIEW {_ident(view)} AS SELECT * FROM read_parquet({_files(wh.files(ref, table))})")
        pattern = wh.storage.path(name, "v*", manifest.table, "*.parquet")
        con.execute(
            f"CREATE VIEW {_ident(name + '_all')} AS SELECT * EXCLUDE (filename), "
            f"CAST(regexp_extract(filename, '/v([0-9]+)/[^/]+/[^/]+$', 1) AS INTEGER) AS version "
            f"FROM read_parquet({_lit(pattern)}, filename = true, union_by_name = true)"
        )
    source = (
        f"(SELECT CAST(content AS JSON) AS j FROM read_text({_files(manifest_paths)}))"
        if manifest_paths else "(SELECT CAST(NULL AS JSON) AS j WHERE false)"
    )
    con.execute(f"CREATE VIEW manifests AS SELECT {MANIFEST_COLUMNS} FROM {source}")
    return con


def _coerce(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> pa.Table:
    """Run read-only SQL (one or more SELECT/EXPLAIN statements); return the last result."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    if not statements:
        raise QueryError("no SQL statement given")
    for statement in statements:
        if statement.type not in ALLOWED:
            kind = str(statement.type).split(".")[-1]
            raise QueryError(f"only SELECT queries are allowed here (got {kind}): the warehouse is read-only")
    params = {k: _coerce(v) for k, v in (params or {}).items()}
    result = None
    try:
        for statement in statements:
            wanted = {k: v for k, v in params.items() if k in statement.named_parameters}
            missing = set(statement.named_parameters) - set(params)
            if missing:
                raise QueryError(f"missing query parameter(s): {', '.join(sorted(missing))}")
            result = con.sql(statement.query, params=wanted or None).to_arrow_table()
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    return result


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
