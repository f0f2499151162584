"""What the viewer knows of the warehouse: every dataset's versions, manifests and health, and the
one confined read-only DuckDB session (``warehouse.sql.connect``) every page queries through.

The session is rebuilt when the listing of versions changes (looked at most every ``RECHECK``
seconds), so a version committed while the viewer runs shows up. One lock serialises the session:
a DuckDB cursor would not inherit the connection's ``python_enable_replacements = false``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starmill.warehouse import Warehouse
from starmill.warehouse.sql import Session, connect, query
from starmill.warehouse.sql_views import ident

RECHECK = 2.0  # seconds between two listings of the warehouse
CACHE_ENTRIES = 64  # results of expensive queries over immutable versions (diffs)
QUERY_SECONDS = 30.0  # a page's query running longer is stopped (the page says so)


class NotFound(Exception):
    """A dataset, version or problem that is not there: a 404 page with this message."""


@dataclass
class Dataset:
    name: str
    versions: list[int]
    manifests: dict[int, dict[str, Any]] = field(default_factory=dict)  # healthy versions' manifests (JSON)
    damaged: dict[int, str] = field(default_factory=dict)  # version -> why it is not served
    all_served: bool = True  # whether the NAME_all view exists (no damaged version)

    @property
    def latest(self) -> int:
        return self.versions[-1]

    @property
    def kind(self) -> str:
        """The table kind, from the newest healthy manifest."""
        return self.manifests[max(self.manifests)]["table"] if self.manifests else "?"

    @property
    def status(self) -> str:
        return "ok" if not self.damaged else "damaged: " + ", ".join(f"v{v}" for v in sorted(self.damaged))

    def view(self, version: int) -> tuple[str, dict[str, Any]]:
        """(FROM clause, its parameters) of one healthy version's main table."""
        if version in self.damaged:
            raise NotFound(f"{self.name}@v{version} is not served: {self.damaged[version]}")
        if version not in self.manifests:
            raise NotFound(f"dataset {self.name!r} has no version v{version}")
        if self.all_served:
            return f"{ident(self.name + '_all')} WHERE version = $version", {"version": version}
        if version == self.latest:
            return ident(self.name), {}
        raise NotFound(f"{self.name}@v{version} is not served: {self.name}_all is left out (damaged: {self.status})")


class Catalog:
    """The warehouse as the viewer sees it; ``query`` is the only way pages read data."""

    def __init__(self, warehouse: str | None = None, options: dict | None = None):
        self.wh = Warehouse(warehouse, options)
        self.root = self.wh.root
        self.lock = threading.RLock()
        self.session: Session | None = None
        self.datasets: dict[str, Dataset] = {}
        self.columns: dict[str, set[str]] = {}
        self.listing: list | None = None
        self.checked = 0.0
        self.cache: OrderedDict = OrderedDict()
        self.refresh()

    def _listing(self) -> list:
        return [(name, tuple(self.wh.versions(name))) for name in self.wh.datasets()]

    def refresh(self) -> None:
        """Rebuild the session and the dataset list when versions came or went."""
        with self.lock:
            if self.session is not None and time.monotonic() - self.checked < RECHECK:
                return
            listing = self._listing()
            self.checked = time.monotonic()
            if listing == self.listing and self.session is not None:
                return
            session = connect(self.wh, timeout=QUERY_SECONDS)
            datasets = {name: Dataset(name, list(versions)) for name, versions in listing}
            for health in session.damaged:
                found = datasets.setdefault(health.name, Dataset(health.name, health.versions))
                found.damaged = {v: str(e) for v, e in health.damaged.items()}
                found.all_served = False
            rows = query(
                session, "SELECT dataset, version, manifest FROM manifests ORDER BY dataset, version"
            ).to_pylist()
            for row in rows:
                if row["dataset"] in datasets:
                    datasets[row["dataset"]].manifests[row["version"]] = json.loads(row["manifest"])
            self.session, self.datasets, self.listing = session, datasets, listing
            self.columns.clear()
            self.cache.clear()

    def dataset(self, name: str) -> Dataset:
        self.refresh()
        if name not in self.datasets:
            raise NotFound(f"no dataset {name!r} in {self.root}")
        return self.datasets[name]

    def of_kind(self, kind: str) -> list[Dataset]:
        self.refresh()
        return [d for d in self.datasets.values() if d.manifests and d.kind == kind]

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of one read-only statement, parameters bound (never formatted into the SQL)."""
        with self.lock:
            self.refresh()
            return query(self.session, sql, params or None).to_pylist()

    def has_columns(self, view: str) -> set[str]:
        """The columns of a view (``NAME_all`` unions versions by name, so older schemas lack some)."""
        with self.lock:
            self.refresh()
            if view not in self.columns:
                rows = query(self.session, f"DESCRIBE SELECT * FROM {ident(view)}").to_pylist()
                self.columns[view] = {r["column_name"] for r in rows}
            return self.columns[view]

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per key and listing: what it reads is immutable versions."""
        with self.lock:
            self.refresh()
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            value = compute()
            self.cache[key] = value
            if len(self.cache) > CACHE_ENTRIES:
                self.cache.popitem(last=False)
            return value
