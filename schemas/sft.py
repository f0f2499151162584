"""The ``sft`` table: the selected training rows of a run, one per kept sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from starmill.schemas.base import Record
from starmill.schemas.samples import MESSAGE, TOKEN_IDS, TOPK_IDS, TOPK_LOGPROBS


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
    token_ids: list[int] | None = None  # the teacher's completion tokens (when sampling.logprobs was on)
    topk_ids: list[list[int]] | None = None  # its top-k per token, for logit distillation
    topk_logprobs: list[list[float]] | None = None
    # the teacher's mean completion tokens on the problem's first-stage samples: with pass_rate, its difficulty
    teacher_tokens: float | None = None

    TABLE: ClassVar[str] = "sft"
    SCHEMA_VERSION: ClassVar[int] = 3  # 2: token_ids, topk_ids, topk_logprobs; 3: teacher_tokens (nullable; older read)
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
            pa.field("token_ids", TOKEN_IDS),
            pa.field("topk_ids", TOPK_IDS),
            pa.field("topk_logprobs", TOPK_LOGPROBS),
            pa.field("teacher_tokens", pa.float64()),
        ]
    )
