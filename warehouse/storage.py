"""The warehouse root on a local folder or any fsspec store (``s3://``, ``gs://``, ``az://``, ``file://``):
the only code that lists, reads and writes the warehouse's files.

Object stores have no rename, so writers use primitives that both kinds have: ``write_bytes`` (the
whole file or nothing: one PUT, or locally a fsynced temporary file renamed over it) and
``create_new`` (only if nothing is there: S3 ``PutObject`` with ``If-None-Match: *``, locally a hard
link of a fsynced temporary file, which fails on an existing name). Credentials and endpoints come
from the store's usual environment variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, …), from
``STARMILL_WAREHOUSE_OPTIONS`` (a JSON object of fsspec options) or from the config's
``warehouse_options``; none of them is ever written into the warehouse.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from starmill.warehouse.errors import StoreError, WarehouseError

DEFAULT_ROOT = "./starmill-data"
OPTIONS_ENV = "STARMILL_WAREHOUSE_OPTIONS"
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})  # no folders, only keys
CACHED_LISTINGS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "http", "https"})
PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "adl": "adlfs",
}
PRECONDITION_CODES = frozenset({"PreconditionFailed", "412", "ConditionNotMet"})
RETRY_CODES = frozenset({"ConditionalRequestConflict", "409"})  # AWS: a concurrent conditional write; retry


def resolve_root(root: str | os.PathLike | None = None) -> str:
    """``--warehouse`` wins, then ``STARMILL_WAREHOUSE``, then ``./starmill-data``."""
    return str(root or os.environ.get("STARMILL_WAREHOUSE") or DEFAULT_ROOT)


def is_local(root: str) -> bool:
    return "://" not in root or root.lower().startswith("file://")


def env_options() -> dict[str, Any]:
    """``STARMILL_WAREHOUSE_OPTIONS``: a JSON object of fsspec options for the warehouse's store."""
    text = os.environ.get(OPTIONS_ENV, "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise WarehouseError(
            f"{OPTIONS_ENV} must be a JSON object of fsspec options, e.g. "
            '\'{"endpoint_url": "http://127.0.0.1:8333"}\''
        )
    return data


def store_options(protocol: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Options for the store: the environment's, then the given ones; listings never cached (other
    writers commit between two of ours), AWS_REGION honoured as botocore only reads AWS_DEFAULT_REGION."""
    merged = {**env_options(), **(options or {})}
    if protocol in CACHED_LISTINGS:
        merged.setdefault("use_listings_cache", False)
    if protocol in ("s3", "s3a"):
        region = os.environ.get("AWS_REGION")
        client = dict(merged.get("client_kwargs") or {})
        if region and not os.environ.get("AWS_DEFAULT_REGION") and "region_name" not in client:
            merged["client_kwargs"] = {**client, "region_name": region}
    return merged


class Storage:
    """A folder on the local disk, or a prefix on an fsspec store (through pyarrow for Parquet)."""

    def __init__(self, root: str, options: dict[str, Any] | None = None):
        root = str(root)
        self.fsspec = None  # the fsspec filesystem of a store (DuckDB reads through it); None when local
        self._bucket_checked = False
        if is_local(root):
            if root.lower().startswith("file://"):
                root = root[len("file://") :]
            self.protocol = "file"
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(root).expanduser().resolve())
            self.url = self.root
            return
        import fsspec

        self.protocol = root.split("://", 1)[0].lower()
        try:
            self.fsspec, path = fsspec.core.url_to_fs(root, **store_options(self.protocol, options))
        except ImportError:
            package = PACKAGES.get(self.protocol, f"the fsspec package for {self.protocol}://")
            raise WarehouseError(f"a {self.protocol}:// warehouse needs {package}: pip install {package}") from None
        except ValueError as exc:
            raise WarehouseError(f"--warehouse {root}: {exc}") from None
        self.fs = pafs.PyFileSystem(pafs.FSSpecHandler(self.fsspec))
        self.root = path.rstrip("/")
        self.url = f"{self.protocol}://{self.root}"
        if not self.root:
            raise WarehouseError(
                f"--warehouse {root}: name a bucket (and a prefix), e.g. {self.protocol}://bucket/data"
            )

    @property
    def is_local(self) -> bool:
        return self.fsspec is None

    @property
    def has_folders(self) -> bool:
        return self.protocol not in OBJECT_STORES

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def url_of(self, path: str) -> str:
        """``path`` as DuckDB (or a user) names it: a local path, or ``s3://bucket/…``."""
        return path if self.is_local else f"{self.protocol}://{path}"

    @contextlib.contextmanager
    def _store(self) -> Iterator[None]:
        """The store's own errors (no credentials, unreachable endpoint, no bucket) as one line."""
        if self.is_local:
            yield
            return
        try:
            yield
        except (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError):
            raise
        except PermissionError as exc:
            raise StoreError(f"{self.url}: access denied ({_first_line(exc)}): check the credentials") from None
        except OSError as exc:
            raise StoreError(f"{self.url}: {_first_line(exc)}") from None
        except Exception as exc:
            name = type(exc).__name__
            if name in ("NoCredentialsError", "PartialCredentialsError"):
                raise StoreError(
                    f"{self.url}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or {OPTIONS_ENV})"
                ) from None
            if name in (
                "EndpointConnectionError",
                "ConnectTimeoutError",
                "ClientConnectorError",
                "ServerDisconnectedError",
                "ReadTimeoutError",
                "ClientError",
            ):
                raise StoreError(
                    f"{self.url}: {_first_line(exc)} (the endpoint comes from AWS_ENDPOINT_URL or {OPTIONS_ENV})"
                ) from None
            raise

    # reading -------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        with self._store():
            return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def size(self, path: str) -> int | None:
        """Bytes of the file at ``path``; None when there is no file there."""
        with self._store():
            info = self.fs.get_file_info(path)
        return info.size if info.type == pafs.FileType.File else None

    def inside(self, path: str) -> bool:
        """Whether ``path``, with every symlink followed (locally), stays under the root."""
        real = os.path.realpath(path) if self.is_local else posixpath.normpath(path)
        return real == self.root or real.startswith(self.root.rstrip("/") + "/")

    def sha256(self, path: str, chunk: int = 1 << 20) -> str:
        digest = hashlib.sha256()
        with self._store(), self.fs.open_input_stream(path) as f:
            while block := f.read(chunk):
                digest.update(block)
        return digest.hexdigest()

    def listdir(self, path: str) -> list[pafs.FileInfo]:
        """The entries right under ``path`` (one LIST with a delimiter on a store, never deeper)."""
        with self._store():
            if not self.exists(path):
                return []
            try:
                return self.fs.get_file_info(pafs.FileSelector(path, recursive=False))
            except FileNotFoundError:
                return []

    def read_bytes(self, path: str) -> bytes:
        with self._store(), self.fs.open_input_stream(path) as f:
            return f.read()

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def read_json(self, path: str) -> dict:
        return json.loads(self.read_text(path))

    # writing -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Before a writer's first object: the bucket exists (some servers would make one silently,
        others answer a write with NoSuchBucket; neither is what a user with a typo wants)."""
        if self.is_local or self.has_folders or self._bucket_checked:
            return
        bucket = self.root.split("/", 1)[0]
        with self._store():
            found = self.fsspec.exists(bucket)
        if not found:
            raise StoreError(
                f"{self.url}: bucket {bucket!r} does not exist (or these credentials can't see it): create it first"
            )
        self._bucket_checked = True

    def makedirs(self, path: str) -> None:
        """A folder, where the store has folders (an object store has only keys: nothing to make)."""
        if not self.has_folders:
            return
        with self._store():
            self.fs.create_dir(path, recursive=True)

    def open_write(self, path: str):
        """A binary file to stream into; locally its ``close`` fsyncs. A store shows the object only
        once it is closed (one PUT or a completed multipart upload)."""
        self.makedirs(posixpath.dirname(path))
        if self.is_local:
            return _DurableFile(open(path, "wb"))
        with self._store():
            return self.fsspec.open(path, "wb")

    def write_bytes(self, path: str, data: bytes) -> None:
        """Replace the file at ``path``; readers see the old bytes or the new, never half."""
        if self.is_local:
            self.makedirs(posixpath.dirname(path))
            tmp = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
            try:
                _write_synced(tmp, data)
                os.replace(tmp, path)
            finally:
                _unlink(tmp)
            return
        self.makedirs(posixpath.dirname(path))
        with self._store():
            self.fsspec.pipe_file(path, data)

    def write_text(self, path: str, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def create_new(self, path: str, data: bytes, scratch: str | None = None) -> bool:
        """Create ``path`` holding ``data`` only if nothing is there: True when created, False when
        something already was. Readers see all of ``data`` or no file. Locally the temporary file is
        written under ``scratch`` (a folder on the same disk) or next to ``path``."""
        if self.is_local:
            self.makedirs(posixpath.dirname(path))
            tmp = posixpath.join(scratch or posixpath.dirname(path), f".create-{uuid.uuid4().hex[:12]}.tmp")
            try:
                _write_synced(tmp, data)
                try:
                    os.link(tmp, path)  # atomic, and refuses an existing name
                except FileExistsError:
                    return False
            finally:
                _unlink(tmp)
            self.fsync_dir(posixpath.dirname(path))
            return True
        self.makedirs(posixpath.dirname(path))
        for _ in range(20):
            try:
                self.fsspec.pipe_file(path, data, mode="create")  # s3fs: PutObject with If-None-Match: *
                return True
            except FileExistsError:
                return False
            except Exception as exc:
                code = _error_code(exc)
                if code in PRECONDITION_CODES:
                    return False
                if code not in RETRY_CODES:
                    with self._store():
                        raise
        raise StoreError(f"{self.url}: {path} stayed in conflict with another writer's conditional write")

    def remove(self, path: str) -> None:
        if self.is_local:
            _unlink(path)
            return
        with self._store(), contextlib.suppress(FileNotFoundError):
            self.fsspec.rm_file(path)

    def remove_tree(self, path: str) -> None:
        with self._store():
            if not self.exists(path):
                return
            if self.is_local:
                self.fs.delete_dir(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.fsspec.rm(path, recursive=True)

    def fsync_dir(self, path: str) -> None:
        if self.is_local:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # DuckDB --------------------------------------------------------------------------------
    def register(self, con) -> None:
        """Let a DuckDB connection read the store through our fsspec filesystem (no extension)."""
        if not self.is_local:
            con.register_filesystem(self.fsspec)


class _DurableFile:
    """A local file whose ``close`` flushes and fsyncs before closing."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, data) -> int:
        return self.handle.write(data)

    def tell(self) -> int:
        return self.handle.tell()

    def flush(self) -> None:
        self.handle.flush()

    @property
    def closed(self) -> bool:
        return self.handle.closed

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code (or HTTP status) behind an exception that s3fs or botocore raised."""
    seen = 0
    while exc is not None and seen < 5:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            code = error.get("Code")
            return str(code) if code else (str(status) if status else None)
        if getattr(exc, "errno", None) == errno.EEXIST:
            return "412"
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_OPENED: dict[str, Storage] = {}  # remote roots opened in this process, with their options


def open_storage(root: str, options: dict[str, Any] | None = None) -> Storage:
    """The ``Storage`` of ``root``; a store opened before in this process with options (the run's
    config) is reused by code that names only the root (the ledger in a shard task)."""
    root = str(root)
    if is_local(root):
        return Storage(root)
    if options is not None or root not in _OPENED:
        _OPENED[root] = Storage(root, options)
    return _OPENED[root]
