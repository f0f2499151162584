"""What an export is: the settings that decide its bytes, the versions it takes rows from, and
the rows it holds per split. ``build`` makes one; ``card`` describes one."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starmill.warehouse.export.decontaminate import Decontaminator, EvalSet
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.manifest import Manifest


class ExportSettings(BaseModel):
    """What to export and how; everything that decides the exported bytes."""

    model_config = ConfigDict(extra="forbid")
    ref: str = Field(description="NAME or NAME@vN of an sft dataset")
    format: Literal["messages", "prompt-completion", "raw"] = "messages"
    test_size: float = Field(0.0, ge=0, lt=1, description="share of problems in the test split; 0: no test split")
    seed: int = 0  # seeds the split and the mix sampling
    decontaminate: list[str] = Field(default_factory=list, description="evaluation sets (files or folders)")
    ngram: int = Field(8, ge=1, description="word n-gram size for decontamination")
    near_duplicates: float = Field(0.6, ge=0, le=1, description="near-duplicate containment threshold; 0: off")
    num_perm: int = Field(128, ge=2, multiple_of=2, description="MinHash permutations of the near-duplicate index")
    run_decontamination: bool = Field(
        True, description="with no evaluation sets given, use the main version's run config's decontamination: section"
    )
    decontamination_from: str | None = Field(
        None,
        description="the version whose run config gave the evaluation "
        "sets and settings (set by the export, not by an option)",
    )
    system_prompt: str | None = None
    difficulty_band: str | None = Field(None, description="LOW:HIGH, the pass rates of the problems kept")
    mix: list[str] = Field(default_factory=list, description="NAME@vN:WEIGHT, more sft versions and their rates")
    order: Literal["problem", "easy_to_hard"] | None = Field(
        None, description="rows by problem id, or easy to hard; None: the main version's selection.order"
    )
    rows_per_file: int = Field(100_000, ge=1)

    @classmethod
    def make(cls, **values: Any) -> ExportSettings:
        try:
            settings = cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ExportError(f"bad export option {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        settings.band()  # a bad band fails before anything is read
        return settings

    def with_run_decontamination(self, manifest: Manifest) -> ExportSettings:
        """These settings, or, when they name no evaluation set, the ``decontamination:`` section of the
        run config that made ``manifest``'s version (``at_export: apply``, evaluation sets given)."""
        spec = run_decontamination(manifest) if self.run_decontamination and not self.decontaminate else None
        if spec is None:
            return self
        return self.model_copy(
            update={
                "decontaminate": list(spec["eval_sets"]),
                "ngram": spec.get("ngram", 8),
                "near_duplicates": spec.get("near_duplicates", 0.6),
                "num_perm": spec.get("num_perm", 128),
                "decontamination_from": f"{manifest.dataset}@v{manifest.version}",
            }
        )

    def cleaner(self) -> Decontaminator:
        """The evaluation sets of this export, loaded; one a run config named but that is missing says so."""
        try:
            return Decontaminator.load(self.decontaminate, self.ngram, self.near_duplicates or None, self.num_perm)
        except ExportError as exc:
            if self.decontamination_from is None:
                raise
            raise ExportError(
                f"{exc} (named by {self.decontamination_from}'s run config, decontamination:; give "
                "--decontaminate EVAL, or --no-run-decontamination)"
            ) from None

    def band(self) -> tuple[float, float] | None:
        """(low, high) of ``difficulty_band``, both ends kept; None without one."""
        return parse_band(self.difficulty_band) if self.difficulty_band is not None else None

    def command(self, parts: list[Part]) -> str:
        """The export command that reproduces these bytes (versions resolved, target left out)."""
        args = ["starmill", "export", parts[0].ref, "--format", self.format]
        if self.test_size:
            args += ["--test-size", f"{self.test_size:g}", "--seed", str(self.seed)]
        elif len(parts) > 1:
            args += ["--seed", str(self.seed)]
        given = self.decontaminate if self.decontamination_from is None else []  # else the run config's
        for path in given:
            args += ["--decontaminate", path]
        if not self.run_decontamination:
            args += ["--no-run-decontamination"]
        if given:
            args += ["--ngram", str(self.ngram)]
            if self.near_duplicates != 0.6:
                args += ["--near-duplicates", f"{self.near_duplicates:g}"]
        for part in parts[1:] if parts[0].weight == 1 else parts:
            args += ["--mix", f"{part.ref}:{part.weight:g}"]
        if self.system_prompt:
            args += ["--system-prompt", self.system_prompt]
        if self.difficulty_band is not None:
            args += ["--difficulty-band", self.difficulty_band]
        if self.order is not None:
            args += ["--order", self.order]
        return " ".join(shlex.quote(a) for a in args)


def run_decontamination(manifest: Manifest) -> dict[str, Any] | None:
    """The ``decontamination:`` section of the run config that made a samples or sft version, when it
    names evaluation sets and applies at export; else None."""
    spec = (manifest.config or {}).get("decontamination") if manifest.table in ("samples", "sft") else None
    if not isinstance(spec, dict) or not spec.get("eval_sets") or spec.get("at_export", "apply") != "apply":
        return None
    return spec


def parse_band(text: str) -> tuple[float, float]:
    """``LOW:HIGH`` pass rates, 0 <= LOW <= HIGH <= 1."""
    low, sep, high = text.partition(":")
    try:
        band = (float(low), float(high)) if sep else None
    except ValueError:
        band = None
    if band is None or not 0 <= band[0] <= band[1] <= 1:
        raise ExportError(f"--difficulty-band must be LOW:HIGH pass rates with 0 <= LOW <= HIGH <= 1, got {text!r}")
    return band


@dataclass
class Part:
    """One sft version in the export, with what happened to its rows."""

    ref: str  # resolved, "name@vN"
    weight: float
    manifest: Manifest
    rows: int  # in the version
    rationalized: int  # rows of the version with stage "rationalization"
    pass_rates: dict[str, float]  # problem -> pass rate, from the version's rows
    clean: int = 0  # rows left after decontamination
    taken: int = 0  # rows in the export
    drops: dict[str, int] = field(default_factory=dict)
    screened: dict[str, Any] | None = None  # its problems version's ingest screening (build.screened_at_ingest)


@dataclass
class Export:
    settings: ExportSettings
    parts: list[Part]
    eval_sets: list[EvalSet]
    splits: dict[str, pa.Table]  # per split: formatted rows, or (with ``source``) the key columns and ``_row``
    rationalized: int  # exported rows with stage "rationalization"
    pass_rates: list[float]  # one per exported problem
    lengths: list[int]  # characters of each exported assistant turn
    repo_id: str | None = None
    command: str = ""
    order: str = "problem"  # the rows' order in each split: "problem" (id) or "easy_to_hard"
    teacher_tokens: list[float | None] = field(default_factory=list)  # per exported problem, as pass_rates
    contaminated: list[dict[str, Any]] = field(default_factory=list)  # dropped rows, for contaminated.jsonl
    # the exported sft rows, unsorted, which the splits' ``_row`` index: formatted a row group at a time
    # when written, so long rows are held once (not sorted, then formatted, all at once)
    source: pa.Table | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.splits.values())

    def problems(self, split: str | None = None) -> int:
        tables = [self.splits[split]] if split else list(self.splits.values())
        return len({p for t in tables for p in t.column("problem_id").to_pylist()})
