"""Outside chat data (``starmill ingest FILE|FOLDER|HUB_ID --kind sft``) as an ``sft`` version that
``export --mix`` blends.

A row is one of three shapes: chat ``messages`` [{role, content}], ``prompt``/``completion`` (text or
message lists), or ShareGPT ``conversations`` [{from, value}]. The last turn is the completion and must
be the assistant's; the turns before it, with at least one user turn, are the prompt. A row that can't
be read so is a reject with its reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starmill.schemas import RejectRecord, SftRecord, content_hash
from starmill.schemas.sources import SourceSpec
from starmill.warehouse import lineage
from starmill.warehouse.manifest import Manifest, SourceEntry
from starmill.warehouse.sources import readers
from starmill.warehouse.sources.ingest import READERS, _raw, check_source, looks_local, write_rows
from starmill.warehouse.sources.limits import row_problem
from starmill.warehouse.sources.readers import RawRow, SourceError

STAGE = "ingested"  # the stage of rows from outside: no STaR stage made them
PASS_RATE = 1.0  # outside rows are taken whole, as if every attempt passed (export --difficulty-band sees 1.0)
MAX_CHARS = 200_000  # longest conversation in characters; longer rows are rejected as too_long
ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}


class Reject(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _turns(items: Any, field: str, role_key: str, text_key: str, roles: dict[str, str]) -> list[dict[str, str]]:
    if not isinstance(items, list) or not items:
        raise Reject("wrong_type", f"field {field!r} must be a non-empty list of turns")
    out = []
    for i, turn in enumerate(items):
        if not isinstance(turn, dict):
            raise Reject("wrong_type", f"{field}[{i}] is {type(turn).__name__}, not an object")
        role, text = turn.get(role_key), turn.get(text_key)
        if role not in roles:
            raise Reject("bad_role", f"{field}[{i}].{role_key} is {role!r} (use one of {', '.join(sorted(roles))})")
        if not isinstance(text, str):
            raise Reject("wrong_type", f"{field}[{i}].{text_key} is {type(text).__name__}, not text")
        if not text.strip():
            raise Reject("empty_content", f"{field}[{i}] ({roles[role]}) has empty {text_key}")
        out.append({"role": roles[role], "content": text})
    return out


def _side(value: Any, field: str, role: str) -> list[dict[str, str]]:
    """A prompt or completion: text (one turn of ``role``) or a list of chat messages."""
    if isinstance(value, str):
        if not value.strip():
            raise Reject("empty_content", f"field {field!r} is empty")
        return [{"role": role, "content": value}]
    return _turns(value, field, "role", "content", {r: r for r in ROLES})


def conversation(data: dict[str, Any]) -> list[dict[str, str]]:
    """The row's turns as chat messages; raises ``Reject``."""
    if "messages" in data:
        return _turns(data["messages"], "messages", "role", "content", {r: r for r in ROLES})
    if "conversations" in data:
        return _turns(data["conversations"], "conversations", "from", "value", SHAREGPT_ROLES)
    if "prompt" in data and "completion" in data:
        return _side(data["prompt"], "prompt", "user") + _side(data["completion"], "completion", "assistant")
    raise Reject("unknown_shape", "a row needs 'messages', 'conversations', or 'prompt' and 'completion'")


def convert(row: RawRow, source: str, model: str, max_chars: int = MAX_CHARS) -> SftRecord | RejectRecord:
    """One row to an sft record, or to a reject with its reason."""
    if row.error is not None:
        return RejectRecord(source, row.index, row.error[0], row.error[1], row.raw)
    data = row.data or {}
    problem = row_problem(data)
    try:
        if problem is not None:
            raise Reject(*problem)
        turns = conversation(data)
        if not any(t["role"] == "assistant" for t in turns):
            raise Reject("no_assistant_turn", "no assistant turn to learn from")
        if turns[-1]["role"] != "assistant":
            raise Reject("last_turn_not_assistant", f"the last turn is the {turns[-1]['role']}'s, not the assistant's")
        prompt, completion = turns[:-1], turns[-1]["content"]
        if not any(t["role"] == "user" for t in prompt):
            raise Reject("no_user_turn", "no user turn before the last assistant turn")
        size = sum(len(t["content"]) for t in turns)
        if size > max_chars:
            raise Reject("too_long", f"the conversation has {size} characters (--max-chars {max_chars})")
    except Reject as exc:
        return RejectRecord(source, row.index, exc.reason, exc.detail, _raw(data))
    problem_id = content_hash("chat-prompt", source, prompt)
    return SftRecord(
        sample_id=content_hash("chat-row", problem_id, completion),
        problem_id=problem_id,
        source=source,
        stage=STAGE,
        iteration=0,
        prompt=prompt,
        completion=completion,
        reasoning=None,
        answer_text=None,
        final_answer="",
        gold_answer="",
        pseudo_label=False,
        pass_rate=PASS_RATE,
        model=model,
    )


def iter_chat(
    path: Path, source: str, model: str, limit: int | None = None, max_chars: int = MAX_CHARS
) -> Iterator[SftRecord | RejectRecord]:
    return chat_records(READERS[path.suffix.lower()](path), source, model, limit, max_chars)


def chat_records(
    rows: Iterator[RawRow], source: str, model: str, limit: int | None = None, max_chars: int = MAX_CHARS
) -> Iterator[SftRecord | RejectRecord]:
    seen: set[str] = set()
    for count, row in enumerate(rows):
        if limit is not None and count >= limit:
            return
        record = convert(row, source, model, max_chars)
        if isinstance(record, SftRecord):
            if record.sample_id in seen:
                record = RejectRecord(
                    source, row.index, "duplicate", "same prompt and completion as an earlier row", _raw(row.data or {})
                )
            else:
                seen.add(record.sample_id)
        yield record


def _chat_rows(
    uri: str, source: str | None, license: str | None, hub_config: str | None, split: str | None, revision: str | None
) -> tuple[Iterator[RawRow], SourceEntry, dict[str, Any]]:
    """The rows of a local file, a ``save_to_disk`` folder or a Hub dataset id, its source entry and
    where it came from (for the manifest's config)."""
    check_source(SourceSpec(uri=uri))
    path = Path(uri).expanduser()
    if path.is_file():
        if path.suffix.lower() not in READERS:
            raise SourceError(f"{uri}: --kind sft reads {', '.join(READERS)} files, a save_to_disk folder or a Hub id")
        entry = SourceEntry(
            name=source or path.stem,
            uri=f"<local>/{path.name}",
            fingerprint=lineage.file_fingerprint(path),
            license=license,
        )
        return READERS[path.suffix.lower()](path), entry, {"file": path.name}
    if path.is_dir():
        entry = SourceEntry(
            name=source or path.name,
            uri=f"<local>/{path.name}",
            fingerprint=lineage.file_fingerprint(path),
            license=license,
        )
        return readers.read_datasets(readers.load_from_disk(path)), entry, {"folder": path.name}
    if looks_local(uri):
        raise SourceError(f"{uri}: --kind sft reads a local file, a save_to_disk folder or a Hub id")
    dataset_id = uri.removeprefix("hf://")
    ds = readers.load_hub(dataset_id, hub_config, split, revision)
    hub = {k: v for k, v in (("revision", revision), ("hub_config", hub_config), ("split", split)) if v is not None}
    entry = SourceEntry(
        name=source or dataset_id,
        uri=f"hf://{dataset_id}",
        fingerprint=readers.hub_fingerprint(ds, revision),
        license=license,
        **hub,
    )
    return readers.read_datasets(ds), entry, {"hub": dataset_id, **hub}


def ingest_chat(
    warehouse,
    uri: str,
    name: str,
    *,
    source: str | None = None,
    license: str | None = None,
    model: str | None = None,
    limit: int | None = None,
    max_chars: int = MAX_CHARS,
    hub_config: str | None = None,
    split: str | None = "train",
    revision: str | None = None,
) -> Manifest:
    """Write chat rows (a local file, a ``save_to_disk`` folder or a Hub dataset id) as a new version of the
    sft dataset ``name``, bad rows to its rejects table. The manifest records the source's fingerprint (a
    Hub id: ``hf://ID``, its revision, config and split), its license and the settings; a source with no
    usable row commits nothing (a SourceError names the reject reasons)."""
    rows, entry, where = _chat_rows(uri, source, license, hub_config, split, revision)
    source, model = entry.name, model or "outside"
    config = {
        "kind": "sft",
        "source": {"name": source, **where, "license": license, "model": model, "limit": limit, "max_chars": max_chars},
    }
    writer = warehouse.writer(name, "sft", config=config, sources=[entry])
    with writer:
        read = write_rows(writer, chat_records(rows, source, model, limit, max_chars), SftRecord)
        rejected = sum(writer.drops.values())
        if read == rejected:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(writer.drops.items(), key=lambda kv: -kv[1]))
            raise SourceError(
                f"{uri} holds no usable rows"
                + (f": all {read} were rejected ({reasons})" if read else " (no rows read)")
            )
        writer.count("read", read)
        writer.count("kept", read - rejected)
        writer.count("rejects", rejected)
    return warehouse.manifest(f"{name}@v{writer.version}")
