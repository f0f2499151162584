"""`starmill export` from the command line: output, and one `Error:` line with exit 1 for every
mistake, with nothing half-written left behind."""

import socket

import pytest

from tests.fixtures_export import read_card
from tests.helpers import run_cli as run

TOKEN = "hf_MARKERtokenNEVERtoBEwritten0123"


@pytest.fixture
def version(make_sft_version, monkeypatch):
    wh, ref = make_sft_version(problems=12)
    monkeypatch.setenv("STARMILL_WAREHOUSE", wh.root)
    return wh, ref


def test_export_to_a_folder(version, tmp_path, capsys):
    wh, ref = version
    target = tmp_path / "out"
    code, out, err = run(capsys, "export", "sft", "--to", str(target), "--test-size", "0.25")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    rows = wh.read(ref).num_rows
    assert lines[0].startswith(f"Exported {ref} (messages): train ") and f"problems, 5 files -> {target}" in lines[0]
    assert lines[-1] == f'Load it: datasets.load_dataset("{target}")'
    meta, body = read_card(target)
    assert [c["split"] for c in meta["configs"][0]["data_files"]] == ["train", "test"]
    assert f"`starmill export {ref} --format messages --test-size 0.25 --seed 0`" in body
    assert sum(int(p.split()[1]) for p in lines[0].split(": ", 1)[1].split(", ")[:2]) == rows


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["export", "nothing", "--to", "{tmp}/out"], "Error: no dataset 'nothing' in"),
        (["export", "sft@v9", "--to", "{tmp}/out"], "Error: dataset 'sft' has no version v9 (versions: v1)"),
        (["export", "sft", "--to", "{tmp}/full"], "Error: {tmp}/full already exists and is not empty"),
        (["export", "sft", "--to", "{tmp}/out", "--mix", "sft@v1"], "Error: bad --mix 'sft@v1': use NAME@vN:WEIGHT"),
        (["export", "sft", "--to", "{tmp}/out", "--test-size", "1.5"], "Error: bad export option test_size:"),
        (
            ["export", "sft", "--to", "{tmp}/out", "--private"],
            "Error: --private, --revision and --commit-message apply",
        ),
        (
            ["export", "sft", "--to", "{tmp}/out", "--decontaminate", "{tmp}/none.jsonl"],
            "Error: evaluation set '{tmp}/none.jsonl' not found",
        ),
        (
            ["export", "sft", "--to", "/proc/self/x"],  # no folder can be made there
            "Error: cannot write the export to /proc/self/x: No such file or directory (nothing was left there)",
        ),
        (
            ["export", "sft", "--to", "/proc/self/x/y"],
            "Error: cannot write the export to /proc/self/x/y: No such file or directory (nothing was left there)",
        ),
        (["export", "sft", "--to", "hf://not a repo"], "Error: bad Hub target 'hf://not a repo'"),
        (
            ["export", "sft", "--to", "hf://me/data"],
            "Error: no Hugging Face token: set HF_TOKEN or log in with `hf auth login`",
        ),
    ],
)
def test_mistakes_are_one_error_line_and_write_nothing(version, tmp_path, capsys, monkeypatch, argv, message):
    import huggingface_hub.constants as hub_constants

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hub_constants, "HF_TOKEN_PATH", str(tmp_path / "no-login"))  # no saved login either
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "wh" not in p.parts)
    code, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 1 and out == ""
    assert err.startswith(message.replace("{tmp}", str(tmp_path))) and err.count("\n") == 1, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "wh" not in p.parts) == before


def test_exporting_a_problems_dataset_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STARMILL_WAREHOUSE", str(tmp_path / "wh"))
    assert run(capsys, "ingest", "procedural", "-n", "5")[0] == 0
    code, _, err = run(capsys, "export", "problems", "--to", str(tmp_path / "out"))
    assert code == 1 and err == "Error: problems@v1 holds 'problems' rows; export takes versions of an 'sft' dataset\n"
    assert not (tmp_path / "out").exists()


def test_unreachable_hub_is_one_clear_error(version, tmp_path, capsys, monkeypatch, caplog):
    """The Hub can't be reached from here, so this is the real path: HfApi against a closed port."""
    import logging
    import tempfile

    import huggingface_hub.constants as hub_constants

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)  # the test session sets HF_HUB_OFFLINE=1
    port = closed_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, out, err = run(capsys, "export", "sft", "--to", "hf://me/data")
    assert code == 1 and out == ""
    assert err.startswith(f"Error: cannot reach the Hugging Face Hub at http://127.0.0.1:{port} (ConnectError")
    assert err.count("\n") == 1 and TOKEN not in err + caplog.text
    assert list((tmp_path / "tmp").iterdir()) == []  # the staged export is gone


def test_offline_mode_is_named(version, capsys, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, _, err = run(capsys, "export", "sft", "--to", "hf://me/data")
    assert code == 1
    assert err == "Error: cannot push to me/data: offline mode is on (HF_HUB_OFFLINE); unset it to push\n"
