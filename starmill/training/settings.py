"""Training settings (the ``train:`` config section); every default is stated here once."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starmill.schemas.errors import StarmillError
from starmill.schemas.sources import Int  # --set train.KEY=VALUE gives text: digits pass, a bool never


class TrainError(StarmillError):
    pass


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["full", "lora"] = Field(
        "full", description="full fine-tuning or a LoRA adapter (merged at the end)"
    )
    max_steps: Int = Field(-1, ge=-1, le=10_000_000, description="optimizer steps; -1: epochs decide")
    epochs: float = Field(1.0, gt=0, le=1000, description="passes over the data when max_steps is -1")
    lr: float = Field(1e-4, gt=0, le=1, description="peak learning rate")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="share of steps with a linear warmup")
    weight_decay: float = Field(0.0, ge=0, le=1)
    batch_size: Int = Field(8, ge=1, le=4096, description="rows per device per step")
    grad_accum: Int = Field(1, ge=1, le=4096, description="gradient accumulation steps")
    max_length: Int = Field(
        1024, ge=8, le=1_000_000, description="tokens per row (prompt + completion), longer rows are truncated"
    )
    seed: Int = Field(0, ge=0, le=2**32 - 1, description="model init of new heads, data order, dropout")
    bf16: bool | None = Field(None, description="bf16 mixed precision; default: on where a GPU supports it")
    gradient_checkpointing: bool = False
    lora_r: Int = Field(16, ge=1, le=1024)
    lora_alpha: Int = Field(32, ge=1, le=4096)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_targets: str = Field("all-linear", description="modules LoRA adapts: 'all-linear' or a comma list")
    logging_steps: Int = Field(1, ge=1, description="steps between loss records (the loss curve)")
    save_steps: Int = Field(0, ge=0, description="checkpoint every N steps so a killed training resumes; 0: none")
    system_prompt: str | None = Field(None, description="replaces the system message of every training prompt")
    kd: Literal["none", "topk"] = Field("none", description="topk: add the teacher's top-k distribution to the loss")
    kd_alpha: float = Field(0.5, ge=0, le=1, description="weight of the distillation term (1 - it: cross-entropy)")
    kd_topk: Int = Field(8, ge=1, le=256, description="teacher tokens per position")
    teacher: str | None = Field(None, description="the teacher for kd (same tokenizer as the student)")
    pairs_per_problem: Int = Field(4, ge=1, le=10_000, description="orm: (correct, wrong) pairs per problem at most")
    step_tag: str = Field("~", min_length=1, description="prm: the one-token tag after each step whose label is learnt")
    prm_labels: Literal["hard", "soft"] = Field(
        "hard",
        description="prm: learn Math-Shepherd's hard labels (a "
        "rollout reached the gold) or soft ones (the share that did)",
    )

    def with_overrides(self, overrides: dict[str, object]) -> TrainSettings:
        """``--set train.KEY=VALUE`` values (strings; pydantic converts and checks them)."""
        data = self.model_dump()
        for key, value in overrides.items():
            if key not in type(self).model_fields:
                known = ", ".join(sorted(type(self).model_fields))
                raise TrainError(f"unknown training setting {key!r} (known: {known})")
            data[key] = None if value in ("null", "none", "None") else value
        try:
            return TrainSettings.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TrainError(f"train.{where}: {first['msg']}") from None
