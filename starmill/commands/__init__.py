"""CLI commands, one module each; every module exports one click command named like the module."""
from __future__ import annotations

import importlib
import pkgutil

import click


def _load() -> list[click.Command]:
    commands = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands.append(getattr(module, "command"))
    return commands


COMMANDS = _load()
