"""Fixtures for warehouse and CLI tests."""

import pytest


@pytest.fixture
def warehouse_root(tmp_path, monkeypatch):
    root = tmp_path / "wh"
    monkeypatch.setenv("STARMILL_WAREHOUSE", str(root))
    return root
