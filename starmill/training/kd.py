"""Top-k logit distillation: the student's loss is (1 - alpha) x cross-entropy on the teacher's tokens plus
alpha x the cross-entropy to the teacher's top-k distribution (renormalized over its k tokens) at every
completion position.

The teacher's top-k comes from its own forward pass over the completion (teacher forcing: ``teacher_topk``),
so any teacher that shares the student's tokenizer can distil offline. Sequences are the chat-templated
prompt followed by the completion's token ids, so teacher and student see the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starmill.training.settings import TrainError

IGNORE = -100


def check_same_tokenizer(student_tok, teacher_tok, student: str, teacher: str) -> None:
    if student_tok.get_vocab() != teacher_tok.get_vocab():
        raise TrainError(
            f"top-k distillation needs one tokenizer: {student!r} and {teacher!r} have different "
            f"vocabularies ({len(student_tok)} vs {len(teacher_tok)} tokens)"
        )


def encode_rows(tokenizer, rows: Sequence[dict[str, Any]], max_length: int) -> list[dict[str, list[int]]]:
    """``{"input_ids", "labels"}`` per prompt-completion row (labels: the completion's tokens only)."""
    out = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        completion = tokenizer(row["completion"][0]["content"], add_special_tokens=False)["input_ids"]
        completion = completion + [tokenizer.eos_token_id]
        ids = (prompt + completion)[:max_length]
        labels = ([IGNORE] * len(prompt) + completion)[:max_length]
        if any(label != IGNORE for label in labels):
            out.append({"input_ids": ids, "labels": labels})
    return out


def encode_stored(tokenizer, rows: Sequence[dict[str, Any]], max_length: int) -> list[dict[str, Any]]:
    """Rows that carry the teacher's own tokens and top-k (``sampling.logprobs`` was on): the sequence is
    the prompt plus exactly those tokens (and the end token, whose target is the end token itself)."""
    out = []
    k = max(len(p) for r in rows for p in r["topk_ids"] or [[0]])
    eos = tokenizer.eos_token_id
    for row in rows:
        if not row.get("token_ids") or not row.get("topk_ids"):
            raise TrainError("some rows have no stored teacher logprobs: run with sampling.logprobs, or give --teacher")
        prompt = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        completion = list(row["token_ids"]) + [eos]
        ids_k = [list(x) + [eos] * (k - len(x)) for x in row["topk_ids"]] + [[eos] * k]
        lps_k = [list(x) + [-1e4] * (k - len(x)) for x in row["topk_logprobs"]] + [[0.0] + [-1e4] * (k - 1)]
        ids = (prompt + completion)[:max_length]
        n = len(ids)
        out.append(
            {
                "input_ids": ids,
                "labels": ([IGNORE] * len(prompt) + completion)[:n],
                "topk_ids": ([[0] * k] * len(prompt) + ids_k)[:n],
                "topk_logprobs": ([[0.0] * k] * len(prompt) + lps_k)[:n],
            }
        )
    return out


def teacher_topk(teacher, encoded: list[dict[str, list[int]]], k: int, batch_size: int = 16) -> None:
    """Add ``topk_ids``/``topk_logprobs`` (k per position, aligned with ``labels``) from the teacher."""
    import torch

    teacher.eval()
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        width = max(len(r["input_ids"]) for r in chunk)
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for i, r in enumerate(chunk):
            ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
            mask[i, : len(r["input_ids"])] = 1
        with torch.no_grad():
            logprobs = torch.log_softmax(teacher(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
        top = logprobs.topk(k, dim=-1)
        for i, r in enumerate(chunk):
            n = len(r["input_ids"])
            # position t's distribution predicts token t+1: store it at t+1, where that token's label is
            r["topk_ids"] = [[0] * k] + top.indices[i, : n - 1].tolist()
            r["topk_logprobs"] = [[0.0] * k] + top.values[i, : n - 1].tolist()


def collate(features: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(f["input_ids"]) for f in features)
    k = len(features[0]["topk_ids"][0]) if "topk_ids" in features[0] else 0

    def pad(values, fill):
        return values + [fill] * (width - len(values))

    batch = {
        "input_ids": torch.tensor([pad(f["input_ids"], pad_id) for f in features]),
        "attention_mask": torch.tensor([pad([1] * len(f["input_ids"]), 0) for f in features]),
        "labels": torch.tensor([pad(f["labels"], IGNORE) for f in features]),
    }
    if k:
        batch["topk_ids"] = torch.tensor([pad(f["topk_ids"], [0] * k) for f in features])
        batch["topk_logprobs"] = torch.tensor([pad(f["topk_logprobs"], [0.0] * k) for f in features])
    return batch


def kd_loss(logits, labels, topk_ids, topk_logprobs):
    """Mean over completion positions of the cross-entropy from the teacher's renormalized top-k to the
    student (both shifted as for next-token prediction)."""
    import torch

    student = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    ids, teacher = topk_ids[:, 1:], topk_logprobs[:, 1:]
    mask = labels[:, 1:] != IGNORE
    target = torch.softmax(teacher, dim=-1)
    picked = student.gather(-1, ids)
    per_position = -(target * picked).sum(-1)
    return (per_position * mask).sum() / mask.sum().clamp(min=1)


def make_trainer_class():
    """A ``transformers.Trainer`` whose loss mixes cross-entropy and top-k distillation."""
    from transformers import Trainer

    class TopKDistillationTrainer(Trainer):
        def __init__(self, *args, kd_alpha: float = 0.5, **kwargs):
            super().__init__(*args, **kwargs)
            self.kd_alpha = kd_alpha

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            topk_ids, topk_logprobs = inputs.pop("topk_ids"), inputs.pop("topk_logprobs")
            outputs = model(**inputs)
            kd = kd_loss(outputs.logits, inputs["labels"], topk_ids, topk_logprobs)
            loss = (1 - self.kd_alpha) * outputs.loss + self.kd_alpha * kd
            return (loss, outputs) if return_outputs else loss

    return TopKDistillationTrainer
