"""Where a model is and what it is: a local path that must exist, a Hub snapshot's commit, or a hash of
its weight files when it has no revision."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from starmill.generators.base import SettingsError
from starmill.schemas.model_folder import ModelFolderError, check_model_folder

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
FULL_HASH_LIMIT = 2 << 30  # bytes; above this only a sample of each file is hashed
SAMPLE_BYTES = 1 << 20  # head and tail of each file when sampling


def weights_hash(model_dir: str | Path) -> str | None:
    """``sha256:<hex>`` over the weight files' names, sizes and bytes; None if there are none.

    Models above ``FULL_HASH_LIMIT`` get ``sha256-sampled:`` over names, sizes and each file's
    first and last MiB, so a 600 GB checkpoint is not read end to end to name it.
    """
    root = Path(model_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        return None
    sampled = sum(p.stat().st_size for p in files) > FULL_HASH_LIMIT
    digest = hashlib.sha256()
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(root).as_posix()}\0{size}\0".encode())
        with path.open("rb") as fh:
            if not sampled:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            else:
                digest.update(fh.read(SAMPLE_BYTES))
                fh.seek(max(size - SAMPLE_BYTES, 0))
                digest.update(fh.read(SAMPLE_BYTES))
    return ("sha256-sampled:" if sampled else "sha256:") + digest.hexdigest()


def snapshot_revision(model_dir: str | Path) -> str | None:
    """The commit hash when ``model_dir`` is a Hugging Face cache snapshot (``…/snapshots/<sha>``)."""
    path = Path(model_dir).resolve()
    if path.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", path.name):
        return path.name
    return None


def check_model_path(model: str, trust_remote_code: bool = False) -> None:
    """Fail fast on a local path that is no loadable model folder (missing, no config.json, pickle or
    truncated weights, remote code not opted into); a hub id like ``org/name`` passes."""
    try:
        check_model_folder(
            model,
            trust_remote_code=trust_remote_code,
            remote_code_hint=" (set trust_remote_code: true in teacher.options if you trust it)",
        )
    except ModelFolderError as exc:
        raise SettingsError(str(exc)) from None


def model_revision(model: str) -> str | None:
    """A local directory's snapshot commit or weights hash; a cached hub model's snapshot commit."""
    path = Path(model).expanduser()
    if path.is_dir():
        return snapshot_revision(path) or weights_hash(path)
    try:
        from huggingface_hub import snapshot_download

        return snapshot_revision(snapshot_download(model, local_files_only=True))
    except Exception:  # not cached or not a hub id: identity unknown rather than a failed run
        return None
