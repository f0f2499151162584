"""Supervised fine-tuning of a causal LM on an ``sft`` version with TRL's ``SFTTrainer``.

The output folder appears whole or not at all: training runs in ``OUTPUT.partial`` (with checkpoints
every ``save_steps``, so a killed training resumes there) and is renamed at the end. The folder holds
the model and tokenizer (a LoRA adapter merged in, so transformers and vLLM load it as is),
``starmill_training.json`` (data, base model, settings, seed, steps, loss curve) and ``loss.png``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starmill.generators.registry import model_identity, resolve_model
from starmill.generators.weights import weights_hash
from starmill.schemas.model_folder import ModelFolderError, check_model_folder
from starmill.training.data import training_rows
from starmill.training.plot import plot_loss
from starmill.training.settings import TrainError, TrainSettings
from starmill.warehouse import lineage

MANIFEST = "starmill_training.json"


@dataclass
class TrainResult:
    output: Path
    manifest: dict[str, Any]


def check_base(base: str) -> str:
    """The path or Hub id to load ``base`` from, once its folder looks loadable (nothing is run)."""
    path = resolve_model(base)
    try:
        check_model_folder(path, "base model")
    except ModelFolderError as exc:
        raise TrainError(str(exc)) from None
    return path


def _load_base(base: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = check_base(base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.float32, trust_remote_code=False, use_safetensors=True
        )  # bf16 is autocast's job
    except (OSError, ValueError) as exc:
        raise TrainError(
            f"base model {base!r} could not be loaded: {str(exc).splitlines()[0]} "
            "(give a local model folder, or a Hub id when the Hub is reachable)"
        ) from None
    if not tokenizer.chat_template:
        raise TrainError(f"base model {base!r} has no chat template: SFT on chat rows needs one")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _plan(ref: str, base: str, settings: TrainSettings, rows: int) -> dict[str, Any]:
    model, revision = model_identity({"model": base, "backend": "transformers"})
    return {
        "data": [ref],
        "rows": rows,
        "base_model": model,
        "base_revision": revision,
        "settings": settings.model_dump(mode="json"),
    }


def _partial(output: Path, plan: dict[str, Any]) -> Path:
    """The work folder; an existing one is resumed only when it was made by the same plan."""
    partial = output.with_name(output.name + ".partial")
    plan_file = partial / "plan.json"
    if partial.exists():
        if plan_file.exists() and json.loads(plan_file.read_text()) == plan:
            return partial
        raise TrainError(
            f"{partial} holds an unfinished training with other settings: remove it or pick another --output"
        )
    partial.mkdir(parents=True)
    plan_file.write_text(json.dumps(plan, sort_keys=True, indent=1))
    return partial


def _load_teacher(settings: TrainSettings, tokenizer, base: str):
    """The kd teacher, checked to share the student's tokenizer (before any folder is made)."""
    from starmill.training import kd

    if not settings.teacher:
        raise TrainError(
            "--kd topk needs the teacher's logprobs: rows made with sampling.logprobs, or --teacher "
            "MODEL (same tokenizer as the student)"
        )
    teacher, teacher_tok = _load_base(settings.teacher)
    kd.check_same_tokenizer(tokenizer, teacher_tok, base, settings.teacher)
    return teacher


def _kd_trainer(model, tokenizer, teacher, rows, settings: TrainSettings, common: dict, peft_config, callbacks):
    """A trainer whose loss adds the teacher's top-k distribution (starmill.training.kd)."""
    import datasets
    from transformers import TrainingArguments

    from starmill.training import kd

    if teacher is None:  # the teacher's top-k stored with the rows (sampling.logprobs)
        encoded = kd.encode_stored(tokenizer, rows, settings.max_length)
    else:
        encoded = kd.encode_rows(tokenizer, rows, settings.max_length)
        kd.teacher_topk(teacher, encoded, settings.kd_topk)
        del teacher
    if peft_config is not None:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config)
    args = TrainingArguments(**common, remove_unused_columns=False)
    trainer_class = kd.make_trainer_class()
    return trainer_class(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(encoded),
        data_collator=lambda f: kd.collate(f, tokenizer.pad_token_id),
        callbacks=callbacks,
        kd_alpha=settings.kd_alpha,
    )


def _warmup(config_class, ratio: float) -> dict[str, float]:
    """transformers 5 takes a ratio as a float ``warmup_steps``; 4.x had ``warmup_ratio``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_class)}
    return {"warmup_ratio": ratio} if "warmup_ratio" in names else {"warmup_steps": ratio}


def _devices(settings: TrainSettings) -> tuple[bool, bool]:
    """(a GPU is there, bf16 mixed precision is on)."""
    import torch

    cuda = torch.cuda.is_available()
    return cuda, settings.bf16 if settings.bf16 is not None else bool(cuda and torch.cuda.is_bf16_supported())


def trainer_args(settings: TrainSettings, checkpoints: Path, config_class, progress: bool) -> dict[str, Any]:
    """The ``TrainingArguments`` every starmill training shares (SFT, kd, reward models)."""
    cuda, bf16 = _devices(settings)
    return dict(
        output_dir=str(checkpoints),
        max_steps=settings.max_steps,
        num_train_epochs=settings.epochs,
        learning_rate=settings.lr,
        lr_scheduler_type=settings.scheduler,
        **_warmup(config_class, settings.warmup_ratio),
        weight_decay=settings.weight_decay,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        seed=settings.seed,
        data_seed=settings.seed,
        bf16=bf16,
        gradient_checkpointing=settings.gradient_checkpointing,
        logging_steps=settings.logging_steps,
        save_strategy="steps" if settings.save_steps else "no",
        save_steps=settings.save_steps or 500,
        report_to=[],
        use_cpu=not cuda,
        dataloader_num_workers=0,
        disable_tqdm=not progress,
    )


def train_sft(
    wh,
    ref: str,
    base: str,
    output: str | Path,
    settings: TrainSettings | None = None,
    progress: bool = True,
    callbacks: list | None = None,
) -> TrainResult:
    """Train on the rows of the sft version ``ref``."""
    from starmill.training.export_data import export_rows, is_export

    settings = settings or TrainSettings()
    if is_export(ref):  # an export folder: its train split, its test split for the validation loss
        if settings.kd == "topk":
            raise TrainError(f"{ref}: --kd topk trains on a warehouse sft version, not an export folder")
        train, test = export_rows(ref, settings.system_prompt)
        strip = lambda rows: [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]  # noqa: E731
        return train_rows(
            strip(train),
            str(Path(ref).expanduser().absolute()),
            base,
            output,
            settings,
            progress,
            callbacks,
            validation=strip(test),
        )
    version = wh.resolve(ref)
    rows = training_rows(wh, version, settings.system_prompt, logprobs=settings.kd == "topk")
    return train_rows(rows, str(version), base, output, settings, progress, callbacks)


def train_rows(
    rows: list[dict],
    data: str,
    base: str,
    output: str | Path,
    settings: TrainSettings | None = None,
    progress: bool = True,
    callbacks: list | None = None,
    validation: list[dict] | None = None,
) -> TrainResult:
    """Train on prompt-completion ``rows`` (``data`` names where they came from, for the manifest); the
    loss on ``validation`` rows is measured at the end and recorded (``validation_loss``)."""
    import datasets
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from starmill.training.progress import show_progress

    settings = settings or TrainSettings()
    output = Path(output).expanduser().absolute()
    if output.exists():
        raise TrainError(f"{output} exists: pick a new --output (trained models are never overwritten)")
    if not rows:
        raise TrainError(f"{data} has no rows to train on")
    set_seed(settings.seed)
    model, tokenizer = _load_base(base)  # before any folder is made: a bad base leaves nothing
    stored = settings.kd == "topk" and not settings.teacher and all(r.get("topk_ids") for r in rows)
    teacher = _load_teacher(settings, tokenizer, base) if settings.kd == "topk" and not stored else None
    plan = _plan(data, base, settings, len(rows))
    partial = _partial(output, plan)
    peft_config = None
    if settings.method == "lora":
        from peft import LoraConfig

        targets = (
            settings.lora_targets
            if settings.lora_targets == "all-linear"
            else [t.strip() for t in settings.lora_targets.split(",") if t.strip()]
        )
        peft_config = LoraConfig(
            r=settings.lora_r,
            lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        )
    checkpoints = partial / "checkpoints"
    common = trainer_args(settings, checkpoints, SFTConfig, progress)
    if settings.kd == "topk":
        trainer = _kd_trainer(model, tokenizer, teacher, rows, settings, common, peft_config, callbacks)
    else:
        args = SFTConfig(**common, max_length=settings.max_length, completion_only_loss=True)
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=datasets.Dataset.from_list(rows),
            eval_dataset=datasets.Dataset.from_list(validation) if validation else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    resume = checkpoints.exists() and any(checkpoints.glob("checkpoint-*"))
    show_progress(trainer, bar=progress)
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs: keep stdout for results (--json)
        trainer.train(resume_from_checkpoint=True if resume else None)
    validation_loss = None
    if validation:  # the export's test split, on the trained model before it is merged or saved
        with contextlib.redirect_stdout(sys.stderr):
            validation_loss = round(float(trainer.evaluate()["eval_loss"]), 6)
    if not trainer.is_world_process_zero():
        return TrainResult(output, {})
    final = trainer.model
    if settings.method == "lora":
        final.save_pretrained(str(partial / "adapter"))
        final = final.merge_and_unload()
    final.config.use_cache = True
    final.save_pretrained(str(partial), safe_serialization=True)
    tokenizer.save_pretrained(str(partial))
    shutil.rmtree(checkpoints, ignore_errors=True)
    curve = [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]
    fields = {"kind": "kd" if settings.kd == "topk" else "sft", "method": settings.method, "seed": settings.seed}
    if validation:
        fields.update(validation_rows=len(validation), validation_loss=validation_loss)
    return write_output(
        trainer, partial, output, {**plan, **fields}, curve, settings, resume, title=f"SFT of {base} on {data}"
    )


def write_output(
    trainer,
    partial: Path,
    output: Path,
    fields: dict[str, Any],
    curve: list[dict],
    settings: TrainSettings,
    resume: bool,
    title: str,
) -> TrainResult:
    """The end of every training: the manifest (``fields``, then the run's steps, loss curve, devices and
    lineage) and the loss plot in ``partial``, which then becomes ``output``."""
    cuda, bf16 = _devices(settings)
    manifest = {
        **fields,
        "steps": trainer.state.global_step,
        "epochs_done": trainer.state.epoch,
        "loss_curve": curve,
        "final_loss": curve[-1]["loss"] if curve else None,
        "resumed": resume,
        "bf16": bf16,
        "device": "cuda" if cuda else "cpu",
        "created_at": datetime.now(UTC).isoformat(),
        "starmill_version": lineage.starmill_version(),
        "git_commit": lineage.git_commit(),
        "command": lineage.command_line(),
        "weights": weights_hash(partial),
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    (partial / "plan.json").unlink()
    if curve:
        plot_loss(curve, partial / "loss.png", title=title)
    partial.rename(output)
    return TrainResult(output, manifest)
