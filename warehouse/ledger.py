"""The durable ledger of a run: finished generation shards, keyed by the content hash of their requests.

Each finished shard is one Parquet file written through a temporary name and renamed, so after a
``kill -9`` a shard is either wholly in the ledger or not at all: a rerun redoes at most the shards
that were in flight. Failed shards are recorded with their error.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq

from schemas import SampleRecord

RUNS = "_runs"


class Ledger:
    def __init__(self, root: str | os.PathLike, run_key: str):
        self.run_key = run_key
        self.path = Path(root) / RUNS / run_key
        (self.path / "shards").mkdir(parents=True, exist_ok=True)
        (self.path / "failed").mkdir(parents=True, exist_ok=True)

    def _shard(self, key: str) -> Path:
        return self.path / "shards" / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return self._shard(key).exists()

    def load(self, key: str) -> list[SampleRecord]:
        table = pq.read_table(self._shard(key))
        return [SampleRecord.from_row(row) for row in table.to_pylist()]

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
