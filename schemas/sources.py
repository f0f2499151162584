"""What a problem source is: where it lives and how its fields map onto ``problems``.

The run config (``source:``) and ``starmill ingest`` both describe a source with ``SourceSpec``; the
warehouse's readers turn one into problems (``warehouse.sources``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator, model_validator

MAX_CHARS = 32_000  # default longest question or answer (source.max_chars); longer rows: too_long

AnswerFormat = Literal["plain", "gsm8k", "boxed"]


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Input should be a valid integer, not true or false")
    return value


Int = Annotated[int, BeforeValidator(_not_a_bool)]  # digits as text pass (eval's procedural:n=8), a bool never


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question_field: str
    answer_field: str
    solution_field: str | None = None
    answer_format: AnswerFormat = "plain"  # how the gold answer sits in answer_field
    metadata_fields: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    # GSM8K: {"question": …, "answer": "…reasoning…\n#### 72"}
    "gsm8k": Preset(question_field="question", answer_field="answer", solution_field="answer", answer_format="gsm8k"),
    # MATH: {"problem": …, "solution": "… \\boxed{…}", "level": …, "type": …}
    "math": Preset(
        question_field="problem",
        answer_field="solution",
        solution_field="solution",
        answer_format="boxed",
        metadata_fields=("level", "type", "subject", "unique_id"),
    ),
    # plain: {"question": …, "answer": …}
    "plain": Preset(question_field="question", answer_field="answer"),
    # code problems (warehouse.sources.code_presets reads their rows; these name the fields it reads)
    # MBPP: {"text": …, "code": …, "test_list": [assert, …], "test_setup_code": …, "challenge_test_list": […]}
    "mbpp": Preset(question_field="text", answer_field="test_list", solution_field="code"),
    # APPS: {"question": …, "solutions": "[…]", "input_output": "{inputs, outputs, fn_name?}", "difficulty": …}
    "apps": Preset(question_field="question", answer_field="input_output", solution_field="solutions"),
}
CODE_PRESETS = ("mbpp", "apps")  # rows become code problems (test specs as golds), graded by the code verifier

GYM_MAX_SIZE = 10_000_000  # problems per reasoning-gym source; it builds entries lazily


class GymSpec(BaseModel):
    """``source: {uri: reasoning_gym, reasoning_gym: {tasks: {name: weight}, size, seed, config}}``."""

    model_config = ConfigDict(extra="forbid")
    tasks: dict[str, float] = Field(..., description="task name -> weight (share of size)")
    size: Int = Field(100, ge=1, le=GYM_MAX_SIZE, description="problems over all tasks")
    seed: Int = Field(0, description="the same seed gives the same problems")
    config: dict[str, dict[str, Any]] = Field(default_factory=dict, description="task name -> its config options")

    @field_validator("tasks")
    @classmethod
    def _weights(cls, tasks: dict[str, float]) -> dict[str, float]:
        if not tasks:
            raise ValueError("name at least one task")
        for name, weight in tasks.items():
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
                raise ValueError(f"task {name!r}: weight must be a finite number > 0")
        return tasks


class ProceduralSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: Int = Field(200, ge=0, le=10_000_000, description="number of problems")
    seed: Int = Field(0, ge=-(2**63), le=2**63 - 1, description="the same seed gives the same problems")
    difficulty: Int = Field(
        1,
        ge=1,
        le=5,
        description="1: one + or - on numbers to 20 … 5: 3-5 steps with * and / "
        "(procedural_code: 1 an expression, 2 one list or string operation, 3 filter-map-sum)",
    )


class SourceSpec(BaseModel):
    """One problem source. ``uri`` is a file or folder, a Hub id, or ``procedural``."""

    model_config = ConfigDict(extra="forbid")
    uri: str = Field(
        "procedural",
        description="path (.jsonl .json .csv .parquet, save_to_disk folder), "
        "Hub id ('hf://owner/name' or 'owner/name'), 'procedural', 'procedural_code' or 'humaneval'",
    )
    preset: Literal["gsm8k", "math", "plain", "mbpp", "apps"] = "plain"
    question_field: str | None = None  # overrides the preset's
    answer_field: str | None = None
    solution_field: str | None = None
    answer_format: AnswerFormat | None = None
    metadata_fields: list[str] | None = None
    name: str | None = Field(None, description="source name stored on every problem (default: from the uri)")
    split: str = Field("train", description="split stored on every problem; for Hub ids also the split loaded")
    hub_config: str | None = None
    revision: str | None = None
    license: str | None = Field(None, description="the source's license, carried to dataset cards")
    limit: Int | None = Field(None, ge=1, description="read at most this many rows")
    max_chars: Int = Field(
        MAX_CHARS,
        ge=1,
        le=10_000_000,
        description="longest question (or answer) in characters; a longer row is rejected as too_long",
    )
    require_answer: StrictBool = Field(
        True,
        description="reject rows without an answer; false keeps them with an "
        "empty gold answer (for self-consistency pseudo-labels)",
    )
    procedural: ProceduralSpec = Field(default_factory=ProceduralSpec)
    verifiers: list[str | dict[str, Any]] = Field(
        default_factory=lambda: ["math"],
        min_length=1,
        max_length=8,
        description="verifiers that grade this source's samples, by name or {name: …, options}; the first decides",
    )
    answer_form: str | None = Field(
        None,
        description="the answer form every problem asks for (reduced, "
        "factored, sig_figs:N, decimal_places:N, exact, case_sensitive, ordered)",
    )
    answer_form_field: str = Field("answer_form", description="metadata field that declares a problem's own form")
    keep_unparseable_gold: StrictBool = Field(
        False,
        description="keep rows whose gold the primary verifier can't "
        "read (they can never be selected) instead of rejecting them",
    )
    reasoning_gym: GymSpec | None = Field(
        None, description="reasoning-gym tasks (uri 'reasoning_gym', needs starmill[gym])"
    )

    @field_validator("verifiers")
    @classmethod
    def _verifier_names(cls, value: list) -> list:
        for item in value:
            name = item if isinstance(item, str) else item.get("name")
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"a verifier is a name or {{name: …, options}}, got {item!r}")
        return value

    def verifier_specs(self) -> list[tuple[str, dict[str, Any]]]:
        """(name, options) of each verifier, the primary first."""
        out = []
        for item in self.verifiers:
            if isinstance(item, str):
                out.append((item, {}))
            else:
                out.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
        return out

    @model_validator(mode="after")
    def _gym(self) -> SourceSpec:
        if self.reasoning_gym is not None and self.uri == "procedural" and "uri" not in self.model_fields_set:
            self.uri = "reasoning_gym"  # `source: {reasoning_gym: {...}}` alone names the source
        if self.uri == "reasoning_gym" and self.reasoning_gym is None:
            raise ValueError("uri 'reasoning_gym' needs a reasoning_gym section: {tasks: {name: weight}, size, seed}")
        if self.reasoning_gym is not None and self.uri != "reasoning_gym":
            raise ValueError(f"a reasoning_gym section goes with uri 'reasoning_gym', not {self.uri!r}")
        code = self.uri in ("humaneval", "procedural_code") or self.preset in CODE_PRESETS
        if code and "verifiers" not in self.model_fields_set:
            self.verifiers = ["code"]  # its golds are test specs: only the code verifier reads them
        if self.uri == "procedural_code" and self.procedural.difficulty > 3:
            raise ValueError(f"procedural_code has difficulty levels 1-3, got {self.procedural.difficulty}")
        return self

    def fields(self) -> Preset:
        base = PRESETS[self.preset]
        return Preset(
            question_field=self.question_field or base.question_field,
            answer_field=self.answer_field or base.answer_field,
            solution_field=self.solution_field if self.solution_field is not None else base.solution_field,
            answer_format=self.answer_format or base.answer_format,
            metadata_fields=tuple(self.metadata_fields) if self.metadata_fields is not None else base.metadata_fields,
        )


class RunSource(SourceSpec):
    """One entry of a run's ``sources:`` list: a source with its share of the run, by ``limit`` (rows read)
    or ``weight`` (a seeded share of its problems; the rest are counted as ``left_out_by_weight``)."""

    weight: float | None = Field(
        None,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="share of this source's problems the run takes (seeded by problem id)",
    )

    @model_validator(mode="after")
    def _share(self) -> RunSource:
        if self.weight is not None and self.limit is not None:
            raise ValueError("give a source a weight or a limit, not both")
        return self
