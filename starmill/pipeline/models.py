"""The step between STaR iterations: which teacher samples iteration ``i``. Today a listed model
(``iterations.models``) or one made by a shell command (``iterations.command``); a trainer that
fine-tunes the next model on the rows kept so far is one more ``NextModel``.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starmill.generators import stopping
from starmill.schemas.errors import StarmillError

Teacher = dict[str, Any]  # the teacher section of the config: backend, model, revision, options, …
KeptRows = Callable[[Path], Path]  # writes the sft rows kept so far to a Parquet file, returns its path


class IterationError(StarmillError):
    pass


class NextModel:
    """Gives the teacher of iteration ``iteration`` (>= 1) from the configured one (``base``)."""

    def teacher(self, iteration: int, base: Teacher, kept: KeptRows) -> Teacher:
        raise NotImplementedError

    def best_model(self, base: Teacher) -> dict[str, Any] | None:
        """The model with the best held-out metric, when this kind of next model evaluates any."""
        return None


class SameTeacher(NextModel):
    """No new model: the same teacher samples again (new seeds) on what is still unsolved."""

    def teacher(self, iteration, base, kept):
        return base


class ListedModels(NextModel):
    """``models[i - 1]`` for iteration i; past the list, whatever ``then`` gives."""

    def __init__(self, models: list[str], then: NextModel):
        self.models, self.then = list(models), then

    def teacher(self, iteration, base, kept):
        if iteration - 1 < len(self.models):
            return {**base, "model": self.models[iteration - 1], "revision": None}
        return self.then.teacher(iteration, base, kept)


class CommandModel(NextModel):
    """A shell command makes the model: ``{sft}`` is a Parquet file of the sft rows kept so far,
    ``{output}`` the folder to write the model to, ``{iteration}`` the iteration it is for."""

    def __init__(self, command: str, workdir: Path):
        self.command, self.workdir = command, Path(workdir)

    def teacher(self, iteration, base, kept):
        stopping.check()
        sft = kept(self.workdir / f"sft-before-it{iteration}.parquet")
        output = self.workdir / f"model-it{iteration}"
        line = self.command.format(sft=shlex.quote(str(sft)), output=shlex.quote(str(output)), iteration=iteration)
        proc = subprocess.run(line, shell=True, capture_output=True, text=True)
        if proc.returncode != 0 or not output.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise IterationError(
                f"iteration command failed (exit {proc.returncode}) or wrote no model to {output}: " + " | ".join(tail)
            )
        return {**base, "model": str(output), "revision": None}


def next_model(models: list[str], command: str | None, workdir: Path) -> NextModel:
    """The configured step: listed models first, then the command, else the same teacher."""
    return ListedModels(models, CommandModel(command, workdir) if command else SameTeacher())
