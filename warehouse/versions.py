"""Named datasets, each a sequence of immutable versions ``v1, v2, …`` under the warehouse root."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from schemas import TABLES, check_readable
from warehouse.errors import BadDatasetName, DatasetNotFound, VersionNotFound, WarehouseError
from warehouse.manifest import MANIFEST_FORMAT, Manifest
from warehouse.storage import Storage, resolve_root

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED = {"manifests", "datasets", "versions", "information_schema"}
VERSION_RE = re.compile(r"^v([1-9][0-9]*)$")
SPEC_RE = re.compile(r"^(?P<name>[^@]+)(@v?(?P<version>[0-9]+))?$")


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or name in RESERVED or name.endswith("_all"):
        raise BadDatasetName(
            f"bad dataset name {name!r}: use lowercase letters, digits and _, start with a letter, "
            f"don't end in '_all' and don't use {sorted(RESERVED)}"
        )
    return name


@dataclass(frozen=True)
class VersionRef:
    dataset: str
    version: int
    path: str  # the version folder

    def __str__(self) -> str:
        return f"{self.dataset}@v{self.version}"


class Warehouse:
    """Read side of the warehouse; ``writer()`` opens the write side (see ``warehouse.writer``)."""

    def __init__(self, root: str | None = None):
        self.root = resolve_root(root)
        self.storage = Storage(self.root)

    # listing -------------------------------------------------------------------------------
    def datasets(self) -> list[str]:
        names = []
        for info in self.storage.listdir(self.storage.root):
            if info.type == pafs.FileType.Directory and NAME_RE.match(info.base_name):
                if self.versions(info.base_name):
                    names.append(info.base_name)
        return sorted(names)

    def versions(self, name: str) -> list[int]:
        """Committed versions of ``name``, oldest first (a folder without a manifest is not one)."""
        found = []
        for info in self.storage.listdir(self.storage.path(name)):
            match = VERSION_RE.match(info.base_name)
            if match and info.type == pafs.FileType.Directory:
                if self.storage.exists(self.storage.path(name, info.base_name, "manifest.json")):
                    found.append(int(match.group(1)))
        return sorted(found)

    def resolve(self, spec: str) -> VersionRef:
        """``name`` (latest version) or ``name@vN`` / ``name@N`` to a committed version."""
        match = SPEC_RE.match(spec.strip())
        if not match:
            raise VersionNotFound(f"bad dataset reference {spec!r}: use NAME or NAME@vN")
        name = match.group("name")
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.datasets()) or "none"
            raise DatasetNotFound(f"no dataset {name!r} in {self.root} (datasets: {known})")
        if match.group("version") is None:
            version = versions[-1]
        else:
            version = int(match.group("version"))
            if version not in versions:
                raise VersionNotFound(
                    f"dataset {name!r} has no version v{version} (versions: "
                    + ", ".join(f"v{v}" for v in versions) + ")"
                )
        return VersionRef(name, version, self.storage.path(name, f"v{version}"))

    # reading -------------------------------------------------------------------------------
    def manifest(self, ref: VersionRef | str) -> Manifest:
        ref = self.resolve(ref) if isinstance(ref, str) else ref
        data = self.storage.read_json(self.storage.path(ref.dataset, f"v{ref.version}", "manifest.json"))
        if data.get("format", 1) > MANIFEST_FORMAT:
            raise WarehouseError(
                f"{ref} was written by a newer starmill (manifest format {data['format']}): upgrade starmill"
            )
        manifest = Manifest.model_validate(data)
        known = TABLES.get(manifest.table)
        if known is not None and manifest.schema_version > known.SCHEMA_VERSION:
            raise WarehouseError(
                f"{ref} has '{manifest.table}' schema version {manifest.schema_version}, but this "
                f"starmill reads up to version {known.SCHEMA_VERSION}: upgrade starmill to read it"
            )
        return manifest

    def files(self, ref: VersionRef, table: str | None = None) -> list[str]:
        manifest = self.manifest(ref)
        table = table or manifest.table
        return [f"{ref.path}/{f.path}" for f in manifest.files if f.table == table]

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
        from warehouse.writer import VersionWriter

        return VersionWriter(self, check_name(name), table, **lineage)
