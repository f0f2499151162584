"""Make the demo student: a ~1M-parameter Llama with the demo teacher's tokenizer, untrained.

    .venv/bin/python generators/make_demo_student.py      # writes generators/demo_student/

Seeded, so the same command gives the same weights. Distillation demos train it from these weights on
the teacher's data (`starmill train SFT --base starmill/demo-student …`); the same tokenizer makes
top-k logit distillation from the teacher possible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starmill.generators.train_demo_teacher import OUT as TEACHER  # noqa: E402
from starmill.generators.train_demo_teacher import _config, save

OUT = Path(__file__).resolve().parent / "demo_student"
SEED = 0  # weight init


def student_config(tokenizer):
    # 3 layers of width 160 (4 heads x 40): 0.98M parameters, a third of the teacher's
    return _config(tokenizer, hidden=160, layers=3, heads=4, head_dim=40, intermediate=432)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(TEACHER))
    model = LlamaForCausalLM(student_config(tokenizer))
    params = sum(p.numel() for p in model.parameters())
    save(
        model,
        tokenizer,
        args.out,
        {
            "kind": "demo-student",
            "seed": args.seed,
            "parameters": params,
            "tokenizer": "the demo teacher's",
            "trained": False,
        },
    )
    print(f"demo student: {params:,} parameters -> {args.out}")


if __name__ == "__main__":
    main()
