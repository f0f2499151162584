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
"""
from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--search", default="beam,dvts", help="tree searches to run (of beam,dvts,mcts; '' none)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--scorer", default="steps", help="what best-of-N ranks by and the searches follow: a "
                        "scorer name, or a reward model's folder (starmill train --task orm|prm)")
    parser.add_argument("--mcts-max", type=int, default=8, help="largest N for mcts (it makes 2 calls a simulation)")
    args = parser.parse_args()
    searches = [s for s in args.search.split(",") if s]

    from starmill.schemas import ProblemRecord
    from starmill.evaluation import EvalSettings, evaluate
    from starmill.evaluation.metrics import ks_for
    from starmill.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as folder:
        wh = Warehouse(folder)
        settings = EvalSettings(n=args.n, temperature=args.temperature, strategies=STRATEGIES, scorer=args.scorer)
        start = time.perf_counter()
        report = evaluate(wh, str(DEMO), f"procedural:n={args.problems},seed={HELD_OUT_SEED},difficulty={args.difficulty}",
                          settings)
        seconds = {"sampling": time.perf_counter() - start}
        sampled = [r for r in wh.read(report.ref).to_pylist() if r["mode"] == "sampled"]
        problems = [ProblemRecord.from_row(r) for r in wh.read(report.problems_ref).to_pylist()]
    searched = run_searches(searches, problems, settings, args, seconds)
    m = report.metrics
    print(f"demo teacher, {report.problems} held-out problems (difficulty {args.difficulty}), T={args.temperature}, "
          f"greedy pass@1 {m['greedy_pass@1']:.3f}; seconds: "
          + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + "\n")
    ks = ks_for(args.n)
    columns = ["pass@N (oracle)", *STRATEGIES, *searches]
    tag = scorer_label(args.scorer)
    print("| N | " + " | ".join(f"{c} ({tag})" if "best_of_n" in c or c in searches else c for c in columns) + " |")
    print("|" + " ---: |" * (len(columns) + 1))
    rows = []
    for k in ks:
        row = [m[f"pass@{k}"], *(m[f"{s}@{k}"] for s in STRATEGIES),
               *(searched.get((s, k), (None,))[0] for s in searches)]
        sampled_tokens = sum(r["completion_tokens"] for r in sampled if r["sample_index"] < k)
        tokens = [sampled_tokens] * (1 + len(STRATEGIES)) + [searched.get((s, k), (0, 0, None))[2] for s in searches]
        rows.append((k, row, [None if t is None else t / report.problems for t in tokens]))
        print(f"| {k} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in row) + " |")
    print_data_generation(sampled, searched, searches, ks)
    if args.json:
        args.json.write_text(json.dumps({"problems": report.problems, "difficulty": args.difficulty,
                                         "greedy": m["greedy_pass@1"], "columns": columns, "rows": rows,
                                         "seconds": seconds}, indent=1))
    if args.png:
        plot(args.png, rows, columns, m["greedy_pass@1"], report.problems, args.difficulty, tag)


def scorer_label(spec: str) -> str:
    """``steps``, or a reward model's task and folder name (``prm: prm-model``)."""
    from starmill.evaluation.run import _scorer_spec

    name, options = _scorer_spec(spec)
    return f"{name}: {Path(options['model']).name}" if "model" in options else name


def run_searches(searches, problems, settings, args, seconds) -> dict:
    """(strategy, N) -> (accuracy, eval rows, tokens used) for every tree search and N."""
    from dataclasses import replace

    from starmill.filters.answers import check_answer
    from starmill.filters.scorers import get_scorer
    from starmill.generators.registry import backend_for, model_identity
    from starmill.evaluation.metrics import ks_for
    from starmill.evaluation.search import run_search

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
            rows, accuracy, used = run_search(name, backend, model_id, revision, problems, replace(settings, n=k),
                                              scorer, lambda a, b: check_answer(a, b, pred_is_answer=True).correct)
            out[(name, k)] = (accuracy, [r.to_row() for r in rows], used["tokens"])
        seconds[name] = time.perf_counter() - start
    return out


def verified(rows) -> int:
    """Distinct (problem, text) rationales with the right answer and no wrong arithmetic step."""
    from starmill.filters.steps import check_steps

    return len({(r["problem_id"], r["completion"]) for r in rows
                if r["correct"] and all(c.verdict == "ok" for c in check_steps(r["completion"]))})


def print_data_generation(sampled, searched, searches, ks) -> None:
    print("\n| strategy at N | generated tokens | verified distinct rationales | per 1,000 tokens | problems with a correct path |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for k in ks:
        first = [r for r in sampled if r["sample_index"] < k]
        found = [("independent", first, sum(r["completion_tokens"] for r in first))]
        found += [(s, searched[(s, k)][1], searched[(s, k)][2]) for s in searches if (s, k) in searched]
        for name, rows, tokens in found:
            hits = verified(rows)
            solved = len({r["problem_id"] for r in rows if r["correct"]})
            print(f"| {name}@{k} | {tokens} | {hits} | {1000 * hits / max(tokens, 1):.2f} | {solved} |")


def plot(path, rows, columns, greedy, problems, difficulty, scorer: str = "steps") -> None:
    """Accuracy against N (left) and against the tokens generated per problem (right: equal compute,
    where MCTS's expansions and rollouts and the pruned branches of beam and DVTS count too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for i, label in enumerate(columns):
        style = dict(marker="o", label=label, linestyle="--" if i == 0 else "-")
        points = [(k, r[i], t[i]) for k, r, t in rows if r[i] is not None]
        axes[0].plot([k for k, _, _ in points], [v for _, v, _ in points], **style)
        axes[1].plot([t for _, _, t in points], [v for _, v, _ in points], **style)
    for ax, label in zip(axes, ["N (generated paths per problem)", "generated tokens per problem"]):
        ax.axhline(greedy, color="grey", linewidth=0.8, label="greedy")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"demo teacher, {problems} held-out problems (difficulty {difficulty}); scorer: {scorer}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nPNG: {path}")


if __name__ == "__main__":
    main()
