"""Prefect's fixed start: ``starmill run`` on the embedded defaults (the quickstart), with the teacher
loading while Prefect's temporary server starts (the new path) and without (``STARMILL_PREFECT_OVERLAP=0``,
the old path: wait for the server, then load). Interleaved rounds, each path on a fresh warehouse, one
Prefect database for all (warmed by one run first); prints wall seconds, medians, and new/old per round.

    .venv/bin/python bench/prefect_start.py             # 5 rounds
    .venv/bin/python bench/prefect_start.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PATHS = {"old": "0", "new": "1"}  # STARMILL_PREFECT_OVERLAP


def run_once(root: Path, overlap: str, name: str) -> float:
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / ".prefect"),
        "STARMILL_PREFECT_OVERLAP": overlap,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.pop("PREFECT_API_URL", None)
    start = time.perf_counter()
    with open(root / f"{name}.log", "w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "starmill.cli", "run", "-w", str(root / name)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{name} exited {proc.returncode}: see {root / name}.log")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="starmill-prefect-start-"))
    run_once(root, "0", "warm")  # creates Prefect's database: not part of either path's figure
    walls: dict[str, list[float]] = {k: [] for k in PATHS}
    for r in range(args.rounds):
        order = list(PATHS) if r % 2 == 0 else list(reversed(PATHS))
        for path in order:
            walls[path].append(run_once(root, PATHS[path], f"{path}-{r}"))
        print(
            f"round {r}: old {walls['old'][-1]:.1f} s, new {walls['new'][-1]:.1f} s "
            f"(new/old {walls['new'][-1] / walls['old'][-1]:.2f})",
            flush=True,
        )
    ratios = [n / o for n, o in zip(walls["new"], walls["old"])]
    saved = [o - n for n, o in zip(walls["new"], walls["old"])]
    print(f"\nstarmill run (quickstart), {args.rounds} interleaved rounds, {os.cpu_count()} CPUs")
    for path in PATHS:
        print(
            f"  {path}: median {statistics.median(walls[path]):.1f} s "
            f"(min {min(walls[path]):.1f}, max {max(walls[path]):.1f})"
        )
    print(
        f"  new/old: median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}); "
        f"saved median {statistics.median(saved):.1f} s (min {min(saved):.1f}, max {max(saved):.1f})"
    )
    print(f"  logs: {root}")


if __name__ == "__main__":
    main()
