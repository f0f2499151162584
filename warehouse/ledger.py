"""The durable ledger of a run: finished generation shards, keyed by the content hash of their requests.

Each finished shard is one Parquet file written through a temporary name and renamed, so after a
``kill -9`` a shard is either wholly in the ledger or not at all: a rerun redoes at most the shards
that were in flight. Failed shards are recorded with their error. The ledger is a cache, not data:
a shard that can't be read back (truncated, swapped, not Parquet) is removed with a warning and
generated again, never failed forever.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import SampleRecord

RUNS = "_runs"


class LedgerWarning(UserWarning):
    """A ledger shard was unreadable and is dropped from the cache."""


class Ledger:
    def __init__(self, root: str | os.PathLike, run_key: str):
        self.run_key = run_key
        self.path = Path(root) / RUNS / run_key
        (self.path / "shards").mkdir(parents=True, exist_ok=True)
        (self.path / "failed").mkdir(parents=True, exist_ok=True)
        self._loaded: dict[str, list[SampleRecord]] = {}  # shards ``has`` read, until ``load`` takes them

    def _shard(self, key: str) -> Path:
        return self.path / "shards" / f"{key}.parquet"

    def has(self, key: str) -> bool:
        """Whether the shard is in the ledger and reads back whole; an unreadable one is removed."""
        path = self._shard(key)
        if not path.exists():
            return False
        try:
            table = pq.read_table(path)
            self._loaded[key] = [SampleRecord.from_row(row) for row in table.to_pylist()]
        except (OSError, pa.ArrowException, TypeError, ValueError, KeyError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.warn(f"ledger shard {path.name} of run {self.run_key} is unreadable ({reason}): removed, "
                          "it will be generated again", LedgerWarning, stacklevel=2)
            path.unlink(missing_ok=True)
            return False
        return True

    def load(self, key: str) -> list[SampleRecord]:
        samples = self._loaded.pop(key, None)
        if samples is None:
            if not self.has(key):
                raise KeyError(f"ledger shard {key} is not in run {self.run_key}")
            samples = self._loaded.pop(key)
        return samples

    def record(self, key: str, samples: list[SampleRecord]) -> None:
        """Store a finished shard durably (fsync, then an atomic rename)."""
        table = SampleRecord.to_table(samples) if samples else SampleRecord.arrow_schema().empty_table()
        final = self._shard(key)
        tmp = final.with_suffix(f".tmp-{os.getpid()}")
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        (self.path / "failed" / f"{key}.json").unlink(missing_ok=True)

    def fail(self, key: str, error: str, detail: dict) -> None:
        payload = json.dumps({"shard": key, "error": error, **detail}, sort_keys=True)
        (self.path / "failed" / f"{key}.json").write_text(payload)

    def failures(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.path / "failed").glob("*.json"))]

    def shard_count(self) -> int:
        return len(list((self.path / "shards").glob("*.parquet")))

    def write_state(self, name: str, data: dict) -> None:
        """Small JSON state next to the ledger (e.g. what a partial publish needs)."""
        tmp = self.path / f"{name}.json.tmp"
        tmp.write_text(json.dumps(data, sort_keys=True, indent=1))
        os.replace(tmp, self.path / f"{name}.json")
