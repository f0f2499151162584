"""Decontamination: drop rows whose problem shares a word n-gram with an evaluation set.

Like open-r1's ``decontaminate.py``: text is lowercased and its whitespace collapsed, then split
into words; a row is contaminated when one of its word n-grams (default 8) appears in an evaluation
problem. An evaluation problem shorter than n words has no n-gram; it counts when all its words
appear in a row's text in a row (open-r1 never flags those).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from warehouse import lineage
from warehouse.export.errors import ExportError

TEXT_FIELDS = ("problem", "question", "prompt", "instruction", "input", "query", "text")
REASON = "contaminated:"  # drop reason prefix; the evaluation set's name follows


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def word_grams(words: list[str], n: int) -> set[str]:
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def _text(value: Any) -> str | None:
    """Problem text of an evaluation row's field: a string, or the user turns of a chat."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return "\n".join(str(m.get("content", "")) for m in value if m.get("role", "user") == "user")
    return None


@dataclass
class EvalSet:
    name: str
    path: str  # as the user gave it
    fingerprint: str
    text_field: str | None = None  # the column holding the problem text
    texts: int = 0
    unreadable: int = 0  # rows that could not be decoded or had no text
    grams: set[str] = field(default_factory=set, repr=False)  # n-grams of its problems
    shorts: set[str] = field(default_factory=set, repr=False)  # whole problems shorter than n words
    short_lengths: set[int] = field(default_factory=set, repr=False)
    rows_dropped: int = 0

    def add(self, text: str, n: int) -> None:
        words = normalize(text).split()
        if len(words) >= n:
            self.grams |= word_grams(words, n)
        elif words:
            self.shorts.add(" ".join(words))
            self.short_lengths.add(len(words))

    def overlaps(self, words: list[str], grams: set[str]) -> bool:
        if not grams.isdisjoint(self.grams):
            return True
        return any(not word_grams(words, k).isdisjoint(self.shorts) for k in self.short_lengths)

    def report(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "fingerprint": self.fingerprint, "field": self.text_field,
                "texts": self.texts, "unreadable": self.unreadable, "rows_dropped": self.rows_dropped}


def _rows(path: Path):
    from warehouse.sources import readers
    from warehouse.sources.ingest import READERS

    if path.is_dir():
        return readers.read_datasets(readers.load_from_disk(path))
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ExportError(f"evaluation set {path}: unknown file type {path.suffix!r} (use {', '.join(READERS)} "
                          "or a save_to_disk folder)")
    return reader(path)


def load_eval_set(path: str, n: int) -> EvalSet:
    """Read an evaluation set (JSONL, JSON, CSV, Parquet or a ``datasets`` folder) into n-grams."""
    local = Path(path).expanduser()
    if not local.exists():
        raise ExportError(f"evaluation set {path!r} not found: give a local file or a save_to_disk folder")
    name = local.name if local.is_dir() else local.stem
    found = EvalSet(name=name, path=path, fingerprint=lineage.file_fingerprint(local))
    columns: set[str] = set()
    for row in _rows(local):
        data = row.data or {}
        columns.update(data)
        if found.text_field is None:
            found.text_field = next((f for f in TEXT_FIELDS if _text(data.get(f)) is not None), None)
        text = _text(data.get(found.text_field)) if found.text_field else None
        if text is None:
            found.unreadable += 1
            continue
        found.texts += 1
        found.add(text, n)
    if not found.texts:
        raise ExportError(f"evaluation set {path!r} has no problem text: expected one of the fields "
                          f"{', '.join(TEXT_FIELDS)} (found: {', '.join(sorted(columns)) or 'no rows'})")
    return found


def problem_text(prompt: list[dict[str, str]]) -> str:
    """What is compared for an sft row: the user turns of its hint-free prompt."""
    return "\n".join(m["content"] for m in prompt if m["role"] == "user")


def decontaminate(table: pa.Table, eval_sets: list[EvalSet], n: int) -> tuple[pa.Table, dict[str, int]]:
    """Rows of ``table`` that overlap no evaluation set, and the drops per reason.

    A row overlapping several sets is dropped once, under the first set given.
    """
    if not eval_sets:
        return table, {}
    keep, drops = [], {}
    for prompt in table.column("prompt").to_pylist():
        words = normalize(problem_text(prompt)).split()
        grams = word_grams(words, n)
        hit = next((s for s in eval_sets if s.overlaps(words, grams)), None)
        keep.append(hit is None)
        if hit is not None:
            hit.rows_dropped += 1
            drops[REASON + hit.name] = drops.get(REASON + hit.name, 0) + 1
    return table.filter(pa.array(keep, pa.bool_())), drops
