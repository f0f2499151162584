"""Answer-checker quality on the labelled suite, per answer type: agreement with the labels and false
accepts (the checker said "correct" where the label says otherwise: the bug that teaches a student a
wrong answer). Target: 0 false accepts.

    .venv/bin/python bench/checker_quality.py                 # starmill and math-verify
    .venv/bin/python bench/checker_quality.py --no-math-verify
    .venv/bin/python bench/checker_quality.py --suite tests/data/answers/heldout.jsonl --no-math-verify --show

"Agree" compares correct vs not correct (as bench/checker.py does); "exact" also requires the same kind of
not-correct (wrong vs unparseable_*). math-verify gets the same pairs (bare answers wrapped in ``$…$``)
and no declared forms: it has no such option. Figures, not a test: the suite's own test is
tests/test_answers_suite.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUITE = Path(__file__).resolve().parent.parent / "tests" / "data" / "answers" / "suite.jsonl"
LIMIT = 5.0  # seconds per check, both checkers


def load_suite(path: Path = SUITE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def starmill_verdicts(cases: list[dict]) -> list[str]:
    from starmill.filters.answers import CheckerPool, check_answer

    with CheckerPool(2) as pool:
        pool.start()
        return [
            check_answer(
                c["gold"],
                c["pred"],
                pool=pool,
                timeout=LIMIT,
                form=c.get("form"),
                gold_is_solution=c.get("gold_is_solution", False),
                pred_is_answer=c["pred_kind"] == "answer",
                lenient=c.get("lenient", False),
            ).verdict
            for c in cases
        ]


def math_verify_verdicts(cases: list[dict]) -> list[str]:
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    out = []
    for c in cases:
        gold = c["gold"] if c.get("gold_is_solution") else f"${c['gold']}$"
        pred = c["pred"] if c["pred_kind"] == "output" else f"${c['pred']}$"
        try:
            ok = verify(
                parse(gold, parsing_timeout=int(LIMIT)),
                parse(pred, parsing_timeout=int(LIMIT)),
                timeout_seconds=int(LIMIT),
            )
        except Exception:
            ok = False
        out.append("correct" if ok else "wrong")
    return out


def table(cases: list[dict], verdicts: dict[str, list[str]]) -> list[dict]:
    rows: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"cases": 0, "agree": 0, "exact": 0, "false_accepts": 0, "false_rejects": 0}
    )
    for name, found in verdicts.items():
        for case, verdict in zip(cases, found):
            for key in ((case["type"], name), ("ALL", name)):
                row = rows[key]
                row["cases"] += 1
                row["agree"] += (verdict == "correct") == (case["expect"] == "correct")
                row["exact"] += verdict == case["expect"]
                row["false_accepts"] += verdict == "correct" and case["expect"] != "correct"
                row["false_rejects"] += verdict != "correct" and case["expect"] == "correct"
    return [
        {"type": t, "checker": n, **r} for (t, n), r in sorted(rows.items(), key=lambda kv: (kv[0][0] == "ALL", kv[0]))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-math-verify", action="store_true", help="only starmill")
    parser.add_argument("--show", action="store_true", help="list every false accept and false reject")
    parser.add_argument("--suite", type=Path, default=SUITE, help="labelled JSONL to score (default: the suite)")
    args = parser.parse_args()
    cases = load_suite(args.suite)
    verdicts = {"starmill": starmill_verdicts(cases)}
    if not args.no_math_verify:
        verdicts["math-verify"] = math_verify_verdicts(cases)
    print(f"{'type':<14} {'checker':<12} {'cases':>5} {'agree':>7} {'exact':>7} {'false acc':>9} {'false rej':>9}")
    for r in table(cases, verdicts):
        print(
            f"{r['type']:<14} {r['checker']:<12} {r['cases']:>5} {100 * r['agree'] / r['cases']:>6.1f}% "
            f"{100 * r['exact'] / r['cases']:>6.1f}% {r['false_accepts']:>9} {r['false_rejects']:>9}"
        )
    ours = [c["id"] for c, v in zip(cases, verdicts["starmill"]) if v == "correct" and c["expect"] != "correct"]
    print(f"\nstarmill false accepts: {len(ours)} (target 0)" + (f": {', '.join(ours)}" if ours else ""))
    if args.show:
        for case, verdict in zip(cases, verdicts["starmill"]):
            if (verdict == "correct") != (case["expect"] == "correct"):
                kind = "false accept" if verdict == "correct" else "false reject"
                print(f"  starmill {kind} {case['id']}: gold {case['gold']!r}, pred {case['pred'][:60]!r} -> {verdict}")
    if args.show and "math-verify" in verdicts:
        theirs = [c for c, v in zip(cases, verdicts["math-verify"]) if v == "correct" and c["expect"] != "correct"]
        for c in theirs:
            print(f"  math-verify accepts {c['id']}: gold {c['gold']!r}, pred {c['pred'][:60]!r}")


if __name__ == "__main__":
    main()
