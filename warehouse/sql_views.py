"""The DuckDB views over the warehouse, built per dataset from the versions that open cleanly.

  ``<name>``           the latest version's main table
  ``<name>_all``       every version's main table, with a ``version`` column
  ``<name>_<table>``   the latest version's side tables (e.g. ``problems_rejects``)
  ``manifests``        one row per (healthy) version with its lineage fields

A damaged version is never served: when the latest is damaged the dataset's views are left out,
when an older one is, ``<name>_all`` is; ``not_served`` says why, for the error a query gets.
"""

from __future__ import annotations

import duckdb

from starmill.schemas import TABLES
from starmill.warehouse.health import DatasetHealth, survey

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


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _files(wh, paths: list[str]) -> str:
    """A DuckDB list of the files' paths (URLs on an object store)."""
    return "[" + ", ".join(lit(wh.storage.url_of(p)) for p in paths) + "]"


def build_views(con: duckdb.DuckDBPyConnection, wh) -> tuple[list[DatasetHealth], dict[str, str]]:
    """Create every view; returns the damaged datasets and, per view not served, why."""
    damaged, not_served, manifest_paths = [], {}, []
    for name in wh.datasets():
        health = survey(wh, name)
        manifest_paths += [f"{wh.ref(name, v).path}/manifest.json" for v in sorted(health.manifests)]
        if health.damaged:
            damaged.append(health)
        if health.latest_ok:
            _latest_views(con, wh, name, health)
        else:
            why = f"dataset {name!r} is not served: {health.problem()}"
            not_served.update({name: why, **{f"{name}_{t}": why for t in TABLES}})
        if health.damaged:
            not_served[f"{name}_all"] = f"{name}_all is not served: {health.problem()}"
        else:
            _all_view(con, wh, name, health)
    source = (
        f"(SELECT CAST(content AS JSON) AS j FROM read_text({_files(wh, manifest_paths)}))"
        if manifest_paths
        else "(SELECT CAST(NULL AS JSON) AS j WHERE false)"
    )
    con.execute(f"CREATE VIEW manifests AS SELECT {MANIFEST_COLUMNS} FROM {source}")
    return damaged, not_served


def _latest_views(con, wh, name: str, health: DatasetHealth) -> None:
    ref = wh.ref(name, health.latest)
    manifest = health.manifests[health.latest]
    for table in manifest.tables:
        view = name if table == manifest.table else f"{name}_{table}"
        con.execute(f"CREATE VIEW {ident(view)} AS SELECT * FROM read_parquet({_files(wh, wh.files(ref, table))})")


def _all_view(con, wh, name: str, health: DatasetHealth) -> None:
    parts = []
    for version, manifest in sorted(health.manifests.items()):
        paths = wh.files(wh.ref(name, version), manifest.table)
        parts.append(f"SELECT *, {version} AS version FROM read_parquet({_files(wh, paths)})")
    con.execute(f"CREATE VIEW {ident(name + '_all')} AS " + " UNION ALL BY NAME ".join(parts))
