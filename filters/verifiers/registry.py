"""Verifiers by name, so config can pick one per source: ``get_verifier("numeric", rel_tol=1e-3)``."""

from __future__ import annotations

from typing import Any

from starmill.filters.verifiers.base import Verifier
from starmill.schemas.registry import Registry

VERIFIERS: Registry[Verifier] = Registry("verifier")
register = VERIFIERS.register  # class decorator: make ``cls`` available as ``cls.name``


def available() -> list[str]:
    return VERIFIERS.names()


def get_verifier(name: str, **options: Any) -> Verifier:
    """A new verifier ``name`` built with ``options``; an unknown name raises ValueError listing the known,
    an option the verifier does not take TypeError (callers retry without ``timeout`` on it)."""
    return VERIFIERS.get(name)(**options)
