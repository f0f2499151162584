"""Train the demo code teacher: a tiny Llama that writes small Python functions for procedural_code problems.

    # the committed demo code teacher (generators/demo_code_teacher/TRAINING.md has its time and pass rates)
    nice -n 5 .venv/bin/python scripts/train_code_teacher.py
    .venv/bin/python scripts/train_code_teacher.py --steps 30 --out /tmp/ct --eval 0   # a quick smoke run
    .venv/bin/python scripts/train_code_teacher.py --eval-only --eval 200              # pass@1 of the committed one

Same tokenizer, model and training loop as the math demo teacher (generators/train_demo_teacher.py), on
``procedural_code`` problems of levels 1-3: the completion is a short ``<think>`` plan and the program in a
```python block. A share of the examples are STaR rationalization prompts (``code_rationalization``) whose hint is
what ``filters/code/hints.py`` shows: the reference solution, or a failed attempt's test feedback; the teacher
still writes the program its own step-by-step way, so a rationalization is no copy of the reference. Seeded and
step-based. ``--eval N`` reports greedy pass@1 on N held-out problems per level, graded by the code verifier.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "generators" / "demo_code_teacher"
DEFAULTS = dict(
    steps=560,  # optimizer steps (pass@1 jumps between ~500 and ~560 steps: see demo_code_teacher/TRAINING.md)
    batch=16,  # sequences per step
    lr=3e-3,  # peak learning rate, cosine decay after warmup
    warmup=50,  # warmup steps
    level_shares={1: 0.2, 2: 0.3, 3: 0.5},  # share of examples per procedural_code level
    hint_share=0.25,  # share of examples in the rationalization (hinted) format
    feedback_share=0.25,  # of those, share whose hint is a failed attempt's feedback (else the reference)
    hidden=128,
    layers=3,
    heads=2,
    intermediate=344,  # the Llama (head_dim 64, tied embeddings): 0.7M parameters
    vocab=600,  # byte-level BPE size
    seed=0,
    threads=1,  # torch intra-op threads (on a loaded 2-core box one thread was ~2x faster than two)
)
EVAL_SEED = 1_000  # held-out problems come from this seed, minus any question seen in training
FEEDBACK_RULES = ("wrong_answer", "runtime_error", "missing_entry")


def level_counts(n: int, shares: dict[int, float]) -> dict[int, int]:
    return {level: round(n * share) for level, share in shares.items()}


def _feedback(rng: random.Random, task) -> str:
    """A failed attempt's feedback, as the code verifier's verdict reads through ``hints.feedback_of``."""
    from starmill.filters.code.hints import feedback_of

    rule = rng.choice(FEEDBACK_RULES)
    detail = {"passed": 0, "total": 1, "tests": ["fail" if rule == "wrong_answer" else "error"]}
    if rule == "runtime_error":
        detail["stderr"] = rng.choice(["NameError: name 'y' is not defined", "TypeError: 'int' object is not iterable"])
    if rule == "missing_entry":
        detail["tests"] = ["missing_entry"]
    return feedback_of({"checker": "code", "verdict": "wrong", "rule": rule, "detail": json.dumps(detail)})


def examples(n: int, seed: int, shares: dict[int, float], hint_share: float, feedback_share: float):
    """(prompt messages, completion) pairs, shuffled."""
    from starmill.filters.code.hints import code_hint
    from starmill.generators.procedural_code import generate_tasks
    from starmill.generators.prompts import get_template

    plain, hinted = get_template("code_zero_shot"), get_template("code_rationalization")
    rng, out = random.Random(seed), []
    for level, count in level_counts(n, shares).items():
        for task in generate_tasks(count, seed=seed, difficulty=level):
            if rng.random() < hint_share:
                hint = (
                    _feedback(rng, task)
                    if rng.random() < feedback_share
                    else code_hint({"gold_answer": json.dumps(task.spec())}, "reference")
                )
                messages = hinted.render(task.question, hint=hint)
            else:
                messages = plain.render(task.question)
            out.append((messages, task.completion()))
    rng.shuffle(out)
    return out


def held_out(recipe: dict, difficulty: int, n: int):
    """``n`` problems of ``difficulty`` that the teacher trained by ``recipe`` never saw."""
    from starmill.generators.procedural_code import generate_problems, generate_tasks

    count = level_counts(recipe["steps"] * recipe["batch"], {int(k): v for k, v in recipe["level_shares"].items()})
    seen = {t.question for t in generate_tasks(count.get(difficulty, 0), seed=recipe["seed"], difficulty=difficulty)}
    fresh = (
        p
        for p in generate_problems(n + len(seen), seed=EVAL_SEED, difficulty=difficulty, split="test")
        if p.question not in seen
    )
    return [p for _, p in zip(range(n), fresh)]


def evaluate(folder: Path, n: int, levels=(1, 2, 3), threads: int = 2, batch: int = 50) -> dict[int, float]:
    """Greedy pass@1 per level on held-out problems, each program run by the code verifier in the sandbox."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from starmill.filters.verifiers import get_verifier
    from starmill.generators.prompts import get_template

    torch.set_num_threads(threads)
    recipe = json.loads((folder / "training_config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    verifier, template, rates = get_verifier("code", workers=2), get_template("code_zero_shot"), {}
    for level in levels:
        problems, outputs = held_out(recipe, level, n), []
        for start in range(0, len(problems), batch):
            chunk = problems[start : start + batch]
            prompts = [
                tokenizer.apply_chat_template(template.render(p.question), tokenize=False, add_generation_prompt=True)
                for p in chunk
            ]
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                gen = model.generate(
                    **enc,
                    max_new_tokens=128,
                    do_sample=False,
                    eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id,
                )
            outputs += tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        verdicts = list(verifier.verify_batch(zip(problems, outputs)))
        rates[level] = sum(v.verdict == "correct" for v in verdicts) / max(1, len(verdicts))
        print(f"level {level}: greedy pass@1 {rates[level]:.1%} on {len(problems)} held-out problems", flush=True)
    return rates


def main() -> None:
    from starmill.generators.train_demo_teacher import _config, build_tokenizer, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument("--threads", type=int, default=DEFAULTS["threads"])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--eval", type=int, default=100, help="held-out problems per level for pass@1 (0: none)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate --out without training")
    args = parser.parse_args()
    if args.eval_only:
        evaluate(args.out, args.eval, threads=args.threads)
        return

    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    start = time.time()
    data = examples(
        args.steps * args.batch, args.seed, DEFAULTS["level_shares"], DEFAULTS["hint_share"], DEFAULTS["feedback_share"]
    )
    tokenizer = build_tokenizer(
        [c for m, c in data[:20000]] + [m[-1]["content"] for m, c in data[:20000]], vocab_size=DEFAULTS["vocab"]
    )
    d = DEFAULTS
    model = LlamaForCausalLM(
        _config(tokenizer, hidden=d["hidden"], layers=d["layers"], heads=d["heads"], intermediate=d["intermediate"])
    )
    print(
        f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M, vocab {len(tokenizer)}, "
        f"examples {len(data)}, data {time.time() - start:.0f}s",
        flush=True,
    )
    recipe = {
        **DEFAULTS,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "torch": torch.__version__,
        "kind": "demo-code-teacher",
    }
    train(
        model,
        tokenizer,
        data,
        out=args.out,
        recipe=recipe,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        warmup=DEFAULTS["warmup"],
    )
    print(f"trained in {(time.time() - start) / 60:.1f} min wall (data, tokenizer and steps)", flush=True)
    if args.eval:
        evaluate(args.out, args.eval, threads=args.threads)


if __name__ == "__main__":
    main()
