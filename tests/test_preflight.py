"""Mistakes in `starmill run` that only this machine can show (a source file, a model folder, a backend
option, a read-only warehouse) are refused before anything is generated and before Prefect starts:
stderr is one `Error:` line (no traceback, no Prefect ERROR record), exit 1, nothing written. Broken or
hostile model folders, built from the demo teacher, are refused from their files alone."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from starmill.generators.base import SettingsError
from starmill.schemas.model_folder import ModelFolderError, check_model_folder
from tests.test_bad_environment import tmpfs  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "generators" / "demo_teacher"


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Model folders, each the demo teacher with one thing wrong."""
    root = tmp_path_factory.mktemp("models")

    def copy(name):
        shutil.copytree(DEMO, root / name)
        return root / name

    remote = copy("remote")
    config = json.loads((remote / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModelForCausalLM": "evil.Model"}}))
    (remote / "evil.py").write_text(f"open({str(root / 'RAN')!r}, 'w').close()\n")  # would leave a mark if run
    pickle = copy("pickle")
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(pickle / "model.safetensors"), pickle / "pytorch_model.bin")
    (pickle / "model.safetensors").unlink()
    (root / "empty").mkdir()
    truncated = copy("truncated")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    return root


MESSAGES = {
    "remote": "needs remote code (config.json has auto_map: Python code shipped with the model), which starmill "
    "does not run",
    "pickle": "has only pickle weights (pytorch_model.bin), which can run code when loaded: starmill loads "
    "safetensors only",
    "empty": "holds no model (no readable config.json)",
    "truncated": "model.safetensors is damaged (3244292 bytes of tensor data where its header describes 6492672: "
    "truncated)",
}


def run(tmp_path, *args, config=None):
    """`starmill run` in a subprocess with its warehouse under tmp_path: (exit code, stdout, stderr)."""
    env = {**os.environ, "STARMILL_WAREHOUSE": str(tmp_path / "wh"), "PREFECT_HOME": str(tmp_path / ".prefect")}
    env.pop("STARMILL_DEBUG", None)
    argv = [
        sys.executable,
        "-m",
        "starmill.cli",
        "run",
        *([str(config)] if config else []),
        "--set",
        "source.procedural.n=4",
        *args,
    ]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def one_error(tmp_path, *args, config=None, before_prefect=True):
    code, out, err = run(tmp_path, *args, config=config)
    assert (code, out) == (1, ""), (code, out, err)
    assert err.startswith("Error: ") and err.count("\n") == 1, err  # no traceback, no Prefect record before it
    if before_prefect:  # refused at once: Prefect never started (its home is made by its server)
        assert not (tmp_path / ".prefect").exists()
    return err.removeprefix("Error: ").rstrip("\n")


def test_missing_source_file(tmp_path):
    assert (
        one_error(tmp_path, "--set", "source.uri=./nowhere.jsonl")
        == "source file './nowhere.jsonl' not found (no such file or folder; for a Hub dataset write hf://OWNER/NAME)"
    )
    assert not (tmp_path / "wh").exists()  # refused before the warehouse was touched


def test_bad_teacher_options(tmp_path):
    assert one_error(tmp_path, "--set", "teacher.options.bogus=1") == (
        "teacher: the transformers backend has no option 'bogus' (its options: batch_size, device, dtype, "
        "revision, trust_remote_code)"
    )
    assert one_error(tmp_path, "--set", "teacher.options.batch_size=true") == (
        "teacher: option batch_size of the transformers backend must be an integer (default 64), got True"
    )
    assert (
        one_error(tmp_path, "--set", "teacher.backend=openai")
        == "teacher: the openai backend needs base_url (the server's /v1 URL)"
    )
    assert one_error(tmp_path, "--set", "teacher.dtype=int3").startswith("dtype must be one of")
    assert not (tmp_path / "wh").exists()


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_broken_teacher_folder(tmp_path, broken, name):
    message = one_error(tmp_path, "--set", f"teacher.model={broken / name}")
    assert message.startswith(f"teacher: model '{broken / name}'") and MESSAGES[name] in message, message
    assert not (tmp_path / "wh").exists() and not (broken / "RAN").exists()


def test_missing_scorer_and_judge_folders(tmp_path):
    assert one_error(tmp_path, "--set", f"scorers=[steps, {{name: orm, model: {tmp_path}/models/orm}}]") == (
        f"--set: scorers: scorer 'orm': model folder '{tmp_path}/models/orm' does not exist (give the folder "
        "`starmill train --task orm --output DIR` wrote)"
    )
    assert (
        one_error(tmp_path, "--set", "source.verifiers=[math, {name: llm_judge, model: ./judge}]")
        == "source.verifiers: llm_judge: judge: model path './judge' does not exist"
    )
    assert (
        one_error(tmp_path, "--set", "iterations.models=[./m1]")
        == "iterations.models[0]: model path './m1' does not exist"
    )
    assert not (tmp_path / "wh").exists()


def test_read_only_warehouse(tmp_path, tmpfs):  # noqa: F811
    root = tmpfs("ro")
    tmpfs.read_only(root)
    assert one_error(tmp_path, "-w", str(root)) == f"the warehouse {root} can't be written to: Read-only file system"
    assert (
        one_error(tmp_path, "-w", str(root / "wh"))
        == f"the warehouse {root}/wh can't be made in {root}: Read-only file system"
    )
    assert os.listdir(root) == []


def test_an_error_inside_the_flow_is_one_line_too(tmp_path):
    """A user error found inside the flow (here: a source whose every row is rejected) reaches the terminal
    as the one Error line; Prefect's console record of it and its traceback are left out."""
    source = tmp_path / "rows.jsonl"
    source.write_text('{"question": "What is 1 + 1?"}\n')  # no answer: rejected
    assert (
        one_error(tmp_path, "--set", f"source.uri={source}", before_prefect=False)
        == "problems@v1 holds no problems: check the source and its rejects (problems_rejects)"
    )


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_broken_model_folders_are_refused_by_every_loader(broken, name):
    from starmill.filters.scorers.reward_models import RewardModelError, check_head
    from starmill.generators.transformers_backend import TransformersBackend
    from starmill.training.settings import TrainError
    from starmill.training.sft import check_base

    folder = str(broken / name)
    with pytest.raises(ModelFolderError, match=MESSAGES[name].replace("(", r"\(").replace(")", r"\)")):
        check_model_folder(folder)
    with pytest.raises(SettingsError, match="model"):
        TransformersBackend(folder)
    with pytest.raises(RewardModelError, match=f"scorer 'orm': model '{folder}'"):
        check_head(folder, "orm")
    with pytest.raises(TrainError, match=f"base model '{folder}'"):
        check_base(folder)
    assert not (broken / "RAN").exists()


def test_remote_code_only_with_an_explicit_opt_in(broken):
    check_model_folder(str(broken / "remote"), trust_remote_code=True)  # the folder is otherwise whole
    check_model_folder(str(DEMO))


def test_the_loader_itself_takes_safetensors_only(broken, monkeypatch):
    """Past the folder check (here switched off), transformers is still asked for safetensors only."""
    import starmill.generators.transformers_backend as backend

    monkeypatch.setattr(backend, "check_model_path", lambda *a, **k: None)
    with pytest.raises(SettingsError, match="could not load model"):
        backend.TransformersBackend(str(broken / "pickle"))


def test_regrade_with_a_verifier_that_needs_options(tmp_path, capsys):
    from starmill.warehouse import Warehouse
    from tests.helpers import run_cli
    from tests.test_regrade import _old_version

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    code, out, err = run_cli(capsys, "regrade", "samples@v1", "--verifier", "python", "-w", wh.root)
    assert (code, out) == (1, "") and err.startswith("Error: ") and err.count("\n") == 1, err
    assert "function" in err and "TypeError" not in err and "__init__" not in err
    assert wh.versions("samples") == [1]
