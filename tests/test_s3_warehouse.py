"""The warehouse on a real S3 server (SeaweedFS on 127.0.0.1): versions, the conditional create that
commits, two writers at once, kill -9 at every step of a commit (on S3 and on a local disk), readers
that never list a writer's data, the ledger, and options that never reach the warehouse."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from starmill.generators.procedural import generate_problems
from starmill.schemas import RejectRecord
from starmill.warehouse import Warehouse, WarehouseError
from starmill.warehouse.health import verify
from starmill.warehouse.integrity import DATA
from starmill.warehouse.ledger import Ledger, LedgerWarning
from starmill.warehouse.storage import open_storage
from tests.helpers import sample

REPO = Path(__file__).resolve().parent.parent


def commit_problems(wh, n, seed=0, name="problems", **kwargs):
    with wh.writer(name, "problems", **kwargs) as writer:
        writer.write(generate_problems(n, seed=seed))
        writer.count("problems", n)
    return writer.version


def keys(client, root):
    """Every object under the warehouse prefix, relative to it."""
    prefix = root[len("s3://") :]
    return sorted(k[len(prefix) + 1 :] for k in client.find(prefix))


def test_versions_on_s3(s3_root, s3fs_client):
    wh = Warehouse(s3_root)
    assert wh.datasets() == [] and wh.versions("problems") == []
    assert commit_problems(wh, 30, seed=1, config={"k": 4}, parents=["other@v3"]) == 1
    first = wh.read("problems@v1")
    assert commit_problems(wh, 20, seed=2) == 2
    assert wh.datasets() == ["problems"] and wh.versions("problems") == [1, 2]
    assert wh.read("problems@v1").equals(first) and wh.read("problems").num_rows == 20
    assert str(wh.resolve("problems")) == "problems@v2"
    manifest = wh.manifest("problems@v1")
    assert (manifest.format, manifest.rows, manifest.config, manifest.parents) == (2, 30, {"k": 4}, ["other@v3"])
    assert manifest.data.startswith(f"problems/{DATA}/") and all(f.sha256 for f in manifest.files)
    found = keys(s3fs_client, s3_root)
    assert [k for k in found if not k.startswith(f"problems/{DATA}/")] == [
        "problems/v1/manifest.json",
        "problems/v2/manifest.json",
    ]
    files = {f"{manifest.data}/{f.path}" for f in manifest.files}
    assert files <= set(found)  # the manifest points at the files where they lie
    with pytest.raises(WarehouseError, match="holds 'problems' rows"):
        wh.writer("problems", "samples")


def test_a_version_is_one_conditional_create(s3_root):
    """The S3 server answers 412 to a second create of the same key: the first manifest stays."""
    storage = open_storage(s3_root)
    path = storage.path("x", "v1", "manifest.json")
    assert storage.create_new(path, b"first") is True
    assert storage.create_new(path, b"second") is False
    assert storage.read_bytes(path) == b"first"


def test_a_taken_number_moves_the_writer_to_the_next(s3_root):
    wh = Warehouse(s3_root)
    commit_problems(wh, 3)
    with wh.writer("problems", "problems") as writer:
        writer.write(generate_problems(4, seed=1))
        # another writer commits v2 after this one looked: its create of v2 gets 412 and it takes v3
        storage = wh.storage
        storage.create_new(
            storage.path("problems", "v2", "manifest.json"),
            json.dumps(
                json.loads(storage.read_text(storage.path("problems", "v1", "manifest.json"))) | {"version": 2}
            ).encode(),
        )
        real_versions = wh.versions
        wh.versions = lambda name: [v for v in real_versions(name) if v < 2]  # it had listed before v2 came
    wh.versions = real_versions
    assert writer.version == 3 and wh.versions("problems") == [1, 2, 3]
    assert wh.read("problems@v3").num_rows == 4


def test_side_tables_abort_and_a_failed_commit_leave_nothing(s3_root, s3fs_client, monkeypatch):
    wh = Warehouse(s3_root)
    with wh.writer("problems", "problems", rows_per_file=40, row_group_rows=16) as writer:
        writer.write(generate_problems(100))
        writer.write([RejectRecord("s", 4, "missing_question", "no question", "{}")], table="rejects")
    assert [f.rows for f in wh.manifest("problems").files if f.table == "problems"] == [40, 40, 20]
    assert wh.read("problems", table="rejects").num_rows == 1
    before = keys(s3fs_client, s3_root)
    with pytest.raises(RuntimeError):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(5))
            raise RuntimeError("boom")
    from starmill.warehouse.storage import Storage

    def full(self, path, data, scratch=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Storage, "create_new", full)
    with pytest.raises(OSError, match="No space left"):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(5))
    assert keys(s3fs_client, s3_root) == before and wh.versions("problems") == [1]


def _concurrent_writer(root, env, seed, count):
    os.environ.update(env)
    wh = Warehouse(root)
    return [commit_problems(wh, 20, seed=seed * 100 + i) for i in range(count)]


def test_two_processes_commit_distinct_versions(s3_root, s3_env):
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_concurrent_writer, [(s3_root, s3_env, 1, 5), (s3_root, s3_env, 2, 5)])
    assert sorted(results[0] + results[1]) == list(range(1, 11))
    wh = Warehouse(s3_root)
    seen = set()
    for version in range(1, 11):
        table = wh.read(f"problems@v{version}")
        assert table.num_rows == 20
        seen.add(tuple(table.column("problem_id").to_pylist()))
    assert len(seen) == 10  # nobody overwrote anybody
    assert all(report.ok for report in verify(wh))


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from starmill.generators.procedural import generate_problems
    from starmill.warehouse import Warehouse
    from starmill.warehouse import storage, writer as writer_module

    root, n, point = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    create = storage.Storage.create_new
    if point == "mid_data":  # a data file half uploaded
        write = writer_module._HashingFile.write
        def half(self, data):
            if self.size > 200_000:
                die()
            return write(self, data)
        writer_module._HashingFile.write = half
    elif point == "data_written":  # every file written, no manifest yet
        storage.Storage.create_new = lambda self, *a, **k: die()
    elif point == "manifest_staged":  # locally: the manifest's temporary file fsynced, not linked
        os.link = lambda src, dst: die()
    elif point == "manifest_put":  # on S3: the conditional PUT on its way
        import s3fs
        call = s3fs.S3FileSystem._call_s3
        async def put(self, method, *args, **kwargs):
            if method == "put_object" and kwargs.get("Key", "").endswith("manifest.json"):
                die()
            return await call(self, method, *args, **kwargs)
        s3fs.S3FileSystem._call_s3 = put
    elif point == "committed":  # the manifest created, the writer dies before it returns
        def then_die(self, *a, **k):
            create(self, *a, **k)
            die()
        storage.Storage.create_new = then_die
    wh = Warehouse(root)
    with wh.writer("problems", "problems", row_group_rows=2000) as w:
        print("writing", flush=True)
        w.write(generate_problems(n, seed=5))
    print("committed", flush=True)
    """
)
POINTS = {
    "local": ["mid_data", "data_written", "manifest_staged", "committed"],
    "s3": ["mid_data", "data_written", "manifest_put", "committed"],
}


@pytest.mark.parametrize("backend,point", [(b, p) for b, points in POINTS.items() for p in points])
def test_kill_9_at_each_step_of_a_commit(backend, point, request, tmp_path):
    """Nothing is visible unless the manifest was created, and then all of it is; the next writer
    removes the dead writer's data unless a version names it."""
    if backend == "s3":
        root = request.getfixturevalue("s3_root")
        client = request.getfixturevalue("s3fs_client")

        def listing():
            return {k.split("/")[2] for k in keys(client, root) if k.startswith(f"problems/{DATA}/")}
    else:
        root = str(tmp_path / "wh")
        folder = tmp_path / "wh" / "problems" / DATA

        def listing():
            return {p.name for p in folder.iterdir()} if folder.exists() else set()

    script = tmp_path / "writer.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), root, "20000", point], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.split() == ["writing"]
    wh = Warehouse(root)
    visible = wh.versions("problems")
    assert visible == ([1] if point == "committed" else [])
    for version in visible:  # whatever is visible is complete
        assert wh.read(f"problems@v{version}").num_rows == 20000
    if backend == "local" or point != "mid_data":  # (a store shows no object of a half-uploaded file)
        assert len(listing()) == 1
    from starmill.warehouse.sql import connect, query

    assert query(connect(wh), "SELECT count(*) AS n FROM manifests").to_pylist() == [{"n": len(visible)}]
    commit_problems(wh, 5, seed=9)  # a later writer (another pid) cleans up after the dead one
    named = {wh.manifest(f"problems@v{v}").data.rsplit("/", 1)[1] for v in wh.versions("problems")}
    assert listing() == named and wh.read("problems").num_rows == 5
    assert wh.versions("problems") == visible + [len(visible) + 1]


def test_readers_never_list_a_writers_data(s3_root, monkeypatch):
    import s3fs

    wh = Warehouse(s3_root)
    commit_problems(wh, 5)
    commit_problems(wh, 6, seed=1)
    listed = []
    lsdir = s3fs.S3FileSystem._lsdir

    async def spy(self, path, *args, **kwargs):
        listed.append(path)
        return await lsdir(self, path, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_lsdir", spy)
    fresh = Warehouse(s3_root)
    from starmill.warehouse.sql import connect, query

    assert fresh.datasets() == ["problems"] and fresh.read("problems").num_rows == 6
    assert query(connect(fresh), "SELECT count(*) AS n FROM problems_all").to_pylist() == [{"n": 11}]
    assert all(r.ok for r in verify(fresh))
    assert listed and not [p for p in listed if f"/{DATA}" in p], listed


def test_the_ledger_on_s3(s3_root, s3fs_client):
    ledger = Ledger(s3_root, "run1")
    samples = [sample("p" * 32, "so 5", index=i) for i in range(3)]
    assert not ledger.has("k1") and ledger.shard_count() == 0 and ledger.failures() == []
    ledger.fail("k1", "boom", {"stage": "rationale"})
    assert ledger.failures() == [{"shard": "k1", "error": "boom", "stage": "rationale"}]
    ledger.record("k1", samples)
    ledger.record("k2", [])
    assert ledger.has("k1") and ledger.load("k1") == samples and ledger.load("k2") == []
    assert ledger.shard_count() == 2 and ledger.failures() == []  # a recorded shard is no longer failed
    ledger.write_state("publish", {"partial": True})
    prefix = s3_root[len("s3://") :]
    assert json.loads(s3fs_client.cat_file(f"{prefix}/_runs/run1/publish.json")) == {"partial": True}
    shard = f"{prefix}/_runs/run1/shards/k1.parquet"
    s3fs_client.pipe_file(shard, s3fs_client.cat_file(shard)[:100])  # truncated behind its back
    again = Ledger(s3_root, "run1")
    with pytest.warns(LedgerWarning, match=r"ledger shard k1.parquet of run run1 is unreadable"):
        assert not again.has("k1")
    assert not s3fs_client.exists(shard) and again.shard_count() == 1
    again.record("k1", samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert again.has("k1") and again.load("k1") == samples
    assert ledger.path.is_dir() and str(ledger.path).startswith(os.environ["STARMILL_CACHE"])  # local scratch


def test_options_instead_of_environment_never_reach_the_warehouse(s3_root, s3_env, s3fs_client, monkeypatch):
    """Endpoint and keys as fsspec options (the config's warehouse_options, or STARMILL_WAREHOUSE_OPTIONS):
    they work, and no object of the warehouse holds the secret."""
    for name in s3_env:
        monkeypatch.delenv(name)
    options = {
        "endpoint_url": s3_env["AWS_ENDPOINT_URL"],
        "key": s3_env["AWS_ACCESS_KEY_ID"],
        "secret": s3_env["AWS_SECRET_ACCESS_KEY"],
    }
    wh = Warehouse(s3_root, options=options)
    commit_problems(wh, 4, config={"warehouse": s3_root, "warehouse_options": options, "k": 2})
    assert wh.manifest("problems").config == {"warehouse": s3_root, "k": 2}
    monkeypatch.setenv("STARMILL_WAREHOUSE_OPTIONS", json.dumps(options))
    other = s3_root + "-env"
    assert commit_problems(Warehouse(other), 3) == 1 and Warehouse(other).read("problems").num_rows == 3
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    for root in (s3_root, other):
        prefix = root[len("s3://") :]
        for key in s3fs_client.find(prefix):
            assert s3_env["AWS_SECRET_ACCESS_KEY"].encode() not in s3fs_client.cat_file(key), key
    monkeypatch.setenv("STARMILL_WAREHOUSE_OPTIONS", "[1]")
    with pytest.raises(WarehouseError, match="STARMILL_WAREHOUSE_OPTIONS must be a JSON object"):
        Warehouse(s3_root + "-bad")
