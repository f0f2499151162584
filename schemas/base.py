"""Shared pieces of every table: schema stamping, version checks and content hashes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, ClassVar

import pyarrow as pa

from starmill.schemas.errors import StarmillError

SCHEMA_KEY = b"starmill.table"
VERSION_KEY = b"starmill.schema_version"


class SchemaVersionError(StarmillError):
    """Data was written by a newer starmill than this one can read."""


def content_hash(*parts: Any) -> str:
    """128-bit hex digest of the canonical JSON of ``parts`` (stable across runs and machines)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def stamp(schema: pa.Schema, table: str, version: int) -> pa.Schema:
    """Return ``schema`` with the table name and schema version in its metadata."""
    return schema.with_metadata({SCHEMA_KEY: table.encode(), VERSION_KEY: str(version).encode()})


def check_readable(schema: pa.Schema, table: str, known_version: int) -> int:
    """Raise ``SchemaVersionError`` when ``schema`` was stamped by a newer schema version."""
    meta = schema.metadata or {}
    raw = meta.get(VERSION_KEY)
    if raw is None:
        return 0
    found = int(raw)
    if found > known_version:
        raise SchemaVersionError(
            f"table '{table}' has schema version {found}, but this starmill reads up to "
            f"version {known_version}: upgrade starmill to read it"
        )
    return found


class Record:
    """Mixin for frozen dataclass records with one explicit Arrow schema each."""

    TABLE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    ARROW_SCHEMA: ClassVar[pa.Schema]

    def to_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def arrow_schema(cls) -> pa.Schema:
        return stamp(cls.ARROW_SCHEMA, cls.TABLE, cls.SCHEMA_VERSION)

    @classmethod
    def to_table(cls, records: list[Record]) -> pa.Table:
        schema = cls.arrow_schema()
        cols = {name: [getattr(r, name) for r in records] for name in schema.names}
        return pa.table(cols, schema=schema)

    @classmethod
    def from_row(cls, row: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in row.items() if k in names})
