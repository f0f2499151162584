"""Seeded train/test split by problem: every row of a problem lands on the same side."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from starmill.warehouse.export.errors import ExportError


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\0{key}".encode()).hexdigest()


def held_out_problems(problem_ids: list[str], test_size: float, seed: int) -> set[str]:
    """The problems that go to ``test``: a seeded share, independent of row order."""
    unique = sorted(set(problem_ids))
    if test_size <= 0:
        return set()
    if len(unique) < 2:
        raise ExportError(f"--test-size needs at least 2 problems to split, this export has {len(unique)}")
    n_test = min(len(unique) - 1, max(1, round(test_size * len(unique))))
    return set(sorted(unique, key=lambda p: _rank(seed, p))[:n_test])


def split_by_problem(table: pa.Table, test_size: float, seed: int) -> dict[str, pa.Table]:
    """``{"train": …}`` or ``{"train": …, "test": …}``, rows keeping their order."""
    test = held_out_problems(table.column("problem_id").to_pylist(), test_size, seed)
    if not test:
        return {"train": table}
    in_test = pc.is_in(table.column("problem_id"), value_set=pa.array(sorted(test), pa.string()))
    return {"train": table.filter(pc.invert(in_test)), "test": table.filter(in_test)}
