"""Process-reward data on the demo teacher: `starmill prm-data`'s Math-Shepherd labels, their cost, and
how they agree with the symbolic step checker.

    .venv/bin/python bench/prm_data.py                          # 100 problems per level, n=2, R=8
    .venv/bin/python bench/prm_data.py --problems 200 --rollouts 16 --backend vllm

Samples come from the demo teacher on procedural problems of levels 1 and 2 (sampled as a run would,
graded by the checker), then every step prefix is labelled by R rollouts. Reported per level: labelled
rationales, steps, rollouts generated, wall time and rollouts/s; the mean soft label by step; and for
every step holding an arithmetic claim, the hard label against the symbolic checker's verdict on
that claim (a right claim in a rationale that can still reach the gold should be labelled true, a
wrong claim false unless a later step repairs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEMO = "starmill/demo-teacher"


def samples_version(wh, level: int, problems: int, n: int, backend: str) -> str:
    from starmill.filters.grading import grade
    from starmill.generators.base import SamplingParams
    from starmill.generators.procedural import generate_problems
    from starmill.generators.registry import backend_for
    from starmill.generators.sampling import plan_requests, plan_shards, run_shard

    ps = list(generate_problems(problems, seed=777 + level, difficulty=level, split="test"))
    with wh.writer(f"problems_l{level}", "problems") as writer:
        writer.write(ps)
    engine = backend_for({"backend": backend, "model": DEMO, "revision": None, "options": {}})
    requests = plan_requests(
        ps,
        stage="rationale",
        iteration=0,
        template_id="cot_zero_shot",
        training_template_id="cot_zero_shot",
        sampling=SamplingParams(n=n, temperature=0.7, max_tokens=96),
        base_seed=0,
        model=DEMO,
        model_revision=None,
    )
    samples = []
    for shard in plan_shards(requests, 64):
        samples += run_shard(engine, shard)
    samples = grade(samples, {p.problem_id: p for p in ps})
    with wh.writer(
        f"samples_l{level}", "samples", parents=[f"problems_l{level}@v1"], models=[{"model": DEMO, "backend": backend}]
    ) as writer:
        writer.write(samples)
    return f"samples_l{level}@v1"


def agreement(rows: list[dict]) -> dict:
    """Hard labels of steps with one arithmetic claim, by the symbolic checker's verdict on it."""
    from starmill.filters.steps import check_steps

    table: dict[str, Counter] = defaultdict(Counter)
    by_step: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        for i, (step, hard, soft) in enumerate(zip(row["steps"], row["labels"], row["soft_labels"])):
            by_step[i].append(soft)
            claims = check_steps(step)
            if len(claims) == 1:
                table[claims[0].verdict][hard] += 1
    return {
        "claims": {v: {"hard_true": c[True], "hard_false": c[False]} for v, c in sorted(table.items())},
        "mean_soft_by_step": {i: round(sum(v) / len(v), 3) for i, v in sorted(by_step.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("-n", type=int, default=2, help="samples per problem")
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--backend", default="transformers")
    parser.add_argument("--levels", default="1,2")
    args = parser.parse_args()

    from starmill.prm.data import PrmSettings, label_steps
    from starmill.warehouse import Warehouse

    out = {}
    with tempfile.TemporaryDirectory(prefix="starmill-prm-bench-") as root:
        wh = Warehouse(root)
        for level in [int(x) for x in args.levels.split(",")]:
            ref = samples_version(wh, level, args.problems, args.n, args.backend)
            start = time.perf_counter()
            report = label_steps(
                wh, ref, PrmSettings(rollouts=args.rollouts, backend=args.backend), name=f"prm_l{level}"
            )
            seconds = time.perf_counter() - start
            rows = wh.read(report.ref).to_pylist()
            correct = sum(
                r["sample_id"] in {s["sample_id"] for s in wh.read(ref).to_pylist() if s["correct"]} for r in rows
            )
            out[f"level {level}"] = {
                "rationales": report.rows,
                "correct_rationales": correct,
                "steps": report.steps,
                "rollouts": report.rollouts,
                "seconds": round(seconds, 1),
                "rollouts_per_s": round(report.rollouts / seconds, 1),
                "mean_soft": report.mean_soft,
                **agreement(rows),
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
