"""A warehouse root as a user gives it (``--warehouse``, ``STARMILL_WAREHOUSE``, the config's
``warehouse``): refused up front when it can't be a folder."""
from __future__ import annotations

from pathlib import Path


def not_a_folder(value: str) -> str | None:
    """Why a warehouse root can't be one (it, or a folder above it, is a file), or None."""
    if value.lower().startswith("file://"):
        value = value[len("file://"):]
    elif "://" in value:  # a store URL (s3://bucket/prefix): nothing to check before it is opened
        return None
    path = Path(value).expanduser()
    existing = next((p for p in [path, *path.parents] if p.exists()), None)
    if existing is None or existing.is_dir():
        return None
    where = "is not a folder" if existing == path else f"is inside {existing}, which is not a folder"
    return f"{value} {where}: give a folder (it is created if missing)"
