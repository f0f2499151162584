"""The ``starmill`` command: a thin shell over the library.

Each command lives in ``starmill/commands/<name>.py`` and imports heavy libraries inside its body,
so ``starmill --help`` stays fast. Errors a user can fix print as one ``Error:`` line, exit code 1.
"""
from __future__ import annotations

import sys

import click

from schemas.errors import StarmillError
from starmill.commands import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="starmill")
def cli() -> None:
    """starmill: a synthetic reasoning-data factory (STaR and distillation)."""


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="starmill", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except StarmillError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
