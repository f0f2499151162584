"""Precision and recall of the near-duplicate check between a run's sources (``decontamination.across_sources``).

    .venv/bin/python bench/near_duplicates_across_sources.py
    .venv/bin/python bench/near_duplicates_across_sources.py --problems 200 --seed 0 --thresholds 0.6 0.8 0.9

An earlier source: procedural problems (difficulty 1-5). A later source: half of them rewritten (the four
rewrites of bench/decontamination.py, in turn, bare: no prompt template) and as many other problems from
the same generator (same templates, other numbers; exact copies of an earlier problem left out). Each
later problem is checked as a run checks it (``NearIndex.best(both_ways=True)``): the higher of the two
containments at or above the threshold, and the same numbers, counted. Precision: of the problems flagged,
the share that are rewrites; recall: of the rewrites, the share flagged (in all and per rewrite kind).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decontamination import everything, problems, reorder, reword, word_swaps  # noqa: E402

from starmill.warehouse.export.decontaminate import normalize  # noqa: E402
from starmill.warehouse.export.near_duplicates import NearIndex  # noqa: E402

KINDS = [word_swaps, reword, reorder, everything]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200, help="problems in the earlier source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.6, 0.8, 0.9])
    args = parser.parse_args()
    earlier = problems(args.problems, args.seed)
    rng = random.Random(args.seed)
    picked = rng.sample(range(len(earlier)), len(earlier) // 2)
    rewrites = [(KINDS[i % 4].__name__, KINDS[i % 4](earlier[j], rng)) for i, j in enumerate(picked)]
    seen = {normalize(q) for q in earlier}
    others = [q for q in problems(2 * args.problems, args.seed + 1) if normalize(q) not in seen][: len(earlier)]
    print(f"{len(earlier)} earlier problems; later: {len(rewrites)} rewrites, {len(others)} other problems")
    print(
        "| threshold | precision | recall | false pos. | " + " | ".join(k.__name__ for k in KINDS) + " | ms/problem |"
    )
    print("| --- " * (5 + len(KINDS)) + "|")
    for threshold in args.thresholds:
        index = NearIndex(threshold=threshold)
        for q in earlier:
            index.add(q)
        start = time.perf_counter()
        hits = {k.__name__: [] for k in KINDS}
        for kind, q in rewrites:
            hits[kind].append(index.best(q, both_ways=True) is not None)
        false = sum(index.best(q, both_ways=True) is not None for q in others)
        ms = 1e3 * (time.perf_counter() - start) / (len(rewrites) + len(others))
        found = sum(sum(v) for v in hits.values())
        print(
            f"| {threshold:g} | {found / max(found + false, 1):.3f} | {found / len(rewrites):.3f} | {false} | "
            + " | ".join(f"{sum(v) / len(v):.2f}" for v in hits.values())
            + f" | {ms:.2f} |"
        )


if __name__ == "__main__":
    main()
