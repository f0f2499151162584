"""The STaR curve in miniature: held-out accuracy of M0, M1, … M(K) over K STaR iterations on procedural
problems where the demo teacher starts low, with and without rationalization (the paper's ablation),
and a few-shot baseline of M0.

    .venv/bin/python bench/star_curve.py                        # level 2, 400 problems, K = 3
    .venv/bin/python bench/star_curve.py --problems 200 --iterations 2 --steps 60    # a quick look
    .venv/bin/python bench/star_curve.py --problems 3000 --iterations 1 --variants with --out /tmp/p.png

Each variant is one `starmill run` with `iterations.train` (restart from the base each iteration, steps
growing 20%) and `iterations.eval` (greedy pass@1 and maj@n on held-out problems of another seed); early
stopping is off so every iteration is measured. Prints a table per iteration and writes bench/star_curve.png.
Target: held-out accuracy at least doubles by the last iteration, and rationalization solves more
training problems than its absence.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STARMILL = [sys.executable, "-m", "starmill.cli"]


def starmill(args: list[str], what: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([*STARMILL, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"  {what}: {time.perf_counter() - start:.0f} s", flush=True)
    return json.loads(proc.stdout)


def variant(tmp: Path, name: str, args, rationalize: bool) -> dict:
    config = {
        "source": {"procedural": {"n": args.problems, "seed": 11, "difficulty": args.difficulty}},
        "sampling": {"n": args.n, "max_tokens": 96, "temperature": 0.7},
        "rationalization": {"enabled": rationalize},
        "iterations": {"count": args.iterations, "early_stop": False, "train_from": "base",
                       "train": {"max_steps": args.steps, "batch_size": 16, "lr": args.lr, "max_length": 320,
                                 "warmup_ratio": 0.05},
                       "eval": {"source": args.held_out, "n": args.eval_n}},
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    summary = starmill(["run", str(path), "-w", str(tmp / name), "--json"], f"starmill run ({name})")
    from starmill.warehouse import Warehouse

    report = Warehouse(str(tmp / name)).manifest(summary["sft"]).report
    points = [{"model": f"M{i['iteration']}", "heldout": i["heldout"] or {},
               "solved": i["solved_by_rationale"] + i["solved_by_rationalization"],
               "rationalized": i["solved_by_rationalization"]} for i in summary["iterations"]]
    if report.final_model:
        points.append({"model": f"M{report.final_model['iteration']}", "heldout": report.final_model["heldout"] or {},
                       "solved": None, "rationalized": None})
    return {"points": points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=400)
    parser.add_argument("--difficulty", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("-n", type=int, default=4, help="rationales per training problem")
    parser.add_argument("--steps", type=int, default=150, help="training steps of iteration 1 (then +20%% each)")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--eval", type=int, default=200, help="held-out problems")
    parser.add_argument("--eval-n", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "star_curve.png")
    parser.add_argument("--variants", choices=("both", "with", "without"), default="both",
                        help="with and/or without rationalization (one alone: a quicker look at one setting)")
    args = parser.parse_args()
    args.held_out = f"procedural:n={args.eval},seed=777,difficulty={args.difficulty}"
    sys.path.insert(0, str(ROOT))
    from starmill.cli.output import render

    maj = f"maj@{args.eval_n}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        few = starmill(["eval", "starmill/demo-teacher", "--on", args.held_out, "-n", str(args.eval_n),
                        "--template", "cot_few_shot", "--json", "-w", str(tmp / "fewshot")], "few-shot M0")
        results = {}
        if args.variants in ("both", "with"):
            results["with rationalization"] = variant(tmp, "star", args, True)
        if args.variants in ("both", "without"):
            results["without rationalization"] = variant(tmp, "norat", args, False)
    rows = [["few-shot M0", "-", f"{few['metrics'].get('greedy_pass@1', 0):.3f}", f"{few['metrics'].get(maj, 0):.3f}",
             "-", "-"]]
    for label, result in results.items():
        for p in result["points"]:
            rows.append([label, p["model"], f"{p['heldout'].get('greedy_pass@1', float('nan')):.3f}",
                         f"{p['heldout'].get(maj, float('nan')):.3f}",
                         "-" if p["solved"] is None else f"{p['solved']}/{args.problems}",
                         "-" if p["rationalized"] is None else str(p["rationalized"])])
    print(f"\nHeld-out procedural level {args.difficulty} ({args.eval} problems); {args.problems} training problems, "
          f"n={args.n}; training {args.steps} steps (+20%/iteration) from the base, lr {args.lr}")
    print(render(["variant", "model", "greedy pass@1", maj, "train problems solved", "by rationalization"],
                 rows, "table"))
    plot(results, few["metrics"], maj, args.out)
    print(f"plot: {args.out}")


def plot(results: dict, few: dict, maj: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=120)
    for label, result in results.items():
        xs = list(range(len(result["points"])))
        ax.plot(xs, [p["heldout"].get("greedy_pass@1") for p in result["points"]], marker="o", label=f"{label}, greedy")
        ax.plot(xs, [p["heldout"].get(maj) for p in result["points"]], marker="s", linestyle="--", label=f"{label}, {maj}")
    ax.axhline(few.get("greedy_pass@1", 0), color="gray", linestyle=":", label="few-shot M0, greedy")
    longest = max(results.values(), key=lambda r: len(r["points"]))["points"]
    ax.set_xticks(range(len(longest)), [p["model"] for p in longest])
    ax.set_xlabel("STaR iteration (model M_i)")
    ax.set_ylabel("held-out accuracy")
    top = max([v for r in results.values() for p in r["points"] for v in p["heldout"].values()
               if isinstance(v, (int, float))] + [few.get("greedy_pass@1", 0)], default=0)
    ax.set_ylim(0, min(1.0, max(0.1, 1.4 * top)))  # room to see a change at low accuracy
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
