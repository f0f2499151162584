"""A warehouse ``sft`` version as TRL's conversational prompt-completion rows (loss on the completion)."""

from __future__ import annotations

from typing import Any

from starmill.training.settings import TrainError
from starmill.warehouse.export.formats import assistant_text, prompt_messages

COLUMNS = ["prompt", "reasoning", "answer_text", "final_answer", "completion"]


LOGPROB_COLUMNS = ["token_ids", "topk_ids", "topk_logprobs"]


def training_rows(wh, ref, system_prompt: str | None = None, logprobs: bool = False) -> list[dict[str, Any]]:
    """Prompt-completion rows of an sft version; with ``logprobs``, the stored teacher tokens and top-k too."""
    manifest = wh.manifest(ref)
    if manifest.table != "sft":
        raise TrainError(f"{ref} holds '{manifest.table}' rows: train on an 'sft' version (made by `starmill run`)")
    table = wh.read(ref)
    columns = COLUMNS + [c for c in LOGPROB_COLUMNS if logprobs and c in table.column_names]
    rows = table.select(columns).to_pylist()
    if not rows:
        raise TrainError(f"{ref} has no rows to train on")
    converted = as_training_rows(rows, system_prompt)
    if logprobs:
        for out, row in zip(converted, rows):
            out.update({c: row.get(c) for c in LOGPROB_COLUMNS})
    return converted


def as_training_rows(rows: list[dict[str, Any]], system_prompt: str | None = None) -> list[dict[str, Any]]:
    """sft-table rows (dicts) as prompt-completion chat rows."""
    return [
        {
            "prompt": prompt_messages(r["prompt"], system_prompt),
            "completion": [{"role": "assistant", "content": assistant_text(r)}],
        }
        for r in rows
    ]
