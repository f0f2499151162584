"""Classes chosen by name from the run config, one registry per kind: generation strategies, sample
filters, selectors, scorers, verifiers. A class registers where it is defined; a package that holds
a kind imports its own modules once, so asking the registry finds every built-in.

    FILTERS = Registry("filter")

    @FILTERS.register            # the class's ``name``
    class Length(SampleFilter): name = "length"

    FILTERS.make("length", {"max_chars": 400})   # an unknown name or option: ValueError naming it
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self.classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: make ``cls`` available as ``cls.name`` (a name is taken once)."""
        name = cls.name  # type: ignore[attr-defined]
        known = self.classes.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self.classes[name] = cls
        return cls

    def names(self, where: Callable[[type[T]], bool] = lambda cls: True) -> list[str]:
        return sorted(name for name, cls in self.classes.items() if where(cls))

    def get(self, name: str) -> type[T]:
        cls = self.classes.get(name)
        if cls is None:
            raise ValueError(f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})")
        return cls

    def make(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        build: Callable[[type[T], dict[str, Any]], T] | None = None,
    ) -> T:
        """A new ``name`` from ``options`` (``build(cls, options)``, default ``cls(**options)``)."""
        cls = self.get(name)
        try:
            return build(cls, dict(options or {})) if build else cls(**dict(options or {}))
        except TypeError as exc:  # an option the class does not take
            raise ValueError(f"{self.kind} {name!r}: {exc}") from None
