"""One set of output options for every command that prints rows: table, csv, json, jsonl."""

from __future__ import annotations

import csv
import functools
import io
import json
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

FORMATS = ("table", "csv", "json", "jsonl")


def output_options(func: Callable) -> Callable:
    """Adds ``--format`` (with ``--csv``, ``--json``, ``--nl`` shortcuts) to a command."""

    @click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
    )
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
    """A plain-text grid; long cells wrap at ``width`` characters and keep their own line breaks, so
    every character shows (a row of several lines is set off by a blank line)."""
    cells = [[_wrap(_cell(v), width) for v in r] for r in rows]
    widths = [max([len(c)] + [len(line) for row in cells for line in row[i]]) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    tall = any(len(cell) > 1 for row in cells for cell in row)
    for n, row in enumerate(cells):
        if tall and n:
            out.append("")
        for i in range(max((len(cell) for cell in row), default=1)):
            out.append("  ".join((cell[i] if i < len(cell) else "").ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(out)


def _wrap(text: str, width: int) -> list[str]:
    """A cell's lines: its own line breaks kept, each line wrapped at ``width`` (long words broken)."""
    lines: list[str] = []
    for line in text.expandtabs(4).replace("\r\n", "\n").split("\n"):
        lines += textwrap.wrap(line, width, replace_whitespace=False, drop_whitespace=True) or [""]
    return lines or [""]


def emit_arrow(table, fmt: str) -> None:
    """Print a pyarrow table in ``fmt``."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    text = render(table.column_names, [list(r) for r in zip(*columns)], fmt)
    if text:
        click.echo(text)
