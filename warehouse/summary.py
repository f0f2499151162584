"""Summary of a version from its manifest (with the run report of a samples or sft version) and
Parquet footers, after checking every file's sha256."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq

from starmill.schemas.report import RunReport
from starmill.warehouse.integrity import verify_checksums
from starmill.warehouse.versions import VersionRef, Warehouse


def summarize(wh: Warehouse, ref: VersionRef) -> dict[str, Any]:
    """Raises ``DamagedVersion`` when a file does not match its manifest (size, rows, schema, sha256)."""
    manifest = wh.manifest(ref)
    checked = verify_checksums(wh.storage, ref, manifest)
    schema: dict[str, list[dict[str, Any]]] = {}
    for table in manifest.tables:
        nulls: dict[str, int] = {}
        arrow_schema = None
        for path in wh.files(ref, table):
            with wh.storage.fs.open_input_file(path) as handle:
                meta = pq.ParquetFile(handle).metadata
                arrow_schema = arrow_schema or meta.schema.to_arrow_schema()
                for g in range(meta.num_row_groups):
                    group = meta.row_group(g)
                    for c in range(group.num_columns):
                        col = group.column(c)
                        stats = col.statistics
                        top = col.path_in_schema.split(".")[0]
                        if stats is not None and stats.has_null_count and top == col.path_in_schema:
                            nulls[top] = nulls.get(top, 0) + stats.null_count
        schema[table] = [
            {"name": f.name, "type": str(f.type), "nulls": nulls.get(f.name, "-")} for f in arrow_schema or []
        ]
    data = manifest.model_dump(mode="json")
    report = RunReport.from_manifest(data) if manifest.table in ("samples", "sft") else None
    return {
        "ref": str(ref),
        "rows": manifest.rows,
        "bytes": sum(f.bytes for f in manifest.files),
        "checksums": {"files": len(manifest.files), "verified": checked},
        "tables": manifest.tables,
        "manifest": {k: v for k, v in data.items() if k not in ("files", "config", "report")},
        "config": data.get("config"),
        "report": report.model_dump(mode="json") if report is not None else None,
        "schema": schema,
    }
