"""Pushing to the Hugging Face Hub, tested up to huggingface_hub's API boundary.

The Hub's servers are unreachable from here, so ``HfApi.create_repo``, ``create_branch``,
``list_repo_files`` and ``create_commit`` are replaced by recorders: these are the only fakes. The test
checks the exact repo, files (byte for byte against a folder export), deletions and commit that
would be sent, and that the token reaches ``HfApi`` but no file, output or log.
"""

import logging
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

from starmill.cli import main
from tests.fixtures_export import folder_hashes

TOKEN = "hf_MARKERtokenNEVERtoBEwritten0123"


class Recorder:
    """Stands in for the Hub's servers: records each call and what the files held at that moment."""

    def __init__(self, monkeypatch, remote_files=()):
        self.calls, self.sent, self.remote = [], {}, list(remote_files)
        recorder = self

        def create_repo(api, repo_id, **kw):
            recorder.calls.append(("create_repo", repo_id, kw, api.token))
            return f"https://hub.invalid/datasets/{repo_id}"

        def create_branch(api, repo_id, **kw):
            recorder.calls.append(("create_branch", repo_id, kw, api.token))

        def list_repo_files(api, repo_id, **kw):
            recorder.calls.append(("list_repo_files", repo_id, kw, api.token))
            return [".gitattributes", *recorder.remote]

        def create_commit(api, repo_id, operations, **kw):
            recorder.calls.append(("create_commit", repo_id, kw, api.token))
            for op in operations:
                if isinstance(op, CommitOperationAdd):
                    recorder.sent[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
                else:
                    assert isinstance(op, CommitOperationDelete)
                    recorder.sent[op.path_in_repo] = None
            return type("CommitInfo", (), {"commit_url": f"https://hub.invalid/datasets/{repo_id}/commit/abc"})()

        for name, fake in [
            ("create_repo", create_repo),
            ("create_branch", create_branch),
            ("list_repo_files", list_repo_files),
            ("create_commit", create_commit),
        ]:
            monkeypatch.setattr(HfApi, name, fake)


@pytest.fixture
def hub_env(make_sft_version, monkeypatch, tmp_path):
    wh, ref = make_sft_version(problems=16)
    monkeypatch.setenv("STARMILL_WAREHOUSE", wh.root)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return wh, ref


def test_push_sends_exactly_the_folder_files_in_one_commit(hub_env, tmp_path, capsys, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    wh, ref = hub_env
    hub = Recorder(monkeypatch, remote_files=["README.md", "data/train-00000-of-00002.parquet", "notes.txt"])
    code = main(
        [
            "export",
            ref,
            "--to",
            "hf://me/star-sft",
            "--test-size",
            "0.25",
            "--private",
            "--revision",
            "v1-export",
            "--commit-message",
            "first export",
        ]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.splitlines()[0].endswith("-> https://hub.invalid/datasets/me/star-sft/commit/abc")
    assert [c[0] for c in hub.calls] == ["create_repo", "create_branch", "list_repo_files", "create_commit"]
    assert hub.calls[0][1:3] == ("me/star-sft", {"repo_type": "dataset", "private": True, "exist_ok": True})
    assert hub.calls[1][2] == {"repo_type": "dataset", "branch": "v1-export", "exist_ok": True}
    assert hub.calls[3][2] == {"commit_message": "first export", "repo_type": "dataset", "revision": "v1-export"}
    assert {c[3] for c in hub.calls} == {TOKEN}  # the token goes to HfApi and nowhere else

    # the same export to a folder gives the same files, byte for byte, except the card's load line
    main(["export", ref, "--to", str(tmp_path / "folder"), "--test-size", "0.25"])
    capsys.readouterr()
    folder = folder_hashes(tmp_path / "folder")
    added = {k: v for k, v in hub.sent.items() if v is not None}
    assert sorted(added) == sorted(folder)
    import hashlib

    assert {k: hashlib.sha256(v).hexdigest() for k, v in added.items() if k != "README.md"} == {
        k: v for k, v in folder.items() if k != "README.md"
    }
    card = added["README.md"].decode()
    assert 'load_dataset("me/star-sft")' in card and "pretty_name: star-sft" in card
    # a stale shard of an earlier export is deleted; files outside data/ are left alone
    assert [k for k, v in hub.sent.items() if v is None] == ["data/train-00000-of-00002.parquet"]
    assert all(TOKEN.encode() not in v for v in added.values())
    assert TOKEN not in out + err + caplog.text


def test_a_repush_sends_identical_bytes(hub_env, monkeypatch, capsys):
    wh, ref = hub_env
    first, second = Recorder(monkeypatch), None
    assert main(["export", ref, "--to", "hf://me/star-sft"]) == 0
    second = Recorder(monkeypatch)
    assert main(["export", ref, "--to", "hf://me/star-sft"]) == 0
    capsys.readouterr()
    assert first.sent == second.sent and len(first.sent) == 4
    assert first.calls[-1][2]["commit_message"] == f"Export {ref} (messages) with starmill"


def test_the_token_can_come_from_the_saved_login(hub_env, monkeypatch, tmp_path, capsys):
    import huggingface_hub.constants as hub_constants

    wh, ref = hub_env
    monkeypatch.delenv("HF_TOKEN")
    login = tmp_path / "token"
    login.write_text("hf_SAVEDloginTOKEN")
    monkeypatch.setattr(hub_constants, "HF_TOKEN_PATH", str(login))
    hub = Recorder(monkeypatch)
    assert main(["export", ref, "--to", "hf://me/star-sft"]) == 0
    capsys.readouterr()
    assert {c[3] for c in hub.calls} == {"hf_SAVEDloginTOKEN"}
    assert all(b"hf_SAVEDloginTOKEN" not in v for v in hub.sent.values())


def test_no_file_anywhere_holds_the_token(hub_env, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    wh, ref = hub_env
    Recorder(monkeypatch)
    assert main(["export", ref, "--to", "hf://me/star-sft"]) == 0
    assert main(["export", ref, "--to", str(tmp_path / "folder"), "--test-size", "0.5", "--mix", f"{ref}:1.5"]) == 0
    out, err = capsys.readouterr()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 5
    assert not [p for p in written if TOKEN.encode() in p.read_bytes()]
    assert TOKEN not in out + err + caplog.text
