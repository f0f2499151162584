"""Exported row layouts: TRL's conversational ``messages`` and ``prompt-completion``, and ``raw``."""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.samples import MESSAGE, think_text

FORMATS = ("messages", "prompt-completion", "raw")
KEYS = ("problem_id", "sample_id", "stage", "source", "origin")  # kept beside the text in every format
MESSAGES = pa.list_(MESSAGE)


def assistant_text(row: dict[str, Any]) -> str:
    """R1 style: ``<think>`` reasoning ``</think>`` then the answer, when the teacher reasoned."""
    reasoning = row.get("reasoning")
    if reasoning and reasoning.strip():
        return think_text(reasoning, row["answer_text"] if row.get("answer_text") is not None else row["final_answer"])
    return row["completion"]


def prompt_messages(prompt: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    """The stored hint-free prompt; a given system prompt replaces any system message in it."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
    if system_prompt:
        messages = [{"role": "system", "content": system_prompt}] + [m for m in messages if m["role"] != "system"]
    return messages


def format_rows(table: pa.Table, fmt: str, system_prompt: str | None = None) -> pa.Table:
    """``table`` (sft columns plus ``origin``) in the export format ``fmt``."""
    if fmt == "raw":
        return table.replace_schema_metadata(None)
    rows = table.select(["prompt", "reasoning", "answer_text", "final_answer", "completion"]).to_pylist()
    prompts = [prompt_messages(r["prompt"], system_prompt) for r in rows]
    answers = [[{"role": "assistant", "content": assistant_text(r)}] for r in rows]
    keys = {k: table.column(k) for k in KEYS}
    if "topk_ids" in table.column_names and table.column("topk_ids").null_count < table.num_rows:
        # the teacher's tokens and top-k (sampling.logprobs), for logit distillation: compact ids + values
        keys.update({f"teacher_{c}": table.column(c) for c in ("token_ids", "topk_ids", "topk_logprobs")})
    if fmt == "messages":
        text = {"messages": pa.array([p + a for p, a in zip(prompts, answers)], type=MESSAGES)}
    elif fmt == "prompt-completion":
        text = {"prompt": pa.array(prompts, type=MESSAGES), "completion": pa.array(answers, type=MESSAGES)}
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return pa.table({**text, **keys})
