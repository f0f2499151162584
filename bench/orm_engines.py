"""The `orm` scorer's two engines on the same sequences: transformers (batches of `batch_size`) and vLLM's
pooling runner (`engine: vllm`, everything in one call), against raw `vllm.LLM.classify` on the same token
ids, made beforehand (the engine alone: its floor), in the same run. Prints sequences/s, the ratios and the
largest difference between the engines' values.

    .venv/bin/python bench/orm_engines.py                      # 2,000 rationales, the demo teacher + a seeded head
    .venv/bin/python bench/orm_engines.py --model models/orm   # an ORM made by `starmill train --task orm`

Engine start-up is timed apart from scoring (it is paid once per process).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"


def seeded_orm(folder: Path) -> str:
    """The demo teacher with a seeded one-logit head: an ORM's shape and cost (its values mean nothing)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(DEMO, num_labels=1, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(DEMO)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    torch.nn.init.normal_(model.score.weight, std=0.02)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def rationales(n: int, seed: int) -> tuple[list, list[str]]:
    rng = random.Random(seed)
    prompts, texts = [], []
    for _ in range(n):
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 9)
        slip = rng.choice([0, 0, 1, -2])
        prompts.append([{"role": "user", "content": f"Compute {a} + {b} - {c}."}])
        texts.append(
            f"{a} + {b} = {a + b + slip}\n{a + b + slip} - {c} = {a + b + slip - c}\nThe answer is {a + b + slip - c}."
        )
    return prompts, texts


def timed(call):
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an ORM folder (default: the demo teacher with a seeded head)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from starmill.filters.scorers import get_scorer, reward_vllm
    from starmill.filters.scorers import reward_models as rm

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or seeded_orm(Path(tmp) / "orm")
        prompts, texts = rationales(args.n, args.seed)
        on_hf = get_scorer("orm", {"model": model, "batch_size": args.batch_size})
        on_vllm = get_scorer("orm", {"model": model, "engine": "vllm"})
        _, hf_start = timed(lambda: rm.load(model, "orm"))
        hf, hf_s = timed(lambda: on_hf.score_texts(prompts, texts))
        llm, vllm_start = timed(lambda: reward_vllm.engine(model, on_vllm.max_length, {}))
        ours, ours_s = timed(lambda: on_vllm.score_texts(prompts, texts))
        tokenizer = llm.get_tokenizer()
        ids = [rm.orm_ids(tokenizer, p, t, on_vllm.max_length) for p, t in zip(prompts, texts)]
        raw, raw_s = timed(lambda: reward_vllm.classify(llm, ids))
        reward_vllm.close_engines()
    diff = max(abs(a.value - b.value) for a, b in zip(hf, ours))
    n = args.n
    print(
        f"\n{n} rationales, model {args.model or 'demo teacher + seeded head'}; start-up: transformers "
        f"{hf_start:.1f} s, vLLM {vllm_start:.1f} s\n"
    )
    print("| engine | seconds | sequences/s | vs raw vLLM |")
    print("| --- | ---: | ---: | ---: |")
    for name, seconds in (
        (f"orm, engine: transformers (batch {args.batch_size})", hf_s),
        ("orm, engine: vllm", ours_s),
        ("raw vllm.LLM.classify on token ids", raw_s),
    ):
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {seconds / raw_s:.2f}× |")
    print(
        f"\nlargest |transformers − vllm| value: {diff:.1e}; raw classify equals engine: vllm: "
        f"{[round(v, 6) for v in raw] == [round(s.value, 6) for s in ours]}"
    )


if __name__ == "__main__":
    main()
