"""Train the demo teacher: a tiny Llama that solves procedural arithmetic step by step.

    # the committed demo teacher: three stages (~30 + ~18 + ~12 min on 2 busy cores)
    .venv/bin/python generators/train_demo_teacher.py --out /tmp/stage1
    .venv/bin/python generators/train_demo_teacher.py --init-from /tmp/stage1 --out /tmp/stage2 --steps 600 --lr 0.0015 --seed 1
    .venv/bin/python generators/train_demo_teacher.py --init-from /tmp/stage2 --steps 400 --lr 0.001 --seed 2 --difficulties 1
    .venv/bin/python generators/train_demo_teacher.py --steps 50 --out /tmp/t   # a quick smoke run
    .venv/bin/python generators/train_demo_teacher.py --init-only     # same tokenizer, untrained weights

Seeded and step-based, so the same command gives the same weights on the same machine. Trains on the
zero-shot chain-of-thought prompt and on STaR rationalization prompts (the gold answer as a hint), loss
on the completion only. Writes bf16 safetensors plus a byte-level BPE tokenizer (digits one per token)
with a chat template; CI never trains, it uses the committed folder.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OUT = Path(__file__).resolve().parent / "demo_teacher"
SPECIALS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<think>", "</think>"]
THINK = ("<think>", "</think>")  # one token each; saved as not special, so decoded text keeps them
CONTEXT = 512  # max_position_embeddings and the tokenizer's model_max_length
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
DEFAULTS = dict(
    steps=900,  # optimizer steps
    batch=64,  # sequences per step
    lr=3e-3,  # peak learning rate, cosine decay after warmup
    warmup=50,  # warmup steps
    hint_share=0.25,  # share of examples in the rationalization (hinted) format
    difficulties=(1, 2),  # procedural levels mixed in training
    seed=0,
    threads=2,  # torch intra-op threads
)


def build_tokenizer(texts, vocab_size: int = 320):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
        model_input_names=["input_ids", "attention_mask"],
        padding_side="left",
        model_max_length=CONTEXT,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save(model, tokenizer, out: Path, recipe: dict) -> None:
    """bf16 safetensors and a folder that transformers 5.x and 4.x (and so vLLM) both read."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    model.to(torch.float32)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training_config.json").write_text(json.dumps(recipe, indent=2) + "\n")
    finish_folder(out)


def _rewrite(path: Path, change) -> None:
    data = json.loads(path.read_text())
    sort = path.name != "tokenizer.json"  # small configs: a stable key order, whatever wrote them
    path.write_text(json.dumps(change(data) or data, indent=2, ensure_ascii=False, sort_keys=sort) + "\n")


def finish_folder(out: Path) -> None:
    """Make a saved folder readable by older transformers too; touches no weights or token ids.

    4.x reads the chat template only from tokenizer_config.json, expects dict (not list) fields there,
    and reads ``torch_dtype`` and ``rope_theta`` from config.json.
    """

    def tokenizer_config(c):
        # no list fields; no load-time flags that a reloaded tokenizer writes back (--init-from)
        c = {k: v for k, v in c.items() if not isinstance(v, list) and k not in ("is_local", "local_files_only")}
        c.update(
            chat_template=CHAT_TEMPLATE,
            model_input_names=["input_ids", "attention_mask"],
            tokenizer_class="PreTrainedTokenizerFast",
            model_max_length=CONTEXT,
            clean_up_tokenization_spaces=False,
        )
        for token in (c.get("added_tokens_decoder") or {}).values():
            token["special"] = token["special"] and token["content"] not in THINK
        return c

    def tokenizer_json(t):
        for token in t["added_tokens"]:
            token["special"] = token["special"] and token["content"] not in THINK

    (out / "chat_template.jinja").unlink(missing_ok=True)
    _rewrite(out / "tokenizer_config.json", tokenizer_config)
    _rewrite(out / "tokenizer.json", tokenizer_json)
    _rewrite(out / "config.json", lambda c: c.update(torch_dtype="bfloat16", rope_theta=10000.0))
    (out / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": "<|bos|>", "eos_token": "<|end|>", "pad_token": "<|pad|>"}, indent=2) + "\n"
    )


def examples(n, seed, difficulties, hint_share):
    """(prompt messages, completion) pairs from procedural problems."""
    from starmill.generators.procedural import generate_problems
    from starmill.generators.prompts import get_template

    plain, hinted = get_template("cot_zero_shot"), get_template("star_rationalization")
    rng = random.Random(seed)
    per_level = n // len(difficulties)
    out = []
    for level in difficulties:
        for p in generate_problems(per_level, seed=seed, difficulty=level):
            use_hint = rng.random() < hint_share
            messages = hinted.render(p.question, hint=p.gold_answer) if use_hint else plain.render(p.question)
            out.append((messages, p.gold_solution, p.question))
    rng.shuffle(out)
    return out


def seen_questions(recipe: dict, difficulty: int) -> set[str]:
    """Every question a teacher trained by ``recipe`` (training_config.json) saw at ``difficulty``,
    over all its stages: held-out evaluations leave these out."""
    from starmill.generators.procedural import generate_problems

    seen: set[str] = set()
    while recipe:
        levels = recipe["difficulties"]
        if difficulty in levels:
            per_level = recipe["steps"] * recipe["batch"] // len(levels)
            seen |= {p.question for p in generate_problems(per_level, seed=recipe["seed"], difficulty=difficulty)}
        recipe = recipe.get("init_from")
    return seen


def encode(tokenizer, messages, completion):
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion + "<|end|>", add_special_tokens=False)["input_ids"]
    return p_ids + c_ids, [-100] * len(p_ids) + c_ids


def _config(tokenizer, hidden: int = 256, layers: int = 4, heads: int = 4, head_dim: int = 64, intermediate: int = 688):
    """The demo teacher's Llama (the student's is a smaller one, generators/make_demo_student.py)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        max_position_embeddings=CONTEXT,
        tie_word_embeddings=True,
        rope_theta=10000.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps between saves to --out (0: end only)")
    parser.add_argument("--init-only", action="store_true", help="save the tokenizer and an untrained model")
    parser.add_argument(
        "--difficulties",
        default=",".join(map(str, DEFAULTS["difficulties"])),
        help="procedural levels to mix, e.g. 1,2",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        help="continue from this saved teacher (its tokenizer and "
        "weights; no warmup): the second stage of the demo recipe",
    )
    args = parser.parse_args()

    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    n = args.steps * args.batch
    difficulties = tuple(int(d) for d in args.difficulties.split(","))
    data = examples(n, args.seed, difficulties, DEFAULTS["hint_share"])
    if args.init_from:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.init_from, trust_remote_code=False)
        model = LlamaForCausalLM.from_pretrained(args.init_from, dtype=torch.float32, use_safetensors=True)
    else:
        tokenizer = build_tokenizer([c for m, c, q in data[:20000]] + [m[-1]["content"] for m, c, q in data[:20000]])
        model = LlamaForCausalLM(_config(tokenizer))
    print(
        f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M, vocab {len(tokenizer)}, "
        f"examples {len(data)}",
        flush=True,
    )
    warmup = 0 if args.init_from else DEFAULTS["warmup"]
    recipe = {
        **DEFAULTS,
        "difficulties": list(difficulties),
        "warmup": warmup,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "torch": torch.__version__,
    }
    if args.init_from:
        recipe["init_from"] = json.loads((args.init_from / "training_config.json").read_text())
    if args.init_only:
        save(model, tokenizer, args.out, {**recipe, "steps_done": 0})
        print(f"saved the tokenizer and an untrained model to {args.out}", flush=True)
        return
    train(
        model,
        tokenizer,
        [(m, c) for m, c, q in data],
        out=args.out,
        recipe=recipe,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        warmup=warmup,
        checkpoint_every=args.checkpoint_every,
    )


def train(
    model,
    tokenizer,
    pairs,
    *,
    out: Path,
    recipe: dict,
    steps: int,
    batch: int,
    lr: float,
    warmup: int,
    checkpoint_every: int = 0,
) -> None:
    """AdamW with warmup and cosine decay on (prompt messages, completion) pairs, ``batch`` a step in order,
    loss on the completion only, bf16 autocast; saves to ``out`` (the code teacher trains with it too)."""
    import torch

    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.95))

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return lr * 0.5 * (1 + math.cos(math.pi * progress))

    model.train()
    start, tokens = time.time(), 0
    for step in range(steps):
        rows = [encode(tokenizer, m, c) for m, c in pairs[step * batch : (step + 1) * batch]]
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id)
        labels = torch.full((len(rows), width), -100)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (x, y) in enumerate(rows):
            ids[i, : len(x)], labels[i, : len(y)], mask[i, : len(x)] = torch.tensor(x), torch.tensor(y), 1
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        if step % 25 == 0 or step == steps - 1:
            elapsed = time.time() - start
            print(
                f"step {step:5d} loss {loss.item():.4f} lr {lr_at(step):.2e} {tokens / elapsed:,.0f} tok/s "
                f"{elapsed / 60:.1f} min",
                flush=True,
            )
        if checkpoint_every and step and step % checkpoint_every == 0:
            save(model, tokenizer, out, {**recipe, "steps_done": step})

    save(model, tokenizer, out, {**recipe, "steps_done": steps, "minutes": round((time.time() - start) / 60, 1)})
    print(f"saved to {out}", flush=True)


if __name__ == "__main__":
    main()
