"""The warehouse root on a pyarrow filesystem: the only place that lists, reads and renames files."""
from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pyarrow.fs as pafs

DEFAULT_ROOT = "./starmill-data"


def resolve_root(root: str | os.PathLike | None = None) -> str:
    """``--warehouse`` wins, then ``STARMILL_WAREHOUSE``, then ``./starmill-data``."""
    return str(root or os.environ.get("STARMILL_WAREHOUSE") or DEFAULT_ROOT)


class Storage:
    """A folder on a pyarrow filesystem (local today; object stores need an atomic rename first)."""

    def __init__(self, root: str):
        if "://" in root:
            self.fs, self.root = pafs.FileSystem.from_uri(root)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(root).expanduser().resolve())

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def exists(self, path: str) -> bool:
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def size(self, path: str) -> int | None:
        """Bytes of the file at ``path``; None when there is no file there."""
        info = self.fs.get_file_info(path)
        return info.size if info.type == pafs.FileType.File else None

    def inside(self, path: str) -> bool:
        """Whether ``path``, with every symlink followed, stays under the root."""
        if not self.is_local:
            return True
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")

    def sha256(self, path: str, chunk: int = 1 << 20) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(path) as f:
            while block := f.read(chunk):
                digest.update(block)
        return digest.hexdigest()

    def listdir(self, path: str) -> list[pafs.FileInfo]:
        if not self.exists(path):
            return []
        return self.fs.get_file_info(pafs.FileSelector(path, recursive=False))

    def makedirs(self, path: str) -> None:
        self.fs.create_dir(path, recursive=True)

    def read_text(self, path: str) -> str:
        with self.fs.open_input_stream(path) as f:
            return f.read().decode("utf-8")

    def read_json(self, path: str) -> dict:
        return json.loads(self.read_text(path))

    def write_text(self, path: str, text: str) -> None:
        """Write through a temporary name and rename, so readers never see half a file."""
        tmp = path + ".tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(text.encode("utf-8"))
            if self.is_local:
                f.flush()
        self.fs.move(tmp, path)

    def rename_new(self, src: str, dst: str) -> bool:
        """Rename ``src`` to ``dst`` only if ``dst`` does not exist; False when it does."""
        if self.is_local:
            try:
                os.rename(src, dst)  # atomic; fails on an existing non-empty folder
                return True
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    return False
                raise
        if self.exists(dst):
            return False
        self.fs.move(src, dst)
        return True

    def remove_tree(self, path: str) -> None:
        if self.exists(path):
            self.fs.delete_dir(path)

    def fsync_dir(self, path: str) -> None:
        if self.is_local:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
