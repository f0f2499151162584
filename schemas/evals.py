"""The ``evals`` table: one row per problem and sample of an evaluation, verdicts included."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from starmill.schemas.base import Record


@dataclass(frozen=True, slots=True)
class EvalRecord(Record):
    problem_id: str
    mode: str  # "greedy" | "sampled"
    sample_index: int
    model: str
    model_revision: str | None
    completion: str
    extracted_answer: str | None
    gold_answer: str
    verdict: str
    correct: bool
    finish_reason: str
    completion_tokens: int
    temperature: float
    seed: int | None

    @classmethod
    def of_sample(cls, s, *, mode: str, model: str, revision: str | None, gold_answer: str,
                  temperature: float) -> "EvalRecord":
        """The row of one graded sample (a ``SampleRecord``) of an eval in ``mode``."""
        return cls(problem_id=s.problem_id, mode=mode, sample_index=s.sample_index, model=model,
                   model_revision=revision, completion=s.completion, extracted_answer=s.extracted_answer,
                   gold_answer=gold_answer, verdict=s.verdicts[0]["verdict"] if s.verdicts else "error",
                   correct=s.correct, finish_reason=s.finish_reason, completion_tokens=s.completion_tokens,
                   temperature=temperature, seed=s.seed)

    TABLE: ClassVar[str] = "evals"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("mode", pa.string(), nullable=False),
            pa.field("sample_index", pa.int32(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("model_revision", pa.string()),
            pa.field("completion", pa.string(), nullable=False),
            pa.field("extracted_answer", pa.string()),
            pa.field("gold_answer", pa.string(), nullable=False),
            pa.field("verdict", pa.string(), nullable=False),
            pa.field("correct", pa.bool_(), nullable=False),
            pa.field("finish_reason", pa.string(), nullable=False),
            pa.field("completion_tokens", pa.int32(), nullable=False),
            pa.field("temperature", pa.float64(), nullable=False),
            pa.field("seed", pa.int64()),
        ]
    )
