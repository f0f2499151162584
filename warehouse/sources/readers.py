"""Readers for problem files: JSONL, JSON, CSV, Parquet, `datasets` folders and Hub ids.

Each yields ``RawRow``s in source order; a row that cannot be decoded comes out with an error
instead of a dict, so the caller records it as a reject and nothing vanishes.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starmill.schemas.errors import StarmillError
from starmill.warehouse.sources import limits

RAW_LIMIT = 4096  # characters of an offending row kept in ``rejects.raw``


class SourceError(StarmillError):
    pass


@dataclass(frozen=True)
class RawRow:
    index: int  # 1-based line number for text files, 0-based row number for tables
    data: dict[str, Any] | None
    error: tuple[str, str] | None = None  # (reason, detail) when the row could not be decoded
    raw: str = ""


def read_jsonl(path: Path) -> Iterator[RawRow]:
    check_text(path, "JSON Lines")
    return _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Iterator[RawRow]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRow(number, None, ("undecodable", f"not UTF-8: {exc.reason}"), _raw_bytes(line))
                continue
            try:
                data = limits.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRow(number, None, ("bad_json", f"invalid JSON: {exc.msg}"), text[:RAW_LIMIT])
                continue
            except RecursionError:
                yield RawRow(
                    number, None, ("too_deep", f"nested more than {limits.MAX_DEPTH} levels"), text[:RAW_LIMIT]
                )
                continue
            if not isinstance(data, dict):
                yield RawRow(number, None, ("not_an_object", "a line must hold a JSON object"), text[:RAW_LIMIT])
                continue
            yield RawRow(number, data)


def read_json(path: Path) -> Iterator[RawRow]:
    check_text(path, "JSON")
    try:
        data = limits.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path} is not a valid JSON file ({exc}); for one object per line use .jsonl") from None
    except RecursionError:
        raise SourceError(f"{path}: nested too deeply to read (use .jsonl, one object per line)") from None
    if isinstance(data, dict):  # {"data": [...]} or {"rows": [...]}
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON list of objects")
    return _json_rows(data)


def _json_rows(data: list) -> Iterator[RawRow]:
    for index, item in enumerate(data):
        if isinstance(item, dict):
            yield RawRow(index, item)
        else:
            yield RawRow(
                index, None, ("not_an_object", "a row must be a JSON object"), json.dumps(item, default=str)[:RAW_LIMIT]
            )


def read_csv(path: Path) -> Iterator[RawRow]:
    check_text(path, "CSV")
    return _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[RawRow]:
    # surrogateescape keeps undecodable bytes visible so the row can be rejected, not mangled
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.DictReader(handle)
        try:
            if not reader.fieldnames:
                return
        except csv.Error as exc:
            raise SourceError(f"{path}: unreadable CSV header ({exc})") from None
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over csv's limit (128 KiB) or a broken quote: this row only
                reason = "field_too_large" if "field limit" in str(exc) else "malformed_row"
                yield RawRow(reader.reader.line_num, None, (reason, f"CSV: {exc}"), "")
                continue
            number = reader.line_num
            extra, values = row.pop(None, None), list(row.values())
            if extra is not None or any(v is None for v in values):
                yield RawRow(number, None, ("malformed_row", "wrong number of fields"), _raw_row(row, extra))
            elif any(_has_surrogates(v) for v in values):
                yield RawRow(number, None, ("undecodable", "not UTF-8"), _raw_row(row, None))
            else:
                yield RawRow(number, row)


def read_parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path} is not a readable Parquet file ({_first_line(exc)})") from None
    return _parquet_rows(file, path)


def _parquet_rows(file, path: Path) -> Iterator[RawRow]:
    import pyarrow as pa

    index = 0
    try:
        for batch in file.iter_batches(batch_size=8192):
            for row in batch.to_pylist():
                yield RawRow(index, row)
                index += 1
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path} is damaged after row {index} ({_first_line(exc)})") from None


def read_datasets(obj: Any) -> Iterator[RawRow]:
    """Rows of a ``datasets.Dataset`` (or every split of a ``DatasetDict``, split column added)."""
    from datasets import DatasetDict

    splits = obj.items() if isinstance(obj, DatasetDict) else [(None, obj)]
    index = 0
    for split, ds in splits:
        for row in ds:
            if split is not None:
                row = {**row, "__split__": split}
            yield RawRow(index, row)
            index += 1


def load_from_disk(path: Path):
    from datasets import load_from_disk as _load

    try:
        return _load(str(path))
    except Exception as exc:  # datasets raises several kinds for a folder it did not write
        raise SourceError(f"{path} is not a folder saved with datasets' save_to_disk: {exc}") from None


def load_hub(dataset_id: str, config: str | None, split: str | None, revision: str | None):
    from datasets import load_dataset

    try:
        return load_dataset(dataset_id, config, split=split, revision=revision)
    except Exception as exc:  # network, auth and missing-dataset errors all end here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(
            f"could not load {dataset_id!r} from the Hugging Face Hub ({first}). Check the id and your "
            "network or HF_TOKEN, or save the dataset locally and ingest the file or folder"
        ) from None


def hub_fingerprint(ds: Any, revision: str | None) -> str | None:
    """A Hub dataset's identity: the commit its revision names (40 hex digits), else the fingerprint
    ``datasets`` gives the loaded data (a hash of its cache folder, which holds the dataset's commit),
    so a new commit of the dataset is a new fingerprint and the same one is the same."""
    if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        return f"hf-revision:{revision}"
    if hasattr(ds, "_fingerprint"):
        return f"hf:{ds._fingerprint}"
    parts = sorted((split, getattr(d, "_fingerprint", None)) for split, d in getattr(ds, "items", dict)())
    if not parts or any(fp is None for _, fp in parts):
        return None
    from starmill.schemas import content_hash

    return f"hf:{content_hash(parts)}"


def check_text(path: Path, kind: str) -> None:
    """Refuse a file that is not text at all (random bytes, UTF-16) before reading any row."""
    if limits.looks_binary(path):
        raise SourceError(
            f"{path} is not a UTF-8 {kind} file (it holds binary data); check the file, or save it as UTF-8 text"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _raw_bytes(line: bytes) -> str:
    return line.decode("utf-8", errors="backslashreplace")[:RAW_LIMIT]


def _raw_row(row: dict, extra: Any) -> str:
    data = {k: v for k, v in row.items()}
    if extra is not None:
        data["__extra__"] = extra
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")[:RAW_LIMIT]
