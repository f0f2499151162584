"""Distillation benchmark: the demo teacher, the demo student trained on the teacher's SFT data, and the
student trained on the same data with top-k logit distillation, at equal steps, on the same held-out
problems; over several training seeds, each figure with its 95% interval.

    .venv/bin/python bench/distill.py                       # 800 training problems, 600 steps, 1,000 held out, 3 seeds
    .venv/bin/python bench/distill.py --problems 200 --steps 100 --eval 100 --seeds 1,2    # a quick look

Steps: `starmill run` makes the teacher's sft version once (n rationales per problem, rationalization on);
for each seed `starmill train` trains the student twice from the same initial weights (SFT only; SFT +
top-k KD with alpha, teacher top-k from its forward pass) with that training seed (data order, dropout);
`starmill eval` measures each (greedy pass@1, maj@k with the seed as its sampling seed), and the teacher
once, on procedural problems from another seed. Per-problem outcomes come from each evals version; the
interval (bench/intervals.py) resamples seeds and held-out problems jointly, and KD - SFT is paired on
the same seed and problem. Prints a table and writes bench/distill.png (error bars: the 95% intervals);
--json keeps every per-problem outcome, --from-json re-prints and re-plots one without running.
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
    parser.add_argument("--eval", type=int, default=1000, help="held-out problems")
    parser.add_argument("-n", type=int, default=4, help="samples per eval problem for maj@k")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds of the students, comma-separated")
    parser.add_argument("--n-seeds", type=int, help="instead of --seeds: seeds 0 … N-1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "distill.png")
    parser.add_argument("--json", type=Path, help="also write every figure and per-problem outcome as JSON")
    parser.add_argument("--from-json", type=Path, help="print and plot a --json file of an earlier run; run nothing")
    args = parser.parse_args()
    seeds = list(range(args.n_seeds)) if args.n_seeds else [int(s) for s in args.seeds.split(",") if s.strip()]
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from starmill.cli.output import render

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        settings, outcomes, seconds = saved["settings"], saved["outcomes"], saved["seconds"]
    else:
        settings = {k: v for k, v in vars(args).items() if k not in ("out", "json", "from_json")}
        settings["seeds"] = seeds
        start = time.perf_counter()

        def partial(outcomes: dict) -> None:  # after every seed: a run cut short still leaves its seeds
            if args.json:
                done = len(outcomes["student SFT + KD"])
                args.json.write_text(
                    json.dumps(
                        {
                            "settings": {**settings, "seeds": seeds[:done]},
                            "outcomes": outcomes,
                            "seconds": time.perf_counter() - start,
                            "partial": True,
                        }
                    )
                )

        outcomes = collect(args, seeds, partial)
        seconds = time.perf_counter() - start
        if args.json:
            args.json.write_text(json.dumps({"settings": settings, "outcomes": outcomes, "seconds": seconds}))
    table = summarize(outcomes, settings["n"])
    sizes = {"teacher": "3.25M", "student SFT": "0.98M", "student SFT + KD": "0.98M"}
    keys = [k for k in ("greedy_pass@1", f"maj@{settings['n']}") if k in table["teacher"]]
    rows = [[label, sizes[label], *(fmt(table[label].get(k)) for k in keys)] for label in sizes]
    rows += [["KD - SFT (paired)", "", *(fmt(table["KD - SFT"].get(k), True) for k in keys)]]
    print(
        f"\nHeld-out procedural level {settings['difficulty']} ({settings['eval']} problems); students: "
        f"{settings['steps']} steps, lr {settings['lr']}, KD alpha {settings['alpha']}, top-{settings['topk']}; "
        f"seeds {', '.join(map(str, settings['seeds']))}; mean [95% interval: bootstrap over seeds and problems]; "
        f"{seconds / 60:.0f} min"
    )
    print(render(["model", "params", *keys], rows, "table"))
    for label in ("student SFT", "student SFT + KD"):
        print(
            f"  {label}, greedy per seed: "
            + ", ".join(f"{s}: {v:.3f}" for s, v in zip(settings["seeds"], table[label]["greedy_pass@1 per seed"]))
        )
    plot(table, keys, args.out, settings)
    print(f"plot: {args.out}")


def collect(args, seeds: list[int], partial=lambda outcomes: None) -> dict:
    """{"teacher": outcomes, "student SFT": [outcomes per seed], "student SFT + KD": [...]}, an outcomes
    being {metric: {problem: 0/1}}."""
    from intervals import eval_outcomes

    out: dict = {"student SFT": [], "student SFT + KD": []}
    with tempfile.TemporaryDirectory() as tmp:
        wh = f"{tmp}/wh"
        held_out = f"procedural:n={args.eval},seed=424242,difficulty={args.difficulty}"
        print("teacher data:", flush=True)
        run(
            [
                "run",
                "-w",
                wh,
                "--set",
                f"source.procedural.n={args.problems}",
                "--set",
                f"source.procedural.difficulty={args.difficulty}",
                "--json",
            ],
            "starmill run",
        )

        def evaluate(model: str, label: str, seed: int) -> dict:
            report = run(
                ["eval", model, "--on", held_out, "-n", str(args.n), "--seed", str(seed), "--json", "-w", wh],
                f"eval {label}",
            )
            return eval_outcomes(wh, report["evals"], args.n)

        out["teacher"] = evaluate("starmill/demo-teacher", "teacher", 0)
        for seed in seeds:
            train = [
                "--max-steps",
                str(args.steps),
                "--lr",
                str(args.lr),
                "--set",
                "train.batch_size=16",
                "--set",
                "train.warmup_ratio=0.05",
                "--set",
                f"train.seed={seed}",
                "--json",
                "-w",
                wh,
            ]
            run(
                ["train", "sft", "--base", "starmill/demo-student", "--output", f"{tmp}/sft-{seed}", *train],
                f"student, SFT (seed {seed})",
            )
            run(
                [
                    "train",
                    "sft",
                    "--base",
                    "starmill/demo-student",
                    "--output",
                    f"{tmp}/kd-{seed}",
                    "--kd",
                    "topk",
                    "--teacher",
                    "starmill/demo-teacher",
                    "--kd-alpha",
                    str(args.alpha),
                    "--set",
                    f"train.kd_topk={args.topk}",
                    *train,
                ],
                f"student, SFT + top-k KD (seed {seed})",
            )
            out["student SFT"].append(evaluate(f"{tmp}/sft-{seed}", f"student SFT (seed {seed})", seed))
            out["student SFT + KD"].append(evaluate(f"{tmp}/kd-{seed}", f"student SFT + KD (seed {seed})", seed))
            partial(out)
    return out


def summarize(outcomes: dict, n: int) -> dict:
    from intervals import diff_interval, matrix, mean_interval

    table: dict = {"teacher": {}, "student SFT": {}, "student SFT + KD": {}, "KD - SFT": {}}
    for key in [k for k in ("greedy_pass@1", f"maj@{n}") if k in outcomes["teacher"]]:  # -n 0: greedy only
        teacher, order = matrix([outcomes["teacher"][key]])
        table["teacher"][key] = mean_interval(teacher).as_dict()
        sft, _ = matrix([o[key] for o in outcomes["student SFT"]], order)
        kd, _ = matrix([o[key] for o in outcomes["student SFT + KD"]], order)
        for label, m in (("student SFT", sft), ("student SFT + KD", kd)):
            table[label][key] = mean_interval(m).as_dict()
            table[label][f"{key} per seed"] = [float(v) for v in m.mean(axis=1)]
        table["KD - SFT"][key] = diff_interval(kd, sft).as_dict()
    return table


def fmt(d: dict | None, signed: bool = False) -> str:
    if not d:
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(d['mean'])} [{f.format(d['low'])}, {f.format(d['high'])}]"


def plot(table: dict, keys: list[str], path: Path, settings: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["teacher", "student SFT", "student SFT + KD"]
    fig, ax = plt.subplots(figsize=(6.5, 3.5), dpi=120)
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ds = [table[label][key] for label in labels]
        ax.bar(
            [x + i * width for x in range(len(labels))],
            [d["mean"] for d in ds],
            width,
            label=key,
            yerr=[[d["mean"] - d["low"] for d in ds], [d["high"] - d["mean"] for d in ds]],
            capsize=3,
        )
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out accuracy")
    ax.set_title(
        f"{settings['eval']} held-out problems, {len(settings['seeds'])} student seeds; bars: 95% interval", fontsize=9
    )
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
