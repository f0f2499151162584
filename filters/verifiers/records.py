"""Grade JSON-lines records with a named verifier: each good line gets its verdict, each bad line a reason,
in input order (``filters.answers.records.grade_lines`` is the same for the answer checker)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from starmill.filters.answers.records import Graded, read_records
from starmill.filters.verifiers.base import Verifier


def verify_lines(
    lines: Iterable[str],
    verifier: Verifier,
    gold_field: str = "gold",
    pred_field: str = "pred",
    metadata_field: str = "metadata",
) -> Iterator[Graded]:
    """One ``Graded`` per non-blank line. The gold field may hold text or a JSON object (a code test
    spec); ``metadata_field``, when a record has it, is the problem's metadata."""
    good: list[tuple[int, dict]] = []
    order: list[Graded | int] = []
    for number, record, problem in read_records(lines, gold_field, pred_field):
        if problem is not None:
            order.append(Graded(number, record, None, problem))
            continue
        if not isinstance(record[pred_field], str):
            order.append(Graded(number, record, None, f"field {pred_field!r} is not text"))
            continue
        order.append(len(good))
        good.append((number, record))
    verdicts = verifier.verify_batch((_problem(r, gold_field, metadata_field), r[pred_field]) for _, r in good)
    for item in order:
        if isinstance(item, Graded):
            yield item
            continue
        number, record = good[item]
        yield Graded(number, record, next(verdicts))


def _problem(record: dict, gold_field: str, metadata_field: str) -> dict[str, Any]:
    gold = record[gold_field]
    metadata = record.get(metadata_field)
    return {
        "gold_answer": gold if isinstance(gold, str) or gold is None else json.dumps(gold),
        "metadata": metadata if isinstance(metadata, (dict, str)) else {},
        "question": record.get("question"),
        "problem_id": record.get("problem_id"),
    }
