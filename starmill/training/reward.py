"""Reward models: ``--task orm`` (TRL's ``RewardTrainer`` on preference pairs from a ``samples`` version)
and ``--task prm`` (token classification at the step tags of a ``prm`` version, as TRL's PRMTrainer did
before TRL 1.x removed it: the transformers ``Trainer`` with labels -100 everywhere but the tags). A PRM
learns hard labels or Math-Shepherd's soft ones (``train.prm_labels``) with one loss: the cross-entropy of
the two classes against the target P(good) at each tag, which is the usual cross-entropy when the target is
0 or 1.

Same conventions as SFT (``starmill.training.sft``): the work runs in ``OUTPUT.partial`` and is renamed at
the end; the folder holds the model, its tokenizer, ``starmill_training.json`` (task, data, base model,
steps, loss curve, step tag and delimiter for a PRM) and ``loss.png``. The token layout is
``filters.scorers.reward_models``', the one the ``orm`` and ``prm`` scorers read with.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any

from starmill.filters.scorers import reward_models as rm
from starmill.training.reward_data import orm_pairs, prm_rows
from starmill.training.settings import TrainError, TrainSettings
from starmill.training.sft import TrainResult, _partial, _plan, check_base, trainer_args, write_output

TASKS = ("orm", "prm")
LABELS = {0: "bad", 1: "good"}  # the PRM's two classes; the scorers read P(good), the last one


def _load_base(base: str, task: str):
    """The base model with a new head (seeded by the caller): one reward for ORM, two classes per token for PRM."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    path = check_base(base)
    safe = {"dtype": torch.float32, "trust_remote_code": False, "use_safetensors": True}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        if task == "orm":
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, **safe)
        else:
            model = AutoModelForTokenClassification.from_pretrained(
                path, num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **safe
            )
    except (OSError, ValueError) as exc:
        raise TrainError(
            f"base model {base!r} could not be loaded: {str(exc).splitlines()[0]} "
            "(give a local model folder, or a Hub id when the Hub is reachable)"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id  # the classifier reads the last non-pad token
    return model, tokenizer


def _collate_prm(features: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    import torch

    ids = [f["input_ids"] for f in features]
    return {
        "input_ids": torch.tensor(rm.pad(ids, pad_id)),
        "attention_mask": torch.tensor(rm.pad([[1] * len(r) for r in ids], 0)),
        "labels": torch.tensor(rm.pad([f["labels"] for f in features], float(rm.IGNORE)), dtype=torch.float32),
    }


def soft_tag_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy of the per-token (bad, good) logits against the target P(good) at the tagged tokens
    (``labels`` is P(good) there, ``IGNORE`` elsewhere), summed and divided by the tags in the whole
    (accumulated) batch."""
    import torch

    logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
    tagged = labels != rm.IGNORE
    log_p = torch.log_softmax(logits[tagged].float(), dim=-1)
    target = labels[tagged].to(log_p.dtype)
    total = -(target * log_p[:, 1] + (1 - target) * log_p[:, 0]).sum()
    count = num_items_in_batch if num_items_in_batch is not None else tagged.sum()
    return total / torch.clamp(torch.as_tensor(count, device=total.device, dtype=total.dtype), min=1)


def _orm_trainer(model, tokenizer, pairs, settings: TrainSettings, checkpoints: Path, progress, callbacks):
    import datasets
    from trl import RewardConfig, RewardTrainer

    encoded = [
        {
            "chosen_ids": rm.orm_ids(tokenizer, p["prompt"], p["chosen"], settings.max_length),
            "rejected_ids": rm.orm_ids(tokenizer, p["prompt"], p["rejected"], settings.max_length),
        }
        for p in pairs
    ]
    args = RewardConfig(**trainer_args(settings, checkpoints, RewardConfig, progress), max_length=settings.max_length)
    return RewardTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(encoded),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def _tag(tokenizer, settings: TrainSettings) -> int:
    try:
        return rm.tag_id(tokenizer, settings.step_tag, "train.step_tag")
    except rm.RewardModelError as exc:
        raise TrainError(str(exc)) from None


def _prm_trainer(
    model, tokenizer, rows, tag: int, delimiter: str, settings: TrainSettings, checkpoints: Path, progress, callbacks
):
    import datasets
    from transformers import Trainer, TrainingArguments

    encoded = []
    for row in rows:
        ids, positions = rm.prm_ids(tokenizer, row["prompt"], row["steps"], tag, delimiter, settings.max_length)
        labels = [rm.IGNORE] * len(ids)
        for position, good in zip(positions, row["labels"]):  # P(good): 0/1, or a soft label
            if position is not None:
                labels[position] = float(good)
        encoded.append({"input_ids": ids, "labels": labels})
    args = TrainingArguments(
        **trainer_args(settings, checkpoints, TrainingArguments, progress), remove_unused_columns=False
    )
    return Trainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(encoded),
        data_collator=lambda f: _collate_prm(f, tokenizer.pad_token_id),
        callbacks=callbacks,
        compute_loss_func=soft_tag_loss,
    )


def train_reward(
    wh,
    ref: str,
    task: str,
    base: str,
    output: str | Path,
    settings: TrainSettings | None = None,
    progress: bool = True,
    callbacks: list | None = None,
) -> TrainResult:
    """Train an ORM on the samples version ``ref`` or a PRM on the prm version ``ref``."""
    from transformers import set_seed

    settings = settings or TrainSettings()
    if task not in TASKS:
        raise TrainError(f"unknown reward task {task!r} (known: {', '.join(TASKS)})")
    if settings.method != "full" or settings.kd != "none":
        raise TrainError(f"--task {task} trains the whole (small) reward model: --lora and --kd are for --task sft")
    output = Path(output).expanduser().absolute()
    if output.exists():
        raise TrainError(f"{output} exists: pick a new --output (trained models are never overwritten)")
    version = str(wh.resolve(ref))
    delimiter = None
    if task == "orm":
        rows = orm_pairs(wh, version, settings.pairs_per_problem, settings.seed)
    else:
        rows, delimiter = prm_rows(wh, version, settings.prm_labels)
    set_seed(settings.seed)  # the new head's initial weights
    with contextlib.redirect_stdout(sys.stderr):  # transformers prints a load report of the new head
        model, tokenizer = _load_base(base, task)  # before any folder is made: a bad base leaves nothing
    tag = _tag(tokenizer, settings) if task == "prm" else None
    plan = {**_plan(version, base, settings, len(rows)), "task": task}
    partial = _partial(output, plan)
    checkpoints = partial / "checkpoints"
    if task == "orm":
        trainer = _orm_trainer(model, tokenizer, rows, settings, checkpoints, progress, callbacks)
    else:
        trainer = _prm_trainer(model, tokenizer, rows, tag, delimiter, settings, checkpoints, progress, callbacks)
    resume = checkpoints.exists() and any(checkpoints.glob("checkpoint-*"))
    from starmill.training.progress import show_progress

    show_progress(trainer, bar=progress)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for results (--json)
        trainer.train(resume_from_checkpoint=True if resume else None)
    if not trainer.is_world_process_zero():
        return TrainResult(output, {})
    trainer.model.save_pretrained(str(partial), safe_serialization=True)
    tokenizer.save_pretrained(str(partial))
    shutil.rmtree(checkpoints, ignore_errors=True)
    return _finish(trainer, partial, output, plan, settings, task, delimiter, resume, base)


def _finish(
    trainer,
    partial: Path,
    output: Path,
    plan: dict,
    settings: TrainSettings,
    task: str,
    delimiter: str | None,
    resume: bool,
    base: str,
) -> TrainResult:
    curve = [
        {"step": h["step"], "loss": h["loss"], **({"accuracy": h["accuracy"]} if "accuracy" in h else {})}
        for h in trainer.state.log_history
        if "loss" in h
    ]
    fields = {
        **plan,
        "kind": task,
        "method": "full",
        "seed": settings.seed,
        "step_tag": settings.step_tag if task == "prm" else None,
        "delimiter": delimiter,
        "labels": settings.prm_labels if task == "prm" else None,
        "value": "sigmoid of the reward" if task == "orm" else "P(good) at each step's tag",
    }
    return write_output(
        trainer,
        partial,
        output,
        fields,
        curve,
        settings,
        resume,
        title=f"{task.upper()} from {base} on {plan['data'][0]}",
    )
