"""Training rows for reward models: ORM preference pairs from a ``samples`` version's verdicts, PRM
step-labelled rationales from a ``prm`` version (Math-Shepherd hard or soft labels)."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from starmill.schemas import SampleRecord
from starmill.training.settings import TrainError

UNJUDGED = ("error", "timeout", "unparseable_gold")  # verdicts that say nothing about the sample itself


def orm_pairs(wh, ref, pairs_per_problem: int, seed: int) -> list[dict[str, Any]]:
    """``{"prompt", "chosen", "rejected", "problem_id"}``: a correct and a wrong sample of one problem,
    at most ``pairs_per_problem`` per problem, drawn with ``seed``."""
    manifest = wh.manifest(ref)
    if manifest.table != "samples":
        raise TrainError(
            f"{ref} holds '{manifest.table}' rows: --task orm trains on a 'samples' version (made by "
            "`starmill run`), whose verdicts say which samples are right"
        )
    by_problem: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in wh.read(ref).to_pylist():
        sample = SampleRecord.from_row(row)
        verdict = sample.verdicts[0]["verdict"] if sample.verdicts else "error"
        if verdict in UNJUDGED or not sample.completion.strip():
            continue
        by_problem[sample.problem_id][0 if sample.correct else 1].append(sample)
    pairs = []
    for problem_id in sorted(by_problem):
        right, wrong = by_problem[problem_id]
        every = [(r, w) for r in right for w in wrong]
        rng = random.Random(f"{seed}:{problem_id}")
        for r, w in rng.sample(every, min(pairs_per_problem, len(every))):
            pairs.append(
                {"prompt": r.prompt, "chosen": r.output_text(), "rejected": w.output_text(), "problem_id": problem_id}
            )
    if not pairs:
        raise TrainError(
            f"{ref} has no problem with both a correct and a wrong sample: ORM pairs need both "
            "(sample more per problem: sampling.n)"
        )
    random.Random(seed).shuffle(pairs)
    return pairs


def prm_rows(wh, ref, labels: str = "hard") -> tuple[list[dict[str, Any]], str]:
    """(rows ``{"prompt", "steps", "labels"}``, the delimiter they were split at) of a ``prm`` version; a
    step's label is P(good) as a float: 0 or 1 (``hard``), or the share of its rollouts that reached the
    gold answer (``soft``)."""
    manifest = wh.manifest(ref)
    if manifest.table != "prm":
        raise TrainError(
            f"{ref} holds '{manifest.table}' rows: --task prm trains on a 'prm' version (made by `starmill prm-data`)"
        )
    rows, delimiters = [], set()
    column = "labels" if labels == "hard" else "soft_labels"
    for row in wh.read(ref).select(["prompt", "steps", column, "delimiter"]).to_pylist():
        steps, values = row["steps"] or [], row[column] or []
        if len(steps) != len(values):
            raise TrainError(f"{ref}: a row has {len(steps)} steps but {len(values)} {column}")
        if any(v is None or not 0.0 <= float(v) <= 1.0 for v in values):
            raise TrainError(f"{ref}: a row has {column} outside [0, 1]: {values}")
        if steps:
            rows.append({"prompt": row["prompt"], "steps": steps, "labels": [float(v) for v in values]})
            delimiters.add(row["delimiter"])
    if not rows:
        raise TrainError(f"{ref} has no labelled steps to train on")
    if len(delimiters) != 1 or not next(iter(delimiters)):
        raise TrainError(
            f"{ref}: its rows were split at {sorted(map(repr, delimiters))}: a PRM learns one non-empty step delimiter"
        )
    return rows, delimiters.pop()
