"""What user SQL may do: the connection is confined first, then each statement is checked.

The connection itself is the fence (DuckDB's own settings, locked before any user SQL runs): files
can be read only under the warehouse root, a folder or a store URL read through the registered fsspec
filesystem (DuckDB follows symlinks and ``..`` before it checks), no
extension is installed, loaded or autoloaded, no Python object is scanned, nothing spills to a temp
folder, memory is capped (``memory_limit``, a share of the machine rather than DuckDB's 80%), and no
setting can be changed back. Reading the warehouse's own files directly
(``read_parquet('<root>/…')``) is allowed: they are what the views read. Writing is not, anywhere:
``COPY … TO`` is a write *inside* the allowed folder, and ``EXPLAIN ANALYZE`` runs the statement it
explains, so only one plain SELECT (or a plain ``EXPLAIN`` of one) is accepted, and table functions
that bypass the catalog (raw Arrow pointers, ``query()``, logging, checkpoints) are refused.
"""

from __future__ import annotations

import json
import re

import duckdb

from starmill.warehouse.errors import QueryError

MEMORY_LIMIT = "25%"  # of the machine's memory, for one query's working set (DuckDB's own default is 80%)
SIZE_RE = re.compile(r"[0-9]+(\.[0-9]+)?\s*(%|B|[KMGT]i?B)", re.IGNORECASE)  # what DuckDB's memory_limit reads


def confinement(root: str, memory_limit: str = MEMORY_LIMIT) -> list[tuple[str, str, object]]:
    """(setting, SQL value, value read back), in the order that works: the allowed folder before
    external access goes off, the lock last. ``root`` is a local folder or a store URL
    (``s3://bucket/prefix``): DuckDB checks a registered filesystem's paths against it the same way."""
    folder = root.rstrip("/") + "/"
    return [
        ("temp_directory", "''", ""),  # no spill folder: it would be one more allowed directory
        ("memory_limit", _lit(memory_limit.strip()), _memory_read_back(memory_limit)),
        ("allowed_directories", "[" + _lit(folder) + "]", [folder]),
        ("enable_external_access", "false", False),
        ("autoinstall_known_extensions", "false", False),
        ("autoload_known_extensions", "false", False),
        ("python_enable_replacements", "false", False),
        ("lock_configuration", "true", True),
    ]


TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "json_each",
        "json_tree",
        "summary",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_csv",
        "read_csv_auto",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_json_objects",
        "read_text",
        "read_blob",
        "glob",
        "sniff_csv",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
        "duckdb_schemas",
        "duckdb_settings",
        "pragma_table_info",
        "pragma_show",
        "pragma_version",
        "icu_calendar_names",
        "pg_timezone_names",
    }
)  # what a read of the views may call; everything else (arrow_scan, query, enable_logging, …) is refused


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _memory_read_back(limit: str) -> str:
    """How DuckDB reads ``limit`` back (``'4GB'`` -> ``'3.7 GiB'``), from a scratch connection; a size it
    does not take is a ``QueryError``."""
    if not SIZE_RE.fullmatch(limit.strip()):
        raise QueryError(f"bad memory limit {limit!r}: give a size such as 4GB, 512MB or 25% (of the machine's memory)")
    scratch = duckdb.connect(":memory:")
    try:
        scratch.execute(f"SET memory_limit = {_lit(limit.strip())}")
        return scratch.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    except duckdb.Error as exc:
        raise QueryError(f"bad memory limit {limit!r}: {first_line(exc)}") from None
    finally:
        scratch.close()


def confine(con: duckdb.DuckDBPyConnection, root: str, memory_limit: str = MEMORY_LIMIT) -> None:
    """Apply the settings, then read them back: a setting that did not take is an error, not a hole."""
    settings = confinement(root, memory_limit)
    for name, value, _ in settings:
        con.execute(f"SET {name} = {value}")
    found = {name: con.execute(f"SELECT current_setting('{name}')").fetchone()[0] for name, _, _ in settings}
    wrong = {name: found[name] for name, _, value in settings if found[name] != value}
    if wrong:
        raise QueryError(f"could not confine DuckDB to the warehouse (settings: {wrong})")


def check(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The one statement in ``sql``, if it only reads; ``QueryError`` otherwise."""
    statements = _extract(con, sql)
    if not statements:
        raise QueryError("no SQL statement given")
    if len(statements) > 1:
        raise QueryError(f"give one statement at a time (got {len(statements)})")
    statement = statements[0]
    if statement.type == duckdb.StatementType.EXPLAIN:
        _check_select(con, _explained(con, statement.query))
    elif statement.type == duckdb.StatementType.SELECT:
        _check_select(con, statement.query)
    else:
        raise QueryError(f"only SELECT queries are allowed here (got {_kind(statement)}): the warehouse is read-only")
    return statement


def _extract(con, sql: str) -> list:
    try:
        return con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(first_line(exc)) from None


def _kind(statement) -> str:
    return str(statement.type).split(".")[-1]


def _explained(con, text: str) -> str:
    """The statement inside a plain ``EXPLAIN``; ``EXPLAIN ANALYZE`` (it executes) is refused."""
    bounds = [pos for pos, _ in duckdb.tokenize(text)] + [len(text)]
    words = [
        (text[a:b].strip().upper(), a)
        for (a, kind), b in zip(duckdb.tokenize(text), bounds[1:])
        if kind != duckdb.token_type.comment
    ]
    if len(words) < 2 or words[0][0] != "EXPLAIN":
        raise QueryError("only a plain EXPLAIN of a SELECT is allowed here")
    if words[1][0] == "(":
        raise QueryError("EXPLAIN with options is not allowed here: use a plain EXPLAIN SELECT …")
    if words[1][0] in ("ANALYZE", "ANALYSE"):
        raise QueryError("EXPLAIN ANALYZE runs the statement it explains: only a plain EXPLAIN of a SELECT is allowed")
    inner = text[words[1][1] :]
    statements = _extract(con, inner)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kind = _kind(statements[0]) if statements else "nothing"
        raise QueryError(f"only a plain EXPLAIN of a SELECT is allowed here (got EXPLAIN {kind})")
    return inner


def _check_select(con, text: str) -> None:
    """Walk the parsed SELECT: every table function it calls must be one that only reads."""
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [text]).fetchall()[0][0])
    if tree.get("error"):
        raise QueryError(f"cannot check this query: {tree.get('error_message', 'unsupported SELECT')}")
    for name in sorted(_table_functions(tree)):
        if name not in TABLE_FUNCTIONS:
            raise QueryError(f"table function {name}() is not allowed here: query the warehouse's views")


def _table_functions(node) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "TABLE_FUNCTION" and isinstance(item.get("function"), dict):
                found.add(str(item["function"].get("function_name", "")).lower())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
