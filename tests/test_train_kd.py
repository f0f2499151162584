"""Top-k logit distillation: the teacher's top-k lines up with the tokens it scores, the loss term
behaves as a cross-entropy to the teacher, and `starmill train --kd topk` trains the demo student."""

import json
import math
from pathlib import Path

import pytest

from starmill.training import TrainSettings, train_rows, train_sft
from starmill.training.kd import IGNORE, encode_rows, kd_loss, teacher_topk
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent / "generators"
TEACHER, STUDENT = str(ROOT / "demo_teacher"), str(ROOT / "demo_student")
ROWS = [
    {
        "prompt": [{"role": "user", "content": "What is 12 + 7?"}],
        "completion": [{"role": "assistant", "content": "12 + 7 = 19\nThe answer is 19."}],
    }
]


@pytest.fixture(scope="module")
def teacher():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(TEACHER), AutoTokenizer.from_pretrained(TEACHER)


def test_teacher_topk_is_aligned_with_the_labels(teacher):
    import torch

    model, tok = teacher
    [row] = encode_rows(tok, ROWS, 256)
    teacher_topk(model, [row], k=4)
    assert len(row["topk_ids"]) == len(row["input_ids"]) == len(row["labels"])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([row["input_ids"]])).logits[0]
    first = next(i for i, label in enumerate(row["labels"]) if label != IGNORE)
    for t in range(first, len(row["input_ids"])):  # the top-1 stored at t is the prediction made at t-1
        assert row["topk_ids"][t][0] == int(logits[t - 1].argmax())
        assert all(a >= b for a, b in zip(row["topk_logprobs"][t], row["topk_logprobs"][t][1:]))


def test_kd_loss_is_a_cross_entropy_to_the_teacher():
    import torch

    torch.manual_seed(0)
    vocab, k = 12, 12
    teacher_logits = torch.randn(1, 6, vocab)
    top = torch.log_softmax(teacher_logits, -1).topk(k, -1)
    ids = torch.cat([torch.zeros(1, 1, k, dtype=torch.long), top.indices[:, :-1]], 1)  # stored one step later
    lps = torch.cat([torch.zeros(1, 1, k), top.values[:, :-1]], 1)
    labels = torch.tensor([[IGNORE, IGNORE, 3, 4, 5, 6]])
    same = kd_loss(teacher_logits, labels, ids, lps)
    p = torch.softmax(teacher_logits[0, 1:5], -1)
    entropy = -(p * torch.log(p)).sum(-1).mean()
    assert math.isclose(float(same), float(entropy), rel_tol=1e-5)  # k = vocab: CE to itself is its entropy
    other = kd_loss(torch.randn(1, 6, vocab) * 3, labels, ids, lps)
    assert float(other) > float(same)  # any other student is further from the teacher (Gibbs)
    masked = kd_loss(teacher_logits, torch.full((1, 6), IGNORE), ids, lps)
    assert float(masked) == 0.0


def test_train_kd_cli_trains_the_student(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=16)
    out = tmp_path / "kd"
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        ref,
        "--base",
        STUDENT,
        "--output",
        str(out),
        "--max-steps",
        "3",
        "--kd",
        "topk",
        "--teacher",
        TEACHER,
        "--kd-alpha",
        "0.7",
        "--set",
        "train.batch_size=4",
        "--set",
        "train.kd_topk=4",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    manifest = json.loads((out / "starmill_training.json").read_text())
    assert manifest["kind"] == "kd" and manifest["steps"] == 3
    assert manifest["settings"]["kd_alpha"] == 0.7 and manifest["settings"]["teacher"] == TEACHER
    assert all(math.isfinite(p["loss"]) for p in manifest["loss_curve"])
    code, stdout, _ = run_cli(capsys, "sql", "-w", wh.root, "--format", "json", "SELECT kind FROM models")
    assert json.loads(stdout) == [{"kind": "kd"}]


def _other_tokenizer_model(folder):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<s>", "</s>", "a", "b", "c", "1", "2"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    fast.save_pretrained(folder)
    LlamaForCausalLM(
        LlamaConfig(vocab_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    ).save_pretrained(folder)


def test_kd_bad_input_is_one_error_line(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=4)
    other = tmp_path / "other"
    _other_tokenizer_model(other)
    cases = [([], "needs the teacher's logprobs"), (["--teacher", str(other)], "needs one tokenizer")]
    for extra, message in cases:
        code, _, stderr = run_cli(
            capsys,
            "train",
            ref,
            "--base",
            STUDENT,
            "--output",
            str(tmp_path / "o"),
            "--kd",
            "topk",
            *extra,
            "-w",
            wh.root,
        )
        assert code == 1 and message in stderr.strip().splitlines()[-1], stderr
        assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_kd_with_the_settings_object(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=8)
    settings = TrainSettings(kd="topk", teacher=TEACHER, kd_topk=2, max_steps=1, batch_size=4, lr=1e-3)
    result = train_sft(wh, ref, STUDENT, tmp_path / "m", settings, progress=False)
    assert result.manifest["kind"] == "kd" and result.manifest["steps"] == 1


KD_ROWS = [
    {
        "prompt": [{"role": "user", "content": f"What is {a} + {b}?"}],
        "completion": [{"role": "assistant", "content": f"{a} + {b} = {a + b}\nThe answer is {a + b}."}],
    }
    for a, b in [(12, 7), (30, 45), (8, 9), (61, 23)]
]


def _loss_terms_by_hand(base, rows, k):
    """(cross-entropy to the tokens, cross-entropy to the teacher's renormalized top-k) of ``base`` before
    training, token-weighted over all rows: one row at a time, no padding, written apart from kd_loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    student = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    teacher = AutoModelForCausalLM.from_pretrained(TEACHER, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(STUDENT)
    ce = kd = 0.0
    count = 0
    with torch.no_grad():
        for row in encode_rows(tok, rows, 256):
            ids = torch.tensor([row["input_ids"]])
            s = torch.log_softmax(student(input_ids=ids).logits[0].float(), -1)
            t = torch.log_softmax(teacher(input_ids=ids).logits[0].float(), -1)
            for pos, label in enumerate(row["labels"]):
                if label == IGNORE:
                    continue
                ce -= float(s[pos - 1, label])  # the logits at pos - 1 predict the token at pos
                top = t[pos - 1].topk(k)
                kd -= float((torch.softmax(top.values, -1) * s[pos - 1, top.indices]).sum())
                count += 1
    return ce / count, kd / count


def test_the_kd_term_changes_the_loss_and_the_weights(tmp_path):
    """Same seed, same rows, same steps: alpha 0.7 against alpha 0 (plain cross-entropy). The first
    logged loss (the base on the one batch of all rows) is 0.3 x CE + 0.7 x KD by hand, and the trained
    weights differ; with the distillation term gone both would be CE and the weights equal. The base is
    the teacher's own weights: the untrained demo student is near uniform, where both terms are about
    ln(vocab) whatever the target."""
    import torch
    from safetensors.torch import load_file

    ce, kd = _loss_terms_by_hand(TEACHER, KD_ROWS, k=8)
    assert abs(kd - ce) > 0.1, (ce, kd)  # the teacher's top-k is measurably not the one-hot target
    trained = {}
    for alpha in (0.7, 0.0):
        settings = TrainSettings(
            kd="topk",
            teacher=TEACHER,
            kd_topk=8,
            kd_alpha=alpha,
            max_steps=2,
            batch_size=4,
            lr=1e-3,
            logging_steps=1,
            seed=7,
        )
        result = train_rows(KD_ROWS, "kd-rows", TEACHER, tmp_path / f"alpha-{alpha}", settings, progress=False)
        first = result.manifest["loss_curve"][0]
        assert first["step"] == 1
        expected = (1 - alpha) * ce + alpha * kd
        assert math.isclose(first["loss"], expected, rel_tol=1e-4), (alpha, first["loss"], ce, kd)
        trained[alpha] = load_file(str(result.output / "model.safetensors"))
    assert trained[0.7].keys() == trained[0.0].keys()
    moved = max(float((trained[0.7][name] - trained[0.0][name]).abs().max()) for name in trained[0.7])
    assert moved > 1e-4  # the distillation term moved the weights somewhere plain SFT did not
    assert not any(torch.isnan(w).any() for w in trained[0.7].values())
