"""Mixes of several ``sft`` versions (R1-style reasoning plus non-reasoning corpora) with weights.

A weight is a sampling rate over one version's rows: 0.25 keeps a seeded quarter of them, 1 keeps
them all, 2.5 repeats them twice plus a seeded half. The same seed gives the same rows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pyarrow as pa

from starmill.warehouse.errors import BadDatasetName
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.versions import check_ref

MAX_WEIGHT = 100  # copies of one version in a mix; 1e7 would build billions of rows
MIX_RE = re.compile(r"^(?P<ref>[^:\s]+):(?P<weight>[0-9]*\.?[0-9]+(e-?[0-9]+)?)$")


@dataclass(frozen=True)
class MixPart:
    ref: str  # "name@vN" as given
    weight: float

    def __str__(self) -> str:
        return f"{self.ref}:{self.weight:g}"


def parse_mix(spec: str) -> MixPart:
    """``NAME@vN:WEIGHT`` to a ``MixPart``."""
    match = MIX_RE.match(spec.strip())
    if not match or not 0 < float(match.group("weight")) <= MAX_WEIGHT:
        raise ExportError(
            f"bad --mix {spec!r}: use NAME@vN:WEIGHT with a weight above 0 and at most {MAX_WEIGHT}, e.g. chat@v2:0.5"
        )
    try:
        check_ref(match.group("ref"))  # the whole name, before anything is read
    except BadDatasetName as exc:
        raise ExportError(f"bad --mix {spec!r}: {exc}") from None
    return MixPart(match.group("ref"), float(match.group("weight")))


def rows_taken(rows: int, weight: float) -> int:
    return round(rows * weight)


def sample(table: pa.Table, weight: float, seed: int) -> pa.Table:
    """``round(weight × rows)`` rows of ``table``: whole copies, then a seeded share of the rest."""
    copies, rest = divmod(rows_taken(table.num_rows, weight), table.num_rows) if table.num_rows else (0, 0)
    keys = table.column("origin").to_pylist(), table.column("sample_id").to_pylist()
    rank = sorted(
        range(table.num_rows), key=lambda i: hashlib.sha256(f"{seed}\0{keys[0][i]}\0{keys[1][i]}".encode()).hexdigest()
    )
    parts = [table] * copies + [table.take(pa.array(sorted(rank[:rest]), pa.int64()))]
    return pa.concat_tables(parts)
