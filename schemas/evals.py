"""The ``evals`` table: one row per problem and sample of an evaluation, verdicts included; and the
typed section an evaluation writes into its version's manifest (``EvalSummary``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from starmill.schemas.base import Record
from starmill.schemas.report import CheckerInfo


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
    def of_sample(
        cls, s, *, mode: str, model: str, revision: str | None, gold_answer: str, temperature: float
    ) -> EvalRecord:
        """The row of one graded sample (a ``SampleRecord``) of an eval in ``mode``."""
        return cls(
            problem_id=s.problem_id,
            mode=mode,
            sample_index=s.sample_index,
            model=model,
            model_revision=revision,
            completion=s.completion,
            extracted_answer=s.extracted_answer,
            gold_answer=gold_answer,
            verdict=s.verdicts[0]["verdict"] if s.verdicts else "error",
            correct=s.correct,
            finish_reason=s.finish_reason,
            completion_tokens=s.completion_tokens,
            temperature=temperature,
            seed=s.seed,
        )

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


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EvalOverlap(_Part):
    """What the model was trained on and which of the problems it saw (``evaluation.overlap``)."""

    trained_on: list[str] = Field(default_factory=list)  # the versions its training manifest names
    by_id: int = 0  # problems with the id of a training row
    by_ngram: int = 0  # more problems sharing an 8-gram with a training prompt
    problem_ids: list[str] = Field(default_factory=list)  # the first 50 flagged
    unreadable: list[str] = Field(default_factory=list)  # training versions that could not be read


class EvalClean(_Part):
    """The metrics on the problems the model never trained on."""

    problems: int
    metrics: dict[str, float] = Field(default_factory=dict)


class ScorerInfo(_Part):
    name: str
    version: str


class EvalSummary(_Part):
    """An ``evals`` version's section of its manifest: what ``starmill eval`` measured and with what.
    Its keys lie at the manifest's top level (``Manifest.model_extra``), where older versions wrote the
    same keys untyped, so old and new manifests read alike; keys an older version lacks take defaults."""

    metrics: dict[str, float] = Field(default_factory=dict)  # greedy_pass@1, pass@k, maj@k, STRATEGY@k
    overlap: EvalOverlap = Field(default_factory=EvalOverlap)
    clean: EvalClean | None = None  # None in versions older than the overlap split
    eval_on: str | None = None  # the problems version evaluated on
    strategies: list[str] = Field(default_factory=list)  # selection strategies and tree searches measured
    search: dict[str, dict[str, int]] = Field(default_factory=dict)  # tree search -> tokens and nodes it used
    scorer: ScorerInfo | None = None  # what best_of_n ranked by and the searches were guided by
    template: str | None = None
    checker: CheckerInfo | None = None  # the answer checker or the verifier that graded

    @classmethod
    def from_manifest(cls, manifest: Any) -> EvalSummary | None:
        """The section of a manifest (a ``Manifest`` or its JSON dict); None when it has no metrics
        (not an evaluation)."""
        data = manifest if isinstance(manifest, dict) else (getattr(manifest, "model_extra", None) or {})
        if not isinstance(data.get("metrics"), dict):
            return None
        return cls.model_validate({key: data[key] for key in cls.model_fields if key in data})

    def to_manifest(self) -> dict[str, Any]:
        """The keys a writer puts at the manifest's top level (``extra=``)."""
        return self.model_dump(mode="json")
