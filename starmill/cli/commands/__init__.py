"""The CLI's commands, one module each, every module exporting one click command as ``command``.

``MODULES`` is the list of commands: a new command is a module here and a line there. A module is
named after what it does, which is not always the command's name (``checksums`` is ``starmill verify``:
the file checks, not the graders in ``filters.verifiers``)."""

from __future__ import annotations

import importlib

import click

MODULES = [
    "audit",
    "check",
    "checksums",  # starmill verify
    "datasets",
    "diff",
    "eval",
    "export",
    "generate",
    "ingest",
    "prm_data",  # starmill prm-data
    "regrade",
    "run",
    "serve",
    "show",
    "show_problem",  # starmill show-problem
    "sql",
    "train",
    "view",
]

COMMANDS: list[click.Command] = [importlib.import_module(f"{__name__}.{name}").command for name in MODULES]
