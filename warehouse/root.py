"""A warehouse root as a user gives it (``--warehouse``, ``STARMILL_WAREHOUSE``, the config's
``warehouse``): refused up front when it can't be a folder."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def not_a_folder(value: str) -> str | None:
    """Why a warehouse root can't be one (it, or a folder above it, is a file), or None."""
    if value.lower().startswith("file://"):
        value = value[len("file://") :]
    elif "://" in value:  # a store URL (s3://bucket/prefix): nothing to check before it is opened
        return None
    path = Path(value).expanduser()
    existing = next((p for p in [path, *path.parents] if p.exists()), None)
    if existing is None or existing.is_dir():
        return None
    where = "is not a folder" if existing == path else f"is inside {existing}, which is not a folder"
    return f"{value} {where}: give a folder (it is created if missing)"


def not_writable(value: str) -> str | None:
    """Why nothing can be written under a local warehouse root (a read-only disk, no permission), or None;
    asked of the file system, nothing is written. A store URL is left to its first write."""
    if value.lower().startswith("file://"):
        value = value[len("file://") :]
    elif "://" in value:
        return None
    path = Path(value).expanduser()
    existing = next((p for p in [path, *path.parents] if p.exists()), None)
    if existing is None or not existing.is_dir() or os.access(existing, os.W_OK | os.X_OK):
        return None
    reason = os.strerror(errno.EROFS if os.statvfs(existing).f_flag & os.ST_RDONLY else errno.EACCES)
    if existing == path:
        return f"the warehouse {value} can't be written to: {reason}"
    return f"the warehouse {value} can't be made in {existing}: {reason}"
