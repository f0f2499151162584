"""Bounds on what one source row may hold, so a hostile row becomes a reject instead of a crash.

``row_problem`` walks a decoded row without recursion and names the first thing over a bound;
``loads`` decodes JSON text with integers over ``MAX_DIGITS`` kept as markers, not an exception
that would lose the whole file; ``looks_binary`` tells a text file from random bytes.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # nesting of lists and objects in one row
MAX_DIGITS = 4300  # digits in one integer: Python's own int/str conversion limit
SNIFF_BYTES = 8192  # bytes of a text file read to decide whether it is text at all
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: JSON allows "\ud83d", UTF-8 does not


class LongNumber:
    """An integer with more than ``MAX_DIGITS`` digits, kept unconverted."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-"))

    def __str__(self) -> str:
        return f"<integer of {self.digits} digits>"


def _int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else int(text)


def loads(text: str) -> Any:
    """``json.loads`` with long integers as ``LongNumber``; raises ``RecursionError`` on absurd nesting."""
    return json.loads(text, parse_int=_int)


def row_problem(data: Any) -> tuple[str, str] | None:
    """``(reason, detail)`` for the first value of ``data`` over a bound, else None."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return "bad_unicode", "a string holds a lone surrogate (not valid Unicode text)"
        elif isinstance(value, LongNumber):
            return "number_too_long", f"an integer of {value.digits} digits (at most {MAX_DIGITS})"
        elif isinstance(value, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                return "too_deep", f"nested more than {MAX_DEPTH} levels"
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


def looks_binary(path: Path) -> bool:
    """True for a file that cannot be UTF-8 text: a NUL byte near the start, or a first line that
    does not decode (one bad line further on is a reject, not a binary file)."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head:
        return True
    first = head.split(b"\n", 1)[0]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first, final=len(first) < len(head))
    except UnicodeDecodeError:
        return True
    return False
