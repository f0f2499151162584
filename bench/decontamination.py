"""Precision and recall of export decontamination against paraphrased copies of evaluation problems.

    .venv/bin/python bench/decontamination.py
    .venv/bin/python bench/decontamination.py --problems 200 --seed 0 --thresholds 0.5 0.6 0.7 0.8 0.9

The evaluation set: procedural problems (difficulty 1-5) and GSM8K's first problems (tests/data). Positives:
each evaluation problem rewritten four ways (word swaps; number-preserving rewording; reordered clauses;
all three), inside the run's zero-shot prompt template. Negatives: other problems from the same generator
(same templates, other numbers: the hard case in math sets), in the same template. Each detector runs on
every row: the word 8-gram rule alone (open-r1's), MinHash near-duplicates alone at each threshold, then
both (what an export runs). Precision: of the rows flagged, the share that are paraphrases; recall: of
the paraphrases, the share flagged (in all and per rewrite kind).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starmill.generators.procedural import generate_problems  # noqa: E402
from starmill.generators.prompts import get_template  # noqa: E402
from starmill.warehouse.export.decontaminate import load_eval_set  # noqa: E402

GSM8K = Path(__file__).resolve().parent.parent / "tests" / "data" / "sources" / "gsm8k_good.jsonl"
SWAPS = {
    "has": "owns",
    "gives": "hands",
    "more": "additional",
    "finds": "discovers",
    "loses": "misplaces",
    "buys": "purchases",
    "sells": "sells off",
    "friend": "pal",
    "compute": "calculate",
    "now": "at this point",
    "splits": "divides",
    "equal": "same-sized",
    "keeps": "holds on to",
    "ends": "winds",
    "many": "much",
    "sold": "handed over",
    "earns": "makes",
    "half": "one half",
    "altogether": "in total",
    "how": "tell me how",
    "then": "after that",
    "away": "off",
    "group": "pile",
    "groups": "piles",
    "did": "would",
}
REWORDINGS = [  # number-preserving: the sentence changes shape, every number stays
    (r"^(\w+) has (\d+) (\w+)\.", r"There are \2 \3 that belong to \1."),
    (r"A friend gives (\w+) (\d+) more\.", r"\1 receives \2 more from a friend."),
    (r"(\w+) gives away (\d+)\.", r"\2 of them are given away by \1."),
    (r"How many (\w+) does (\w+) have now\?", r"What is the number of \1 that \2 ends up with?"),
    (r"^Compute (.*)\.$", r"What do you get when you work out \1?"),
    (r"How much did she earn\?", r"What were her earnings?"),
    (r"How many (\w+) did (\w+) sell altogether", r"What is the total number of \1 \2 sold"),
]


def word_swaps(text: str, rng: random.Random) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = SWAPS.get(word.lower())
        if new is None or rng.random() < 0.2:
            return word
        return new.capitalize() if word[0].isupper() else new

    return re.sub(r"[A-Za-z]+", swap, text)


def reword(text: str, rng: random.Random) -> str:
    for pattern, replacement in REWORDINGS:
        text = re.sub(pattern, replacement, text)
    return text


def reorder(text: str, rng: random.Random) -> str:
    """The question first, then the facts; the middle facts in another order."""
    sentences = re.findall(r"[^.?!]+[.?!]", text)
    if len(sentences) < 2:
        return f"Here is a task for you. {text}"
    *facts, question = [s.strip() for s in sentences]
    head, rest = facts[:1], facts[1:]
    rng.shuffle(rest)
    return f"{question} To answer, note the following. " + " ".join(head + rest)


def everything(text: str, rng: random.Random) -> str:
    return word_swaps(reorder(reword(text, rng), rng), rng)


KINDS = {"word_swaps": word_swaps, "rewording": reword, "reordered": reorder, "all_three": everything}


def problems(n: int, seed: int) -> list[str]:
    per = max(1, n // 5)
    return [p.question for d in range(1, 6) for p in generate_problems(per, seed=seed, difficulty=d)]


def cases(n: int, seed: int) -> tuple[list[str], list[tuple[str, str]]]:
    """(evaluation problems, rows as (label, prompt text)); label "clean" or the rewrite kind."""
    template = get_template("cot_zero_shot")
    gsm = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()]
    evals = problems(n, seed) + gsm
    rng = random.Random(seed)
    rows = [(kind, template.user.format(question=fn(q, rng))) for q in evals for kind, fn in KINDS.items()]
    seen = set(evals)
    rows += [("clean", template.user.format(question=q)) for q in problems(2 * n, seed + 1) if q not in seen]
    return evals, rows


def run(evals: list[str], rows: list[tuple[str, str]], threshold: float | None, near_only: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evals.jsonl"
        path.write_text("".join(json.dumps({"id": f"e{i}", "question": q}) + "\n" for i, q in enumerate(evals)))
        eval_set = load_eval_set(str(path), 8, threshold)
    flagged = Counter()
    methods = Counter()
    for label, text in rows:
        found = eval_set.match(text, 8) if not near_only else eval_set.near.best(text)
        if found is not None and near_only:
            found = {"method": "minhash"}
        if found is not None:
            flagged[label] += 1
            methods[found["method"]] += 1
    labels = Counter(label for label, _ in rows)
    positives = sum(v for k, v in labels.items() if k != "clean")
    hits = sum(v for k, v in flagged.items() if k != "clean")
    total = sum(flagged.values())
    return {
        "precision": hits / total if total else 1.0,
        "recall": hits / positives,
        "false_positives": flagged["clean"],
        "per_kind": {k: flagged[k] / labels[k] for k in KINDS},
        "methods": dict(methods),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200, help="procedural evaluation problems (GSM8K's 3 added)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8])
    args = parser.parse_args()
    evals, rows = cases(args.problems, args.seed)
    labels = Counter(label for label, _ in rows)
    print(f"{len(evals)} evaluation problems; rows: {dict(sorted(labels.items()))}")
    print(f"{'detector':<24} {'precision':>9} {'recall':>7} {'FP':>4}  " + "  ".join(f"{k:>10}" for k in KINDS))
    runs = [(None, False)] + [(t, True) for t in args.thresholds] + [(t, False) for t in args.thresholds]
    for threshold, near_only in runs:
        name = (
            "8-gram"
            if threshold is None
            else f"MinHash {threshold:g} alone"
            if near_only
            else f"8-gram + MinHash {threshold:g}"
        )
        r = run(evals, rows, threshold, near_only)
        print(
            f"{name:<24} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['false_positives']:>4}  "
            + "  ".join(f"{r['per_kind'][k]:>10.3f}" for k in KINDS)
        )


if __name__ == "__main__":
    main()
