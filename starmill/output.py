"""One set of output options for every command that prints rows: table, csv, json, jsonl."""
from __future__ import annotations

import csv
import functools
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

import click

FORMATS = ("table", "csv", "json", "jsonl")


def output_options(func: Callable) -> Callable:
    """Adds ``--format`` (with ``--csv``, ``--json``, ``--nl`` shortcuts) to a command."""

    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                  help="Output format.")
    @click.option("--csv", "fmt", flag_value="csv", help="Same as --format csv.")
    @click.option("--json", "fmt", flag_value="json", help="Same as --format json.")
    @click.option("--nl", "fmt", flag_value="jsonl", help="Same as --format jsonl (one JSON object a line).")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(columns: list[str], rows: list[list[Any]], fmt: str) -> str:
    """Rows (lists in column order) as text in ``fmt``."""
    if fmt == "json":
        return json.dumps([_plain(dict(zip(columns, r))) for r in rows], ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps(_plain(dict(zip(columns, r))), ensure_ascii=False) for r in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(v) for v in r] for r in rows])
        return buffer.getvalue().rstrip("\n")
    return _table(columns, rows)


def _table(columns: list[str], rows: list[list[Any]], width: int = 60) -> str:
    """A plain-text grid; long cells are cut to ``width`` characters with an ellipsis."""
    def cut(text: str) -> str:
        text = text.replace("\n", "\\n")
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cut(_cell(v)) for v in r] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), line]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(out)


def emit_arrow(table, fmt: str) -> None:
    """Print a pyarrow table in ``fmt``."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    text = render(table.column_names, [list(r) for r in zip(*columns)], fmt)
    if text:
        click.echo(text)
