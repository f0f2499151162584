"""Uncertainty for the benches: percentile-bootstrap 95% intervals of a mean and of a paired difference
over a (seed, problem) matrix of per-problem outcomes (0/1 correctness, or any per-problem score).

Each bootstrap draw resamples the seeds (rows) and, jointly, the problems (columns) with replacement
(the two-way "pigeonhole" bootstrap), so the interval holds both what another training seed and what
another held-out set would change. It is conservative when one of the two sources is small, and with
3 seeds it can only see the spread of those 3. A paired difference resamples the same (seed, problem)
cells for both arms, so what the two share (a problem's difficulty, a seed's luck) cancels.

    from bench.intervals import mean_interval, diff_interval
    mean_interval(m)           # m: seeds x problems
    diff_interval(a, b)        # a - b, paired on the same cells (b may have one row: broadcast over seeds)

Seeded: the same inputs and ``seed`` give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOT = 4000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    seeds: int
    problems: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def signed(self) -> str:
        return f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "seeds": self.seeds, "problems": self.problems}


def as_matrix(values: Any) -> np.ndarray:
    """A (seeds, problems) float matrix: one row when given one vector."""
    m = np.asarray(values, dtype=float)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"want a non-empty (seeds, problems) matrix, got shape {m.shape}")
    if np.isnan(m).any():
        raise ValueError("missing outcomes (NaN): every seed needs every problem")
    return m


def boot_means(m: np.ndarray, boot: int = BOOT, seed: int = 0) -> np.ndarray:
    """``boot`` bootstrap replicates of the grand mean of ``m``: seeds and problems resampled jointly.
    A replicate is w_s @ m @ w_p / (S * P) with multinomial counts w_s, w_p (no copies of the matrix)."""
    s, p = m.shape
    rng = np.random.default_rng(seed)
    ws = rng.multinomial(s, np.full(s, 1 / s), size=boot) if s > 1 else np.ones((boot, 1))
    wp = rng.multinomial(p, np.full(p, 1 / p), size=boot)
    return np.einsum("bs,sp,bp->b", ws, m, wp) / (s * p)


def _interval(m: np.ndarray, boot: int, seed: int, level: float) -> Interval:
    mean = float(m.mean())
    if (m == m.flat[0]).all():  # nothing varies: exactly [mean, mean], not float noise around it
        return Interval(mean, mean, mean, m.shape[0], m.shape[1])
    reps = boot_means(m, boot, seed)
    tail = (1 - level) / 2
    low, high = np.quantile(reps, [tail, 1 - tail])
    return Interval(mean, float(low), float(high), m.shape[0], m.shape[1])


def mean_interval(values: Any, boot: int = BOOT, seed: int = 0, level: float = LEVEL) -> Interval:
    """Mean of a (seeds, problems) matrix (or one vector) with its percentile-bootstrap interval."""
    return _interval(as_matrix(values), boot, seed, level)


def diff_interval(a: Any, b: Any, boot: int = BOOT, seed: int = 0, level: float = LEVEL) -> Interval:
    """Paired difference mean(a - b) on the same (seed, problem) cells with its interval. ``b`` (or ``a``)
    with one row stands for a model that doesn't depend on the seed (M0's greedy answers): broadcast."""
    a, b = as_matrix(a), as_matrix(b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"paired on problems: {a.shape[1]} != {b.shape[1]} problems")
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ValueError(f"paired on seeds: {a.shape[0]} != {b.shape[0]} seeds")
    return _interval(a - b, boot, seed, level)


def matrix(per_seed: Sequence[dict[str, float]], problems: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Per-seed {problem_id: outcome} dicts -> (seeds, problems) matrix over the problems every seed has,
    in one order (the given one, or sorted)."""
    order = list(problems) if problems is not None else sorted(set.intersection(*(set(d) for d in per_seed)))
    return np.array([[float(d[p]) for p in order] for d in per_seed]), order


def eval_outcomes(warehouse: str, ref: str, k: int | None = None) -> dict[str, dict[str, float]]:
    """Per-problem outcomes of one ``evals`` version (``starmill eval --json``'s ``evals``, an iteration
    report's ``evals``): {"greedy_pass@1": {problem: 0/1}, "maj@k": {problem: 0/1}} (maj@k over the first
    k sampled answers, k = all by default, clustered by the answer checker as ``starmill eval`` does)."""
    from collections import defaultdict

    from starmill.evaluation.metrics import majority_correct
    from starmill.filters.answers import check_answer
    from starmill.warehouse import Warehouse

    rows = Warehouse(warehouse).read(ref).to_pylist()
    out: dict[str, dict[str, float]] = {}
    greedy = {r["problem_id"]: float(r["correct"]) for r in rows if r["mode"] == "greedy"}
    if greedy:
        out["greedy_pass@1"] = greedy
    sampled: dict[str, list] = defaultdict(list)
    for r in sorted((r for r in rows if r["mode"] == "sampled"), key=lambda r: r["sample_index"]):
        sampled[r["problem_id"]].append((r["extracted_answer"], r["correct"]))
    if sampled:
        k = k or min(len(v) for v in sampled.values())

        def equivalent(a: str, b: str) -> bool:
            return check_answer(a, b, pred_is_answer=True).correct

        out[f"maj@{k}"] = {p: float(majority_correct(v[:k], equivalent)) for p, v in sampled.items()}
    return out


def merge_runs(saved: Sequence[dict], per_seed: Sequence[str]) -> dict:
    """Several ``--json`` files of one bench, each run on other seeds (side by side, or on other
    machines), as one: the lists under ``per_seed`` keys (per-seed results, in seed order) concatenated,
    the settings' seeds joined, the wall time the longest run's. Everything else must agree, and a seed
    must not appear twice, so seeds of different configurations are never pooled; a file cut short
    (``partial``) counts only for the seeds it finished."""
    if not saved:
        raise ValueError("no runs to merge")
    first = saved[0]
    settings = dict(first["settings"])
    seeds: list = []
    merged = {key: {} for key in per_seed}
    for run in saved:
        other = {k: v for k, v in run["settings"].items() if k != "seeds"}
        same = {k: v for k, v in settings.items() if k != "seeds"}
        if other != same:
            diff = sorted(k for k in set(other) | set(same) if other.get(k) != same.get(k))
            raise ValueError(f"runs of different settings cannot be pooled: {', '.join(diff)} differ")
        repeated = set(seeds) & set(run["settings"]["seeds"])
        if repeated:
            raise ValueError(f"seed {sorted(repeated)[0]} is in two runs")
        seeds += run["settings"]["seeds"]
        for key in per_seed:
            for label, rows in run[key].items():
                if len(rows) != len(run["settings"]["seeds"]):
                    raise ValueError(f"{key}/{label}: {len(rows)} results for {len(run['settings']['seeds'])} seeds")
                merged[key].setdefault(label, []).extend(rows)
    out = {k: v for k, v in first.items() if k not in ("partial", *per_seed)}
    out.update(merged)
    out["settings"] = {**settings, "seeds": seeds}
    out["seconds"] = max(run["seconds"] for run in saved)
    if any(run.get("partial") for run in saved):
        out["partial"] = True
    return out
