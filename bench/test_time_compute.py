"""Test-time compute with the demo teacher: accuracy against N paths for majority vote, best-of-N
and weighted best-of-N (ranked by the ``steps`` scorer, the symbolic step checker), and for the tree
searches beam, DVTS and MCTS guided by the same scorer, on held-out procedural problems; and, for data
generation, verified distinct rationales per 1,000 generated tokens per strategy. Prints markdown
tables and can write a PNG.

    .venv/bin/python bench/test_time_compute.py                        # 300 problems, N up to 16
    .venv/bin/python bench/test_time_compute.py --problems 100 --n 16 --search beam,dvts,mcts \
        --mcts-max 8 --png bench/test_time_compute.png

One eval run (``starmill.evaluation.evaluate``, the code behind ``starmill eval --strategy``): the
first k of the n samples give every STRATEGY@k, so each row uses the same samples. Each tree search
at each N is a search of its own (``starmill.evaluation.search.run_search``, behind ``--strategy
beam -n N``): beam ``beam_width × expansions = N`` (expansions 4, fewer below 4), DVTS ``subtrees ×
expansions = N``, MCTS N simulations. A verified rationale has the right answer and no wrong step;
distinct is per problem (exact text); tokens are every token generated (pruned branches too).

Uncertainty: every accuracy comes with a 95% interval (bench/intervals.py), a bootstrap over the
held-out problems and, with ``--seeds 0,1,2`` (one eval run and one search per seed and N, so each seed
costs what the first did, less the greedy pass), over sampling seeds too; a second table gives paired
differences on the same problems and seeds (each strategy against majority vote at the same N, and
against greedy). Per-problem outcomes come from ``EvalReport.outcomes`` and ``run_search(outcomes=…)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    parser.add_argument("--search", default="beam,dvts", help="tree searches to run (of beam,dvts,mcts; '' none)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--scorer",
        default="steps",
        help="what best-of-N ranks by and the searches follow: a "
        "scorer name, or a reward model's folder (starmill train --task orm|prm)",
    )
    parser.add_argument("--mcts-max", type=int, default=8, help="largest N for mcts (it makes 2 calls a simulation)")
    parser.add_argument("--seeds", default="0", help="sampling seeds, comma-separated: one eval run (and search) each")
    args = parser.parse_args()
    searches = [s for s in args.search.split(",") if s]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    from intervals import diff_interval, matrix, mean_interval

    from starmill.evaluation import EvalSettings, evaluate
    from starmill.evaluation.metrics import ks_for
    from starmill.schemas import ProblemRecord
    from starmill.warehouse import Warehouse

    outcomes: list[dict[str, dict[str, float]]] = []  # per seed: metric -> problem -> 0/1
    seconds: dict[str, float] = {}
    searched: dict = {}
    for i, seed in enumerate(seeds):
        with tempfile.TemporaryDirectory() as folder:
            wh = Warehouse(folder)
            settings = EvalSettings(
                n=args.n,
                temperature=args.temperature,
                strategies=STRATEGIES,
                scorer=args.scorer,
                seed=seed,
                greedy=i == 0,
            )
            start = time.perf_counter()
            report = evaluate(
                wh,
                str(DEMO),
                f"procedural:n={args.problems},seed={HELD_OUT_SEED},difficulty={args.difficulty}",
                settings,
            )
            seconds["sampling"] = seconds.get("sampling", 0) + time.perf_counter() - start
            if i == 0:
                first, sampled = report, [r for r in wh.read(report.ref).to_pylist() if r["mode"] == "sampled"]
                problems = [ProblemRecord.from_row(r) for r in wh.read(report.problems_ref).to_pylist()]
        seed_searched = run_searches(searches, problems, settings, args, seconds)
        if i == 0:
            searched = seed_searched
        found = dict(report.outcomes)
        for (name, k), (_, _, _, per) in seed_searched.items():
            found[f"{name}@{k}"] = {p.problem_id: per.get(p.problem_id, 0.0) for p in problems}  # no path: wrong
        outcomes.append(found)
    report, order = first, sorted(p.problem_id for p in problems)
    greedy_row, _ = matrix([outcomes[0]["greedy_pass@1"]], order)

    def cell(key: str):
        if not all(key in o for o in outcomes):
            return None
        return matrix([o[key] for o in outcomes], order)[0]

    greedy = mean_interval(greedy_row)
    print(
        f"demo teacher, {report.problems} held-out problems (difficulty {args.difficulty}), T={args.temperature}, "
        f"sampling seeds {', '.join(map(str, seeds))}, greedy pass@1 {greedy}; seconds: "
        + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
        + "\n"
    )
    print("mean [95% interval: bootstrap over problems" + (" and seeds" if len(seeds) > 1 else "") + "]\n")
    ks = ks_for(args.n)
    columns = ["pass@N (oracle)", *STRATEGIES, *searches]
    keys = ["pass@{}", *(s + "@{}" for s in STRATEGIES), *(s + "@{}" for s in searches)]
    tag = scorer_label(args.scorer)
    print("| N | " + " | ".join(f"{c} ({tag})" if "best_of_n" in c or c in searches else c for c in columns) + " |")
    print("|" + " ---: |" * (len(columns) + 1))
    rows, intervals, diffs = [], [], []
    for k in ks:
        ms = [cell(key.format(k)) for key in keys]
        ivs = [None if m is None else mean_interval(m) for m in ms]
        sampled_tokens = sum(r["completion_tokens"] for r in sampled if r["sample_index"] < k)
        tokens = [sampled_tokens] * (1 + len(STRATEGIES)) + [
            searched[(s, k)][2] if (s, k) in searched else None for s in searches
        ]
        rows.append(
            (
                k,
                [None if iv is None else iv.mean for iv in ivs],
                [None if t is None else t / report.problems for t in tokens],
            )
        )
        intervals.append([None if iv is None else iv.as_dict() for iv in ivs])
        print(f"| {k} | " + " | ".join("—" if iv is None else str(iv) for iv in ivs) + " |")
        majority = ms[1 + STRATEGIES.index("majority")]
        diffs.append(
            {
                columns[j]: {
                    "vs majority": None
                    if m is None or j <= 1 + STRATEGIES.index("majority")
                    else diff_interval(m, majority).as_dict(),
                    "vs greedy": None if m is None else diff_interval(m, greedy_row).as_dict(),
                }
                for j, m in enumerate(ms)
            }
        )
    print("\nPaired differences (same problems and seeds): strategy@N - majority@N / strategy@N - greedy\n")
    print("| N | " + " | ".join(c for c in columns) + " |")
    print("|" + " ---: |" * (len(columns) + 1))
    for k, d in zip(ks, diffs):
        print(
            f"| {k} | "
            + " | ".join(
                "—"
                if d[c]["vs greedy"] is None
                else ("" if d[c]["vs majority"] is None else signed(d[c]["vs majority"]) + " / ")
                + signed(d[c]["vs greedy"])
                for c in columns
            )
            + " |"
        )
    print_data_generation(sampled, searched, searches, ks)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "problems": report.problems,
                    "difficulty": args.difficulty,
                    "seeds": seeds,
                    "greedy": greedy.as_dict(),
                    "columns": columns,
                    "rows": rows,
                    "intervals": intervals,
                    "differences": diffs,
                    "seconds": seconds,
                },
                indent=1,
            )
        )
    if args.png:
        plot(args.png, rows, columns, greedy.mean, report.problems, args.difficulty, tag, intervals, len(seeds))


def signed(d: dict) -> str:
    return f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def scorer_label(spec: str) -> str:
    """``steps``, or a reward model's task and folder name (``prm: prm-model``)."""
    from starmill.evaluation.run import _scorer_spec

    name, options = _scorer_spec(spec)
    return f"{name}: {Path(options['model']).name}" if "model" in options else name


def run_searches(searches, problems, settings, args, seconds) -> dict:
    """(strategy, N) -> (accuracy, eval rows, tokens used, problem -> 0/1) for every tree search and N."""
    from dataclasses import replace

    from starmill.evaluation.metrics import ks_for
    from starmill.evaluation.search import run_search
    from starmill.filters.answers import check_answer
    from starmill.filters.scorers import get_scorer
    from starmill.generators.registry import backend_for, model_identity

    teacher = {"backend": "transformers", "model": str(DEMO), "revision": None, "options": {}}
    backend, (model_id, revision) = backend_for(teacher), model_identity(teacher)
    from starmill.evaluation.run import _scorer_spec

    scorer = get_scorer(*_scorer_spec(args.scorer))
    out = {}
    for name in searches:
        start = time.perf_counter()
        for k in ks_for(args.n):
            if name == "mcts" and k > args.mcts_max:
                continue
            per: dict[str, float] = {}
            rows, accuracy, used = run_search(
                name,
                backend,
                model_id,
                revision,
                problems,
                replace(settings, n=k),
                scorer,
                lambda a, b: check_answer(a, b, pred_is_answer=True).correct,
                outcomes=per,
            )
            out[(name, k)] = (accuracy, [r.to_row() for r in rows], used["tokens"], per)
        seconds[name] = seconds.get(name, 0) + time.perf_counter() - start
    return out


def verified(rows) -> int:
    """Distinct (problem, text) rationales with the right answer and no wrong arithmetic step."""
    from starmill.filters.steps import check_steps

    return len(
        {
            (r["problem_id"], r["completion"])
            for r in rows
            if r["correct"] and all(c.verdict == "ok" for c in check_steps(r["completion"]))
        }
    )


def print_data_generation(sampled, searched, searches, ks) -> None:
    print(
        "\n| strategy at N | generated tokens | verified distinct rationales | per 1,000 tokens | problems with a correct path |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for k in ks:
        first = [r for r in sampled if r["sample_index"] < k]
        found = [("independent", first, sum(r["completion_tokens"] for r in first))]
        found += [(s, searched[(s, k)][1], searched[(s, k)][2]) for s in searches if (s, k) in searched]
        for name, rows, tokens in found:
            hits = verified(rows)
            solved = len({r["problem_id"] for r in rows if r["correct"]})
            print(f"| {name}@{k} | {tokens} | {hits} | {1000 * hits / max(tokens, 1):.2f} | {solved} |")


def plot(
    path, rows, columns, greedy, problems, difficulty, scorer: str = "steps", intervals=None, seeds: int = 1
) -> None:
    """Accuracy against N (left, with 95% intervals as error bars when given) and against the tokens
    generated per problem (right: equal compute, where MCTS's expansions and rollouts and the pruned
    branches of beam and DVTS count too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for i, label in enumerate(columns):
        style = dict(marker="o", label=label, linestyle="--" if i == 0 else "-")
        points = [(k, r[i], t[i]) for k, r, t in rows if r[i] is not None]
        if intervals:
            ivs = [iv[i] for (_, r, _), iv in zip(rows, intervals) if r[i] is not None]
            shift = 2 ** (0.04 * (i - len(columns) / 2))  # apart a little on the log axis
            axes[0].errorbar(
                [k * shift for k, _, _ in points],
                [v for _, v, _ in points],
                capsize=2,
                yerr=[[d["mean"] - d["low"] for d in ivs], [d["high"] - d["mean"] for d in ivs]],
                **style,
            )
        else:
            axes[0].plot([k for k, _, _ in points], [v for _, v, _ in points], **style)
        axes[1].plot([t for _, _, t in points], [v for _, v, _ in points], **style)
    for ax, label in zip(axes, ["N (generated paths per problem)", "generated tokens per problem"]):
        ax.axhline(greedy, color="grey", linewidth=0.8, label="greedy")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"demo teacher, {problems} held-out problems (difficulty {difficulty}); scorer: {scorer}"
        + (f"; bars: 95% interval ({seeds} sampling seed{'s' if seeds > 1 else ''})" if intervals else ""),
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nPNG: {path}")


if __name__ == "__main__":
    main()
