"""Grade JSON-lines records: each good line gets its verdict, each bad line a reason, in input order."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starmill.filters.answers.check import check_batch
from starmill.filters.answers.forms import parse_form
from starmill.filters.answers.verdict import Verdict


@dataclass(frozen=True, slots=True)
class Graded:
    line: int  # 1-based line number in the input
    record: dict[str, Any] | None  # the parsed record; None for a bad line
    verdict: Verdict | None
    problem: str | None = None  # why a line could not be graded


def _text(value: Any) -> str | None:
    return (
        value
        if value is None or isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, (list, dict))
        else str(value)
    )


def read_records(
    lines: Iterable[str], gold_field: str, pred_field: str
) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, record, why it can't be graded or None) for each non-blank JSON-lines line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield number, None, f"not valid JSON ({exc.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, "not a JSON object"
            continue
        missing = [f for f in (gold_field, pred_field) if f not in record]
        yield number, record, f"no field {', '.join(map(repr, missing))}" if missing else None


def grade_lines(
    lines: Iterable[str],
    gold_field: str = "gold",
    pred_field: str = "pred",
    *,
    form_field: str | None = None,
    **options,
) -> Iterator[Graded]:
    """Yield one ``Graded`` per non-blank line; ``form_field`` names a field holding the record's answer
    form (``forms.parse_form``; absent or empty: ``options["form"]``); ``options`` go to ``check_batch``."""
    queue: deque[Graded] = deque()  # records read but not yet graded, and bad lines waiting their turn

    def pairs() -> Iterator[tuple[str | None, str | None, str | None]]:
        for number, record, problem in read_records(lines, gold_field, pred_field):
            if problem is not None:
                queue.append(Graded(number, record, None, problem))
                continue
            form = record.get(form_field) if form_field else None
            try:
                parse_form(form)
            except (ValueError, TypeError) as exc:
                queue.append(Graded(number, record, None, f"bad answer form in {form_field!r} ({exc})"))
                continue
            queue.append(Graded(number, record, None))
            yield _text(record[gold_field]), _text(record[pred_field]), form

    for verdict in check_batch(pairs(), **options):
        while queue[0].problem is not None:
            yield queue.popleft()
        item = queue.popleft()
        yield Graded(item.line, item.record, verdict)
    yield from queue
