"""Answer-checker benchmark: starmill's checker and math-verify on the same inputs in one run.

    .venv/bin/python bench/checker.py                  # the labelled suite + 2,000 generated GSM8K-style checks
    .venv/bin/python bench/checker.py --gsm8k 5000 --passes 3

For each checker and each part (GSM8K-style integer answers; the LaTeX part of the suite): agreement
with the labels (correct vs not), checks/s, p50/p95/max latency. Both check one pair at a time: math-verify
in this process, ours with one worker process for its symbolic path (started before timing; a fresh one
each pass so its parse cache never carries over). Inputs are distinct within a pass, so math-verify's
20-entry parse cache cannot flatter it either. Bare answers are wrapped for math-verify, which only reads
LaTeX inside ``$…$`` or ``\\boxed{}``; whichever wrapping agrees more is used. Cases that declare an
answer form (``form``) are checked with it by starmill; math-verify has no such option and sees the bare pair.
``bench/checker_quality.py`` breaks agreement and false accepts down by answer type.

Targets: >= 10x math-verify's checks/s on GSM8K-style integers, >= 2x on LaTeX, agreement above
math-verify's, and no check slower than its time limit.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUITE = Path(__file__).resolve().parent.parent / "tests" / "data" / "answers" / "suite.jsonl"
LIMIT = 5.0  # seconds: our per-check time limit, and math-verify's own parse and verify timeouts
HOSTILE_LIMIT = 2.0  # seconds, for the hang inputs (ours only: math-verify's alarm-based timeouts need the main thread)
HOSTILE = [
    ("1", "\\boxed{10^{10^{10}}}"),
    ("1", "\\boxed{9^{9^{9^{9}}}}"),
    ("5", "\\boxed{1000000!}"),
    ("5", "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}"),
    ("5", "\\boxed{" + "1" * 1_000_000 + "}"),
    ("x", "\\boxed{(x+1)^{100000}}"),
    ("1", "\\boxed{\\sqrt{\\sqrt{\\sqrt{2^{3^{4^{5}}}}}}}"),
]


def load_suite() -> list[dict]:
    return [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]


def generated_gsm8k(n: int, seed: int = 0) -> list[dict]:
    """Distinct GSM8K-style checks: an integer gold, a short output in one of the usual formats,
    half of them right and half near misses (off by one, sign, a factor of ten, swapped digits)."""
    rng, cases, seen = random.Random(seed), [], set()
    formats = [
        "She pays 3 * 4 = 12 dollars.\n#### {}",
        "So 5 + 7 = 12 in total.\nThe answer is {}.",
        "Adding up gives $\\boxed{{{}}}$.",
        "Step 1: 20 - 8 = 12.\nThe final answer is {}",
    ]
    while len(cases) < n:
        gold = rng.randint(0, 10 ** rng.randint(1, 6))
        right = rng.random() < 0.5
        pred = (
            gold
            if right
            else rng.choice(
                [gold + 1, gold - 1, -gold or 1, gold * 10, int(str(gold)[::-1]) + (str(gold) == str(gold)[::-1])]
            )
        )
        text = rng.choice(formats).format(f"{pred:,}" if rng.random() < 0.3 else pred)
        if (gold, text) in seen:
            continue
        seen.add((gold, text))
        cases.append(
            {"gold": str(gold), "pred": text, "pred_kind": "output", "expect": "correct" if right else "wrong"}
        )
    return cases


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_ours(cases: list[dict], passes: int) -> tuple[list[bool], list[float]]:
    from starmill.filters.answers import CheckerPool, check_answer

    latencies, agree = [], []
    for _ in range(passes):
        with CheckerPool(1) as pool:
            pool.start()
            agree = []
            for case in cases:
                start = time.perf_counter()
                verdict = check_answer(
                    case["gold"],
                    case["pred"],
                    pool=pool,
                    timeout=LIMIT,
                    gold_is_solution=case.get("gold_is_solution", False),
                    pred_is_answer=case["pred_kind"] == "answer",
                    lenient=case.get("lenient", False),
                    form=case.get("form"),
                )
                latencies.append(time.perf_counter() - start)
                agree.append((verdict.verdict == "correct") == (case["expect"] == "correct"))
    return agree, latencies


def _wrap(text: str, how: str) -> str:
    return f"${text}$" if how == "dollars" else f"\\boxed{{{text}}}"


def run_math_verify(cases: list[dict], passes: int, how: str) -> tuple[list[bool], list[float]]:
    from math_verify import parse, verify

    latencies, agree = [], []
    for _ in range(passes):
        agree = []
        for case in cases:
            gold = case["gold"] if case.get("gold_is_solution") else _wrap(case["gold"], how)
            pred = case["pred"] if case["pred_kind"] == "output" else _wrap(case["pred"], how)
            start = time.perf_counter()
            try:
                ok = bool(
                    verify(
                        parse(gold, parsing_timeout=int(LIMIT)),
                        parse(pred, parsing_timeout=int(LIMIT)),
                        timeout_seconds=int(LIMIT),
                    )
                )
            except Exception:
                ok = False
            latencies.append(time.perf_counter() - start)
            agree.append(ok == (case["expect"] == "correct"))
    return agree, latencies


def row(part: str, name: str, agree: list[bool], latencies: list[float]) -> dict:
    return {
        "part": part,
        "checker": name,
        "cases": len(agree),
        "agree": 100 * sum(agree) / len(agree),
        "rate": len(latencies) / sum(latencies),
        "p50": 1e3 * statistics.median(latencies),
        "p95": 1e3 * percentile(latencies, 0.95),
        "max": 1e3 * max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gsm8k", type=int, default=2000, help="generated GSM8K-style checks (distinct)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over each part")
    args = parser.parse_args()
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)

    suite = load_suite()
    parts = {
        "gsm8k-suite": [c for c in suite if c["part"] == "gsm8k"],
        "gsm8k-generated": generated_gsm8k(args.gsm8k),
        "latex-suite": [c for c in suite if c["part"] == "latex"],
    }
    wraps = {how: sum(run_math_verify(suite, 1, how)[0]) for how in ("dollars", "boxed")}
    how = max(wraps, key=wraps.get)
    print(
        f"math-verify wrapping of bare answers: {how} (agreement on the whole suite: "
        + ", ".join(f"{k} {100 * v / len(suite):.1f}%" for k, v in wraps.items())
        + ")"
    )

    rows = []
    for part, cases in parts.items():
        rows.append(row(part, "starmill", *run_ours(cases, args.passes)))
        rows.append(row(part, "math-verify", *run_math_verify(cases, args.passes, how)))
    whole_ours = sum(run_ours(suite, 1)[0])
    whole_mv = sum(run_math_verify(suite, 1, how)[0])

    print(
        f"\n{'part':<16} {'checker':<12} {'cases':>5} {'agree':>7} {'checks/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    )
    for r in rows:
        print(
            f"{r['part']:<16} {r['checker']:<12} {r['cases']:>5} {r['agree']:>6.1f}% {r['rate']:>9.0f} {r['p50']:>8.2f} {r['p95']:>8.2f} {r['max']:>8.1f}"
        )
    print(
        f"\nwhole suite ({len(suite)} cases): starmill {100 * whole_ours / len(suite):.1f}% agreement, "
        f"math-verify {100 * whole_mv / len(suite):.1f}%"
    )
    by = {(r["part"], r["checker"]): r for r in rows}
    for part, target in (("gsm8k-generated", 10), ("gsm8k-suite", 10), ("latex-suite", 2)):
        ratio = by[(part, "starmill")]["rate"] / by[(part, "math-verify")]["rate"]
        print(f"{part}: starmill {ratio:.1f}x math-verify's checks/s (target >= {target}x)")
    slowest = max(r["max"] for r in rows if r["checker"] == "starmill") / 1e3
    print(f"slowest starmill check on these inputs: {slowest:.3f} s (limit {LIMIT:.0f} s)")

    from starmill.filters.answers import CheckerPool, check_answer

    with CheckerPool(1) as pool:
        pool.start()
        worst, kinds = 0.0, []
        for gold, pred in HOSTILE:
            start = time.perf_counter()
            kinds.append(check_answer(gold, pred, pool=pool, timeout=HOSTILE_LIMIT).verdict)
            worst = max(worst, time.perf_counter() - start)
    print(f"hang inputs (starmill, limit {HOSTILE_LIMIT:.0f} s): slowest {worst:.3f} s; verdicts {', '.join(kinds)}")


if __name__ == "__main__":
    main()
