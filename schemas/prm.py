"""The ``prm`` table: sampled rationales split into steps, each step labelled by Monte Carlo rollouts
from the prefix that ends at it (Math-Shepherd's hard and soft estimation); what a PRM trains on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from starmill.schemas.base import Record, content_hash
from starmill.schemas.samples import MESSAGE


def prm_id(sample_id: str, settings: dict[str, Any]) -> str:
    """One id per rationale and rollout settings (model, revision, rollouts, temperature, seed, delimiter)."""
    return content_hash("prm", sample_id, settings)


@dataclass(frozen=True, slots=True)
class PrmRecord(Record):
    prm_id: str
    sample_id: str
    problem_id: str
    prompt: list[dict[str, str]]  # the training prompt as chat messages; never holds a hint
    steps: list[str]  # the rationale split at the delimiter, the delimiter not included
    labels: list[bool]  # hard estimation: at least one rollout from the prefix ending here reached the gold
    soft_labels: list[float]  # soft estimation: the share of the rollouts from that prefix that reached it
    rollouts: int  # R, rollouts per step prefix
    delimiter: str
    gold_answer: str
    model: str  # the completer: the model that ran the rollouts
    completer_version: str  # its revision (a Hub commit or a hash of its weights), "" when unknown

    TABLE: ClassVar[str] = "prm"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("prm_id", pa.string(), nullable=False),
            pa.field("sample_id", pa.string(), nullable=False),
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("prompt", pa.list_(MESSAGE), nullable=False),
            pa.field("steps", pa.list_(pa.string()), nullable=False),
            pa.field("labels", pa.list_(pa.bool_()), nullable=False),
            pa.field("soft_labels", pa.list_(pa.float64()), nullable=False),
            pa.field("rollouts", pa.int32(), nullable=False),
            pa.field("delimiter", pa.string(), nullable=False),
            pa.field("gold_answer", pa.string(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("completer_version", pa.string(), nullable=False),
        ]
    )
