"""The STaR curve in miniature: held-out accuracy of M0, M1, … M(K) over K STaR iterations on procedural
problems where the demo teacher starts low, with and without rationalization (the paper's ablation),
and a few-shot baseline of M0; over several seeds, each figure with its 95% interval.

    .venv/bin/python bench/star_curve.py                        # level 2, 400 problems, K = 3, 3 seeds, 1,000 held out
    .venv/bin/python bench/star_curve.py --problems 200 --iterations 1 --steps 60 --seeds 11,23 --eval 200  # quick
    .venv/bin/python bench/star_curve.py --problems 3000 --iterations 3 --variants with --steps 600 --eval 1000 \
        --seeds 11,23,37 --json bench/star_curve_3000.json --out bench/star_curve_3000.png

Each variant and seed is one `starmill run` with `iterations.train` (restart from the base each iteration,
steps growing 20%) and `iterations.eval` (greedy pass@1 and maj@n on held-out problems of another seed);
early stopping is off so every iteration is measured. A seed sets the run's sampling seed (the rationales
and rationalizations it samples), the training seed (data order, dropout) and the eval's sampling seed;
the training problems and the held-out problems are the same for every seed. Per-problem outcomes come
from each model's evals version; the interval (bench/intervals.py) resamples seeds and held-out
problems jointly, and M(k) - M0 is paired on the same seed and problem. Prints a table per iteration,
writes bench/star_curve.png (error bars: the 95% intervals) and, with --json, every per-problem outcome
(--from-json re-prints and re-plots from such a file without running anything; given several files of
the same settings on other seeds, e.g. one process per seed side by side, it pools them, and --json
then writes the pooled file).
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


def variant(tmp: Path, name: str, args, rationalize: bool, seed: int) -> dict:
    """One seed of one variant: its points M0 … MK, each with its held-out metrics and per-problem outcomes."""
    from intervals import eval_outcomes

    config = {
        "source": {"procedural": {"n": args.problems, "seed": 11, "difficulty": args.difficulty}},
        "sampling": {"n": args.n, "max_tokens": 96, "temperature": 0.7, "seed": seed},
        "rationalization": {"enabled": rationalize},
        "iterations": {
            "count": args.iterations,
            "early_stop": False,
            "train_from": "base",
            "train": {
                "max_steps": args.steps,
                "batch_size": 16,
                "lr": args.lr,
                "max_length": 320,
                "warmup_ratio": 0.05,
                "seed": seed,
            },
            "eval": {"source": args.held_out, "n": args.eval_n, "seed": seed},
        },
    }
    path = tmp / f"{name}-s{seed}.yaml"
    path.write_text(yaml.safe_dump(config))
    wh = str(tmp / f"{name}-s{seed}")
    summary = starmill(["run", str(path), "-w", wh, "--json"], f"starmill run ({name}, seed {seed})")
    from starmill.warehouse import Warehouse

    report = Warehouse(wh).manifest(summary["sft"]).report
    iterations = [i.model_dump() if hasattr(i, "model_dump") else dict(i) for i in report.iterations]
    points = [
        {
            "model": f"M{i['iteration']}",
            "heldout": i["heldout"] or {},
            "evals": i.get("evals"),
            "solved": i["solved_by_rationale"] + i["solved_by_rationalization"],
            "rationalized": i["solved_by_rationalization"],
        }
        for i in iterations
    ]
    if report.final_model:
        points.append(
            {
                "model": f"M{report.final_model['iteration']}",
                "heldout": report.final_model["heldout"] or {},
                "evals": report.final_model.get("evals"),
                "solved": None,
                "rationalized": None,
            }
        )
    for p in points:
        p["outcomes"] = eval_outcomes(wh, p["evals"], args.eval_n) if p["evals"] else {}
    return {"seed": seed, "points": points}


def summarize(results: dict, few: dict, maj: str) -> dict:
    """Per variant and model: mean and 95% interval of greedy and maj (seeds x problems), the paired
    difference M(k) - M0, the per-seed means and the training problems solved (mean over seeds)."""
    from intervals import diff_interval, matrix, mean_interval

    out = {"few-shot M0": {k: mean_interval(matrix([few[k]])[0]).as_dict() for k in few}}
    for label, runs in results.items():
        models = [p["model"] for p in runs[0]["points"]]
        rows = {}
        for i, model in enumerate(models):
            row = {"model": model}
            for key in ("greedy_pass@1", maj):
                if not all(run["points"][i]["outcomes"].get(key) for run in runs):
                    continue
                m, order = matrix([run["points"][i]["outcomes"][key] for run in runs])
                m0, _ = matrix([run["points"][0]["outcomes"][key] for run in runs], order)
                row[key] = mean_interval(m).as_dict()
                row[f"{key} per seed"] = [float(v) for v in m.mean(axis=1)]
                if i:
                    row[f"{key} - M0"] = diff_interval(m, m0).as_dict()
            solved = [run["points"][i]["solved"] for run in runs]
            row["solved"] = None if None in solved else sum(solved) / len(solved)
            rationalized = [run["points"][i]["rationalized"] for run in runs]
            row["rationalized"] = None if None in rationalized else sum(rationalized) / len(rationalized)
            rows[model] = row
        out[label] = rows
    return out


def fmt(d: dict | None, signed: bool = False) -> str:
    if not d:
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(d['mean'])} [{f.format(d['low'])}, {f.format(d['high'])}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=400)
    parser.add_argument("--difficulty", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("-n", type=int, default=4, help="rationales per training problem")
    parser.add_argument("--steps", type=int, default=150, help="training steps of iteration 1 (then +20%% each)")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--eval", type=int, default=1000, help="held-out problems")
    parser.add_argument("--eval-n", type=int, default=8)
    parser.add_argument("--seeds", default="11,23,37", help="training seeds, comma-separated (one run each)")
    parser.add_argument("--n-seeds", type=int, help="instead of --seeds: the first N of 11, 23, 37, 41, 53, …")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "star_curve.png")
    parser.add_argument("--json", type=Path, help="also write every figure and per-problem outcome as JSON")
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="print and plot --json files of earlier runs, run nothing; several files (other seeds of the same "
        "settings, e.g. run side by side) are pooled as one run",
    )
    parser.add_argument("--no-few-shot", action="store_true", help="skip the few-shot M0 baseline (one eval less)")
    parser.add_argument(
        "--variants",
        choices=("both", "with", "without"),
        default="both",
        help="with and/or without rationalization (one alone: a quicker look at one setting)",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if args.n_seeds:
        seeds = [11, 23, 37, 41, 53, 67, 79, 97, 101, 113][: args.n_seeds]
    args.held_out = f"procedural:n={args.eval},seed=777,difficulty={args.difficulty}"
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from starmill.cli.output import render

    if args.from_json:
        from intervals import merge_runs

        try:
            saved = merge_runs([json.loads(p.read_text()) for p in args.from_json], per_seed=["results"])
        except ValueError as e:
            raise SystemExit(f"Error: {e}") from None
        settings, results, few, seconds = saved["settings"], saved["results"], saved["few"], saved["seconds"]
        if args.json:  # the pooled run, as one file
            args.json.write_text(json.dumps(saved))
    else:
        from intervals import eval_outcomes

        settings = {k: v for k, v in vars(args).items() if k not in ("out", "json", "from_json")}
        settings["seeds"] = seeds
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            few = {}
            if not args.no_few_shot:
                report = starmill(
                    [
                        "eval",
                        "starmill/demo-teacher",
                        "--on",
                        args.held_out,
                        "-n",
                        str(args.eval_n),
                        "--template",
                        "cot_few_shot",
                        "--json",
                        "-w",
                        str(tmp / "fewshot"),
                    ],
                    "few-shot M0",
                )
                few = eval_outcomes(str(tmp / "fewshot"), report["evals"], args.eval_n)
            results = {}
            for label, name, rationalize in [
                ("with rationalization", "star", True),
                ("without rationalization", "norat", False),
            ]:
                if args.variants in ("both", label.split()[0]):
                    results[label] = []
                    for seed in seeds:
                        results[label].append(variant(tmp, name, args, rationalize, seed))
                        if args.json:  # after every seed: a run cut short still leaves its seeds (--from-json)
                            args.json.write_text(
                                json.dumps(
                                    {
                                        "settings": {**settings, "seeds": seeds[: len(results[label])]},
                                        "results": results,
                                        "few": few,
                                        "seconds": time.perf_counter() - start,
                                        "partial": True,
                                    }
                                )
                            )
        seconds = time.perf_counter() - start
        if args.json:
            args.json.write_text(json.dumps({"settings": settings, "results": results, "few": few, "seconds": seconds}))
    maj = f"maj@{settings['eval_n']}"
    table = summarize(results, few, maj)
    rows = (
        [
            [
                "few-shot M0",
                "-",
                fmt(table["few-shot M0"].get("greedy_pass@1")),
                fmt(table["few-shot M0"].get(maj)),
                "-",
                "-",
                "-",
            ]
        ]
        if few
        else []
    )
    for label in results:
        for model, r in table[label].items():
            rows.append(
                [
                    label,
                    model,
                    fmt(r.get("greedy_pass@1")),
                    fmt(r.get(maj)),
                    fmt(r.get("greedy_pass@1 - M0"), True) if model != "M0" else "-",
                    "-" if r["solved"] is None else f"{r['solved']:.0f}/{settings['problems']}",
                    "-" if r["rationalized"] is None else f"{r['rationalized']:.0f}",
                ]
            )
    print(
        f"\nHeld-out procedural level {settings['difficulty']} ({settings['eval']} problems); "
        f"{settings['problems']} training problems, n={settings['n']}; training {settings['steps']} steps "
        f"(+20%/iteration) from the base, lr {settings['lr']}; seeds {', '.join(map(str, settings['seeds']))}; "
        f"mean [95% interval: bootstrap over seeds and problems]; {seconds / 60:.0f} min"
    )
    columns = [
        "variant",
        "model",
        "greedy pass@1",
        maj,
        "greedy - M0 (paired)",
        "train problems solved (mean)",
        "by rationalization (mean)",
    ]
    if not settings["eval_n"]:  # --eval-n 0: greedy only
        columns, rows = columns[:3] + columns[4:], [r[:3] + r[4:] for r in rows]
    print(render(columns, rows, "table"))
    print("\nper seed, greedy pass@1:")
    for label in results:
        for model, r in table[label].items():
            print(
                f"  {label}, {model}: "
                + ", ".join(f"{s}: {v:.3f}" for s, v in zip(settings["seeds"], r.get("greedy_pass@1 per seed", [])))
            )
    plot(table, list(results), maj, args.out, settings)
    print(f"plot: {args.out}")


def plot(table: dict, labels: list[str], maj: str, path: Path, settings: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=120)
    top = 0.0
    for j, label in enumerate(labels):
        models = list(table[label])
        for key, marker, style, shift in (("greedy_pass@1", "o", "-", -0.06), (maj, "s", "--", 0.06)):
            pts = [(x + shift + 0.03 * j, table[label][m][key]) for x, m in enumerate(models) if key in table[label][m]]
            if not pts:
                continue
            ys = [d["mean"] for _, d in pts]
            err = [[d["mean"] - d["low"] for _, d in pts], [d["high"] - d["mean"] for _, d in pts]]
            ax.errorbar(
                [x for x, _ in pts],
                ys,
                yerr=err,
                marker=marker,
                linestyle=style,
                capsize=3,
                label=f"{label}, {'greedy' if key.startswith('greedy') else key}",
            )
            top = max(top, *(d["high"] for _, d in pts))
    few = table["few-shot M0"].get("greedy_pass@1")
    if few:
        ax.axhline(few["mean"], color="gray", linestyle=":", label="few-shot M0, greedy")
    longest = max((list(table[label]) for label in labels), key=len)
    ax.set_xticks(range(len(longest)), longest)
    ax.set_xlim(-0.4, len(longest) - 0.6)
    ax.set_xlabel("STaR iteration (model M_i)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(
        f"{settings['eval']} held-out problems, {len(settings['seeds'])} seeds; bars: 95% interval", fontsize=9
    )
    ax.set_ylim(0, min(1.0, max(0.1, 1.3 * top)))  # room to see a change at low accuracy
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
