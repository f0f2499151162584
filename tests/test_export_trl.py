"""TRL's SFTTrainer takes an exported dataset as it is: a few real training steps on CPU with the
demo teacher and its tokenizer (chat template included), for `messages` and `prompt-completion`."""

import math
from pathlib import Path

import datasets
import pytest

from starmill.warehouse.export import ExportSettings, export_to_folder

TEACHER = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"


@pytest.fixture(scope="module")
def teacher():
    from transformers import AutoTokenizer

    if not (TEACHER / "tokenizer.json").exists():
        pytest.fail(f"the demo teacher is missing: {TEACHER}/tokenizer.json")
    tokenizer = AutoTokenizer.from_pretrained(str(TEACHER))
    assert tokenizer.chat_template
    return tokenizer


def train(folder, tokenizer, tmp_path, **config):
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(0)
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))
    model = AutoModelForCausalLM.from_pretrained(str(TEACHER), dtype=torch.float32)
    args = SFTConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=3,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        max_length=256,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **config,
    )
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=ds["train"], eval_dataset=ds["test"], processing_class=tokenizer
    )
    trainer.train()
    return trainer, ds


def test_sft_trainer_trains_on_exported_messages(make_sft_version, teacher, tmp_path):
    wh, ref = make_sft_version(problems=24)
    export_to_folder(wh, ExportSettings.make(ref=ref, test_size=0.25), tmp_path / "out")
    trainer, ds = train(tmp_path / "out", teacher, tmp_path)
    assert trainer.state.global_step == 3
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    # what the model saw is the chat template applied to the exported turns
    first = ds["train"][0]["messages"]
    text = teacher.decode(trainer.train_dataset[0]["input_ids"])
    assert first[0]["content"] in text and first[1]["content"].split("</think>")[0] in text
    assert "eval_loss" in trainer.evaluate()


def test_sft_trainer_masks_the_prompt_of_prompt_completion(make_sft_version, teacher, tmp_path):
    wh, ref = make_sft_version(problems=16)
    export_to_folder(wh, ExportSettings.make(ref=ref, format="prompt-completion", test_size=0.25), tmp_path / "out")
    trainer, ds = train(tmp_path / "out", teacher, tmp_path, completion_only_loss=True)
    assert trainer.state.global_step == 3
    row = trainer.train_dataset[0]  # the completion mask is folded into the labels (-100: no loss)
    completion = [t for t, label in zip(row["input_ids"], row["labels"]) if label != -100]
    assert ds["train"][0]["completion"][0]["content"].split("\n")[0] in teacher.decode(completion)
    assert ds["train"][0]["prompt"][0]["content"][:40] not in teacher.decode(completion)
