"""Flow benchmark: the whole demo flow on N problems; prints time per stage and the share of the
flow's wall time spent outside model generation (target: under 10% on the demo teacher, N = 500).

    .venv/bin/python bench/flow.py            # N = 500
    .venv/bin/python bench/flow.py --n 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="problems")
    parser.add_argument("--shard-size", type=int, default=32)
    args = parser.parse_args()

    from starmill.flows import prefect_env

    prefect_env.apply()
    start = time.perf_counter()
    from starmill.config import RunConfig
    from starmill.flows.star import star_flow

    cfg = RunConfig.model_validate(
        {
            "source": {"procedural": {"n": args.n, "seed": 101, "difficulty": 1}},
            "runner": {"shard_size": args.shard_size},
        }
    )
    root = tempfile.mkdtemp(prefix="starmill-flow-bench-")
    summary = star_flow(config=cfg.model_dump(mode="json"), warehouse=root)
    wall = time.perf_counter() - start
    seconds = summary["seconds"]
    total = seconds["total"]
    print(
        f"\nN = {args.n} problems, {summary['counts']['generated']} samples, {summary['counts']['kept']} kept "
        f"({summary['sft']})"
    )
    for stage in ("prepare", "load_model", "generate", "check", "select_and_publish"):
        print(f"  {stage:<20} {seconds.get(stage, 0):8.2f} s  {seconds.get(stage, 0) / total:6.1%}")
    outside = total - seconds.get("generate", 0)
    known = sum(seconds.get(k, 0) for k in ("prepare", "load_model", "check", "select_and_publish"))
    print(f"  {'other (Prefect, planning)':<20} {outside - known:8.2f} s")
    print(
        f"flow wall time {total:.1f} s; outside model generation: {outside:.1f} s = {outside / total:.1%} (target < 10%)"
    )
    steady = outside - seconds.get("load_model", 0)
    print(
        f"outside generation and engine start-up: {steady:.1f} s = {steady / (total - seconds.get('load_model', 0)):.1%}"
    )
    print(f"process wall time incl. imports and Prefect's temporary server: {wall:.1f} s")


if __name__ == "__main__":
    main()
