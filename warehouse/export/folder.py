"""Writing an export folder atomically and reproducibly.

Files go to a hidden staging folder beside the target, which is renamed into place at the end; a
failure removes it, so a folder either appears whole or not at all. Parquet settings are fixed and
no file holds a timestamp, so the same export gives the same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from starmill.warehouse.export.errors import ExportError, FolderNotEmpty

DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
PARQUET = dict(  # fixed, so re-exports are byte-identical (with the same pyarrow)
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
    row_group_size=10_000,
)


def check_target(dest: Path) -> None:
    """An export goes to an absent or empty real folder; a link (dangling or not) or a file is refused,
    and so is a path under a file, before anything is read."""
    if dest.is_symlink():
        what = "a symbolic link" if dest.exists() else "a dangling symbolic link"
        raise ExportError(f"{dest} is {what}: give the path of a real folder")
    if dest.exists() and not dest.is_dir():
        raise ExportError(f"{dest} is a file, not a folder: choose another folder")
    if dest.is_dir() and any(dest.iterdir()):
        raise FolderNotEmpty(f"{dest} already exists and is not empty: choose another folder or remove it")
    above = next((p for p in dest.parents if p.exists() or p.is_symlink()), None)
    if above is not None and not above.is_dir():
        raise ExportError(f"{dest} is under {above}, which is not a folder")


@contextlib.contextmanager
def staged_folder(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder that becomes ``dest`` when the block succeeds. On any failure the
    staging folder and the parents it made are removed; a full, read-only or forbidden disk, or a place
    where no folder can be made (``/proc/self/x``), is an ``ExportError`` naming ``dest``."""
    dest = Path(dest).expanduser().absolute()
    check_target(dest)
    made = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    staging = dest.parent / f".{dest.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    started = False
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        started = True
        yield staging
        _fsync_tree(staging)
        check_target(dest)  # someone may have filled it meanwhile
        if dest.exists():
            dest.rmdir()  # empty: replace it
        os.rename(staging, dest)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in made:  # parents we created, innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError) and (exc.errno in DISK_ERRNOS or not started):  # not started: no folder there
            raise ExportError(
                f"cannot write the export to {dest}: {os.strerror(exc.errno or errno.EIO)} (nothing was left there)"
            ) from None
        raise


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(None), str(path), **PARQUET)


def write_parquet_groups(groups: Iterator[pa.Table], path: Path) -> None:
    """One Parquet file from its row groups, made one at a time: the same bytes as ``write_parquet`` of
    them all at once (that cuts row groups of ``PARQUET['row_group_size']`` rows too) when every group
    but the last has that many rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {k: v for k, v in PARQUET.items() if k != "row_group_size"}
    writer = None
    try:
        for group in groups:
            group = group.replace_schema_metadata(None)
            if writer is None:
                writer = pq.ParquetWriter(str(path), group.schema, **options)
            writer.write_table(group, row_group_size=PARQUET["row_group_size"])
    finally:
        if writer is not None:
            writer.close()


def shard_names(split: str, rows: int, rows_per_file: int) -> list[tuple[str, int, int]]:
    """``(relative path, offset, length)`` of each Parquet file of a split, Hub-style names."""
    count = max(1, -(-rows // rows_per_file))
    return [
        (
            f"data/{split}-{i:05d}-of-{count:05d}.parquet",
            i * rows_per_file,
            min(rows_per_file, rows - i * rows_per_file),
        )
        for i in range(count)
    ]


def write_split(table: pa.Table, split: str, root: Path, rows_per_file: int) -> list[str]:
    names = []
    for rel, offset, length in shard_names(split, table.num_rows, rows_per_file):
        write_parquet(table.slice(offset, max(length, 0)), root / rel)
        names.append(rel)
    return names


def folder_files(root: Path) -> list[str]:
    """Every file under ``root``, relative, sorted: exactly what a push uploads."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
