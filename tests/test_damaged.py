"""One damaged dataset never takes the warehouse down, and a damaged version is never served.

Each kind of damage is made on real files of ``bad``; ``good`` must still be queried, listed and
ingested next to it, while ``bad`` is skipped with one warning, listed as damaged, refused by
``show`` and reported by ``verify`` (exit 1).
"""

import json
import shutil
import warnings
from pathlib import Path

import pytest

from starmill.generators.procedural import generate_problems
from starmill.schemas import RejectRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.errors import DamagedVersion
from starmill.warehouse.ledger import Ledger, LedgerWarning
from tests.helpers import run_cli as run
from tests.helpers import sample


def commit(wh, name, n, seed=0):
    with wh.writer(name, "problems") as writer:
        writer.write(generate_problems(n, seed=seed))
        writer.write([RejectRecord("s", 1, "missing_question", "no question", "{}")], table="rejects")
        writer.count("problems", n)
        writer.count("rejects", 1)
    return writer.version


@pytest.fixture
def wh(warehouse_root):
    wh = Warehouse(warehouse_root)
    commit(wh, "good", 5, seed=1)
    commit(wh, "bad", 6, seed=2)
    return wh


def part(root: Path, name="bad", version=1, table="problems") -> Path:
    """A file of the version, in the data folder its manifest names (format 1: the version folder)."""
    manifest = json.loads((root / name / f"v{version}" / "manifest.json").read_text())
    folder = root / manifest["data"] if manifest.get("data") else root / name / f"v{version}"
    return folder / table / "part-00000.parquet"


def edit_manifest(root: Path, change, name="bad", version=1) -> None:
    path = root / name / f"v{version}" / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def truncate(root, tmp):
    data = part(root).read_bytes()
    part(root).write_bytes(data[: len(data) // 2])
    return f"problems/part-00000.parquet is {len(data) // 2} bytes, its manifest says {len(data)}"


def delete(root, tmp):
    part(root).unlink()
    return "problems/part-00000.parquet is missing"


def corrupt_manifest(root, tmp):
    (root / "bad" / "v1" / "manifest.json").write_text('{"format": 1, "dataset": "bad", "vers')
    return "manifest.json is not valid JSON (Unterminated string starting at: line 1 column 33 (char 32))"


def not_a_manifest(root, tmp):
    edit_manifest(root, lambda d: d.pop("tables") and d.update(files="many"))
    return "manifest.json is not a valid manifest (files: Input should be a valid list)"


def unknown_format(root, tmp):
    edit_manifest(root, lambda d: d.update(format="one"))
    return "manifest format 'one' is unknown (this starmill reads format 2)"


def newer_format(root, tmp):
    edit_manifest(root, lambda d: d.update(format=7))
    return "it was written by a newer starmill (manifest format 7): upgrade starmill"


def swapped_file(root, tmp):
    shutil.copyfile(part(root, table="rejects"), part(root))
    size = part(root).stat().st_size
    return f"problems/part-00000.parquet is {size} bytes, its manifest says"


def swapped_file_and_manifest(root, tmp):
    """Another schema's file, with the manifest edited to match its size and rows."""
    shutil.copyfile(part(root, table="rejects"), part(root))

    def change(data):
        entry = next(f for f in data["files"] if f["table"] == "problems")
        entry.update(bytes=part(root).stat().st_size, rows=1)
        data["tables"]["problems"] = data["counts"]["problems"] = 1

    edit_manifest(root, change)
    return "problems/part-00000.parquet holds table 'rejects', its manifest says 'problems' (a file swapped in?)"


def edited_counts(root, tmp):
    """Every file as committed, but the rows the manifest's counts promise edited by hand."""
    edit_manifest(root, lambda d: d["counts"].update(problems=60))
    return "its counts say problems=60, but its 'problems' files hold 6 rows"


def edited_main_count(root, tmp):
    """``rows`` (eval, regrade, prm-data) counts the main table."""
    edit_manifest(root, lambda d: d["counts"].update(rows=5))
    return "its counts say rows=5, but its 'problems' files hold 6 rows"


def linked_out(root, tmp):
    """The same bytes, but through a link to a file outside the warehouse."""
    outside = tmp / "outside.parquet"
    shutil.move(part(root), outside)
    part(root).symlink_to(outside)
    return "problems/part-00000.parquet links out of the warehouse"


def copied_folder(root, tmp):
    shutil.copytree(root / "bad" / "v1", root / "bad" / "v9")
    return "its manifest is of v1, but the folder is v9 (a copied folder?)"


def renamed_dataset(root, tmp):
    shutil.rmtree(root / "bad")
    shutil.copytree(root / "good", root / "bad")
    return "its manifest names dataset 'good', not 'bad' (a copied or renamed folder?)"


DAMAGE = [
    truncate,
    delete,
    corrupt_manifest,
    not_a_manifest,
    unknown_format,
    newer_format,
    swapped_file,
    swapped_file_and_manifest,
    edited_counts,
    edited_main_count,
    linked_out,
    copied_folder,
    renamed_dataset,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_one_damaged_dataset_leaves_the_rest_working(wh, tmp_path, capsys, damage):
    root = Path(wh.root)
    problem = damage(root, tmp_path)
    latest = "bad@v9" if damage is copied_folder else "bad@v1"
    status = "newer" if damage is newer_format else "damaged"
    error = f"{latest} {'cannot be read' if status == 'newer' else 'is damaged'}: {problem}"
    warning = f"Warning: dataset 'bad' is not served: {error}"

    code, out, err = run(capsys, "sql", "SELECT count(*) AS n FROM good", "--csv")
    assert (code, out) == (0, "n\n5\n")
    assert err.startswith(warning) and err.count("\n") == 1  # one line per damaged dataset
    assert run(capsys, "sql", "SELECT count(*) AS n FROM good_rejects", "--csv")[1] == "n\n1\n"
    assert run(capsys, "sql", "SELECT dataset, version FROM manifests ORDER BY ALL", "--csv")[1] == (
        "dataset,version\n" + ("bad,1\n" if damage is copied_folder else "") + "good,1\n"
    )

    for view in ("bad", "bad_rejects", "bad_all"):
        code, out, err = run(capsys, "sql", f"SELECT * FROM {view}")
        assert code == 1 and out == ""
        assert err.splitlines()[-1].startswith(
            f"Error: {'bad_all' if view == 'bad_all' else 'dataset ' + repr('bad')} is not served: {error}"
        )

    code, out, err = run(capsys, "datasets", "--csv")
    assert code == 0 and err.startswith(warning)
    rows = {line.split(",")[0]: line.split(",") for line in out.splitlines()[1:]}
    assert rows["good"][-1] == "ok"
    assert rows["bad"][-1] == f"{status} ({latest.split('@')[1]})"

    code, out, err = run(capsys, "show", "bad")
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {error}") and err.count("\n") == 1

    code, out, err = run(capsys, "verify", "--csv")
    assert code == 1
    assert f"{latest},{status},{problem}" in out.replace('"', "")
    assert "good@v1,ok," in out
    assert err.startswith("Error: 1 of ") and err.endswith(f"versions can't be served: {latest}\n")
    assert run(capsys, "verify", "good")[0] == 0

    code, out, _ = run(capsys, "ingest", "procedural", "-n", "4", "--name", "other")
    assert code == 0 and out.startswith("other@v1: 4 problems")
    assert run(capsys, "sql", "SELECT count(*) AS n FROM other", "--csv")[1] == "n\n4\n"


def test_a_changed_byte_is_caught_by_show_and_verify_only(wh, capsys):
    path = part(Path(wh.root), "good")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # same size, same footer: only the checksum sees it
    path.write_bytes(bytes(data))
    problem = "problems/part-00000.parquet does not match its sha256: its bytes changed after commit"
    code, out, err = run(capsys, "show", "good")
    assert (code, err) == (1, f"Error: good@v1 is damaged: {problem}\n")
    code, out, err = run(capsys, "verify", "good@v1")
    assert code == 1 and out.splitlines()[2].split(None, 2) == ["good@v1", "damaged", problem]
    assert err == "Error: 1 of 1 versions can't be served: good@v1\n"


def test_an_older_damaged_version_keeps_the_latest_served(wh, capsys):
    root = Path(wh.root)
    commit(wh, "bad", 7, seed=3)
    problem = truncate(root, None)
    assert run(capsys, "sql", "SELECT count(*) AS n FROM bad", "--csv")[1] == "n\n7\n"
    code, out, err = run(capsys, "sql", "SELECT count(*) AS n FROM bad_all")
    assert code == 1
    assert err.splitlines() == [
        f"Warning: bad_all is not served: bad@v1 is damaged: {problem}; `starmill verify bad` checks every file",
        f"Error: bad_all is not served: bad@v1 is damaged: {problem}",
    ]
    assert run(capsys, "show", "bad@v2")[0] == 0


def test_checksums_are_recorded_and_older_manifests_still_read(wh, capsys):
    import hashlib

    root = Path(wh.root)
    manifest = wh.manifest("good")
    for entry in manifest.files:
        assert entry.sha256 == hashlib.sha256((root / manifest.data / entry.path).read_bytes()).hexdigest()
    edit_manifest(root, lambda d: [f.pop("sha256") for f in d["files"]], name="good")  # a format-1 manifest
    code, out, _ = run(capsys, "show", "good")
    assert code == 0 and "  verified:  sizes, rows and schemas (no checksums: written by an older starmill)" in out
    code, out, _ = run(capsys, "verify", "good", "--csv")
    assert (code, out) == (
        0,
        'version,status,problem\ngood@v1,ok,"no checksums recorded (an older starmill): '
        'sizes, rows and schemas checked"\n',
    )


def test_verify_of_a_healthy_warehouse_exits_0(wh, capsys):
    code, out, err = run(capsys, "verify")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["version  status  problem", "-------  ------  -------", "bad@v1   ok", "good@v1  ok"]


def test_opening_a_damaged_version_raises_a_typed_error(wh):
    truncate(Path(wh.root), None)
    fresh = Warehouse(wh.root)
    with pytest.raises(DamagedVersion) as info:
        fresh.read("bad")
    assert (info.value.ref, info.value.status) == ("bad@v1", "damaged")
    assert fresh.read("good").num_rows == 5


def test_an_unreadable_ledger_shard_is_regenerated(tmp_path):
    ledger = Ledger(tmp_path, "run1")
    samples = [sample("p" * 32, "so 5", index=i) for i in range(3)]
    ledger.record("k1", samples)
    assert ledger.has("k1") and ledger.load("k1") == samples
    shard = tmp_path / "_runs" / "run1" / "shards" / "k1.parquet"
    shard.write_bytes(shard.read_bytes()[:100])  # truncated
    with pytest.warns(
        LedgerWarning,
        match=r"ledger shard k1.parquet of run run1 is unreadable \(.*\): removed, "
        "it will be generated again",
    ):
        assert not ledger.has("k1")
    assert not shard.exists() and ledger.shard_count() == 0
    ledger.record("k1", samples)  # the rerun records it again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ledger.has("k1") and ledger.load("k1") == samples
    shard.write_bytes(b"not parquet at all")
    with pytest.raises(KeyError, match="ledger shard k1 is not in run run1"), pytest.warns(LedgerWarning):
        ledger.load("k1")
