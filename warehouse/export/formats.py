"""Exported row layouts: TRL's conversational ``messages`` and ``prompt-completion``, and ``raw``."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from starmill.schemas.samples import MESSAGE, think_text

FORMATS = ("messages", "prompt-completion", "raw")
KEYS = ("problem_id", "sample_id", "stage", "source", "origin")  # kept beside the text in every format
MESSAGES = pa.list_(MESSAGE)
FORMAT_ROWS = 2_048  # rows turned into Python objects at once (R1-size rows: ~30 MB of text)


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


def _text_columns(batch: pa.RecordBatch, fmt: str, system_prompt: str | None) -> dict[str, pa.Array]:
    rows = batch.select(["prompt", "reasoning", "answer_text", "final_answer", "completion"]).to_pylist()
    prompts = [prompt_messages(r["prompt"], system_prompt) for r in rows]
    answers = [[{"role": "assistant", "content": assistant_text(r)}] for r in rows]
    if fmt == "messages":
        return {"messages": pa.array([p + a for p, a in zip(prompts, answers)], type=MESSAGES)}
    return {"prompt": pa.array(prompts, type=MESSAGES), "completion": pa.array(answers, type=MESSAGES)}


def has_teacher(table: pa.Table) -> bool:
    """Whether the rows carry the teacher's tokens and top-k (sampling.logprobs), exported beside the text."""
    return "topk_ids" in table.column_names and table.column("topk_ids").null_count < table.num_rows


def format_rows(table: pa.Table, fmt: str, system_prompt: str | None = None, teacher: bool | None = None) -> pa.Table:
    """``table`` (sft columns plus ``origin``) in the export format ``fmt``. The text is turned into
    Python ``FORMAT_ROWS`` rows at a time, so long rows never sit in memory as Python strings all at once.
    ``teacher``: whether to add the teacher's columns (default: when ``table`` has them), so that
    slices of one export all get the same columns."""
    if fmt == "raw":
        return table.replace_schema_metadata(None)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    pieces = [_text_columns(b, fmt, system_prompt) for b in table.to_batches(max_chunksize=FORMAT_ROWS)]
    names = ["messages"] if fmt == "messages" else ["prompt", "completion"]
    # one chunk per column, as one whole-table conversion gave: Parquet pages break at chunks, and the
    # exported bytes stay the same
    text = {n: pa.concat_arrays([p.pop(n) for p in pieces]) if pieces else pa.array([], MESSAGES) for n in names}
    keys = {k: table.column(k) for k in KEYS}
    if has_teacher(table) if teacher is None else teacher:  # for logit distillation: compact ids + values
        keys.update({f"teacher_{c}": table.column(c) for c in ("token_ids", "topk_ids", "topk_logprobs")})
    return pa.table({**text, **keys})


def assistant_lengths(table: pa.Table) -> list[int]:
    """Characters of each row's assistant text, ``FORMAT_ROWS`` rows at a time."""
    columns = ["reasoning", "answer_text", "final_answer", "completion"]
    return [
        len(assistant_text(r))
        for b in table.select(columns).to_batches(max_chunksize=FORMAT_ROWS)
        for r in b.to_pylist()
    ]
