"""The ``starmill`` command: a thin shell over the library.

The shell is this package: the commands in ``commands/`` (listed in ``commands.MODULES``), the shared
output formats (``output``) and options (``options``), Ctrl-C handling (``interrupts``). Each command
imports heavy libraries inside its body, so ``starmill --help`` stays fast.

Errors a user can fix print as one ``Error:`` line, exit code 1: every ``StarmillError``, and the OS
errors of the user's environment (no permission, a read-only or full disk, a file where a folder
should be, a warehouse file gone missing), naming the path. Any other exception is a bug and keeps
its traceback. ``STARMILL_DEBUG=1`` shows the traceback of an ``Error:`` line too.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import warnings
from pathlib import Path

import click

from starmill.cli.commands import COMMANDS
from starmill.schemas.errors import StarmillError, StarmillWarning

# OS errors that say something about the user's disk or paths, never about starmill's code
USER_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EFBIG,
    errno.EMLINK,
}
_QUOTED_PATH = re.compile(r"'(/[^']*)'")  # pyarrow puts the path in its message, not in .filename


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="starmill")
def cli() -> None:
    """starmill: a synthetic reasoning-data factory (STaR and distillation)."""


for _command in COMMANDS:
    cli.add_command(_command)


def os_error_line(exc: OSError, warehouse: str | None) -> str | None:
    """The one-line message for an OS error of the user's environment, or None for anything else."""
    path = exc.filename or next(iter(_QUOTED_PATH.findall(str(exc))), None)
    root = str(Path(warehouse).expanduser().absolute()) if warehouse and "://" not in warehouse else None
    if exc.errno == errno.ENOENT:  # only a file of the warehouse gone missing; elsewhere it may be a bug
        if not (path and root and os.path.abspath(path).startswith(root.rstrip("/") + "/")):
            return None
    elif exc.errno not in USER_ERRNOS:
        return None
    reason = os.strerror(exc.errno)
    if path:
        return f"{path}: {reason}"
    return f"{reason} (in the warehouse {root})" if root else reason


def _one_line_warnings(show):
    """``warnings.showwarning`` that prints starmill's own warnings as one ``Warning:`` line."""

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, StarmillWarning):
            click.echo(f"Warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


def main(argv: list[str] | None = None) -> int:
    state: dict = {}  # what options saw (the warehouse root), for naming paths in OS errors
    debug = os.environ.get("STARMILL_DEBUG", "") not in ("", "0")
    show, warnings.showwarning = warnings.showwarning, _one_line_warnings(warnings.showwarning)
    try:
        return _main(argv, state, debug)
    finally:
        warnings.showwarning = show


def _main(argv: list[str] | None, state: dict, debug: bool) -> int:
    try:
        cli.main(args=argv, prog_name="starmill", standalone_mode=False, obj=state)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except StarmillError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        return 1
    except BrokenPipeError:  # `starmill sql … | head`: the reader left; say nothing more
        _quiet_stdout()
        return 0
    except OSError as exc:
        line = os_error_line(exc, state.get("warehouse") or os.environ.get("STARMILL_WAREHOUSE"))
        if line is None or debug:
            raise
        click.echo(f"Error: {line}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
