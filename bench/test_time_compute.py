"""Test-time compute with the demo teacher: accuracy against N sampled paths for majority vote,
best-of-N and weighted best-of-N (ranked by the ``steps`` scorer, the symbolic step checker), on
held-out procedural problems; prints a markdown table and can write a PNG.

    .venv/bin/python bench/test_time_compute.py                        # 300 problems, N up to 16
    .venv/bin/python bench/test_time_compute.py --problems 100 --n 8 --difficulty 1 --png ttc.png

One eval run (``starmill.evaluation.evaluate``, the code behind ``starmill eval --strategy``): the
first k of the n samples give every STRATEGY@k, so each row uses the same samples.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"
HELD_OUT_SEED = 12345  # procedural test split; the teacher trained on seed 0 of the train split
STRATEGIES = ("majority", "best_of_n", "weighted_best_of_n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=300)
    parser.add_argument("--n", type=int, default=16, help="samples per problem (N = 1, 2, 4, … up to n)")
    parser.add_argument("--difficulty", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--png", type=Path, help="also plot accuracy against N")
    args = parser.parse_args()

    from starmill.evaluation import EvalSettings, evaluate
    from starmill.evaluation.metrics import ks_for
    from warehouse import Warehouse

    with tempfile.TemporaryDirectory() as folder:
        wh = Warehouse(folder)
        settings = EvalSettings(n=args.n, temperature=args.temperature, strategies=STRATEGIES, scorer="steps")
        start = time.perf_counter()
        report = evaluate(wh, str(DEMO), f"procedural:n={args.problems},seed={HELD_OUT_SEED},difficulty={args.difficulty}",
                          settings)
        seconds = time.perf_counter() - start
    m = report.metrics
    print(f"demo teacher, {report.problems} held-out problems (difficulty {args.difficulty}), T={args.temperature}, "
          f"greedy pass@1 {m['greedy_pass@1']:.3f}, {seconds:.0f} s\n")
    print("| N | pass@N | majority | best_of_n (steps) | weighted_best_of_n (steps) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for k in ks_for(args.n):
        row = [m[f"pass@{k}"], *(m[f"{s}@{k}"] for s in STRATEGIES)]
        rows.append((k, row))
        print(f"| {k} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for i, label in enumerate(["pass@N (oracle)", *STRATEGIES]):
            ax.plot([k for k, _ in rows], [r[i] for _, r in rows], marker="o", label=label,
                    linestyle="--" if i == 0 else "-")
        ax.axhline(m["greedy_pass@1"], color="grey", linewidth=0.8, label="greedy")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N (sampled paths per problem)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"demo teacher, {report.problems} held-out problems")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        print(f"\nPNG: {args.png}")


if __name__ == "__main__":
    main()
