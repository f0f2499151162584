"""The warehouse on a generic fsspec store with no rename and no folders of its own: fsspec's
in-memory filesystem (``memory://``), the code path gs:// (gcsfs) and az:// (adlfs) take. Versions,
the conditional create that commits (``pipe_file(mode="create")``; gcsfs sends ``ifGenerationMatch=0``
and adlfs ``overwrite=False``, both raise FileExistsError on a conflict, as memory does), two writers
at once, a failed commit, checksums and confined SQL through the registered filesystem."""

import threading
import uuid

import fsspec
import pytest

from starmill.generators.procedural import generate_problems
from starmill.warehouse import Warehouse, WarehouseError
from starmill.warehouse.health import verify
from starmill.warehouse.sql import connect, query
from starmill.warehouse.storage import open_storage


@pytest.fixture
def root():
    name = f"memory://bucket-{uuid.uuid4().hex[:8]}/wh"
    yield name
    fsspec.filesystem("memory").rm(name[len("memory://") :].split("/")[0], recursive=True)


def commit(wh, n, seed=0):
    with wh.writer("problems", "problems") as writer:
        writer.write(generate_problems(n, seed=seed))
        writer.count("problems", n)
    return writer.version


def test_versions_and_checksums_on_a_generic_store(root):
    wh = Warehouse(root)
    assert (wh.storage.protocol, wh.storage.is_local) == ("memory", False)
    assert commit(wh, 12, seed=1) == 1 and commit(wh, 7, seed=2) == 2
    assert wh.versions("problems") == [1, 2] and wh.read("problems@v1").num_rows == 12
    assert [r.ok for r in verify(wh)] == [True, True]
    memory = fsspec.filesystem("memory")
    data = [p for p in memory.find(root[len("memory://") :]) if p.endswith(".parquet")]
    memory.pipe_file(data[0], b"not parquet")  # damage one file: its version fails its checksum
    assert sorted(r.ok for r in verify(wh)) == [False, True]


def test_the_commit_is_one_conditional_create(root):
    storage = open_storage(root)
    path = storage.path("x", "v1", "manifest.json")
    assert storage.create_new(path, b"first") is True
    assert storage.create_new(path, b"second") is False
    assert storage.read_bytes(path) == b"first"


def test_two_writers_at_once_get_distinct_versions(root):
    wh, versions, errors = Warehouse(root), [], []

    def write(seed):
        try:
            versions.append(commit(Warehouse(root), 5, seed=seed))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(versions) == [1, 2, 3, 4] and wh.versions("problems") == [1, 2, 3, 4]


def test_a_failed_commit_leaves_no_version(root):
    wh = Warehouse(root)
    with pytest.raises(RuntimeError, match="half way"):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(5, seed=0))
            raise RuntimeError("half way")
    assert wh.versions("problems") == [] and wh.datasets() == []


def test_sql_reads_through_the_store_and_stays_confined(root):
    wh = Warehouse(root)
    commit(wh, 9, seed=3)
    session = connect(wh)
    assert query(session, "SELECT count(*) AS n FROM problems").to_pylist() == [{"n": 9}]
    with pytest.raises(WarehouseError):
        query(session, "COPY (SELECT 1) TO '/tmp/escape.csv'")
