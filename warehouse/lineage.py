"""Where a version came from: starmill's version and git commit, file fingerprints, the command;
``redact`` (re-exported) is what the writer applies to a manifest's config and lineage."""

from __future__ import annotations

import functools
import hashlib
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from starmill.schemas.errors import StarmillError
from starmill.schemas.redact import redact, redact_argv  # noqa: F401  (redact: what the writer applies to lineage)


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the starmill source tree in use ('+dirty' when it has local changes), if any."""
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def starmill_version() -> str:
    """The installed starmill's version, from its package metadata (the app is never imported here)."""
    try:
        return version("starmill")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0+source"


def command_line() -> str:
    """The command that is running, as a user would type it, with secrets redacted."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("/starmill", "\\starmill")):
        argv[0] = "starmill"
    return shlex.join(redact_argv(argv))


def file_fingerprint(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, or of every file under a folder (names and bytes, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def problems_parent(wh, manifest, error: type[StarmillError]) -> str:
    """The parent of a version that holds its gold answers: the first readable one whose rows are
    problems; raises ``error`` when it names none."""
    for parent in manifest.parents:
        try:
            if wh.manifest(parent).table == "problems":
                return parent
        except StarmillError:
            continue
    raise error(
        f"{manifest.dataset}@v{manifest.version} names no readable problems version among its "
        f"parents ({', '.join(manifest.parents) or 'none'}): can't find the gold answers"
    )
