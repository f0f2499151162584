"""Whole-process checker benchmark: `starmill check FILE` against a math-verify `parse`/`verify` loop
over the same GSM8K-style rows, each in its own process, in the same run. starmill runs twice: with its
default worker count (CPUs, at most 4) and with one worker, the like-for-like row against one process.

    .venv/bin/python bench/checker_cli.py                  # 200,000 rows
    .venv/bin/python bench/checker_cli.py --rows 20000

Rows are distinct (math-verify caches its last 20 parses), half right and half near misses; the gold is
a GSM8K solution (`…\\n#### 72`). Both processes are timed from start to exit (imports, reading the
file, writing verdicts for ours), and both verdict lists are compared. Target: >= 10x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checker import generated_gsm8k  # noqa: E402  (bench/checker.py, the same generated rows)

MATH_VERIFY_LOOP = r"""
import json, sys
from math_verify import parse, verify
right = 0
out = []
for line in open(sys.argv[1]):
    row = json.loads(line)
    gold = parse("$" + row["answer"] + "$")
    pred = parse(row["pred"])
    ok = bool(gold) and bool(pred) and verify(gold, pred)
    out.append(ok)
json.dump(out, open(sys.argv[2], "w"))
"""


def write_rows(path: Path, n: int) -> None:
    with path.open("w") as handle:
        for case in generated_gsm8k(n):
            solution = f"We work it out step by step.\n#### {case['gold']}"
            handle.write(
                json.dumps({"gold": solution, "answer": case["gold"], "pred": case["pred"], "label": case["expect"]})
                + "\n"
            )


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    from starmill.cli.output import render

    with tempfile.TemporaryDirectory() as tmp:
        rows, ours_out, theirs_out = Path(tmp) / "rows.jsonl", Path(tmp) / "ours.jsonl", Path(tmp) / "mv.json"
        write_rows(rows, args.rows)
        command = [
            sys.executable,
            "-m",
            "starmill.cli",
            "check",
            str(rows),
            "--gold-field",
            "gold",
            "--pred-field",
            "pred",
            "-o",
            str(ours_out),
        ]
        ours = timed(command)
        ours_ok = [json.loads(line)["verdict"]["verdict"] == "correct" for line in ours_out.read_text().splitlines()]
        one = timed(command + ["--workers", "1"])
        one_ok = [json.loads(line)["verdict"]["verdict"] == "correct" for line in ours_out.read_text().splitlines()]
        theirs = timed([sys.executable, "-c", MATH_VERIFY_LOOP, str(rows), str(theirs_out)])
        labels = [json.loads(line)["label"] for line in rows.read_text().splitlines()]
        theirs_ok = json.loads(theirs_out.read_text())
    workers = max(1, min(os.cpu_count() or 1, 4))  # check's default (filters/answers/pool.py)

    def row(name: str, seconds: float, ok: list[bool]) -> list[str]:
        agreement = sum(a == (b == "correct") for a, b in zip(ok, labels)) / len(labels)
        return [name, f"{seconds:.1f}", f"{args.rows / seconds:,.0f}", f"{agreement:.4f}", f"{theirs / seconds:.1f}x"]

    table = [
        row(f"starmill check FILE ({workers} workers, the default)", ours, ours_ok),
        row("starmill check FILE --workers 1", one, one_ok),
        row("math-verify parse/verify loop (one process)", theirs, theirs_ok),
    ]
    print(f"\n{args.rows:,} GSM8K-style rows, whole processes, {os.cpu_count()} CPUs")
    print(render(["checker", "seconds", "rows/s", "agreement with labels", "speed vs math-verify"], table, "table"))


if __name__ == "__main__":
    main()
