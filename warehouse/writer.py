"""Streaming commits of new versions, without rename (the same protocol on a disk and an object store).

Rows go to Parquet files in the writer's own data folder ``<name>/_data/<host>-<pid>-<time>-<random>/``,
row group by row group (bounded memory), each file hashed as it streams. The commit is ONE
conditional create of ``<name>/vN/manifest.json`` (S3 ``If-None-Match: *``; locally a hard link of a
fsynced file) naming that folder: when another writer took ``vN`` first, the create fails and we take
the next number. Readers list only ``<name>/vN/``; a killed writer leaves an unreferenced data folder,
which readers never look at and later writers remove (dead pid on this host, or a day old elsewhere).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from starmill.schemas import TABLES
from starmill.schemas.base import Record
from starmill.warehouse import lineage
from starmill.warehouse.errors import DamagedVersion, WarehouseError
from starmill.warehouse.integrity import DATA, DATA_ID_RE
from starmill.warehouse.manifest import FileEntry, Manifest, SourceEntry

STAGING = "_staging"  # where writers before format 2 staged a version folder (cleaned, never written)
STALE_SECONDS = 24 * 3600  # data folders of writers on other hosts are cleaned after this
ROW_GROUP_BYTES = 64 << 20  # Arrow bytes per row group at most: 16k-character rows give ~4k-row groups
SIZE_EVERY = 8  # one record in 8 is sized, and counts for 8, towards row_group_bytes
NOT_LINEAGE = ("warehouse_options",)  # config keys that say where to write, never kept in a manifest


def host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:80] or "host"


def writer_id() -> str:
    return f"{host_tag()}-{os.getpid()}-{int(time.time())}-{uuid.uuid4().hex[:12]}"


def is_dead(name: str, now: float | None = None) -> bool:
    """Whether the writer that named a data (or old staging) folder is gone: a dead pid on this
    host, or a folder older than ``STALE_SECONDS`` from another host."""
    host, _, rest = name.partition("-")
    parts = rest.split("-")
    if not parts or not parts[0].isdigit():
        return False
    if host == host_tag():
        return not psutil.pid_exists(int(parts[0]))
    if len(parts) > 1 and parts[1].isdigit():
        return (now or time.time()) - int(parts[1]) > STALE_SECONDS
    return False


class _HashingFile:
    """What the Parquet writer writes into: bytes go to the store, counted and hashed on the way."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self.handle.write(view)
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.handle.flush()

    @property
    def closed(self) -> bool:
        return self.handle.closed

    def close(self) -> None:
        self.handle.close()

    def discard(self) -> None:
        """Drop what was written and ignore what comes (a Parquet footer from a writer being dropped)."""
        self.write = lambda data: memoryview(data).nbytes  # type: ignore[method-assign]
        drop = getattr(self.handle, "discard", None)  # fsspec files: abort the upload
        try:
            drop() if drop is not None else self.handle.close()
        except Exception:  # the folder is removed next anyway
            pass


def _size(value) -> int:
    """A cheap guess at a field's bytes in Arrow: text by length, lists (and lists of lists) by item count."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, list) and value:
        inner = value[0]
        return 8 * len(value) * (len(inner) if isinstance(inner, (list, dict)) and inner else 1)
    return 8


class _TableFiles:
    """Parquet part files of one table, rolled over every ``rows_per_file`` rows. Rows wait in memory
    until a row group's worth (``row_group_rows`` rows or ``row_group_bytes``, whichever comes first)
    is there, so long rows (R1-size rationales) give bounded row groups and bounded memory, and many
    small writes still give full row groups."""

    def __init__(self, writer: VersionWriter, table: str, schema: pa.Schema):
        self.writer, self.table, self.schema = writer, table, schema
        self.pending: list[Record] = []  # records not yet turned into Arrow
        self.pending_bytes = 0
        # text and list columns are sized per record; the other columns count 8 bytes each
        self.sized = [
            f.name
            for f in schema
            if pa.types.is_string(f.type) or pa.types.is_binary(f.type) or pa.types.is_list(f.type)
        ]
        self.fixed_bytes = 8 * (len(schema) - len(self.sized))
        self.buffered: list[pa.Table] = []  # Arrow rows not yet written
        self.buffered_rows = self.buffered_bytes = 0
        self.parquet: pq.ParquetWriter | None = None
        self.part, self.part_rows, self.rows = 0, 0, 0
        self.entries: list[FileEntry] = []

    def _open(self) -> None:
        self.rel = f"{self.table}/part-{self.part:05d}.parquet"
        self.sink = _HashingFile(self.writer.storage.open_write(f"{self.writer.folder}/{self.rel}"))
        self.parquet = pq.ParquetWriter(self.sink, self.schema, compression=self.writer.compression)

    def _close(self) -> None:
        if self.parquet is None:
            return
        self.parquet.close()
        self.sink.close()  # locally fsynced; on a store the object now exists, whole
        self.entries.append(
            FileEntry(
                path=self.rel,
                table=self.table,
                rows=self.part_rows,
                bytes=self.sink.size,
                sha256=self.sink.digest.hexdigest(),
            )
        )  # verified by `starmill verify`
        self.parquet, self.part, self.part_rows = None, self.part + 1, 0

    def abort(self) -> None:
        self.pending, self.buffered = [], []
        if self.parquet is not None:
            self.sink.discard()  # a store never shows the half-written object
            self.parquet = None

    def _full(self, rows: int, size: int) -> bool:
        return rows >= self.writer.row_group_rows or size >= self.writer.row_group_bytes

    def write_arrow(self, data: pa.Table | pa.RecordBatch) -> None:
        if data.num_rows == 0:
            return
        if not data.schema.equals(self.schema, check_metadata=False):
            data = data.select(self.schema.names).cast(self.schema)
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data], schema=self.schema)
        if self.parquet is None:
            self._open()  # the file exists from the first row on, as it did before rows were buffered
        self.buffered.append(data)
        self.buffered_rows += data.num_rows
        self.buffered_bytes += data.nbytes
        if self._full(self.buffered_rows, self.buffered_bytes):
            self._drain(final=False)

    def _drain(self, final: bool) -> None:
        """Write the buffered rows as whole row groups; the rest of a group stays buffered unless ``final``."""
        if not self.buffered:
            return
        data = pa.concat_tables(self.buffered) if len(self.buffered) > 1 else self.buffered[0]
        self.buffered, self.buffered_rows, self.buffered_bytes = [], 0, 0
        per_row = data.nbytes / data.num_rows
        group = max(1, min(self.writer.row_group_rows, int(self.writer.row_group_bytes // max(per_row, 1))))
        offset = 0
        while data.num_rows - offset >= group or (final and offset < data.num_rows):
            if self.parquet is None:
                self._open()
            room = min(group, self.writer.rows_per_file - self.part_rows)
            chunk = data.slice(offset, room)
            self.parquet.write_table(chunk, row_group_size=chunk.num_rows)
            self.part_rows += chunk.num_rows
            self.rows += chunk.num_rows
            offset += chunk.num_rows
            if self.part_rows >= self.writer.rows_per_file:
                self._close()
        if offset < data.num_rows:
            rest = data.slice(offset)
            self.buffered, self.buffered_rows, self.buffered_bytes = [rest], rest.num_rows, rest.nbytes

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if (len(self.pending) - 1) % SIZE_EVERY == 0:  # sizing every record cost ~6 us a row (0.6 s per 100k)
            self.pending_bytes += SIZE_EVERY * (self.fixed_bytes + sum(_size(getattr(record, n)) for n in self.sized))
        if self._full(len(self.pending), self.pending_bytes):
            self.flush()

    def flush(self) -> None:
        """Turn the waiting records into Arrow (kept in order with Arrow written after them)."""
        if self.pending:
            records, self.pending, self.pending_bytes = self.pending, [], 0
            self.write_arrow(type(records[0]).to_table(records))

    def finish(self) -> list[FileEntry]:
        self.flush()
        self._drain(final=True)
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
        row_group_bytes: int = ROW_GROUP_BYTES,
        compression: str = "zstd",
    ):
        if table not in TABLES:
            raise WarehouseError(f"unknown table kind {table!r} (known: {sorted(TABLES)})")
        self.warehouse, self.storage, self.name, self.table = warehouse, warehouse.storage, name, table
        self.rows_per_file, self.row_group_rows, self.compression = rows_per_file, row_group_rows, compression
        self.row_group_bytes = row_group_bytes
        self.lineage = dict(
            config=config or {},
            sources=[SourceEntry.model_validate(s) for s in sources or []],
            parents=parents or [],
            models=models or [],
            sampling=sampling or {},
            partial=partial,
        )
        self.extra = extra or {}
        self.counts: Counter[str] = Counter()
        self.drops: Counter[str] = Counter()
        self.tables: dict[str, _TableFiles] = {}
        self.version: int | None = None
        self._attempt: tuple[str, bytes] | None = None  # the manifest being created, while it is
        self.storage.check_writable()
        self._check_kind()
        self._clean_stale()
        self.id = writer_id()
        self.data = f"{name}/{DATA}/{self.id}"  # relative to the root, as the manifest names it
        self.folder = self.storage.path(self.data)
        self.storage.makedirs(self.folder)

    def _check_kind(self) -> None:
        """The newest readable manifest says what kind of rows this dataset holds (damaged ones are skipped)."""
        for version in reversed(self.warehouse.versions(self.name)):
            try:
                existing = self.warehouse.read_manifest(self.warehouse.ref(self.name, version))
            except DamagedVersion:
                continue
            if existing.table != self.table:
                raise WarehouseError(
                    f"dataset {self.name!r} holds '{existing.table}' rows, not '{self.table}': choose another name"
                )
            return

    def _clean_stale(self) -> None:
        """Remove the data folders of dead writers that no version names (and old staging folders)."""
        self._clean_legacy_staging()
        dead = [
            info
            for info in self.storage.listdir(self.storage.path(self.name, DATA))
            if DATA_ID_RE.fullmatch(info.base_name) and is_dead(info.base_name)
        ]
        if not dead:
            return
        named = self._named_data_folders()
        if named is None:
            return  # a manifest we can't read may name one of them: keep them all
        for info in dead:
            if f"{self.name}/{DATA}/{info.base_name}" not in named:
                self.storage.remove_tree(info.path)

    def _named_data_folders(self) -> set[str] | None:
        named = set()
        for version in self.warehouse.versions(self.name):
            try:
                data = self.storage.read_json(self.storage.path(self.name, f"v{version}", "manifest.json"))
            except (OSError, ValueError):
                return None
            if not isinstance(data, dict):
                return None
            if data.get("data"):
                named.add(str(data["data"]))
        return named

    def _clean_legacy_staging(self) -> None:
        """Staging folders of writers before format 2 that died (same host: dead pid; else: a day old)."""
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
        for entry in entries:  # every file is there, whole, before a manifest names it
            if self.storage.size(f"{self.folder}/{entry.path}") != entry.bytes:
                raise WarehouseError(
                    f"{self.folder}/{entry.path} is not there as written: "
                    "was the data folder removed by another writer?"
                )
        lineage_ = {**self.lineage, "config": {k: v for k, v in self.lineage["config"].items() if k not in NOT_LINEAGE}}
        manifest = Manifest(
            dataset=self.name,
            version=0,
            table=self.table,
            schema_version=TABLES[self.table].SCHEMA_VERSION,
            tables=rows,
            starmill_version=lineage.starmill_version(),
            git_commit=lineage.git_commit(),
            command=lineage.command_line(),
            counts=dict(self.counts),
            drops=dict(self.drops),
            data=self.data,
            files=entries,
            **lineage.redact(lineage_),
            **lineage.redact(self.extra),
        )
        candidate = max(self.warehouse.versions(self.name) or [0]) + 1
        while True:
            manifest.version = candidate
            self._attempt = (
                self.storage.path(self.name, f"v{candidate}", "manifest.json"),
                manifest.to_json().encode("utf-8"),
            )
            if self.storage.create_new(*self._attempt, scratch=self.folder):  # the one step that commits
                break
            candidate += 1  # another writer took this number first
        self._attempt = None
        self.version = candidate
        return manifest

    def _landed(self) -> bool:
        """After a failed create: whether our manifest is there all the same (then the files stay)."""
        path, body = self._attempt
        try:
            return self.storage.read_bytes(path) == body
        except FileNotFoundError:
            return False
        except Exception:  # can't tell: keep the files; a later writer removes them if no version names them
            return True

    def abort(self) -> None:
        for files in self.tables.values():
            files.abort()
        if self.version is not None or (self._attempt is not None and self._landed()):
            return
        self.storage.remove_tree(self.folder)

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:  # a failed commit (full disk, Ctrl-C) leaves no data folder behind
            self.abort()
            raise
