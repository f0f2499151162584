"""Decontamination: drop rows whose problem shares a word n-gram with an evaluation problem, or is a
near-duplicate of one (a paraphrase: ``near_duplicates``).

Like open-r1's ``decontaminate.py``: text is lowercased and its whitespace collapsed, then split
into words; a row is contaminated when one of its word n-grams (default 8) appears in an evaluation
problem. An evaluation problem shorter than n words has no n-gram; it counts when all its words
appear in a row's text in a row (open-r1 never flags those). With a near-duplicate threshold, a row
whose MinHash candidates include an evaluation problem it contains at that share (numbers kept) is
contaminated too. Every dropped row is listed (``contaminated.jsonl``) with the evaluation id it matched,
the method and the score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from starmill.warehouse import lineage
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.export.near_duplicates import PERMUTATIONS, NearIndex

TEXT_FIELDS = ("problem", "question", "prompt", "instruction", "input", "query", "text")
REASON = "contaminated:"  # drop reason prefix; the evaluation set's name follows
ID_FIELDS = ("id", "problem_id", "unique_id", "task_id", "question_id", "idx")  # an evaluation row's id, else #row
CONTAMINATED = "contaminated.jsonl"  # the export's list of dropped rows


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
    ids: list[str] = field(default_factory=list, repr=False)  # evaluation id of each text, in order
    gram_ids: dict[str, int] = field(default_factory=dict, repr=False)  # n-gram -> first text holding it
    near: NearIndex | None = field(default=None, repr=False)  # near-duplicate index, when asked for
    by_method: dict[str, int] = field(default_factory=dict)

    def add(self, text: str, n: int, eval_id: str | None = None) -> None:
        index = len(self.ids)
        self.ids.append(eval_id if eval_id is not None else f"#{index}")
        words = normalize(text).split()
        if len(words) >= n:
            grams = word_grams(words, n)
            self.grams |= grams
            for gram in grams:
                self.gram_ids.setdefault(gram, index)
        elif words:
            self.shorts.add(" ".join(words))
            self.short_lengths.add(len(words))
            self.gram_ids.setdefault(" ".join(words), index)
        if self.near is not None:
            self.near.add(text)

    def overlaps(self, words: list[str], grams: set[str]) -> bool:
        if not grams.isdisjoint(self.grams):
            return True
        return any(not word_grams(words, k).isdisjoint(self.shorts) for k in self.short_lengths)

    def match(self, text: str, n: int) -> dict[str, Any] | None:
        """The evaluation problem a row's text copies (n-gram) or paraphrases (near-duplicate), or None.

        n-gram score: the share of the row's n-grams found in the set."""
        words = normalize(text).split()
        grams = word_grams(words, n)
        shared = sorted(grams & self.grams)
        if not shared:
            shared = sorted(g for k in self.short_lengths for g in word_grams(words, k) & self.shorts)
        if shared:
            return {
                "method": "ngram",
                "eval_id": self.ids[self.gram_ids[shared[0]]],
                "score": round(len(shared) / max(1, len(grams)), 4),
                "matched": shared[0],
            }
        found = self.near.best(text) if self.near is not None else None
        if found is not None:
            return {"method": "minhash", "eval_id": self.ids[found[0]], "score": round(found[1], 4)}
        return None

    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "field": self.text_field,
            "texts": self.texts,
            "unreadable": self.unreadable,
            "rows_dropped": self.rows_dropped,
            "by_method": dict(sorted(self.by_method.items())),
            "near_duplicate_threshold": self.near.threshold if self.near is not None else None,
        }


def _rows(path: Path):
    from starmill.warehouse.sources import readers
    from starmill.warehouse.sources.ingest import READERS

    if path.is_dir():
        return readers.read_datasets(readers.load_from_disk(path))
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ExportError(
            f"evaluation set {path}: unknown file type {path.suffix!r} (use {', '.join(READERS)} "
            "or a save_to_disk folder)"
        )
    return reader(path)


def _eval_id(data: dict[str, Any]) -> str | None:
    value = next((data[f] for f in ID_FIELDS if isinstance(data.get(f), (str, int))), None)
    return None if value is None else str(value)


def load_eval_set(path: str, n: int, near_threshold: float | None = None, num_perm: int = PERMUTATIONS) -> EvalSet:
    """Read an evaluation set (JSONL, JSON, CSV, Parquet or a ``datasets`` folder) into n-grams, and a
    near-duplicate index when ``near_threshold`` is given."""
    local = Path(path).expanduser()
    if not local.exists():
        raise ExportError(f"evaluation set {path!r} not found: give a local file or a save_to_disk folder")
    name = local.name if local.is_dir() else local.stem
    found = EvalSet(name=name, path=path, fingerprint=lineage.file_fingerprint(local))
    if near_threshold is not None:
        if not 0 < near_threshold <= 1:
            raise ExportError(f"the near-duplicate threshold must be in (0, 1], got {near_threshold}")
        found.near = NearIndex(threshold=near_threshold, num_perm=num_perm)
    columns: set[str] = set()
    for number, row in enumerate(_rows(local)):
        data = row.data or {}
        columns.update(data)
        if found.text_field is None:
            found.text_field = next((f for f in TEXT_FIELDS if _text(data.get(f)) is not None), None)
        text = _text(data.get(found.text_field)) if found.text_field else None
        if text is None:
            found.unreadable += 1
            continue
        found.texts += 1
        eval_id = _eval_id(data)
        found.add(text, n, eval_id if eval_id is not None else f"#{number}")
    if not found.texts:
        raise ExportError(
            f"evaluation set {path!r} has no problem text: expected one of the fields "
            f"{', '.join(TEXT_FIELDS)} (found: {', '.join(sorted(columns)) or 'no rows'})"
        )
    return found


def problem_text(prompt: list[dict[str, str]]) -> str:
    """What is compared for an sft row: the user turns of its hint-free prompt."""
    return "\n".join(m["content"] for m in prompt if m["role"] == "user")


def decontaminate(
    table: pa.Table, eval_sets: list[EvalSet], n: int, listed: list[dict[str, Any]] | None = None
) -> tuple[pa.Table, dict[str, int]]:
    """Rows of ``table`` that match no evaluation set, and the drops per reason; each dropped row is
    appended to ``listed`` (its ids, the set, the evaluation id, method and score).

    A row matching several sets is dropped once, under the first set given.
    """
    if not eval_sets:
        return table, {}
    keep, drops = [], {}
    ids = {c: table.column(c).to_pylist() for c in ("sample_id", "problem_id", "origin") if c in table.column_names}
    for i, prompt in enumerate(table.column("prompt").to_pylist()):
        text = problem_text(prompt)
        hit, found = None, None
        for s in eval_sets:
            found = s.match(text, n)
            if found is not None:
                hit = s
                break
        keep.append(hit is None)
        if hit is not None:
            hit.rows_dropped += 1
            hit.by_method[found["method"]] = hit.by_method.get(found["method"], 0) + 1
            drops[REASON + hit.name] = drops.get(REASON + hit.name, 0) + 1
            if listed is not None:
                listed.append({**{c: v[i] for c, v in ids.items()}, "eval_set": hit.name, **found})
    return table.filter(pa.array(keep, pa.bool_())), drops


def contaminated_lines(listed: list[dict[str, Any]]) -> str:
    """``contaminated.jsonl``: one dropped row a line, in a stable order."""
    rows = sorted(listed, key=lambda r: (r.get("problem_id") or "", r.get("sample_id") or "", r.get("origin") or ""))
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)


@dataclass
class Decontaminator:
    """Evaluation sets loaded once, applied to one table after another (an export's versions)."""

    eval_sets: list[EvalSet]
    ngram: int
    near_threshold: float | None = None
    listed: list[dict[str, Any]] = field(default_factory=list)
    num_perm: int = PERMUTATIONS

    @classmethod
    def load(
        cls, paths: list[str], ngram: int, near_threshold: float | None = None, num_perm: int = PERMUTATIONS
    ) -> Decontaminator:
        sets = [load_eval_set(p, ngram, near_threshold, num_perm) for p in paths]
        names = [s.name for s in sets]
        for i, s in enumerate(sets):  # two files named alike: number them, so drop reasons stay distinct
            if names.count(s.name) > 1:
                s.name = f"{s.name}-{names[: i + 1].count(s.name)}"
        return cls(sets, ngram, near_threshold, num_perm=num_perm)

    @classmethod
    def from_spec(cls, spec) -> Decontaminator:
        """From a run config's ``decontamination:`` (``schemas.contamination.DecontaminationSpec``)."""
        try:
            return cls.load(list(spec.eval_sets), spec.ngram, spec.near(), spec.num_perm)
        except ExportError as exc:
            raise ExportError(f"decontamination: {exc}") from None

    def apply(self, table: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
        """Rows of ``table`` kept, and the rows this call dropped (also kept in ``listed``)."""
        listed: list[dict[str, Any]] = []
        kept, _ = decontaminate(table, self.eval_sets, self.ngram, listed)
        self.listed += listed
        return kept, listed

    def find(self, text: str) -> tuple[EvalSet, dict[str, Any]] | None:
        """The first evaluation set a problem text matches and the match, counted on that set."""
        for s in self.eval_sets:
            found = s.match(text, self.ngram)
            if found is not None:
                s.rows_dropped += 1
                s.by_method[found["method"]] = s.by_method.get(found["method"], 0) + 1
                return s, found
        return None

    def method(self) -> dict[str, Any]:
        method = {
            "ngram": self.ngram,
            "near_duplicate_threshold": self.near_threshold,
            "near_duplicate": None
            if self.near_threshold is None
            else "MinHash LSH candidates (word 1- and 2-grams), containment score, numbers kept",
        }
        if self.num_perm != PERMUTATIONS:  # recorded when not the default, so older records compare equal
            method["num_perm"] = self.num_perm
        return method

    def report(self) -> dict[str, Any]:
        return {
            "method": self.method(),
            "eval_sets": [s.report() for s in self.eval_sets],
            "rows_dropped": len(self.listed),
        }
