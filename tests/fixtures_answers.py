"""Fixtures for the answer checker: one worker pool for the whole test session."""

import json
from pathlib import Path

import pytest

SUITE = Path(__file__).parent / "data" / "answers" / "suite.jsonl"


def load_suite() -> list[dict]:
    return [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def checker_pool():
    """Two checker workers shared by every answer test (tests that time out replace theirs)."""
    from starmill.filters.answers import CheckerPool

    with CheckerPool(2, start_timeout=120) as pool:
        pool.start()
        yield pool
