"""The ``rejects`` table: input rows that could not be used, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from starmill.schemas.base import Record


@dataclass(frozen=True, slots=True)
class RejectRecord(Record):
    source: str
    row_index: int  # position in the source (line number for JSONL/CSV, row for tables)
    reason: str  # short machine-readable code, e.g. ``missing_question``
    detail: str  # one human sentence
    raw: str  # the offending row as text (JSON where it parsed), truncated to 4 KB

    TABLE: ClassVar[str] = "rejects"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("source", pa.string(), nullable=False),
            pa.field("row_index", pa.int64(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
            pa.field("detail", pa.string(), nullable=False),
            pa.field("raw", pa.string(), nullable=False),
        ]
    )
