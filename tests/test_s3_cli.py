"""The CLI with ``--warehouse s3://…`` against a real S3 server (SeaweedFS on 127.0.0.1): ingest,
datasets, show, verify (a changed byte caught), export of an s3 version to a local folder, the store's
errors as one ``Error:`` line, and a whole ``starmill run`` of the demo with its warehouse on S3."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from starmill.warehouse import Warehouse
from tests.helpers import run_cli as run

REPO = Path(__file__).resolve().parent.parent


def test_ingest_datasets_show_and_verify_on_s3(s3_root, capsys):
    code, out, err = run(capsys, "ingest", "procedural", "-n", "12", "--seed", "3", "-w", s3_root)
    assert (code, err) == (0, "") and out.splitlines()[0] == "problems@v1: 12 problems, 0 rejects (read 12)"
    assert run(capsys, "ingest", "procedural", "-n", "7", "--seed", "4")[0] == 0  # STARMILL_WAREHOUSE
    code, out, _ = run(capsys, "datasets", "--csv")
    rows = [line.split(",") for line in out.splitlines()]
    assert [r[:5] + r[7:] for r in rows[1:]] == [["problems", "problems", "2", "v2", "7", "ok"]]
    code, out, _ = run(capsys, "show", "problems@v1")
    assert code == 0 and out.splitlines()[0].startswith("problems@v1  (problems, 12 rows,")
    assert "  verified:  sha256 of 2 files" in out
    code, out, err = run(capsys, "verify", "--csv")
    assert (code, err, out) == (0, "", "version,status,problem\nproblems@v1,ok,\nproblems@v2,ok,\n")


def test_a_changed_byte_on_s3_is_caught_by_show_and_verify(s3_root, s3fs_client, capsys):
    assert run(capsys, "ingest", "procedural", "-n", "12")[0] == 0
    assert run(capsys, "ingest", "procedural", "-n", "5", "--name", "other")[0] == 0
    wh = Warehouse(s3_root)
    manifest = wh.manifest("problems")
    entry = next(f for f in manifest.files if f.table == "problems")
    key = f"{s3_root[len('s3://') :]}/{manifest.data}/{entry.path}"
    data = bytearray(s3fs_client.cat_file(key))
    data[8] ^= 0xFF  # in the first data page: same size, same footer, only the checksum can tell
    s3fs_client.pipe_file(key, bytes(data))
    problem = f"problems@v1 is damaged: {entry.path} does not match its sha256: its bytes changed after commit"
    code, out, err = run(capsys, "show", "problems")
    assert (code, err) == (1, f"Error: {problem}\n")
    code, out, err = run(capsys, "verify", "--csv")
    assert code == 1 and f"problems@v1,damaged,{problem.split(': ', 1)[1]}" in out
    assert run(capsys, "sql", "SELECT count(*) AS n FROM other", "--csv")[1] == "n\n5\n"


def test_export_from_an_s3_version_to_a_local_folder(make_sft_version, s3_root, s3fs_client, tmp_path, capsys):
    """A local warehouse copied to S3 as it is reads the same: its export is byte for byte the local one."""
    wh, ref = make_sft_version(problems=12)
    s3fs_client.put(f"{wh.root}/", s3_root[len("s3://") :] + "/", recursive=True)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert run(capsys, "export", "sft", "--to", str(local), "-w", wh.root)[0] == 0
    code, out, err = run(capsys, "export", "sft", "--to", str(remote), "-w", s3_root)
    assert (code, err) == (0, "") and out.splitlines()[-1] == f'Load it: datasets.load_dataset("{remote}")'
    files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(remote).as_posix() for p in remote.rglob("*") if p.is_file())
    assert any(f.endswith(".parquet") for f in files)
    for name in files:
        assert (local / name).read_bytes() == (remote / name).read_bytes(), name


def test_the_stores_errors_are_one_error_line(s3_root, s3_env, monkeypatch, capsys):
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # a new process would not have the right keys cached
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    code, out, err = run(capsys, "datasets", "-w", s3_root)
    assert code == 1 and out == "" and err.startswith(f"Error: {s3_root}: ") and err.count("\n") == 1, err
    assert "not-the-secret" not in err and "Traceback" not in err
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_env["AWS_SECRET_ACCESS_KEY"])
    s3fs.S3FileSystem.clear_instance_cache()
    code, out, err = run(capsys, "ingest", "procedural", "-n", "3", "-w", "s3://no-such-bucket/wh")
    assert code == 1 and err.startswith("Error: s3://no-such-bucket/wh: ") and err.count("\n") == 1, err


def test_a_whole_run_with_its_warehouse_on_s3(s3_root, s3_env, s3fs_client, tmp_path, capsys):
    """The demo (16 problems), with endpoint and keys only in the config's warehouse_options: the
    shards' ledger and both versions land on S3, SQL reads them, no object holds the secret."""
    config = tmp_path / "run.yaml"
    options = {
        "endpoint_url": s3_env["AWS_ENDPOINT_URL"],
        "key": s3_env["AWS_ACCESS_KEY_ID"],
        "secret": s3_env["AWS_SECRET_ACCESS_KEY"],
        "client_kwargs": {"region_name": "us-east-1"},
    }
    config.write_text(yaml.safe_dump({"warehouse": s3_root, "warehouse_options": options}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "STARMILL_WAREHOUSE"}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        STARMILL_CACHE=str(tmp_path / "cache"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "starmill.cli", "run", str(config), "--set", "source.procedural.n=16", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert (summary["samples"], summary["sft"], summary["partial"]) == ("samples@v1", "sft@v1", False)
    prefix = s3_root[len("s3://") :]
    found = s3fs_client.find(prefix)
    assert f"{prefix}/samples/v1/manifest.json" in found and f"{prefix}/sft/v1/manifest.json" in found
    assert [k for k in found if "/_runs/" in k and k.endswith(".parquet")]  # the ledger's shards
    for key in found:
        assert options["secret"].encode() not in s3fs_client.cat_file(key), key
    wh = Warehouse(s3_root)
    manifest = wh.manifest("sft")
    assert "warehouse_options" not in manifest.config and manifest.config["warehouse"] == s3_root
    assert wh.read("samples").num_rows == summary["counts"]["generated"]
    code, out, _ = run(capsys, "sql", "SELECT count(*) AS n FROM sft", "--csv", "-w", s3_root)
    assert (code, out) == (0, f"n\n{wh.read('sft').num_rows}\n")
    assert run(capsys, "verify", "-w", s3_root)[0] == 0
