"""`starmill train`: a few real SFT steps on CPU with the demo teacher, full and LoRA, recorded in the
``models`` dataset; a stopped training resumes from its checkpoint; bad input is one error line."""

import json
import math
from pathlib import Path

import pytest

from starmill.training import TrainError, TrainSettings, train_sft
from tests.helpers import run_cli

TEACHER = str(Path(__file__).resolve().parent.parent / "generators" / "demo_teacher")
FAST = ["--set", "train.batch_size=4", "--set", "train.max_length=256"]


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


def _changed(a, b) -> bool:
    import torch

    return any(not torch.equal(a[k].float(), b[k].float()) for k in a if k in b)


def test_train_cli_full_records_model_and_loads(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=16)
    out = tmp_path / "m1"
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        ref,
        "--base",
        TEACHER,
        "--output",
        str(out),
        "--max-steps",
        "3",
        "--lr",
        "1e-3",
        "-w",
        wh.root,
        *FAST,
    )
    assert code == 0, stderr
    assert "3 steps" in stdout and "recorded as models@v1" in stdout
    manifest = json.loads((out / "starmill_training.json").read_text())
    assert manifest["steps"] == 3 and manifest["data"] == [ref] and manifest["rows"] > 0
    assert [p["step"] for p in manifest["loss_curve"]] == [1, 2, 3]
    assert all(math.isfinite(p["loss"]) for p in manifest["loss_curve"])
    assert manifest["settings"]["lr"] == 1e-3 and manifest["base_revision"].startswith("sha256:")
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "m1.partial").exists()
    assert _changed(_weights(out), _weights(TEACHER))  # training moved the weights
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 3?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    assert model.generate(**ids, max_new_tokens=4, do_sample=False).shape[1] > ids["input_ids"].shape[1]
    code, stdout, _ = run_cli(
        capsys, "sql", "-w", wh.root, "--format", "json", "SELECT kind, method, steps, data, base_model FROM models"
    )
    row = json.loads(stdout)[0]
    assert row == {"kind": "sft", "method": "full", "steps": 3, "data": [ref], "base_model": TEACHER}


def test_train_lora_merges_and_is_seeded(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=16)
    settings = TrainSettings(method="lora", max_steps=2, batch_size=4, max_length=256, lr=1e-2, lora_r=4)
    first = train_sft(wh, ref, TEACHER, tmp_path / "a", settings, progress=False)
    second = train_sft(wh, ref, TEACHER, tmp_path / "b", settings, progress=False)
    assert (first.output / "adapter" / "adapter_config.json").exists()
    merged = _weights(first.output)
    assert not any("lora" in k for k in merged)  # merged: loads without peft
    assert _changed(merged, _weights(TEACHER))
    assert first.manifest["weights"] == second.manifest["weights"]  # same seed, same data: same model
    other = train_sft(wh, ref, TEACHER, tmp_path / "c", settings.model_copy(update={"seed": 1}), progress=False)
    assert other.manifest["weights"] != first.manifest["weights"]


def test_a_stopped_training_resumes_from_its_checkpoint(make_sft_version, tmp_path):
    from transformers import TrainerCallback

    class StopAfter(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt  # what Ctrl-C does mid-training

    wh, ref = make_sft_version(problems=16)
    settings = TrainSettings(max_steps=4, save_steps=2, batch_size=4, max_length=256)
    with pytest.raises(KeyboardInterrupt):
        train_sft(wh, ref, TEACHER, tmp_path / "m", settings, progress=False, callbacks=[StopAfter()])
    partial = tmp_path / "m.partial"
    assert not (tmp_path / "m").exists() and (partial / "checkpoints" / "checkpoint-2").exists()
    result = train_sft(wh, ref, TEACHER, tmp_path / "m", settings, progress=False)
    assert result.manifest["resumed"] is True and result.manifest["steps"] == 4
    assert [p["step"] for p in result.manifest["loss_curve"]] == [1, 2, 3, 4]
    assert not partial.exists()
    with pytest.raises(TrainError, match="other settings"):  # a different plan never reuses the folder
        (tmp_path / "n.partial").mkdir()
        (tmp_path / "n.partial" / "plan.json").write_text("{}")
        train_sft(wh, ref, TEACHER, tmp_path / "n", settings, progress=False)


def test_train_bad_input_is_one_error_line(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=8)
    with wh.writer("empty", "sft") as writer:
        writer.write([])
    (tmp_path / "exists").mkdir()
    cases = [
        (["empty", "--base", TEACHER], "has no rows to train on"),
        ([ref, "--base", str(tmp_path / "no-such-model")], "does not exist"),
        ([ref, "--base", TEACHER, "--set", "train.nope=1"], "unknown training setting 'nope'"),
        ([ref, "--base", TEACHER, "--set", "train.lr=abc"], "train.lr:"),
        ([ref, "--base", TEACHER, "--set", "train.max_steps=1e23"], "train.max_steps:"),
        (["missing", "--base", TEACHER], "no dataset 'missing'"),
    ]
    for args, message in cases:
        code, _, stderr = run_cli(capsys, "train", *args, "--output", str(tmp_path / "out"), "-w", wh.root)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code == 1 and lines[-1].startswith("Error:") and message in lines[-1], (args, stderr)
        assert "Traceback" not in stderr
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists(), args
    code, _, stderr = run_cli(
        capsys, "train", ref, "--base", TEACHER, "--output", str(tmp_path / "exists"), "-w", wh.root
    )
    assert code == 1 and "exists" in stderr
