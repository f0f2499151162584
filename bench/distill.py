"""Distillation benchmark: the demo teacher, the demo student trained on the teacher's SFT data, and the
student trained on the same data with top-k logit distillation, at equal steps, on the same held-out
problems.

    .venv/bin/python bench/distill.py                       # 800 training problems, 600 steps, 300 held out
    .venv/bin/python bench/distill.py --problems 200 --steps 100 --eval 100    # a quick look

Steps: `starmill run` makes the teacher's sft version (n rationales per problem, rationalization on);
`starmill train` trains the student twice from the same initial weights (SFT only; SFT + top-k KD with
alpha, teacher top-k from its forward pass); `starmill eval` measures all three (greedy pass@1, maj@k)
on procedural problems from another seed. Prints a table and writes bench/distill.png.
Target: the KD student beats the SFT-only student at equal steps.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARMILL = [sys.executable, "-m", "starmill.cli"]


def run(args: list[str], what: str) -> dict | None:
    start = time.perf_counter()
    proc = subprocess.run([*STARMILL, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"  {what}: {time.perf_counter() - start:.0f} s", flush=True)
    return json.loads(proc.stdout) if "--json" in args else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=800, help="training problems for the teacher to solve")
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--steps", type=int, default=600, help="student training steps (both students)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the distillation term")
    parser.add_argument("--topk", type=int, default=8)
    parser.add_argument("--eval", type=int, default=300, help="held-out problems")
    parser.add_argument("-n", type=int, default=4, help="samples per eval problem for maj@k")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "distill.png")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from starmill.cli.output import render

    with tempfile.TemporaryDirectory() as tmp:
        wh = f"{tmp}/wh"
        held_out = f"procedural:n={args.eval},seed=424242,difficulty={args.difficulty}"
        print("teacher data:", flush=True)
        run(["run", "-w", wh, "--set", f"source.procedural.n={args.problems}",
             "--set", f"source.procedural.difficulty={args.difficulty}", "--json"], "starmill run")
        train = ["--max-steps", str(args.steps), "--lr", str(args.lr), "--set", "train.batch_size=16",
                 "--set", "train.warmup_ratio=0.05", "--json", "-w", wh]
        run(["train", "sft", "--base", "starmill/demo-student", "--output", f"{tmp}/sft", *train], "student, SFT")
        run(["train", "sft", "--base", "starmill/demo-student", "--output", f"{tmp}/kd", "--kd", "topk",
             "--teacher", "starmill/demo-teacher", "--kd-alpha", str(args.alpha),
             "--set", f"train.kd_topk={args.topk}", *train], "student, SFT + top-k KD")
        results = {}
        for label, model in [("teacher", "starmill/demo-teacher"), ("student SFT", f"{tmp}/sft"),
                             ("student SFT + KD", f"{tmp}/kd")]:
            report = run(["eval", model, "--on", held_out, "-n", str(args.n), "--json", "-w", wh], f"eval {label}")
            results[label] = report["metrics"]
        sizes = {"teacher": "3.25M", "student SFT": "0.98M", "student SFT + KD": "0.98M"}
        keys = ["greedy_pass@1", "pass@1", f"maj@{args.n}"]
        rows = [[label, sizes[label], *(f"{m.get(k, float('nan')):.3f}" for k in keys)] for label, m in results.items()]
        print(f"\nHeld-out procedural level {args.difficulty} ({args.eval} problems); students: {args.steps} steps, "
              f"lr {args.lr}, KD alpha {args.alpha}, top-{args.topk}")
        print(render(["model", "params", *keys], rows, "table"))
        plot(results, keys, args.out)
        print(f"plot: {args.out}")


def plot(results: dict, keys: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.5), dpi=120)
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ax.bar([x + i * width for x in range(len(results))], [m.get(key, 0) for m in results.values()], width, label=key)
    ax.set_xticks([x + width for x in range(len(results))], list(results))
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
