"""Reward models as starmill trains and reads them: one token layout for training and scoring, the
checks that a folder holds the right kind of model, and one loaded copy per model per process.

ORM: the training prompt rendered with the model's chat template, then the completion and the end
token; a sequence classifier scores the last token. PRM (the Math-Shepherd step-tag format): the
prompt, then each step followed by one step-tag token and the delimiter; a token classifier labels
each tag position good (1) or bad (0), and every other position is ignored in training (-100).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starmill.schemas.errors import StarmillError
from starmill.schemas.model_folder import ModelFolderError, check_model_folder

TRAINING_MANIFEST = "starmill_training.json"  # what starmill.training writes next to the weights
IGNORE = -100
HEADS = {
    "orm": ("ForSequenceClassification", "a sequence-classification"),
    "prm": ("ForTokenClassification", "a token-classification"),
}

_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}  # (folder, task) -> (model, tokenizer), per process
_LOCK = threading.Lock()


class RewardModelError(StarmillError, ValueError):
    pass


def training_manifest(model: str) -> dict[str, Any]:
    """The manifest starmill wrote with a trained model ({} for a folder it did not train)."""
    path = Path(model) / TRAINING_MANIFEST
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def check_head(model: str, task: str) -> None:
    """A clear error when ``model`` is no folder holding a loadable model of ``task``'s kind (read from its
    files; nothing is loaded or run): a reward model is a local folder `starmill train` wrote."""
    folder = Path(model).expanduser()
    if not folder.exists():
        raise RewardModelError(
            f"scorer {task!r}: model folder {model!r} does not exist (give the folder "
            f"`starmill train --task {task} --output DIR` wrote)"
        )
    try:
        check_model_folder(model, f"scorer {task!r}: model")
        config = json.loads((folder / "config.json").read_text())
    except ModelFolderError as exc:
        raise RewardModelError(str(exc)) from None
    suffix, kind = HEADS[task]
    architectures = config.get("architectures") or []
    if not any(str(a).endswith(suffix) for a in architectures):
        raise RewardModelError(
            f"scorer {task!r}: {model} is not {kind} model (its config's architectures are "
            f"{', '.join(map(str, architectures)) or 'none'}: no classifier head); train one with "
            f"`starmill train SAMPLES --task {task} --base MODEL --output DIR`"
        )


def load(model: str, task: str):
    """(model, tokenizer), loaded once per process; the model in eval mode on the GPU when there is one."""
    key = (str(Path(model).expanduser().absolute()) if Path(model).is_dir() else model, task)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(model, task)
        return _LOADED[key]


def _load(model: str, task: str):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    check_head(model, task)
    auto = AutoModelForSequenceClassification if task == "orm" else AutoModelForTokenClassification
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=False)
        loaded = auto.from_pretrained(model, dtype=torch.float32, trust_remote_code=False, use_safetensors=True)
    except (OSError, ValueError) as exc:
        raise RewardModelError(
            f"scorer {task!r}: model {model!r} could not be loaded: {str(exc).splitlines()[0]}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    loaded.config.pad_token_id = tokenizer.pad_token_id
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return loaded.to(device).eval(), tokenizer


def messages(prompt: Any) -> list[dict[str, str]]:
    """A prompt as chat messages: a list of messages as is, a string as one user message."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt or []]


def prompt_ids(tokenizer, prompt: Any) -> list[int]:
    if tokenizer.chat_template:
        return list(
            tokenizer.apply_chat_template(
                messages(prompt), add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
    return tokenizer("\n".join(m["content"] for m in messages(prompt)) + "\n")["input_ids"]


def orm_ids(tokenizer, prompt: Any, completion: str, max_length: int) -> list[int]:
    """Prompt + completion + end token; a longer sequence keeps its end (where the answer is)."""
    ids = prompt_ids(tokenizer, prompt) + tokenizer(completion, add_special_tokens=False)["input_ids"]
    ids.append(tokenizer.eos_token_id)
    return ids[-max_length:]


def split_steps(text: str, delimiter: str) -> list[str]:
    """The steps of a rationale: split at ``delimiter``, blank pieces left out."""
    return [s.strip() for s in text.split(delimiter) if s.strip()]


def tag_id(tokenizer, tag: str, where: str) -> int:
    ids = tokenizer(tag, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise RewardModelError(
            f"{where}: step tag {tag!r} is {len(ids)} tokens in this tokenizer; pick a string "
            "that is one token (e.g. '~')"
        )
    return ids[0]


def prm_ids(
    tokenizer, prompt: Any, steps: Sequence[str], tag: int, delimiter: str, max_length: int
) -> tuple[list[int], list[int | None]]:
    """(ids, the tag position of each step). A longer sequence keeps its end; a step whose tag was cut
    off has position None."""
    ids = prompt_ids(tokenizer, prompt)
    between = tokenizer(delimiter, add_special_tokens=False)["input_ids"]
    positions = []
    for i, step in enumerate(steps):
        ids += tokenizer(step, add_special_tokens=False)["input_ids"]
        positions.append(len(ids))
        ids.append(tag)
        if i < len(steps) - 1:
            ids += between
    cut = max(len(ids) - max_length, 0)
    return ids[cut:], [p - cut if p >= cut else None for p in positions]


def pad(rows: Sequence[list[int]], value: int) -> list[list[int]]:
    width = max(len(r) for r in rows)
    return [list(r) + [value] * (width - len(r)) for r in rows]
