"""Versions, atomic commits, concurrent writers, schema versions and the DuckDB views."""

import json
import multiprocessing as mp
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from starmill.generators.procedural import generate_problems
from starmill.schemas import ProblemRecord, RejectRecord, SchemaVersionError, check_readable
from starmill.warehouse import DatasetNotFound, QueryError, VersionNotFound, Warehouse, WarehouseError
from starmill.warehouse.integrity import DATA
from starmill.warehouse.sql import connect, query

REPO = Path(__file__).resolve().parent.parent


def commit_problems(wh, n, seed=0, name="problems", **lineage):
    with wh.writer(name, "problems", **lineage) as writer:
        writer.write(generate_problems(n, seed=seed))
        writer.count("problems", n)
    return writer.version


def test_versions_are_numbered_and_immutable(tmp_path):
    wh = Warehouse(tmp_path)
    assert commit_problems(wh, 30, seed=1) == 1
    first = wh.read("problems@v1")
    assert commit_problems(wh, 20, seed=2) == 2
    assert wh.versions("problems") == [1, 2]
    assert wh.read("problems@v1").equals(first)
    assert wh.read("problems").num_rows == 20
    assert str(wh.resolve("problems")) == "problems@v2"
    assert wh.resolve("problems@1").version == 1


def test_manifest_holds_lineage(tmp_path):
    wh = Warehouse(tmp_path)
    commit_problems(
        wh,
        10,
        config={"k": 4},
        parents=["other@v3"],
        sampling={"temperature": 0.7},
        models=[{"model": "demo"}],
        sources=[{"name": "procedural", "uri": "procedural"}],
    )
    manifest = wh.manifest("problems")
    assert (manifest.dataset, manifest.version, manifest.table, manifest.rows) == ("problems", 1, "problems", 10)
    assert manifest.config == {"k": 4}
    assert manifest.parents == ["other@v3"]
    assert manifest.sampling == {"temperature": 0.7}
    assert manifest.counts == {"problems": 10}
    assert manifest.starmill_version
    assert manifest.schema_version == ProblemRecord.SCHEMA_VERSION
    assert sum(f.rows for f in manifest.files) == 10
    on_disk = json.loads((tmp_path / "problems" / "v1" / "manifest.json").read_text())
    assert on_disk["version"] == 1 and on_disk["tables"] == {"problems": 10}


def test_missing_dataset_and_version_errors(tmp_path):
    wh = Warehouse(tmp_path)
    with pytest.raises(DatasetNotFound, match="no dataset 'nope'"):
        wh.resolve("nope")
    commit_problems(wh, 3)
    with pytest.raises(VersionNotFound, match="no version v9.*v1"):
        wh.resolve("problems@v9")


@pytest.mark.parametrize("name", ["Problems", "1abc", "a-b", "x_all", "manifests", ""])
def test_bad_dataset_names_are_refused(tmp_path, name):
    with pytest.raises(WarehouseError, match="bad dataset name"):
        Warehouse(tmp_path).writer(name, "problems")


def test_a_dataset_keeps_its_kind(tmp_path):
    wh = Warehouse(tmp_path)
    commit_problems(wh, 3)
    with pytest.raises(WarehouseError, match="holds 'problems' rows"):
        wh.writer("problems", "samples")


def test_abort_leaves_nothing(tmp_path):
    wh = Warehouse(tmp_path)
    with pytest.raises(RuntimeError):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(5))
            raise RuntimeError("boom")
    assert wh.datasets() == []
    assert list((tmp_path / "problems" / DATA).iterdir()) == []


def test_streaming_write_rolls_files_and_row_groups(tmp_path):
    wh = Warehouse(tmp_path)
    with wh.writer("problems", "problems", rows_per_file=250, row_group_rows=100) as writer:
        writer.write(generate_problems(600))
    manifest = wh.manifest("problems")
    assert [f.rows for f in manifest.files] == [250, 250, 100]
    meta = pq.ParquetFile(wh.files(wh.resolve("problems"))[0]).metadata
    assert meta.num_row_groups == 3 and meta.row_group(0).num_rows == 100
    assert wh.read("problems").num_rows == 600


def test_arrow_input_is_cast_to_the_table_schema(tmp_path):
    wh = Warehouse(tmp_path)
    table = ProblemRecord.to_table(list(generate_problems(7)))
    shuffled = table.select(list(reversed(table.column_names)))
    with wh.writer("problems", "problems") as writer:
        writer.write(shuffled)
    assert wh.read("problems").column_names == ProblemRecord.ARROW_SCHEMA.names


def test_newer_schema_version_stops_readers(tmp_path):
    wh = Warehouse(tmp_path)
    commit_problems(wh, 3)
    path = tmp_path / "problems" / "v1" / "manifest.json"
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(WarehouseError, match="schema version 99.*upgrade starmill"):
        wh.read("problems")
    con = connect(wh)
    with pytest.raises(QueryError, match="schema version 99"):
        query(con, "SELECT * FROM problems")
    newer = ProblemRecord.ARROW_SCHEMA.with_metadata({b"starmill.schema_version": b"7"})
    with pytest.raises(SchemaVersionError, match="version 7"):
        check_readable(newer, "problems", 1)


def _concurrent_writer(root, seed, count):
    wh = Warehouse(root)
    versions = []
    for i in range(count):
        versions.append(commit_problems(wh, 20, seed=seed * 100 + i))
    return versions


def test_concurrent_writers_get_distinct_versions(tmp_path):
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_concurrent_writer, [(str(tmp_path), 1, 6), (str(tmp_path), 2, 6)])
    all_versions = sorted(results[0] + results[1])
    assert all_versions == list(range(1, 13))
    wh = Warehouse(tmp_path)
    seen = set()
    for v in all_versions:
        table = wh.read(f"problems@v{v}")
        assert table.num_rows == 20
        seen.add(tuple(table.column("problem_id").to_pylist()))
    assert len(seen) == 12  # nobody overwrote anybody


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from starmill.generators.procedural import generate_problems
    from starmill.warehouse import Warehouse
    wh = Warehouse(sys.argv[1])
    with wh.writer("problems", "problems", row_group_rows=2000) as w:
        print("writing", flush=True)
        w.write(generate_problems(int(sys.argv[2]), seed=5))
    print("committed", flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.8, 1.5])
def test_writer_killed_mid_commit_leaves_no_visible_version(tmp_path, delay):
    script = tmp_path / "writer.py"
    script.write_text(KILL_SCRIPT)
    root = tmp_path / "wh"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), "20000"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wh = Warehouse(root)
    for version in wh.versions("problems"):  # whatever is visible is complete
        assert wh.read(f"problems@v{version}").num_rows == 20000
    assert len(wh.versions("problems")) <= 1
    if not wh.versions("problems"):
        assert list((root / "problems" / DATA).iterdir())  # the leftover is a data folder, invisible
        assert query(connect(wh), "SELECT count(*) AS n FROM manifests").to_pylist() == [{"n": 0}]
    commit_problems(wh, 5, seed=9)  # a later writer cleans up after the dead one
    named = {wh.manifest(f"problems@v{v}").data.rsplit("/", 1)[1] for v in wh.versions("problems")}
    assert {p.name for p in (root / "problems" / DATA).iterdir()} == named
    assert wh.read("problems").num_rows == 5


def test_sql_views_cover_latest_all_versions_side_tables_and_manifests(tmp_path):
    wh = Warehouse(tmp_path)
    for seed, n in ((1, 10), (2, 15)):
        with wh.writer("problems", "problems") as writer:
            writer.write(generate_problems(n, seed=seed))
            writer.write([RejectRecord("s", 4, "missing_question", "no question", "{}")], table="rejects")
    con = connect(wh)
    assert query(con, "SELECT count(*) AS n FROM problems").to_pylist() == [{"n": 15}]
    by_version = query(con, "SELECT version, count(*) AS n FROM problems_all GROUP BY 1 ORDER BY 1")
    assert by_version.to_pylist() == [{"version": 1, "n": 10}, {"version": 2, "n": 15}]
    assert query(con, "SELECT reason FROM problems_rejects").to_pylist() == [{"reason": "missing_question"}]
    lineage = query(
        con, "SELECT dataset, version, table_kind, tables->>'problems' AS rows FROM manifests ORDER BY version"
    )
    assert lineage.to_pylist() == [
        {"dataset": "problems", "version": 1, "table_kind": "problems", "rows": "10"},
        {"dataset": "problems", "version": 2, "table_kind": "problems", "rows": "15"},
    ]
    rows = query(con, "SELECT count(*) AS n FROM problems WHERE length(question) > $min", {"min": "0"})
    assert rows.to_pylist() == [{"n": 15}]


@pytest.mark.parametrize(
    "sql,message",
    [
        ("DROP VIEW problems", "only SELECT"),
        ("CREATE TABLE t AS SELECT 1", "only SELECT"),
        ("COPY problems TO 'x.csv'", "only SELECT"),
        ("SELECT 1; DELETE FROM problems", "one statement at a time"),
        ("ATTACH 'x.db'", "only SELECT"),
        ("SELEC 1", "syntax error"),
        ("SELECT * FROM nope", "nope does not exist"),
        ("SELECT $missing", "missing query parameter"),
        ("", "no SQL statement"),
    ],
)
def test_sql_refuses_writes_and_reports_errors(tmp_path, sql, message):
    wh = Warehouse(tmp_path)
    commit_problems(wh, 3)
    with pytest.raises(QueryError, match=message):
        query(connect(wh), sql)


def test_empty_warehouse_has_an_empty_manifests_view(tmp_path):
    con = connect(Warehouse(tmp_path / "empty"))
    assert query(con, "SELECT count(*) AS n FROM manifests").to_pylist() == [{"n": 0}]


def test_a_failed_commit_leaves_no_data_folder(tmp_path, monkeypatch):
    """A commit that fails at the last step (here the manifest's create; a full disk in real life) cleans up."""
    from starmill.schemas import ProblemRecord
    from starmill.warehouse import Warehouse
    from starmill.warehouse.storage import Storage

    wh = Warehouse(str(tmp_path / "wh"))

    def refuse(self, path, data, scratch=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Storage, "create_new", refuse)
    with pytest.raises(OSError, match="No space left"):
        with wh.writer("problems", "problems") as writer:
            writer.write([ProblemRecord.make("s", "What is 1 + 1?", "2")])
    data = tmp_path / "wh" / "problems" / DATA
    assert not data.exists() or not any(data.iterdir())
    assert wh.versions("problems") == []


def test_the_local_commit_is_one_conditional_create(tmp_path, monkeypatch):
    """A create where a manifest already is refuses and keeps the first; a writer that listed the versions
    before another one committed takes the next number and never replaces that version."""
    wh = Warehouse(tmp_path)
    path = wh.storage.path("x", "v1", "manifest.json")
    assert wh.storage.create_new(path, b"first") is True
    assert wh.storage.create_new(path, b"second") is False
    assert wh.storage.read_bytes(path) == b"first"
    assert commit_problems(Warehouse(tmp_path), 5, seed=1) == 1
    first = wh.read("problems@v1").column("problem_id").to_pylist()
    stale = Warehouse(tmp_path)
    monkeypatch.setattr(stale, "versions", lambda name: [])  # listed before v1 was committed
    assert commit_problems(stale, 7, seed=2) == 2
    assert wh.versions("problems") == [1, 2]
    assert wh.read("problems@v1").column("problem_id").to_pylist() == first
    assert wh.read("problems@v2").num_rows == 7


def test_a_data_folder_removed_before_the_commit_commits_nothing(tmp_path, monkeypatch):
    """A second writer that takes this one for dead removes its data folder: the commit finds its file
    gone and fails, rather than make a version that names files that are not there."""
    import starmill.warehouse.writer

    wh = Warehouse(tmp_path)
    with pytest.raises(WarehouseError, match="is not there as written"):
        with wh.writer("problems", "problems") as writer:
            writer.write(ProblemRecord.to_table(list(generate_problems(5, seed=0))))  # its file is open now
            monkeypatch.setattr(starmill.warehouse.writer, "is_dead", lambda name, now=None: True)
            Warehouse(tmp_path).writer("problems", "problems").abort()  # cleans "dead" folders as it starts
    assert wh.versions("problems") == []


def test_a_manifest_that_landed_after_all_keeps_its_files(tmp_path, monkeypatch):
    """The create fails after the manifest landed (a store's timeout after the PUT went through): the
    version exists, so the failing writer keeps its files and the version reads."""
    from starmill.warehouse.storage import Storage

    real = Storage.create_new

    def lands_then_fails(self, path, data, scratch=None):
        real(self, path, data, scratch)
        raise OSError(110, "Connection timed out")

    monkeypatch.setattr(Storage, "create_new", lands_then_fails)
    wh = Warehouse(tmp_path)
    with pytest.raises(OSError, match="timed out"):
        commit_problems(wh, 6, seed=3)
    assert wh.versions("problems") == [1] and wh.read("problems@v1").num_rows == 6


def test_a_version_committed_by_rename_still_reads(tmp_path, capsys):
    """A format-1 version (files inside ``vN/``, written by the rename protocol) reads, verifies and
    serves SQL as before; the next commit is a format-2 ``v2`` beside it."""
    import shutil

    from tests.helpers import run_cli

    wh = Warehouse(tmp_path)
    commit_problems(wh, 8, seed=1)
    version = tmp_path / "problems" / "v1"
    data = json.loads((version / "manifest.json").read_text())
    for entry in data["files"]:
        (version / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(tmp_path / data["data"] / entry["path"], version / entry["path"])
    shutil.rmtree(tmp_path / "problems" / DATA)
    data["format"] = 1
    del data["data"]
    (version / "manifest.json").write_text(json.dumps(data))
    old = Warehouse(tmp_path)
    assert old.read("problems@v1").num_rows == 8 and old.manifest("problems@v1").data is None
    assert run_cli(capsys, "verify", "-w", str(tmp_path), "--csv")[1] == "version,status,problem\nproblems@v1,ok,\n"
    assert commit_problems(old, 3, seed=2) == 2
    assert Warehouse(tmp_path).manifest("problems@v2").format == 2
    assert query(connect(old), "SELECT version, count(*) AS n FROM problems_all GROUP BY 1 ORDER BY 1").to_pylist() == [
        {"version": 1, "n": 8},
        {"version": 2, "n": 3},
    ]
    # a format-1 manifest may not point elsewhere, and a format-2 one only at its own dataset's data
    data["data"] = "other/_data/x"
    (version / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(WarehouseError, match="format 1 manifest names a data folder"):
        Warehouse(tmp_path).manifest("problems@v1")
    v2 = tmp_path / "problems" / "v2" / "manifest.json"
    for bad in ("other/_data/h-1-2-0123456789ab", "problems/_data/../../x", "/etc"):
        v2.write_text(json.dumps({**json.loads(v2.read_text()), "data": bad}))
        with pytest.raises(WarehouseError, match="names no data folder of its own dataset"):
            Warehouse(tmp_path).manifest("problems@v2")
