"""The ``sft`` table: the selected training rows of a run, one per kept sample."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from schemas.base import Record
from schemas.samples import MESSAGE


@dataclass(frozen=True, slots=True)
class SftRecord(Record):
    sample_id: str
    problem_id: str
    source: str
    stage: str  # a Stage value (schemas.samples)
    iteration: int
    prompt: list[dict[str, str]]  # hint-free chat prompt
    completion: str  # the full teacher output
    reasoning: str | None
    answer_text: str | None
    final_answer: str  # the extracted answer that checked correct
    gold_answer: str
    pseudo_label: bool  # True when the label came from self-consistency, not a gold answer
    pass_rate: float  # the problem's share of correct first-stage samples (pass@1 estimate)
    model: str

    TABLE: ClassVar[str] = "sft"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("sample_id", pa.string(), nullable=False),
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("stage", pa.string(), nullable=False),
            pa.field("iteration", pa.int32(), nullable=False),
            pa.field("prompt", pa.list_(MESSAGE), nullable=False),
            pa.field("completion", pa.string(), nullable=False),
            pa.field("reasoning", pa.string()),
            pa.field("answer_text", pa.string()),
            pa.field("final_answer", pa.string(), nullable=False),
            pa.field("gold_answer", pa.string(), nullable=False),
            pa.field("pseudo_label", pa.bool_(), nullable=False),
            pa.field("pass_rate", pa.float64(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
        ]
    )
