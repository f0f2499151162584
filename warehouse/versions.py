"""Named datasets, each a sequence of immutable versions ``v1, v2, …`` under the warehouse root.

The root is a local folder or an fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``file://…``).
A version is ``<name>/vN/manifest.json``; readers list ``<name>/`` and never the writers' data folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from starmill.schemas import TABLES, check_readable
from starmill.warehouse import integrity
from starmill.warehouse.errors import BadDatasetName, DatasetNotFound, VersionNotFound, WarehouseError
from starmill.warehouse.manifest import Manifest
from starmill.warehouse.storage import open_storage, resolve_root

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")  # always used with fullmatch
RESERVED = {"manifests", "datasets", "versions", "information_schema"}
VERSION_RE = re.compile(r"v([1-9][0-9]*)")
SPEC_RE = re.compile(r"(?P<name>[^@]+)(@v?(?P<version>[0-9]+))?")


def is_name(name: str) -> bool:
    return (
        isinstance(name, str) and bool(NAME_RE.fullmatch(name)) and name not in RESERVED and not name.endswith("_all")
    )


def check_name(name: str) -> str:
    """``name`` if it is a valid dataset name (the whole string), else ``BadDatasetName``."""
    if not is_name(name):
        raise BadDatasetName(
            f"bad dataset name {name!r}: use lowercase letters, digits and _, start with a letter, "
            f"don't end in '_all' and don't use {sorted(RESERVED)}"
        )
    return name


def check_ref(spec: str) -> tuple[str, int | None]:
    """``NAME``, ``NAME@vN`` or ``NAME@N`` to (name, version or None); ``BadDatasetName`` otherwise."""
    match = SPEC_RE.fullmatch(spec) if isinstance(spec, str) else None
    if not match:
        raise BadDatasetName(f"bad dataset reference {spec!r}: use NAME or NAME@vN")
    version = match.group("version")
    return check_name(match.group("name")), None if version is None else int(version)


@dataclass(frozen=True)
class VersionRef:
    dataset: str
    version: int
    path: str  # the version folder

    def __str__(self) -> str:
        return f"{self.dataset}@v{self.version}"


class Warehouse:
    """Read side of the warehouse; ``writer()`` opens the write side (see ``warehouse.writer``)."""

    def __init__(self, root: str | None = None, options: dict | None = None):
        """``options``: fsspec options for a store (endpoint, credentials), never written anywhere."""
        self.root = resolve_root(root)
        self.storage = open_storage(self.root, options)
        self._opened: dict[tuple[str, int], Manifest] = {}

    # listing -------------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        names = []
        for info in self.storage.listdir(self.storage.root):
            if info.type == pafs.FileType.Directory and is_name(info.base_name):
                if self.versions(info.base_name):
                    names.append(info.base_name)
        return sorted(names)

    def versions(self, name: str) -> list[int]:
        """Committed versions of ``name``, oldest first (a folder without a manifest is not one)."""
        found = []
        for info in self.storage.listdir(self.storage.path(check_name(name))):
            match = VERSION_RE.fullmatch(info.base_name)
            if match and info.type == pafs.FileType.Directory:
                if self.storage.exists(self.storage.path(name, info.base_name, "manifest.json")):
                    found.append(int(match.group(1)))
        return sorted(found)

    def resolve(self, spec: str) -> VersionRef:
        """``name`` (latest version) or ``name@vN`` / ``name@N`` to a committed version."""
        name, wanted = check_ref(spec)
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.datasets()) or "none"
            raise DatasetNotFound(f"no dataset {name!r} in {self.root} (datasets: {known})")
        version = versions[-1] if wanted is None else wanted
        if version not in versions:
            raise VersionNotFound(
                f"dataset {name!r} has no version v{version} (versions: " + ", ".join(f"v{v}" for v in versions) + ")"
            )
        return self.ref(name, version)

    def ref(self, name: str, version: int) -> VersionRef:
        """The ref of a version already listed by ``versions`` (no listing, no check)."""
        return VersionRef(name, version, self.storage.path(name, f"v{version}"))

    # reading -------------------------------------------------------------------------------
    def read_manifest(self, ref: VersionRef | str) -> Manifest:
        """The manifest alone, checked against its folder (files not looked at)."""
        ref = self.resolve(ref) if isinstance(ref, str) else ref
        return integrity.read_manifest(self.storage, ref)

    def manifest(self, ref: VersionRef | str, cached: bool = True) -> Manifest:
        """Open a version: its manifest, and its files checked against it (``DamagedVersion``)."""
        ref = self.resolve(ref) if isinstance(ref, str) else ref
        key = (ref.dataset, ref.version)
        if not cached or key not in self._opened:
            manifest = integrity.read_manifest(self.storage, ref)
            integrity.check_files(self.storage, ref, manifest)
            self._opened[key] = manifest  # versions are immutable: checked once per Warehouse
        return self._opened[key]

    def files(self, ref: VersionRef, table: str | None = None) -> list[str]:
        manifest = self.manifest(ref)
        table = table or manifest.table
        return [integrity.file_path(self.storage, ref, manifest, f) for f in manifest.files if f.table == table]

    def dataset(self, ref: VersionRef | str, table: str | None = None) -> pads.Dataset:
        """A lazy pyarrow dataset over one table of a version (schema version checked)."""
        ref = self.resolve(ref) if isinstance(ref, str) else ref
        manifest = self.manifest(ref)
        table = table or manifest.table
        paths = self.files(ref, table)
        if not paths:
            raise WarehouseError(f"{ref} has no table {table!r} (tables: {sorted(manifest.tables)})")
        ds = pads.dataset(paths, format="parquet", filesystem=self.storage.fs)
        known = TABLES.get(table)
        if known is not None:
            check_readable(ds.schema, table, known.SCHEMA_VERSION)
        return ds

    def read(self, ref: VersionRef | str, table: str | None = None) -> pa.Table:
        return self.dataset(ref, table).to_table()

    def writer(self, name: str, table: str, **lineage):
        from starmill.warehouse.writer import VersionWriter

        return VersionWriter(self, check_name(name), table, **lineage)
