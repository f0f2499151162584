"""Streaming, atomic commits of new versions.

Rows go to Parquet files in a private staging folder, row group by row group (bounded memory).
At commit the manifest is written last and the folder is renamed to ``vN`` in one atomic step; when
another writer took ``vN`` first, the rename fails and we take the next number. A killed writer
leaves only a staging folder, which readers never look at and later writers clean up.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections import Counter
from typing import Any, Iterable

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from schemas import TABLES
from schemas.base import Record
from warehouse import lineage
from warehouse.errors import DamagedVersion, WarehouseError
from warehouse.manifest import FileEntry, Manifest, SourceEntry

STAGING = "_staging"
STALE_SECONDS = 24 * 3600  # staging folders of writers on other hosts are cleaned after this


class _TableFiles:
    """Parquet part files of one table, rolled over every ``rows_per_file`` rows."""

    def __init__(self, writer: "VersionWriter", table: str, schema: pa.Schema):
        self.writer, self.table, self.schema = writer, table, schema
        self.pending: list[Record] = []
        self.parquet: pq.ParquetWriter | None = None
        self.part, self.part_rows, self.rows = 0, 0, 0
        self.entries: list[FileEntry] = []

    def _open(self) -> None:
        rel = f"{self.table}/part-{self.part:05d}.parquet"
        self.writer.storage.makedirs(f"{self.writer.staging}/{self.table}")
        self.rel = rel
        self.parquet = pq.ParquetWriter(
            f"{self.writer.staging}/{rel}", self.schema, filesystem=self.writer.storage.fs,
            compression=self.writer.compression,
        )

    def _close(self) -> None:
        if self.parquet is None:
            return
        self.parquet.close()
        path = f"{self.writer.staging}/{self.rel}"
        size = self.writer.storage.fs.get_file_info(path).size
        if self.writer.storage.is_local:
            with open(path, "rb+") as handle:
                os.fsync(handle.fileno())
        self.entries.append(FileEntry(path=self.rel, table=self.table, rows=self.part_rows, bytes=size,
                                      sha256=self.writer.storage.sha256(path)))  # verified by `starmill verify`
        self.parquet, self.part, self.part_rows = None, self.part + 1, 0

    def write_arrow(self, data: pa.Table | pa.RecordBatch) -> None:
        if data.num_rows == 0:
            return
        if not data.schema.equals(self.schema, check_metadata=False):
            data = data.select(self.schema.names).cast(self.schema)
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data], schema=self.schema)
        offset = 0
        while offset < data.num_rows:
            if self.parquet is None:
                self._open()
            room = self.writer.rows_per_file - self.part_rows
            chunk = data.slice(offset, room)
            self.parquet.write_table(chunk, row_group_size=self.writer.row_group_rows)
            self.part_rows += chunk.num_rows
            self.rows += chunk.num_rows
            offset += chunk.num_rows
            if self.part_rows >= self.writer.rows_per_file:
                self._close()

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= self.writer.row_group_rows:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            records, self.pending = self.pending, []
            self.write_arrow(type(records[0]).to_table(records))

    def finish(self) -> list[FileEntry]:
        self.flush()
        if self.rows == 0 and not self.entries:  # an empty table still gets one file with its schema
            self._open()
        self._close()
        return self.entries


class VersionWriter:
    """Write one new version of ``name``; use as a context manager (exception: abort, else commit)."""

    def __init__(
        self,
        warehouse,
        name: str,
        table: str,
        *,
        config: dict[str, Any] | None = None,
        sources: list[SourceEntry | dict] | None = None,
        parents: list[str] | None = None,
        models: list[dict[str, Any]] | None = None,
        sampling: dict[str, Any] | None = None,
        partial: bool = False,
        extra: dict[str, Any] | None = None,
        rows_per_file: int = 1_000_000,
        row_group_rows: int = 16_384,
        compression: str = "zstd",
    ):
        if table not in TABLES:
            raise WarehouseError(f"unknown table kind {table!r} (known: {sorted(TABLES)})")
        self.warehouse, self.storage, self.name, self.table = warehouse, warehouse.storage, name, table
        self.rows_per_file, self.row_group_rows, self.compression = rows_per_file, row_group_rows, compression
        self.lineage = dict(
            config=config or {}, sources=[SourceEntry.model_validate(s) for s in sources or []],
            parents=parents or [], models=models or [], sampling=sampling or {}, partial=partial,
        )
        self.extra = extra or {}
        self.counts: Counter[str] = Counter()
        self.drops: Counter[str] = Counter()
        self.tables: dict[str, _TableFiles] = {}
        self.version: int | None = None
        self._check_kind()
        self._clean_stale()
        self.staging = self.storage.path(
            STAGING, f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}-{name}"
        )
        self.storage.makedirs(self.staging)

    def _check_kind(self) -> None:
        """The newest readable manifest says what kind of rows this dataset holds (damaged ones are skipped)."""
        for version in reversed(self.warehouse.versions(self.name)):
            try:
                existing = self.warehouse.read_manifest(self.warehouse.resolve(f"{self.name}@v{version}"))
            except DamagedVersion:
                continue
            if existing.table != self.table:
                raise WarehouseError(
                    f"dataset {self.name!r} holds '{existing.table}' rows, not '{self.table}': "
                    "choose another name"
                )
            return

    def _clean_stale(self) -> None:
        """Remove staging folders left by writers that died (same host: dead pid; else: old)."""
        host = socket.gethostname()
        for info in self.storage.listdir(self.storage.path(STAGING)):
            parts = info.base_name.split("-")
            try:
                pid_alive = parts[0] == host and psutil.pid_exists(int(parts[1]))
            except (IndexError, ValueError):
                pid_alive = False
            old = info.mtime is not None and time.time() - info.mtime.timestamp() > STALE_SECONDS
            if (parts[0] == host and not pid_alive) or (parts[0] != host and old):
                self.storage.remove_tree(info.path)

    # writing -------------------------------------------------------------------------------
    def _files(self, table: str) -> _TableFiles:
        if table not in self.tables:
            if table not in TABLES:
                raise WarehouseError(f"unknown table kind {table!r}")
            self.tables[table] = _TableFiles(self, table, TABLES[table].arrow_schema())
        return self.tables[table]

    def write(self, rows: Iterable[Record] | pa.Table | pa.RecordBatch, table: str | None = None) -> None:
        files = self._files(table or self.table)
        if isinstance(rows, (pa.Table, pa.RecordBatch)):
            files.flush()
            files.write_arrow(rows)
            return
        for record in rows:
            files.add(record)

    def count(self, stage: str, n: int = 1) -> None:
        self.counts[stage] += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.drops[reason] += n

    # committing ----------------------------------------------------------------------------
    def commit(self) -> Manifest:
        self._files(self.table)
        entries: list[FileEntry] = []
        rows: dict[str, int] = {}
        for name, files in self.tables.items():
            entries += files.finish()
            rows[name] = files.rows
        manifest = Manifest(
            dataset=self.name, version=0, table=self.table,
            schema_version=TABLES[self.table].SCHEMA_VERSION, tables=rows,
            starmill_version=lineage.starmill_version(), git_commit=lineage.git_commit(),
            command=lineage.command_line(), counts=dict(self.counts), drops=dict(self.drops),
            files=entries, **lineage.redact(self.lineage), **lineage.redact(self.extra),
        )
        self.storage.makedirs(self.storage.path(self.name))
        candidate = max(self.warehouse.versions(self.name) or [0]) + 1
        while True:
            manifest.version = candidate
            self.storage.write_text(f"{self.staging}/manifest.json", manifest.to_json())  # last
            if self.storage.rename_new(self.staging, self.storage.path(self.name, f"v{candidate}")):
                break
            candidate += 1  # another writer took this number first
        self.storage.fsync_dir(self.storage.path(self.name))
        self.version = candidate
        return manifest

    def abort(self) -> None:
        for files in self.tables.values():
            if files.parquet is not None:
                files.parquet.close()
        self.storage.remove_tree(self.staging)

    def __enter__(self) -> "VersionWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:  # a failed commit (full disk, Ctrl-C) leaves no staging folder behind
            self.abort()
            raise
