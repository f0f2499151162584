"""Generation benchmark (transformers): the same prompts through our ``TransformersBackend`` and
through a raw ``model.generate`` call on the same loaded model, in one run; prints tokens/s for both
and our ratio, then the demo teacher's accuracy on held-out procedural problems.

    .venv/bin/python bench/generation.py                  # demo teacher, 32 prompts x 4 samples
    .venv/bin/python bench/generation.py --prompts 64 --accuracy 400

Target: ours within 5% of raw (ratio >= 0.95). The vLLM half is bench/generation_vllm.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"
HELD_OUT_SEED = 12345  # the teacher trained on seed 0; questions seen in training are excluded


def prompts(count: int, difficulty: int, seed: int = HELD_OUT_SEED, model: Path = DEMO):
    """``count`` problems the teacher never saw in training (its recipe is in training_config.json)."""
    import json

    from starmill.generators.procedural import generate_problems
    from starmill.generators.train_demo_teacher import seen_questions

    recipe_path = model / "training_config.json"
    seen = seen_questions(json.loads(recipe_path.read_text()), difficulty) if recipe_path.exists() else set()
    fresh = (
        p
        for p in generate_problems(count + len(seen), seed=seed, difficulty=difficulty, split="test")
        if p.question not in seen
    )
    out = [p for _, p in zip(range(count), fresh)]
    if len(out) < count:
        raise SystemExit(f"only {len(out)} held-out difficulty-{difficulty} problems exist")
    return out


def raw_generate(backend, requests) -> int:
    """The baseline: template, tokenize, one ``model.generate`` per batch, decode. Returns new tokens."""
    import torch

    tok, model = backend.tokenizer, backend.model
    s = requests[0].sampling
    texts = [tok.apply_chat_template(list(r.messages), tokenize=False, add_generation_prompt=True) for r in requests]
    batch = tok(texts, add_special_tokens=False, return_tensors="pt", padding=True)
    torch.manual_seed(0)
    with torch.inference_mode():
        out = model.generate(
            **batch,
            max_new_tokens=s.max_tokens,
            num_return_sequences=s.n,
            do_sample=True,
            temperature=s.temperature,
            top_k=0,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
    new = out[:, batch["input_ids"].shape[1] :]
    tok.batch_decode(new, skip_special_tokens=True)
    return int(((new != tok.pad_token_id) & (new != tok.eos_token_id)).sum())


def ours(backend, requests) -> int:
    results = backend.generate(requests)
    return sum(c.completion_tokens for r in results for c in r.completions)


def accuracy(backend, problems, temperature: float, template_id: str = "cot_zero_shot") -> float:
    """Share of problems answered right; with the rationalization template the gold answer is the hint."""
    from starmill.filters.answers import check_batch
    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.prompts import get_template

    template = get_template(template_id)
    hint = template.takes_hint
    requests = [
        GenerationRequest(
            p.problem_id,
            messages=template.render(p.question, p.gold_answer if hint else None),
            sampling=SamplingParams(n=1, temperature=temperature, max_tokens=96, seed=i),
        )
        for i, p in enumerate(problems)
    ]
    results = backend.generate(requests)
    pairs = [(p.gold_answer, r.completions[0].text) for p, r in zip(problems, results)]
    return sum(v.correct for v in check_batch(pairs, workers=1)) / len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEMO))
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("-n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accuracy", type=int, default=300, help="held-out problems per difficulty (0: skip)")
    args = parser.parse_args()

    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.prompts import get_template
    from starmill.generators.transformers_backend import TransformersBackend

    backend = TransformersBackend(args.model)
    template = get_template("cot_zero_shot")
    requests = [
        GenerationRequest(
            p.problem_id,
            messages=template.render(p.question),
            sampling=SamplingParams(n=args.n, temperature=0.7, max_tokens=args.max_tokens, seed=i),
        )
        for i, p in enumerate(prompts(args.prompts, 2, model=Path(args.model)))
    ]
    backend.batch_size = len(requests) * args.n  # one batch each side: the same work
    raw_generate(backend, requests), ours(backend, requests)  # warm-up
    speeds = {"raw model.generate": [], "starmill TransformersBackend": []}
    for _ in range(args.rounds):
        for name, fn in (("raw model.generate", raw_generate), ("starmill TransformersBackend", ours)):
            start = time.perf_counter()
            tokens = fn(backend, requests)
            speeds[name].append(tokens / (time.perf_counter() - start))
    print(f"{args.prompts} prompts x {args.n} samples, max {args.max_tokens} tokens, {args.rounds} rounds (median):")
    for name, values in speeds.items():
        print(f"  {name:<30} {statistics.median(values):8.0f} tokens/s")
    ratio = statistics.median(speeds["starmill TransformersBackend"]) / statistics.median(speeds["raw model.generate"])
    print(f"  ours / raw: {ratio:.3f}  (target >= 0.95)")
    if args.accuracy:
        backend.batch_size = 64
        for difficulty in (1, 2):
            problems = prompts(args.accuracy, difficulty, seed=HELD_OUT_SEED + difficulty, model=Path(args.model))
            greedy = accuracy(backend, problems, 0.0)
            sampled = accuracy(backend, problems, 0.7)
            hinted = accuracy(backend, problems, 0.7, "star_rationalization")
            print(
                f"demo teacher on {len(problems)} held-out difficulty-{difficulty} problems: "
                f"greedy {greedy:.1%}, temperature 0.7 {sampled:.1%}, "
                f"rationalization (gold answer as hint) at 0.7 {hinted:.1%}"
            )


if __name__ == "__main__":
    main()
