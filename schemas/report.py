"""The typed report of a STaR run, written into the manifests of the ``samples`` and ``sft`` versions
it publishes (``Manifest.report``) and read back by the dataset card and ``starmill show``.

``pass_rate_histogram`` is the one binning of per-problem pass rates. ``RunReport.from_manifest``
also reads the loose keys that older manifests held instead of a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REPORT_FORMAT = 1
BINS = 10  # pass-rate histogram: [0, 0.1), [0.1, 0.2), …, [0.9, 1.0]


def pass_rate_bin(rate: float) -> int:
    """The bin of a pass rate; 1.0 falls in the last. Rounded first, so 0.3 (3/10, stored as
    0.30000000000000004 or 0.29999999999999998) is in [0.3, 0.4) however it was computed."""
    return min(BINS - 1, max(0, int(round(rate * BINS, 9))))


def bin_label(index: int) -> str:
    return f"{index / BINS:.1f}-{(index + 1) / BINS:.1f}"


def pass_rate_histogram(rates: Iterable[float]) -> dict[str, int]:
    """Problems per pass-rate bin, every bin listed, labelled ``0.0-0.1`` … ``0.9-1.0``."""
    counts = [0] * BINS
    for rate in rates:
        counts[pass_rate_bin(rate)] += 1
    return {bin_label(i): c for i, c in enumerate(counts)}


def tokens_by_pass_rate(rates: Iterable[float], tokens: Iterable[float | None]) -> dict[str, float | None]:
    """The teacher's mean completion tokens of the problems in each pass-rate bin (a problem counts once;
    None where no problem of the bin has a count): with the pass rate, the problems' difficulty."""
    sums, counts = [0.0] * BINS, [0] * BINS
    for rate, n in zip(rates, tokens):
        if n is not None:
            sums[pass_rate_bin(rate)] += n
            counts[pass_rate_bin(rate)] += 1
    return {bin_label(i): round(sums[i] / counts[i], 1) if counts[i] else None for i in range(BINS)}


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class IterationReport(_Part):
    iteration: int
    model: str
    attempted: int  # problems given to the rationale stage
    solved_by_rationale: int  # of those, problems with a kept rationale
    rationalization_attempted: int  # problems given to rationalization (0 when it is off)
    solved_by_rationalization: int  # problems with a kept rationalization (after the hint-leak filter)
    heldout: dict[str, float] | None = None  # this iteration's model on the held-out set (iterations.eval)
    evals: str | None = None  # the evals version that holds those answers
    train_rows: int | None = None  # rows its model was fine-tuned on (iterations.train)
    train_steps: int | None = None


class FailedShard(_Part):
    shard: str
    stage: str
    iteration: int
    problems: int
    problem_ids: list[str] = Field(default_factory=list)
    error: str


class CheckerInfo(_Part):
    name: str
    version: str


class RunReport(_Part):
    format: int = REPORT_FORMAT
    run_key: str | None = None
    n: int | None = None  # samples per problem
    k: int | None = None  # kept per problem
    attempts: int | None = None  # R, rationalization attempts per unsolved problem
    iteration_count: int | None = None  # K configured (iterations may end earlier)
    pass_at_k: dict[str, float] = Field(default_factory=dict)  # iteration-0 rationales
    pass_rate_histogram: dict[str, int] = Field(default_factory=dict)
    rationalized_share: float | None = None  # of the kept rows
    iterations: list[IterationReport] = Field(default_factory=list)
    checker: CheckerInfo | None = None
    verifiers: dict[str, str] = Field(default_factory=dict)  # name -> version, of every verdict stored
    verifier_disagreements: dict[str, int] = Field(default_factory=dict)  # "primary vs other" -> samples
    prompts: list[dict[str, Any]] = Field(default_factory=list)  # template id, hash, text
    failed_shards: list[FailedShard] = Field(default_factory=list)
    missing_shards: int = 0  # not generated (a partial publish)
    filter_stats: dict[str, int] = Field(default_factory=dict)  # <filter>.kept / <filter>.dropped_<reason>
    samples_spent: dict[str, Any] = Field(
        default_factory=dict
    )  # rationales per problem: total, mean, min, max, histogram
    seeds: dict[str, Any] = Field(default_factory=dict)
    final_model: dict[str, Any] | None = None  # the outer loop's M(K): its folder, held-out metrics, rows
    stopped_early: int | None = None  # the iteration early stopping ended the outer loop before
    best_model: dict[str, Any] | None = None  # the outer loop's model with the best held-out metric (M0 included)
    cost: dict[str, Any] = Field(default_factory=dict)  # teacher tokens and price: schemas.cost.cost_figures
    by_source: dict[str, dict[str, int]] = Field(default_factory=dict)  # many sources: name -> generated, correct,
    #                                                                     kept, problems_solved

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> RunReport | None:
        """The report of a manifest (as a JSON dict): its ``report``, else one made of the loose keys
        older manifests held (n, k and R from their config); None when it has neither."""
        if isinstance(data.get("report"), dict):
            return cls.model_validate(data["report"])
        loose = {
            key: data[key]
            for key in (
                "run_key",
                "pass_at_k",
                "iterations",
                "checker",
                "prompts",
                "failed_shards",
                "rationalized_share",
                "filter_stats",
                "seeds",
            )
            if key in data
        }
        rates = data.get("pass_rates")
        if isinstance(data.get("pass_rate_histogram"), dict):
            loose["pass_rate_histogram"] = data["pass_rate_histogram"]
        elif isinstance(rates, list) and all(isinstance(r, (int, float)) for r in rates):
            loose["pass_rate_histogram"] = pass_rate_histogram(rates)
        config = data.get("config") or {}
        if not loose and not config:
            return None
        iterations = config.get("iterations")
        k = config.get("k", (config.get("selection") or {}).get("k"))
        loose.update(
            n=(config.get("sampling") or {}).get("n"),
            k=k,
            attempts=(config.get("rationalization") or {}).get("attempts"),
            iteration_count=iterations.get("count") if isinstance(iterations, dict) else iterations,
        )
        return cls.model_validate(loose)
