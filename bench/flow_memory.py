"""Memory benchmark: peak RSS of a whole STaR run (the plain loop, in one process) on N procedural
problems × 4 samples with a stub backend (no model: generation costs nothing, so everything the run
holds shows). Samples stream shard by shard from the ledger through grading and selection to the
writer, so the peak should stay flat in N; target: under 1 GB at 100,000 problems.

    .venv/bin/python bench/flow_memory.py                  # N = 10,000 and 100,000
    .venv/bin/python bench/flow_memory.py --n 1000 --n 20000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def child(n: int, shard_size: int) -> None:
    """One run in this process; prints a JSON line with its figures."""
    from starmill.config import parse_config
    from starmill.generators.registry import use_backend
    from starmill.generators.stub_backend import StubBackend
    from starmill.pipeline import run_star

    cfg = parse_config(
        {
            "source": {"procedural": {"n": n, "seed": 5, "difficulty": 1}},
            "teacher": {"model": "stub"},
            "sampling": {"n": 4},
            "runner": {"shard_size": shard_size},
        }
    )
    use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(accuracy=0.6))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB: imports, before the run
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="starmill-memory-bench-") as root:
        summary = run_star(cfg, root, progress=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "n": n,
                "samples": summary["counts"]["generated"],
                "kept": summary["counts"]["kept"],
                "seconds": round(seconds, 1),
                "rss_after_imports_mb": round(before / 1024),
                "peak_rss_mb": round(peak / 1024),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="problems (repeatable; default 10,000 and 100,000)")
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.shard_size)
        return
    print(f"{'problems':>10} {'samples':>9} {'kept':>8} {'seconds':>8} {'RSS after imports':>18} {'peak RSS':>9}")
    for n in args.n or [10_000, 100_000]:  # each in a fresh process: its own peak
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--shard-size", str(args.shard_size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"{r['n']:>10,} {r['samples']:>9,} {r['kept']:>8,} {r['seconds']:>8} "
            f"{r['rss_after_imports_mb']:>15} MB {r['peak_rss_mb']:>6} MB"
        )
    print("target: flat in the number of problems, under 1 GB (1024 MB)")


if __name__ == "__main__":
    main()
