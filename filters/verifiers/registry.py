"""Verifiers by name, so config can pick one per source: ``get_verifier("numeric", rel_tol=1e-3)``."""
from __future__ import annotations

from typing import Any, Callable

from starmill.filters.verifiers.base import Verifier

_REGISTRY: dict[str, type[Verifier]] = {}


def register(cls: type[Verifier]) -> type[Verifier]:
    """Class decorator: make ``cls`` available as ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a verifier named {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    return sorted(_REGISTRY)


def get_verifier(name: str, **options: Any) -> Verifier:
    """A new verifier ``name`` built with ``options``; an unknown name raises ValueError listing the known."""
    factory: Callable[..., Verifier] | None = _REGISTRY.get(name)
    if factory is None:
        raise ValueError(f"unknown verifier {name!r} (known: {', '.join(available())})")
    return factory(**options)
