"""The held-out set: answer shapes from real datasets and model outputs (MATH, AIME, GSM8K, olympiad, AMC
letters, reasoning-gym), labelled by what that dataset's grader would accept, written apart from the
checker's code. No false "correct" is allowed; agreement overall is printed, not pinned."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starmill.filters.answers import check_answer

HELDOUT = Path(__file__).parent / "data" / "answers" / "heldout.jsonl"
CASES = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def _verdict(case: dict, pool) -> str:
    timeout = 3 if case["category"] == "huge" else 10  # 10^{10^{10}} + 1 may run to the limit: not correct either way
    return check_answer(
        case["gold"],
        case["pred"],
        pool=pool,
        timeout=timeout,
        form=case.get("form"),
        gold_is_solution=case.get("gold_is_solution", False),
        pred_is_answer=case["pred_kind"] == "answer",
        lenient=case.get("lenient", False),
    ).verdict


def _verdicts(pool) -> list[str]:
    with ThreadPoolExecutor(pool.size) as lanes:  # as check_batch does: one check per worker at a time
        return list(lanes.map(lambda case: _verdict(case, pool), CASES))


def test_heldout_set_is_large_and_balanced():
    counts = Counter(c["expect"] for c in CASES)
    assert len(CASES) >= 300 and len({c["id"] for c in CASES}) == len(CASES)
    assert counts["correct"] >= 200 and counts["wrong"] + counts["unparseable_pred"] >= 200
    assert len({c["category"] for c in CASES}) >= 25


def test_heldout_has_no_false_accepts(checker_pool):
    verdicts = _verdicts(checker_pool)
    false_accepts = [
        f"{c['id']}: gold {c['gold']!r}, pred {c['pred'][:60]!r}"
        for c, v in zip(CASES, verdicts)
        if v == "correct" and c["expect"] != "correct"
    ]
    agree = sum((v == "correct") == (c["expect"] == "correct") for c, v in zip(CASES, verdicts))
    print(f"\nheld-out agreement: {agree}/{len(CASES)} = {100 * agree / len(CASES):.1f}%")
    assert false_accepts == []
    assert "error" not in verdicts  # a checker bug
    assert agree / len(CASES) >= 0.9  # a floor against a checker that rejects everything
