"""The durable ledger of a run: finished generation shards, keyed by the content hash of their requests.

Each finished shard is one Parquet file under ``<warehouse>/_runs/<run>/shards/``, written whole or
not at all (locally a fsynced temporary file renamed over it, on an object store one PUT), so after a
``kill -9`` a shard is either wholly in the ledger or not at all: a rerun redoes at most the shards
that were in flight. Failed shards are recorded with their error. The ledger is a cache, not data:
a shard that can't be read back (truncated, swapped, not Parquet) is removed with a warning and
generated again, never failed forever. ``path`` is a local folder for the run's scratch files (an
iteration's model): the run folder itself on a local warehouse, a cache folder for a store.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from starmill.schemas import SampleRecord, TreeRecord
from starmill.warehouse.storage import Storage, open_storage

RUNS = "_runs"
CACHE_ENV = "STARMILL_CACHE"  # local scratch of runs on a store (default ~/.cache/starmill)


class LedgerWarning(UserWarning):
    """A ledger shard was unreadable and is dropped from the cache."""


class Ledger:
    def __init__(self, root: str | os.PathLike, run_key: str, storage: Storage | None = None):
        self.run_key = run_key
        self.storage = storage or open_storage(str(root))
        self.folder = self.storage.path(RUNS, run_key)
        if self.storage.is_local:
            self.path = Path(self.folder)
        else:
            where = hashlib.sha256(self.storage.url.encode()).hexdigest()[:16]
            cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "starmill").expanduser()
            self.path = cache / "runs" / where / run_key
        self.path.mkdir(parents=True, exist_ok=True)
        for sub in ("shards", "failed"):
            self.storage.makedirs(f"{self.folder}/{sub}")
        self._loaded: dict[str, list[SampleRecord]] = {}  # shards ``has`` read, until ``load`` takes them

    def _shard(self, key: str) -> str:
        return f"{self.folder}/shards/{key}.parquet"

    def _failed(self, key: str) -> str:
        return f"{self.folder}/failed/{key}.json"

    def has(self, key: str) -> bool:
        """Whether the shard is in the ledger and reads back whole; an unreadable one is removed."""
        path = self._shard(key)
        try:
            data = self.storage.read_bytes(path)
        except FileNotFoundError:
            return False
        try:
            table = pq.read_table(pa.BufferReader(data))
            self._loaded[key] = [SampleRecord.from_row(row) for row in table.to_pylist()]
        except (OSError, pa.ArrowException, TypeError, ValueError, KeyError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warnings.warn(
                f"ledger shard {key}.parquet of run {self.run_key} is unreadable ({reason}): removed, "
                "it will be generated again",
                LedgerWarning,
                stacklevel=2,
            )
            self.storage.remove(path)
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
        """Store a finished shard durably, whole or not at all."""
        table = SampleRecord.to_table(samples) if samples else SampleRecord.arrow_schema().empty_table()
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        self.storage.write_bytes(self._shard(key), sink.getvalue().to_pybytes())
        self.storage.remove(self._failed(key))

    def record_tree(self, key: str, nodes: list[TreeRecord]) -> None:
        """A tree search's nodes of one shard, written before the shard itself, so a shard in the
        ledger has its tree (its recorded engine calls are cleared once the shard is in)."""
        sink = pa.BufferOutputStream()
        pq.write_table(TreeRecord.to_table(nodes), sink, compression="zstd")
        self.storage.write_bytes(f"{self.folder}/tree/{key}.parquet", sink.getvalue().to_pybytes())

    def load_tree(self, key: str) -> list[TreeRecord]:
        """The shard's tree rows; none for a shard no tree search made."""
        try:
            data = self.storage.read_bytes(f"{self.folder}/tree/{key}.parquet")
        except FileNotFoundError:
            return []
        return [TreeRecord.from_row(r) for r in pq.read_table(pa.BufferReader(data)).to_pylist()]

    def _call(self, shard: str, call: str) -> str:
        return f"{self.folder}/calls/{shard}/{call}.json"

    def load_call(self, shard: str, call: str) -> list | None:
        """One recorded engine call of an unfinished shard's search (``generators.strategies.replay``), or None."""
        try:
            return json.loads(self.storage.read_text(self._call(shard, call)))
        except FileNotFoundError:
            return None
        except ValueError:  # cut short or damaged: asked again
            return None

    def record_call(self, shard: str, call: str, results: list) -> None:
        self.storage.write_text(self._call(shard, call), json.dumps(results, sort_keys=True))

    def calls(self, shard: str) -> int:
        """Engine calls recorded for ``shard``'s unfinished search."""
        return len(self._names(f"calls/{shard}", ".json"))

    def clear_calls(self, shard: str) -> None:
        self.storage.remove_tree(f"{self.folder}/calls/{shard}")

    def load_batch(self, key: str) -> dict | None:
        """A Batch API call's ids (uploaded file, batch) recorded by an earlier run, or None."""
        try:
            return json.loads(self.storage.read_text(f"{self.folder}/batches/{key}.json"))
        except (FileNotFoundError, ValueError):
            return None

    def record_batch(self, key: str, data: dict) -> None:
        """Recorded as soon as the provider gives an id, so a rerun polls that batch, never makes another."""
        self.storage.write_text(f"{self.folder}/batches/{key}.json", json.dumps(data, sort_keys=True))

    def fail(self, key: str, error: str, detail: dict) -> None:
        payload = json.dumps({"shard": key, "error": error, **detail}, sort_keys=True)
        self.storage.write_text(self._failed(key), payload)

    def _names(self, sub: str, suffix: str) -> list[str]:
        return sorted(i.path for i in self.storage.listdir(f"{self.folder}/{sub}") if i.base_name.endswith(suffix))

    def failures(self) -> list[dict]:
        return [json.loads(self.storage.read_text(p)) for p in self._names("failed", ".json")]

    def shard_count(self) -> int:
        return len(self._names("shards", ".parquet"))

    def write_state(self, name: str, data: dict) -> None:
        """Small JSON state next to the ledger (e.g. what a partial publish needs)."""
        self.storage.write_text(f"{self.folder}/{name}.json", json.dumps(data, sort_keys=True, indent=1))
