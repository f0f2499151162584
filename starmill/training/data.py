"""A warehouse ``sft`` version as TRL's conversational prompt-completion rows (loss on the completion)."""
from __future__ import annotations

from typing import Any

from starmill.training.settings import TrainError
from warehouse.export.formats import assistant_text, prompt_messages

COLUMNS = ["prompt", "reasoning", "answer_text", "final_answer", "completion"]


def training_rows(wh, ref, system_prompt: str | None = None) -> list[dict[str, Any]]:
    manifest = wh.manifest(ref)
    if manifest.table != "sft":
        raise TrainError(f"{ref} holds '{manifest.table}' rows: train on an 'sft' version (made by `starmill run`)")
    rows = wh.read(ref).select(COLUMNS).to_pylist()
    if not rows:
        raise TrainError(f"{ref} has no rows to train on")
    return as_training_rows(rows, system_prompt)


def as_training_rows(rows: list[dict[str, Any]], system_prompt: str | None = None) -> list[dict[str, Any]]:
    """sft-table rows (dicts) as prompt-completion chat rows."""
    return [{"prompt": prompt_messages(r["prompt"], system_prompt),
             "completion": [{"role": "assistant", "content": assistant_text(r)}]} for r in rows]
