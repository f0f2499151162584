"""``starmill export SAMPLES --format dpo|kto``: the pairing rule, the counts by reason, the layouts,
and TRL's DPOTrainer and KTOTrainer each training 2 steps on the demo student from the exported folder."""

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from starmill.cli import cli
from starmill.schemas import SampleRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.export.preference import build_preference

STUDENT = Path(__file__).resolve().parent.parent / "generators" / "demo_student"
# problem -> samples as (verdict, kept, drop_reason); verdict "correct" marks correct
PLAN = {
    "p0": [
        ("correct", True, None),
        ("correct", True, None),
        ("wrong", False, "wrong_answer"),
        ("wrong", False, "wrong_answer"),
    ],  # 2 pairs
    "p1": [("correct", True, None), ("correct", False, "repetition_loop")],  # a pair only from dropped
    "p2": [("wrong", False, "wrong_answer")] * 3,  # nothing chosen
    "p3": [
        ("correct", True, None),
        ("correct", False, "over_k"),
        ("wrong", False, "wrong_answer"),
        ("unparseable_pred", False, "unparseable_pred"),
        ("timeout", False, "timeout"),
    ],  # 1 pair, 1 spare
}


def _sample(problem, index, verdict, kept, reason):
    question = f"What is {index + 1} + {int(problem[1:]) + 2}? (problem {problem})"
    answer = f"The answer is {index + int(problem[1:]) + 3}." if verdict == "correct" else "The answer is 0."
    return SampleRecord(
        sample_id=f"{problem}-s{index}",
        problem_id=problem,
        stage="rationale",
        iteration=0,
        sample_index=index,
        template_id="cot_zero_shot",
        template_hash="h",
        prompt=[{"role": "user", "content": question}],
        completion=f"<think>\nadd them\n</think>\n\n{answer}",
        reasoning="add them",
        answer_text=answer,
        extracted_answer="0",
        finish_reason="stop",
        prompt_tokens=5,
        completion_tokens=9,
        model="m",
        model_revision=None,
        engine="e",
        engine_version=None,
        sampling="{}",
        seed=0,
        verdicts=[
            {
                "checker": "starmill",
                "checker_version": "1",
                "verdict": verdict,
                "rule": "r",
                "pred": "0",
                "gold": "1",
                "seconds": 0.0,
                "form": None,
                "detail": None,
            }
        ],
        correct=verdict == "correct",
        kept=kept,
        drop_reason=reason,
    )


def _train_two_steps(torch, config_class, trainer_class, data, tmp_path):
    """Train the demo student 2 steps with TRL's ``trainer_class`` on ``data``, batch 2, on the CPU;
    (trainer, parameters before training)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(STUDENT)
    model = AutoModelForCausalLM.from_pretrained(STUDENT, dtype=torch.float32)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    config = config_class(
        output_dir=str(tmp_path / "run"),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        bf16=False,
        max_length=128,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = trainer_class(model=model, args=config, train_dataset=data, processing_class=tokenizer)
    trainer.train()
    return trainer, before


@pytest.fixture
def samples_version(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    writer = wh.writer("samples", "samples", config={}, parents=["problems@v1"])
    with writer:
        writer.write([_sample(p, i, *s) for p, plan in PLAN.items() for i, s in enumerate(plan)])
    return wh, f"samples@v{writer.version}"


def test_dpo_pairs_follow_the_rule_and_count_every_problem_and_sample(samples_version):
    wh, ref = samples_version
    found = build_preference(wh, ref, "dpo")
    rows = found.splits["train"].to_pylist()
    assert [(r["chosen_id"], r["rejected_id"]) for r in rows] == [
        ("p0-s0", "p0-s2"),
        ("p0-s1", "p0-s3"),
        ("p3-s0", "p3-s2"),
    ]
    assert rows[0]["prompt"] == [{"role": "user", "content": "What is 1 + 2? (problem p0)"}]
    assert rows[0]["chosen"][0]["role"] == "assistant" and "The answer is 3." in rows[0]["chosen"][0]["content"]
    assert dict(found.unpaired) == {"no_rejected": 1, "no_chosen": 1}
    assert dict(found.left_out) == {
        "correct_dropped_repetition_loop": 1,
        "correct_dropped_over_k": 1,
        "verdict_timeout": 1,
        "no_pair": 4,
        "unpaired_rejected": 1,
    }
    assert found.counts["pairs"] == 3 and found.counts["problems"] == 4 and found.counts["problems_paired"] == 2
    dropped = build_preference(wh, ref, "dpo", rejected_from="dropped")
    assert ("p1-s0", "p1-s1") in [(r["chosen_id"], r["rejected_id"]) for r in dropped.splits["train"].to_pylist()]
    assert dict(dropped.unpaired) == {"no_chosen": 1}


def test_kto_and_plain_layouts(samples_version):
    wh, ref = samples_version
    rows = build_preference(wh, ref, "kto", plain=True).splits["train"].to_pylist()
    assert sorted(r["sample_id"] for r in rows if r["label"]) == ["p0-s0", "p0-s1", "p1-s0", "p3-s0"]
    assert sorted(r["sample_id"] for r in rows if not r["label"]) == [
        "p0-s2",
        "p0-s3",
        "p2-s0",
        "p2-s1",
        "p2-s2",
        "p3-s2",
        "p3-s3",
    ]
    assert rows[0]["prompt"] == "What is 1 + 2? (problem p0)" and isinstance(rows[0]["completion"], str)


def test_cli_writes_card_lineage_and_unpaired_list(samples_version, tmp_path):
    wh, ref = samples_version
    out = CliRunner().invoke(cli, ["export", ref, "--format", "dpo", "--to", str(tmp_path / "dpo"), "-w", wh.root])
    assert out.exit_code == 0, out.output
    assert "pairs" in out.output and "no_chosen" in out.output
    lineage = json.loads((tmp_path / "dpo" / "starmill_export.json").read_text())
    assert lineage["counts"]["pairs"] == 3 and lineage["unpaired"] == {"no_chosen": 1, "no_rejected": 1}
    listed = [json.loads(x) for x in (tmp_path / "dpo" / "unpaired.jsonl").read_text().splitlines()]
    assert [(r["problem_id"], r["reason"]) for r in listed] == [("p1", "no_rejected"), ("p2", "no_chosen")]
    card = (tmp_path / "dpo" / "README.md").read_text()
    assert "Pairing rule: chosen = a kept correct sample" in card and "| no_chosen | 1 |" in card
    from starmill.cli import main

    assert main(["export", "sft@v1", "--format", "dpo", "--to", str(tmp_path / "x"), "-w", wh.root]) == 1
    assert main(["export", ref, "--format", "dpo", "--mix", "a@v1:1", "--to", str(tmp_path / "y"), "-w", wh.root]) == 1


def test_dpo_trainer_trains_two_steps_on_the_exported_folder(samples_version, tmp_path):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    import datasets

    wh, ref = samples_version
    out = CliRunner().invoke(
        cli,
        ["export", ref, "--format", "dpo", "--rejected-from", "dropped", "--to", str(tmp_path / "dpo"), "-w", wh.root],
    )
    assert out.exit_code == 0, out.output
    data = datasets.load_dataset(str(tmp_path / "dpo"), cache_dir=str(tmp_path / "hf-cache"))["train"]
    assert set(data.column_names) >= {"prompt", "chosen", "rejected"} and len(data) == 4
    trainer, before = _train_two_steps(torch, trl.DPOConfig, trl.DPOTrainer, data, tmp_path)
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert trainer.state.global_step == 2 and len(losses) == 2 and all(math.isfinite(x) for x in losses)
    changed = [k for k, v in trainer.model.named_parameters() if not torch.equal(v.detach().cpu(), before[k])]
    assert changed


def test_kto_trainer_trains_two_steps_on_the_exported_folder(samples_version, tmp_path):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    import datasets

    wh, ref = samples_version
    out = CliRunner().invoke(cli, ["export", ref, "--format", "kto", "--to", str(tmp_path / "kto"), "-w", wh.root])
    assert out.exit_code == 0, out.output
    data = datasets.load_dataset(str(tmp_path / "kto"), cache_dir=str(tmp_path / "hf-cache"))["train"]
    assert set(data.column_names) >= {"prompt", "completion", "label"} and len(data) == 11
    assert sorted(data["label"]) == [False] * 7 + [True] * 4
    # batch 2: KTO's KL term pairs each completion with another row's prompt, so it needs more than one row
    trainer, before = _train_two_steps(torch, trl.KTOConfig, trl.KTOTrainer, data, tmp_path)
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert trainer.state.global_step == 2 and len(losses) == 2 and all(math.isfinite(x) for x in losses)
    changed = [k for k, v in trainer.model.named_parameters() if not torch.equal(v.detach().cpu(), before[k])]
    assert changed
