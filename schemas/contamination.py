"""The ``contaminated`` table, and the ``decontamination:`` settings of a run.

A problem dropped at ingest because it matches something held elsewhere: an evaluation problem
(``against`` ``eval_set``) or, in a run over many sources, an earlier source's problem (``source``).
Each row names what it matched, the method (``ngram`` or ``minhash``) and the score, so the dropped
problems are listed (SQL view ``<name>_contaminated``), not only counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from starmill.schemas.base import Record


@dataclass(frozen=True, slots=True)
class ContaminationRecord(Record):
    problem_id: str
    source: str
    question: str
    against: str  # "eval_set" or "source"
    matched_set: str  # the evaluation set's name, or the earlier source's
    matched_id: str  # the evaluation id (its id field, else #row), or the earlier problem's id
    method: str  # "ngram" or "minhash"
    score: float  # n-gram: share of the row's n-grams in the set; minhash: containment

    TABLE: ClassVar[str] = "contaminated"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("question", pa.string(), nullable=False),
            pa.field("against", pa.string(), nullable=False),
            pa.field("matched_set", pa.string(), nullable=False),
            pa.field("matched_id", pa.string(), nullable=False),
            pa.field("method", pa.string(), nullable=False),
            pa.field("score", pa.float64(), nullable=False),
        ]
    )


class DecontaminationSpec(BaseModel):
    """``decontamination:`` in a run config: evaluation sets kept out of the run's problems (at ingest)
    and of its exports, and near-duplicates between its sources."""

    model_config = ConfigDict(extra="forbid")
    eval_sets: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="evaluation sets: JSONL, JSON, CSV or Parquet files, or save_to_disk folders",
    )
    ngram: StrictInt = Field(8, ge=1, le=64, description="word n-gram size of the overlap rule")
    near_duplicates: float = Field(
        0.6,
        ge=0,
        le=1,
        description="MinHash near-duplicate containment threshold against evaluation problems; 0: n-grams only",
    )
    num_perm: StrictInt = Field(128, ge=8, le=1024, multiple_of=2, description="MinHash permutations (LSH bands of 2)")
    across_sources: float = Field(
        0.9,
        ge=0,
        le=1,
        description="near-duplicate threshold between a run's sources (a later source's copy is dropped); 0: off",
    )
    at_export: Literal["apply", "off"] = Field(
        "apply",
        description="apply: exports of the run's versions drop rows "
        "matching eval_sets unless export names its own sets",
    )

    def near(self) -> float | None:
        return self.near_duplicates or None
