"""Turn a source into ``ProblemRecord``s and ``RejectRecord``s, and commit them as a version."""

from __future__ import annotations

import errno
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starmill.schemas import ProblemRecord, RejectRecord
from starmill.schemas.sources import CODE_PRESETS, MAX_CHARS, Preset, SourceSpec
from starmill.warehouse import lineage
from starmill.warehouse.manifest import Manifest, SourceEntry
from starmill.warehouse.sources import readers
from starmill.warehouse.sources.gold import gold_answer
from starmill.warehouse.sources.limits import row_problem
from starmill.warehouse.sources.readers import RAW_LIMIT, RawRow, SourceError

HUB_RE = re.compile(r"^(hf://)?[A-Za-z0-9][\w.-]*/[\w.-]+$")
READERS = {
    ".jsonl": readers.read_jsonl,
    ".ndjson": readers.read_jsonl,
    ".json": readers.read_json,
    ".csv": readers.read_csv,
    ".parquet": readers.read_parquet,
}
BUILT_IN = ("procedural", "procedural_code", "reasoning_gym", "humaneval")  # sources that are no file or Hub id
LOCAL_SUFFIXES = {*READERS, ".tsv", ".txt", ".arrow", ".gz", ".zip", ".xlsx", ".yaml", ".yml"}


def source_name(spec: SourceSpec) -> str:
    if spec.name:
        return spec.name
    if spec.uri in BUILT_IN:
        return spec.uri
    path = Path(spec.uri)
    return path.stem if path.exists() else spec.uri.removeprefix("hf://")


def looks_local(uri: str) -> bool:
    """A path, not a Hub id: it starts with ./ ../ / or ~, or ends in a data file's extension.
    (``hf://owner/name`` is always the Hub.)"""
    if uri.startswith("hf://"):
        return False
    return uri.startswith((".", "/", "~")) or Path(uri).suffix.lower() in LOCAL_SUFFIXES or not HUB_RE.match(uri)


def check_source(spec: SourceSpec) -> None:
    """A local source that can't be read, refused before anything runs; a Hub id is left to its loader."""
    uri = spec.uri
    if uri in BUILT_IN:
        return
    path = Path(uri).expanduser()
    if path.is_file():
        if path.suffix.lower() not in READERS:
            raise SourceError(f"{uri}: unknown file type {path.suffix!r} (use one of {', '.join(READERS)})")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise SourceError(f"source file {uri!r} can't be read: {exc.strerror or exc}") from None
    elif path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise SourceError(f"source folder {uri!r} can't be read: {os.strerror(errno.EACCES)}")
    elif path.exists():
        raise SourceError(f"source {uri!r} is not a regular file or folder")
    elif looks_local(uri):
        raise SourceError(
            f"source file {uri!r} not found (no such file or folder; for a Hub dataset write hf://OWNER/NAME)"
        )


def _rows(spec: SourceSpec) -> tuple[Iterator[RawRow], SourceEntry]:
    check_source(spec)
    name, uri = source_name(spec), spec.uri
    path = Path(uri).expanduser()
    if path.is_file():
        reader = READERS[path.suffix.lower()]
        return reader(path), SourceEntry(
            name=name, uri=str(path.resolve()), fingerprint=lineage.file_fingerprint(path), license=spec.license
        )
    if path.is_dir():
        ds = readers.load_from_disk(path)
        return readers.read_datasets(ds), SourceEntry(
            name=name, uri=str(path.resolve()), fingerprint=lineage.file_fingerprint(path), license=spec.license
        )
    dataset_id = uri.removeprefix("hf://")
    ds = readers.load_hub(dataset_id, spec.hub_config, spec.split, spec.revision)
    return readers.read_datasets(ds), SourceEntry(
        name=name,
        uri=f"hf://{dataset_id}",
        fingerprint=readers.hub_fingerprint(ds, spec.revision),
        license=spec.license,
    )


def _text(value: Any) -> str | None:
    """A question/answer value as text; None for types that are not text or numbers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _raw(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, default=str)[:RAW_LIMIT]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate shows as \\ud83d


def convert(
    row: RawRow, fields: Preset, source: str, split: str, require_answer: bool = True, max_chars: int = MAX_CHARS
) -> ProblemRecord | RejectRecord:
    """One source row to a problem, or to a reject with its reason."""
    if row.error is not None:
        return RejectRecord(source, row.index, row.error[0], row.error[1], row.raw)
    data = row.data or {}

    def reject(reason: str, detail: str) -> RejectRecord:
        return RejectRecord(source, row.index, reason, detail, _raw(data))

    problem = row_problem(data)
    if problem is not None:
        return reject(*problem)

    for field, what in ((fields.question_field, "question"), (fields.answer_field, "answer")):
        value = data.get(field)
        if what == "answer" and not require_answer and (value is None or value == ""):
            data = {**data, field: ""}
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            return reject(f"missing_{what}", f"field {field!r} is missing or empty")
        if _text(value) is None:
            return reject("wrong_type", f"field {field!r} holds {type(value).__name__}, not text")
    question = _text(data[fields.question_field]).strip()
    answer_raw = _text(data[fields.answer_field])
    for field, text in ((fields.question_field, question), (fields.answer_field, answer_raw)):
        if len(text) > max_chars:  # one huge prompt costs minutes and gigabytes, and fails its shard
            return reject("too_long", f"field {field!r} has {len(text)} characters (source.max_chars: {max_chars})")
    gold = gold_answer(answer_raw, fields.answer_format) if answer_raw else ""
    if gold is None:
        return reject("unparseable_gold", f"no {fields.answer_format} answer found in field {fields.answer_field!r}")
    solution = _text(data.get(fields.solution_field)) if fields.solution_field else None
    metadata = {k: data[k] for k in fields.metadata_fields if k in data}
    return ProblemRecord.make(
        source=source,
        question=question,
        gold_answer=gold,
        split=str(data.get("__split__") or split),
        gold_solution=solution,
        metadata=metadata,
    )


def convert_code(
    row: RawRow, preset: str, source: str, split: str, max_chars: int = MAX_CHARS
) -> ProblemRecord | RejectRecord:
    """One MBPP or APPS row (``warehouse.sources.code_presets``) to a code problem, or a reject with its reason."""
    from starmill.warehouse.sources.code_presets import BadRow, code_problem

    if row.error is not None:
        return RejectRecord(source, row.index, row.error[0], row.error[1], row.raw)
    data = row.data or {}
    problem = row_problem(data)
    if problem is not None:
        return RejectRecord(source, row.index, *problem, _raw(data))
    try:
        record = code_problem(data, preset, source, split)
    except BadRow as exc:
        return RejectRecord(source, row.index, exc.reason, str(exc), _raw(data))
    if len(record.question) > max_chars:
        return RejectRecord(
            source,
            row.index,
            "too_long",
            f"the question has {len(record.question)} characters (source.max_chars: {max_chars})",
            _raw(data),
        )
    return record


def iter_problems(spec: SourceSpec) -> tuple[Iterator[ProblemRecord | RejectRecord], SourceEntry]:
    """Problems and rejects of a source, in source order; duplicates and golds the primary verifier
    can never read become rejects."""
    records, entry = _iter_records(spec)
    return validate_golds(records, spec), entry


def validate_golds(
    records: Iterator[ProblemRecord | RejectRecord], spec: SourceSpec
) -> Iterator[ProblemRecord | RejectRecord]:
    """``unparseable_gold`` rejects for golds the ``math`` verifier can't read (it is the only verifier
    that can tell without a model output); off with ``keep_unparseable_gold`` or another primary."""
    if spec.keep_unparseable_gold or spec.verifier_specs()[0][0] != "math":
        yield from records
        return
    from starmill.filters.answers import unreadable_gold

    for index, record in enumerate(records):
        if isinstance(record, ProblemRecord) and record.gold_answer:
            why = unreadable_gold(record.gold_answer)
            if why is not None:
                record = RejectRecord(
                    record.source,
                    index,
                    "unparseable_gold",
                    f"the math verifier can't read gold {record.gold_answer[:80]!r} ({why}); "
                    "keep such rows with --keep-unparseable-gold or grade with another verifier",
                    _raw({"question": record.question[:2000], "gold_answer": record.gold_answer}),
                )
        yield record


def _iter_records(spec: SourceSpec) -> tuple[Iterator[ProblemRecord | RejectRecord], SourceEntry]:
    if spec.uri == "procedural":
        from starmill.generators.procedural import generate_problems

        p = spec.procedural
        entry = SourceEntry(
            name=source_name(spec), uri="procedural", fingerprint=_fingerprint(spec), license=spec.license
        )
        return generate_problems(p.n, seed=p.seed, difficulty=p.difficulty, split=spec.split), entry
    if spec.uri == "procedural_code":
        from starmill.generators.procedural_code import generate_problems as generate_code

        p = spec.procedural
        entry = SourceEntry(
            name=source_name(spec), uri="procedural_code", fingerprint=_fingerprint(spec), license=spec.license
        )
        return generate_code(p.n, seed=p.seed, difficulty=p.difficulty, split=spec.split), entry
    if spec.uri == "reasoning_gym":
        from starmill.warehouse.sources.gym import fingerprint, iter_gym

        entry = SourceEntry(
            name=source_name(spec),
            uri="reasoning_gym",
            fingerprint=fingerprint(spec.reasoning_gym),
            license=spec.license or "apache-2.0",
        )
        records = iter_gym(spec.reasoning_gym, source_name(spec), spec.split)
        if spec.limit is not None:
            import itertools

            records = itertools.islice(records, spec.limit)
        return records, entry
    if spec.uri == "humaneval":
        import itertools

        from starmill.warehouse.sources.humaneval import fingerprint, iter_humaneval

        entry = SourceEntry(
            name=source_name(spec), uri="humaneval", fingerprint=fingerprint(), license=spec.license or "mit"
        )
        return itertools.islice(iter_humaneval(source_name(spec), spec.split), spec.limit), entry
    rows, entry = _rows(spec)
    fields, name = spec.fields(), source_name(spec)

    def generate() -> Iterator[ProblemRecord | RejectRecord]:
        seen: set[str] = set()
        for count, row in enumerate(rows):
            if spec.limit is not None and count >= spec.limit:
                return
            if spec.preset in CODE_PRESETS:
                record = convert_code(row, spec.preset, name, spec.split, spec.max_chars)
            else:
                record = convert(row, fields, name, spec.split, spec.require_answer, spec.max_chars)
            if isinstance(record, ProblemRecord):
                if record.problem_id in seen:
                    record = RejectRecord(
                        name, row.index, "duplicate", "same question and answer as an earlier row", _raw(row.data or {})
                    )
                else:
                    seen.add(record.problem_id)
            yield record

    return generate(), entry


def write_rows(writer, records, kept: type) -> int:
    """Write ``records`` to an open writer — rows of type ``kept`` to its table, anything else to its
    ``rejects`` table with its reason counted as a drop — and return how many were read."""
    writer.write([], table="rejects")  # the rejects table exists even when empty
    read = 0
    for record in records:
        read += 1
        if isinstance(record, kept):
            writer.write([record])
        else:
            writer.write([record], table="rejects")
            writer.drop(record.reason)
    return read


def ingest(
    warehouse, spec: SourceSpec, name: str = "problems", need_problems: bool = False, decontaminator=None
) -> Manifest:
    """Write a source as a new version of the problems dataset ``name``, rejects included. With
    ``need_problems`` a source that yields none commits nothing: a SourceError names the reject reasons.
    With a ``Decontaminator`` (warehouse.export.decontaminate), a problem matching an evaluation set is a
    reject ``contaminated:<set>`` whose detail names the evaluation id, method and score, and a row of the
    version's ``contaminated`` table."""
    from starmill.warehouse.sources.overlap import decontamination_record, screened

    records, entry = iter_problems(spec)
    config: dict[str, Any] = {"source": spec.model_dump(mode="json")}
    listed: list = []
    if decontaminator is not None:
        config["decontamination"] = decontamination_record(decontaminator)
        records = screened(records, listed, decontaminator)
    writer = warehouse.writer(name, "problems", config=config, sources=[entry])
    with writer:
        read = write_rows(writer, records, ProblemRecord)
        if decontaminator is not None:
            writer.write(listed, table="contaminated")
        if need_problems and read == sum(writer.drops.values()):
            raise SourceError(no_problems_message(spec, read, writer.drops))
        writer.count("read", read)
        writer.count("problems", read - sum(writer.drops.values()))
        writer.count("rejects", sum(writer.drops.values()))
    return warehouse.manifest(f"{name}@v{writer.version}")


def no_problems_message(spec: SourceSpec, read: int, drops: dict[str, int]) -> str:
    """Why a source gave no problems: the rows read and the reject reasons, with a hint at the preset."""
    if not read:
        return f"{spec.uri} holds no problems (no rows read)"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(drops.items(), key=lambda kv: -kv[1]))
    hint = ""
    if spec.preset == "plain" and (
        "unparseable_gold" in drops or "missing_question" in drops or "missing_answer" in drops
    ):
        hint = " (is it GSM8K or MATH? give --preset gsm8k or --preset math)"
    return f"{spec.uri} holds no problems: all {read} rows were rejected ({reasons}){hint}"


def ensure_problems(
    warehouse, spec: SourceSpec, name: str = "problems", need_problems: bool = False, cleaner=None
) -> tuple[str, list[ProblemRecord]]:
    """The problems of ``spec``: the latest version of ``name`` when it was made from the same source
    (same settings and fingerprint) and decontaminated alike (``cleaner``: a ``Decontaminator``), else a
    newly ingested version. Returns ("name@vN", problems)."""
    from starmill.warehouse.sources.overlap import decontamination_record

    source = spec.model_dump(mode="json")
    screen = decontamination_record(cleaner) if cleaner is not None else None
    if warehouse.versions(name):
        ref = warehouse.resolve(name)
        manifest = warehouse.manifest(ref)
        if (
            manifest.table == "problems"
            and manifest.config.get("source") == source
            and manifest.sources
            and manifest.config.get("decontamination") == screen
        ):
            previous = manifest.sources[0].fingerprint
            if previous == _fingerprint(spec):
                return str(ref), [ProblemRecord.from_row(r) for r in warehouse.read(ref).to_pylist()]
    manifest = ingest(warehouse, spec, name, need_problems=need_problems, decontaminator=cleaner)
    ref = f"{name}@v{manifest.version}"
    return ref, [ProblemRecord.from_row(r) for r in warehouse.read(ref).to_pylist()]


def _fingerprint(spec: SourceSpec) -> str | None:
    if spec.uri == "procedural":
        p = spec.procedural
        return f"procedural:n={p.n},seed={p.seed},difficulty={p.difficulty}"
    if spec.uri == "procedural_code":
        p = spec.procedural
        return f"procedural_code:n={p.n},seed={p.seed},difficulty={p.difficulty}"
    if spec.uri == "reasoning_gym":
        from starmill.warehouse.sources.gym import fingerprint

        return fingerprint(spec.reasoning_gym)
    if spec.uri == "humaneval":
        from starmill.warehouse.sources.humaneval import fingerprint

        return fingerprint()
    path = Path(spec.uri).expanduser()
    if path.exists():
        return lineage.file_fingerprint(path)
    if looks_local(spec.uri):
        return None
    ds = readers.load_hub(spec.uri.removeprefix("hf://"), spec.hub_config, spec.split, spec.revision)
    return readers.hub_fingerprint(ds, spec.revision)  # as ingest recorded it: the same data, the same version
