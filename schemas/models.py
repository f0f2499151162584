"""The ``models`` table: every model starmill trained, with the data and settings that made it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from starmill.schemas.base import Record


@dataclass(frozen=True, slots=True)
class ModelRecord(Record):
    model_id: str  # the trained weights' hash
    path: str  # the output folder
    kind: str  # "sft" | "kd"
    base_model: str
    base_revision: str | None
    method: str  # "full" | "lora"
    data: list[str]  # dataset versions trained on, "name@vN"
    rows: int  # training rows
    steps: int
    final_loss: float | None
    seed: int
    settings: str  # JSON of the training settings
    created_at: str
    starmill_version: str

    TABLE: ClassVar[str] = "models"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("model_id", pa.string(), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("base_model", pa.string(), nullable=False),
            pa.field("base_revision", pa.string()),
            pa.field("method", pa.string(), nullable=False),
            pa.field("data", pa.list_(pa.string()), nullable=False),
            pa.field("rows", pa.int64(), nullable=False),
            pa.field("steps", pa.int64(), nullable=False),
            pa.field("final_loss", pa.float64()),
            pa.field("seed", pa.int64(), nullable=False),
            pa.field("settings", pa.string(), nullable=False),
            pa.field("created_at", pa.string(), nullable=False),
            pa.field("starmill_version", pa.string(), nullable=False),
        ]
    )
