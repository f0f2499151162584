"""What a version's manifest promises, checked before the version is served.

Opening a version (``Warehouse.manifest``) checks the cheap things: the manifest parses, is of a
known format, names its own dataset and folder (a copied ``v9`` holding ``v1``'s manifest is caught)
and a data folder of its own dataset, and every file is there, inside the warehouse, of the recorded size, with the recorded row count and
table schema in its Parquet footer; per table, the files' rows add up to the manifest's ``tables`` and
to its ``counts`` where a count names the table (``rows``: the main one). ``verify_checksums``
(``starmill show``, ``starmill verify``) also hashes every byte against the sha256 recorded at commit.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from starmill.schemas import TABLES
from starmill.schemas.base import SCHEMA_KEY, VERSION_KEY
from starmill.warehouse.errors import DamagedVersion
from starmill.warehouse.manifest import MANIFEST_FORMAT, Manifest

DATA = "_data"  # <dataset>/_data/<writer>/: a writer's files, never listed by readers
DATA_ID_RE = re.compile(r"[A-Za-z0-9_.]{1,80}-[0-9]{1,10}-[0-9]{1,12}-[0-9a-f]{12}")  # host-pid-time-random
MAIN_COUNTS = {"rows", "nodes"}  # counts of the main table's rows (eval, regrade, prm-data; a tree's nodes)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def data_folder(storage, ref, manifest: Manifest) -> str:
    """Where the version's files lie: its writer's data folder (format 2) or the version folder (1)."""
    return storage.path(manifest.data) if manifest.data else ref.path


def file_path(storage, ref, manifest: Manifest, entry) -> str:
    return f"{data_folder(storage, ref, manifest)}/{entry.path}"


def read_manifest(storage, ref) -> Manifest:
    """The version's manifest, checked against its folder; raises ``DamagedVersion``."""
    path = f"{ref.path}/manifest.json"
    if not storage.inside(path):
        raise DamagedVersion(str(ref), "manifest.json links out of the warehouse")
    try:
        data = json.loads(storage.read_text(path))
    except FileNotFoundError:
        raise DamagedVersion(str(ref), "manifest.json is missing") from None
    except UnicodeDecodeError:
        raise DamagedVersion(str(ref), "manifest.json is not UTF-8 text") from None
    except ValueError as exc:
        raise DamagedVersion(str(ref), f"manifest.json is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DamagedVersion(str(ref), "manifest.json is not a JSON object")
    fmt = data.get("format", 1)
    if type(fmt) is not int or fmt < 1:
        raise DamagedVersion(
            str(ref), f"manifest format {fmt!r} is unknown (this starmill reads format {MANIFEST_FORMAT})"
        )
    if fmt > MANIFEST_FORMAT:
        raise DamagedVersion(
            str(ref), f"it was written by a newer starmill (manifest format {fmt}): upgrade starmill", newer=True
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "manifest"
        raise DamagedVersion(str(ref), f"manifest.json is not a valid manifest ({where}: {err['msg']})") from None
    _check_identity(ref, manifest)
    _check_data_folder(ref, manifest, fmt)
    _check_listing(ref, manifest)
    return manifest


def _check_identity(ref, manifest: Manifest) -> None:
    if manifest.dataset != ref.dataset:
        raise DamagedVersion(
            str(ref),
            f"its manifest names dataset {manifest.dataset!r}, not {ref.dataset!r} (a copied or renamed folder?)",
        )
    if manifest.version != ref.version:
        raise DamagedVersion(
            str(ref), f"its manifest is of v{manifest.version}, but the folder is v{ref.version} (a copied folder?)"
        )
    known = TABLES.get(manifest.table)
    if known is None:
        raise DamagedVersion(str(ref), f"table kind {manifest.table!r} is unknown to this starmill", newer=True)
    if manifest.schema_version > known.SCHEMA_VERSION:
        raise DamagedVersion(
            str(ref),
            f"it has '{manifest.table}' schema version {manifest.schema_version}, but "
            f"this starmill reads up to version {known.SCHEMA_VERSION}: upgrade starmill "
            "to read it",
            newer=True,
        )


def _check_data_folder(ref, manifest: Manifest, fmt: int) -> None:
    """Format 2 names a data folder ``<dataset>/_data/<writer>``; format 1 keeps files in the version folder."""
    if fmt < 2:
        if manifest.data is not None:
            raise DamagedVersion(str(ref), "its format 1 manifest names a data folder (format 2 only)")
        return
    parts = PurePosixPath(manifest.data or "").parts
    if (
        manifest.data is None
        or len(parts) != 3
        or parts[:2] != (ref.dataset, DATA)
        or not DATA_ID_RE.fullmatch(parts[2])
        or manifest.data != "/".join(parts)
    ):
        raise DamagedVersion(
            str(ref),
            f"its manifest names no data folder of its own dataset "
            f"({manifest.data!r}; expected {ref.dataset}/{DATA}/<writer>)",
        )


def _check_listing(ref, manifest: Manifest) -> None:
    """Every file path stays in the version folder; per table, the files' rows add up, to what the
    counts recorded at commit say too."""
    if manifest.table not in manifest.tables:
        raise DamagedVersion(str(ref), f"its manifest lists no '{manifest.table}' table")
    for entry in manifest.files:
        rel = PurePosixPath(entry.path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or "\\" in entry.path:
            raise DamagedVersion(str(ref), f"its manifest lists a file outside the version folder: {entry.path!r}")
        if entry.table not in manifest.tables or entry.table not in TABLES:
            raise DamagedVersion(str(ref), f"{entry.path} belongs to an unlisted table {entry.table!r}")
    for table, rows in manifest.tables.items():
        entries = [f for f in manifest.files if f.table == table]
        if not entries:
            raise DamagedVersion(str(ref), f"its manifest lists no files for table '{table}'")
        if sum(f.rows for f in entries) != rows:
            raise DamagedVersion(
                str(ref), f"its '{table}' files add up to {sum(f.rows for f in entries)} rows, the manifest says {rows}"
            )
    for key, promised in manifest.counts.items():  # a count that names a table promises its rows too
        table = manifest.table if key in MAIN_COUNTS else key
        if table in manifest.tables and promised != manifest.tables[table]:
            raise DamagedVersion(
                str(ref), f"its counts say {key}={promised}, but its '{table}' files hold {manifest.tables[table]} rows"
            )


def check_files(storage, ref, manifest: Manifest) -> None:
    """Each file exists inside the warehouse with the recorded size, row count and table schema."""
    for entry in manifest.files:
        path = file_path(storage, ref, manifest, entry)
        if not storage.inside(path):
            raise DamagedVersion(str(ref), f"{entry.path} links out of the warehouse")
        size = storage.size(path)
        if size is None:
            raise DamagedVersion(str(ref), f"{entry.path} is missing")
        if size != entry.bytes:
            raise DamagedVersion(str(ref), f"{entry.path} is {size} bytes, its manifest says {entry.bytes}")
        try:
            with storage.fs.open_input_file(path) as handle:
                parquet = pq.ParquetFile(handle)
                rows, schema = parquet.metadata.num_rows, parquet.schema_arrow
        except (OSError, pa.ArrowException, ValueError) as exc:  # ValueError: a footer that does not decode
            raise DamagedVersion(
                str(ref), f"{entry.path} is not a readable Parquet file ({_first_line(exc)})"
            ) from None
        if rows != entry.rows:
            raise DamagedVersion(str(ref), f"{entry.path} holds {rows} rows, its manifest says {entry.rows}")
        _check_schema(ref, entry, schema)


def _check_schema(ref, entry, schema: pa.Schema) -> None:
    """The footer's stamp names the entry's table; at the current schema version, columns match too."""
    meta = schema.metadata or {}
    found = meta.get(SCHEMA_KEY, b"").decode("utf-8", "replace")
    if found != entry.table:
        what = f"table '{found}'" if found else "no starmill table"
        raise DamagedVersion(
            str(ref), f"{entry.path} holds {what}, its manifest says '{entry.table}' (a file swapped in?)"
        )
    known = TABLES[entry.table]
    if meta.get(VERSION_KEY) == str(known.SCHEMA_VERSION).encode():
        if not schema.remove_metadata().equals(known.ARROW_SCHEMA.remove_metadata(), check_metadata=False):
            raise DamagedVersion(
                str(ref), f"{entry.path} does not have the '{entry.table}' columns (a file swapped in?)"
            )


def verify_checksums(storage, ref, manifest: Manifest) -> int:
    """Hash every file that has a recorded sha256; the number checked (0 for older manifests)."""
    checked = 0
    for entry in manifest.files:
        if entry.sha256 is None:
            continue
        if storage.sha256(file_path(storage, ref, manifest, entry)) != entry.sha256:
            raise DamagedVersion(str(ref), f"{entry.path} does not match its sha256: its bytes changed after commit")
        checked += 1
    return checked
