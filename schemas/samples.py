"""The ``samples`` table: every generation, kept or not, with its verdicts and drop reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import pyarrow as pa

from starmill.schemas.base import Record, content_hash


class Stage(StrEnum):
    """Which part of the STaR loop made a sample; stored as its value."""

    RATIONALE = "rationale"  # sampled from the problem alone
    RATIONALIZATION = "rationalization"  # sampled with the gold answer as a hint, stored without it


VERDICTS = ("correct", "wrong", "unparseable_gold", "unparseable_pred", "timeout", "error")

MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
VERDICT = pa.struct(
    [
        pa.field("checker", pa.string()),  # e.g. "starmill"
        pa.field("checker_version", pa.string()),
        pa.field("verdict", pa.string()),  # one of VERDICTS
        pa.field("rule", pa.string()),  # the rule that decided, e.g. "rational", "symbolic"
        pa.field("pred", pa.string()),  # the extracted prediction
        pa.field("gold", pa.string()),  # the extracted gold answer
        pa.field("seconds", pa.float64()),
        pa.field("form", pa.string()),  # the declared answer form it was checked against (schema 2)
        pa.field("detail", pa.string()),  # e.g. an LLM judge's reasoning (schema 2)
    ]
)


SCORE = pa.struct(
    [
        pa.field("scorer", pa.string()),  # e.g. "steps", "orm", "prm"
        pa.field("version", pa.string()),
        pa.field("value", pa.float64()),  # the sample's score (a process scorer: aggregated over steps)
        pa.field("steps", pa.list_(pa.float64())),  # per-step values of a process scorer, else null
    ]
)
TOKEN_IDS = pa.list_(pa.int32())
TOPK_IDS = pa.list_(pa.list_(pa.int32()))  # per completion token: the teacher's top-k token ids
TOPK_LOGPROBS = pa.list_(pa.list_(pa.float32()))  # and their logprobs, in the same order


def think_text(reasoning: str, answer: str) -> str:
    """R1 style: ``<think>`` reasoning ``</think>`` then the answer."""
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{answer.strip()}"


def sample_id(
    problem_id: str,
    stage: str,
    template_id: str,
    template_hash: str,
    model: str,
    model_revision: str | None,
    sampling: dict[str, Any],
    seed: int | None,
    sample_index: int,
) -> str:
    return content_hash(
        "sample",
        problem_id,
        stage,
        template_id,
        template_hash,
        model,
        model_revision,
        sampling,
        seed,
        sample_index,
    )


@dataclass(frozen=True, slots=True)
class SampleRecord(Record):
    sample_id: str
    problem_id: str
    stage: str  # a Stage value
    iteration: int  # STaR iteration, from 0
    sample_index: int
    template_id: str
    template_hash: str
    prompt: list[dict[str, str]]  # the training prompt as chat messages; never holds a hint
    completion: str
    reasoning: str | None  # text inside <think>…</think> or a server's reasoning_content
    answer_text: str | None  # the part after the reasoning
    extracted_answer: str | None
    finish_reason: str  # "stop" | "length" | …
    prompt_tokens: int
    completion_tokens: int
    model: str
    model_revision: str | None
    engine: str
    engine_version: str | None
    sampling: str  # JSON of the sampling parameters
    seed: int | None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    correct: bool = False  # the primary checker's verdict == "correct"
    kept: bool = False
    drop_reason: str | None = None
    scores: list[dict[str, Any]] = field(default_factory=list)  # SCORE rows, one per scorer that saw it
    token_ids: list[int] | None = None  # the completion's tokens, stored when sampling.logprobs is on
    topk_ids: list[list[int]] | None = None  # the teacher's top-k per completion token (logprobs on)
    topk_logprobs: list[list[float]] | None = None

    def output_text(self) -> str:
        """The whole output, reasoning included: a server's separate reasoning (``reasoning_content``)
        is not in ``completion``, so it is joined to it here; what duplicate and length checks judge."""
        if self.reasoning and self.reasoning not in self.completion:
            return think_text(self.reasoning, self.completion)
        return self.completion

    TABLE: ClassVar[str] = "samples"
    SCHEMA_VERSION: ClassVar[int] = (
        2  # 2: scores, token_ids, topk_ids, topk_logprobs, verdict form/detail (nullable; v1 reads)
    )
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("sample_id", pa.string(), nullable=False),
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("stage", pa.string(), nullable=False),
            pa.field("iteration", pa.int32(), nullable=False),
            pa.field("sample_index", pa.int32(), nullable=False),
            pa.field("template_id", pa.string(), nullable=False),
            pa.field("template_hash", pa.string(), nullable=False),
            pa.field("prompt", pa.list_(MESSAGE), nullable=False),
            pa.field("completion", pa.string(), nullable=False),
            pa.field("reasoning", pa.string()),
            pa.field("answer_text", pa.string()),
            pa.field("extracted_answer", pa.string()),
            pa.field("finish_reason", pa.string(), nullable=False),
            pa.field("prompt_tokens", pa.int32(), nullable=False),
            pa.field("completion_tokens", pa.int32(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("model_revision", pa.string()),
            pa.field("engine", pa.string(), nullable=False),
            pa.field("engine_version", pa.string()),
            pa.field("sampling", pa.string(), nullable=False),
            pa.field("seed", pa.int64()),
            pa.field("verdicts", pa.list_(VERDICT), nullable=False),
            pa.field("correct", pa.bool_(), nullable=False),
            pa.field("kept", pa.bool_(), nullable=False),
            pa.field("drop_reason", pa.string()),
            pa.field("scores", pa.list_(SCORE)),
            pa.field("token_ids", TOKEN_IDS),
            pa.field("topk_ids", TOPK_IDS),
            pa.field("topk_logprobs", TOPK_LOGPROBS),
        ]
    )
