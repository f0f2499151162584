"""The ``problems`` table: questions with known answers, from any source."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from starmill.schemas.base import Record, content_hash


def problem_id(source: str, question: str, gold_answer: str) -> str:
    return content_hash("problem", source, question, gold_answer)


@dataclass(frozen=True, slots=True)
class ProblemRecord(Record):
    problem_id: str
    source: str
    split: str
    question: str
    gold_answer: str
    gold_solution: str | None = None
    metadata: str = "{}"  # JSON object; query it with DuckDB's json functions

    TABLE: ClassVar[str] = "problems"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("question", pa.string(), nullable=False),
            pa.field("gold_answer", pa.string(), nullable=False),
            pa.field("gold_solution", pa.string()),
            pa.field("metadata", pa.string(), nullable=False),
        ]
    )

    @classmethod
    def make(
        cls,
        source: str,
        question: str,
        gold_answer: str,
        split: str = "train",
        gold_solution: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ProblemRecord:
        return cls(
            problem_id=problem_id(source, question, gold_answer),
            source=source,
            split=split,
            question=question,
            gold_answer=gold_answer,
            gold_solution=gold_solution,
            metadata=json.dumps(metadata or {}, sort_keys=True, ensure_ascii=False),
        )
