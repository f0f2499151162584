"""Reward models starmill trains from its own data, on the demo teacher: an ORM (`train --task orm` on a
run's verdicts) and a PRM (`prm-data` step labels, then `train --task prm`), scored on held-out samples
against the symbolic step checker; the PRM twice, on Math-Shepherd's hard and soft labels.

    .venv/bin/python bench/reward_models.py                        # difficulty 1, 200 + 100 problems, n=4
    .venv/bin/python bench/reward_models.py --difficulty 2 --steps 300

Every step is a starmill command (printed as it runs): two `starmill run`s (training problems, then
held-out problems with another seed, each a samples version), the ORM and PRM trainings, then
`starmill eval … --strategy best_of_n --scorer PATH`. Reported, on the held-out samples: AUROC of each
scorer at telling correct from wrong samples, and best-of-n accuracy (the highest-scored of a problem's
n samples; ties: the first) against the first sample's accuracy and the oracle (any correct).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STARMILL = str(Path(sys.executable).with_name("starmill"))
DEMO = "starmill/demo-teacher"


def starmill(*args: str) -> dict:
    """Run one starmill command with --json; its JSON output."""
    shown = " ".join(shlex.quote(a) for a in ("starmill", *args))
    print(f"$ {shown}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([STARMILL, *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {shown}\n{done.stderr[-3000:]}")
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    return json.loads(done.stdout)


def auroc(scores: list[float], labels: list[bool]) -> float | None:
    """P(a correct sample scores above a wrong one), ties counting half."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def best_of_n(samples, values) -> float:
    by_problem = defaultdict(list)
    for s, v in zip(samples, values):
        by_problem[s.problem_id].append((s.sample_index, v, s.correct))
    picks = []
    for rows in by_problem.values():
        rows.sort()
        picks.append(max(rows, key=lambda r: (r[1], -r[0]))[2])
    return sum(picks) / len(picks)


def trained(task: str, ref: str, models: Path, fast: list[str], name: str | None = None, *extra: str) -> dict:
    """The training manifest of models/NAME (default: TASK), trained now unless a last run left it."""
    out = models / (name or task)
    if not out.exists():
        starmill("train", ref, "--task", task, "--base", DEMO, "--output", str(out), *fast, *extra)
    return json.loads((out / "starmill_training.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--train-problems", type=int, default=200)
    parser.add_argument("--heldout-problems", type=int, default=100)
    parser.add_argument("-n", type=int, default=4, help="samples per problem")
    parser.add_argument("--rollouts", type=int, default=4, help="prm-data rollouts per step prefix")
    parser.add_argument("--steps", type=int, default=200, help="training steps of each reward model")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--pairs", type=int, default=4, help="ORM pairs per problem at most")
    parser.add_argument("--warehouse", default=None)
    args = parser.parse_args()
    root = Path(args.warehouse or tempfile.mkdtemp(prefix="starmill-rm-"))
    models = root / "models"  # beside the warehouse's datasets (one of which is named prm)
    w = ["-w", str(root)]
    from starmill.warehouse import Warehouse

    wh = Warehouse(str(root))  # a rerun on the same --warehouse reuses what the last one finished
    run = [
        "--set",
        f"source.procedural.difficulty={args.difficulty}",
        "--set",
        f"sampling.n={args.n}",
        "--set",
        "rationalization.enabled=false",
        "--set",
        "selection.k=4",
    ]
    started = time.perf_counter()
    for seed, count in enumerate((args.train_problems, args.heldout_problems)):
        if len(wh.versions("samples")) <= seed:
            starmill(
                "run", *run, "--set", f"source.procedural.n={count}", "--set", f"source.procedural.seed={seed}", *w
            )
    fast = [
        "--set",
        "train.batch_size=8",
        "--set",
        "train.max_length=256",
        "--set",
        f"train.lr={args.lr}",
        "--set",
        f"train.pairs_per_problem={args.pairs}",
        "--max-steps",
        str(args.steps),
        *w,
    ]
    orm = trained("orm", "samples@v1", models, fast)
    if not wh.versions("prm"):
        starmill("prm-data", "samples@v1", "--rollouts", str(args.rollouts), *w)
    prm = trained("prm", "prm@v1", models, fast)
    prm_soft = trained("prm", "prm@v1", models, fast, "prm_soft", "--set", "train.prm_labels=soft")

    from starmill.filters.scorers import get_scorer
    from starmill.schemas import SampleRecord

    trained_on = {r["problem_id"] for r in wh.read("samples@v1").select(["problem_id"]).to_pylist()}
    held = [SampleRecord.from_row(r) for r in wh.read("samples@v2").to_pylist()]
    held = [s for s in held if s.problem_id not in trained_on and s.verdicts]
    labels = [s.correct for s in held]
    scorers = {"steps (min)": get_scorer("steps"), "orm": get_scorer("orm", {"model": str(models / "orm")})}
    for label in ("prm", "prm_soft"):
        for how in ("min", "last", "mean"):
            scorers[f"{label} ({how})"] = get_scorer("prm", {"model": str(models / label), "aggregate": how})
    problems = {s.problem_id for s in held}
    first = sum(s.correct for s in held if s.sample_index == 0) / len(problems)
    oracle = len({s.problem_id for s in held if s.correct}) / len(problems)
    print(
        f"\nheld-out: {len(held)} samples of {len(problems)} problems, {sum(labels)} correct; "
        f"first sample {first:.3f}, oracle pass@{args.n} {oracle:.3f}"
    )
    print(
        f"ORM: {orm['rows']} pairs, {orm['steps']} steps, final loss {orm['final_loss']:.3f}; "
        f"PRM: {prm['rows']} rationales, {prm['steps']} steps, final loss {prm['final_loss']:.3f} (hard labels), "
        f"{prm_soft['final_loss']:.3f} (soft labels: the loss of a soft target has a floor above 0)\n"
    )
    print(f"| scorer | AUROC (correct vs wrong) | best_of_{args.n} accuracy |\n| --- | ---: | ---: |")
    for name, scorer in scorers.items():
        values = [s.value for s in scorer.score_many([(None, s) for s in held])]
        a = auroc(values, labels)
        print(f"| {name} | {'n/a' if a is None else f'{a:.3f}'} | {best_of_n(held, values):.3f} |")
    print(f"| (first sample) | | {first:.3f} |\n| (oracle: any correct) | | {oracle:.3f} |\n")
    for scorer in ("orm", "prm"):
        report = starmill(
            "eval",
            DEMO,
            "--on",
            f"procedural:n={args.heldout_problems},seed=2,difficulty={args.difficulty}",
            "-n",
            str(args.n),
            "--strategy",
            "best_of_n",
            "--scorer",
            str(models / scorer),
            "--no-greedy",
            *w,
        )
        m = report["metrics"]
        print(
            f"  eval --scorer {scorer}: pass@1 {m.get('pass@1', 0):.3f}, best_of_n@{args.n} "
            f"{m.get(f'best_of_n@{args.n}', 0):.3f}, pass@{args.n} {m.get(f'pass@{args.n}', 0):.3f}"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s; warehouse {root}")


if __name__ == "__main__":
    main()
