"""bench/intervals.py: the percentile bootstrap over (seed, problem) matrices that the benches report."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from intervals import diff_interval, matrix, mean_interval  # noqa: E402


def coverage(draw, truth: float, trials: int = 200, boot: int = 600) -> float:
    hits = 0
    for t in range(trials):
        iv = mean_interval(draw(np.random.default_rng(t)), boot=boot, seed=t)
        hits += iv.low <= truth <= iv.high
    return hits / trials


def test_covers_a_known_mean_about_95_percent_of_the_time_over_problems():
    # one seed, 200 problems, 0/1 outcomes with p = 0.3: the interval holds 0.3 in about 95% of draws
    rate = coverage(lambda rng: rng.random(200) < 0.3, 0.3)
    assert 0.91 <= rate <= 0.99, rate


def test_covers_a_known_mean_over_seeds_and_problems():
    # crossed seed and problem effects (x = mu + a_seed + b_problem + noise): the two-way bootstrap is
    # conservative (it counts the noise twice), so it covers at least about 95%
    def draw(rng):
        s, p = 8, 150
        return 0.5 + rng.normal(0, 0.05, (s, 1)) + rng.normal(0, 0.2, (1, p)) + rng.normal(0, 0.2, (s, p))

    rate = coverage(draw, 0.5, trials=200)
    assert rate >= 0.92, rate


def test_width_matches_the_standard_error_and_narrows_with_more_problems():
    rng = np.random.default_rng(1)
    small = mean_interval(rng.normal(0, 1, 100))
    large = mean_interval(rng.normal(0, 1, 1600))
    assert large.high - large.low < 0.35 * (small.high - small.low)  # 1/sqrt(16) = 0.25 in expectation
    assert large.high - large.low == pytest.approx(2 * 1.96 / 40, rel=0.15)


def test_paired_difference_of_identical_arrays_is_exactly_zero():
    m = np.random.default_rng(2).random((3, 50)) < 0.4
    d = diff_interval(m, m)
    assert (d.mean, d.low, d.high) == (0.0, 0.0, 0.0)


def test_a_constant_matrix_has_a_zero_width_interval():
    iv = mean_interval(np.ones((3, 20)))
    assert (iv.mean, iv.low, iv.high) == (1.0, 1.0, 1.0)


def test_pairing_removes_what_both_arms_share():
    # b = a with 10% of problems made right: the paired interval excludes 0 and is far narrower than
    # an unpaired one (the arms' own widths in quadrature), though the arms' own intervals overlap
    rng = np.random.default_rng(3)
    a = (rng.random((3, 1000)) < 0.3).astype(float)
    b = a.copy()
    b[:, :100] = 1.0
    d = diff_interval(b, a)
    assert d.excludes_zero() and d.low > 0
    wa, wb = (mean_interval(x).high - mean_interval(x).low for x in (a, b))
    assert d.high - d.low < 0.5 * (wa**2 + wb**2) ** 0.5
    assert d.mean == pytest.approx(b.mean() - a.mean())


def test_a_one_row_baseline_broadcasts_over_seeds():
    rng = np.random.default_rng(4)
    a = (rng.random((3, 40)) < 0.5).astype(float)
    m0 = (rng.random(40) < 0.5).astype(float)
    assert diff_interval(a, m0).mean == pytest.approx((a - m0).mean())
    with pytest.raises(ValueError):
        diff_interval(a, np.zeros((2, 40)))
    with pytest.raises(ValueError):
        diff_interval(a, np.zeros(39))


def test_seeded_and_reproducible():
    m = np.random.default_rng(5).random((3, 80))
    assert mean_interval(m, seed=7) == mean_interval(m, seed=7)
    assert mean_interval(m, seed=7).mean == mean_interval(m, seed=8).mean


def test_matrix_orders_problems_and_rejects_missing():
    m, order = matrix([{"b": 1, "a": 0}, {"a": 1, "b": 1}])
    assert order == ["a", "b"] and m.tolist() == [[0.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError):
        mean_interval([[1.0, np.nan]])


def test_per_problem_outcomes_average_to_the_reported_metrics():
    # what the benches bootstrap (EvalReport.outcomes) is exactly what starmill eval's metrics average
    from starmill.evaluation.metrics import accuracy, per_problem

    def same(a, b):
        return a == b

    greedy = {"p1": True, "p2": False, "p3": False}
    sampled = {
        "p1": [("1", True), ("2", False), ("1", True), ("3", False)],
        "p2": [("5", False), ("5", False), ("4", True), ("4", True)],
        "p3": [("7", False), ("8", False), ("9", True), ("9", True)],
    }
    scored = {"best_of_n": {p: [(a, c, float(c)) for a, c in v] for p, v in sampled.items()}}
    per = per_problem(greedy, sampled, same, scored)
    metrics = accuracy(greedy, sampled, same, scored)
    assert set(per) == set(metrics)
    for key, values in per.items():
        assert metrics[key] == round(sum(values.values()) / len(values), 4)
    assert per["greedy_pass@1"] == {"p1": 1.0, "p2": 0.0, "p3": 0.0}
    assert per["maj@4"] == {"p1": 1.0, "p2": 0.0, "p3": 1.0}  # ties go to the answer seen first


def run_file(seeds, results, **settings):
    return {
        "settings": {"problems": 3000, "eval": 1000, "steps": 600, **settings, "seeds": seeds},
        "results": {"with rationalization": results},
        "few": {},
        "seconds": 60.0 * len(seeds),
    }


def test_merge_runs_pools_seeds_run_apart_in_seed_order():
    from intervals import merge_runs

    a = run_file([11], [{"seed": 11, "points": ["a"]}])
    b = run_file([23, 37], [{"seed": 23, "points": ["b"]}, {"seed": 37, "points": ["c"]}])
    pooled = merge_runs([a, b], per_seed=["results"])
    assert pooled["settings"]["seeds"] == [11, 23, 37]
    assert [r["seed"] for r in pooled["results"]["with rationalization"]] == [11, 23, 37]
    assert pooled["seconds"] == 120.0 and "partial" not in pooled  # side by side: the longest run's wall time
    assert a["settings"]["seeds"] == [11]  # the inputs are left as they were


def test_merge_runs_refuses_to_pool_other_settings_or_a_seed_twice():
    from intervals import merge_runs

    a = run_file([11], [{"seed": 11}])
    with pytest.raises(ValueError, match="steps differ"):
        merge_runs([a, run_file([23], [{"seed": 23}], steps=60)], per_seed=["results"])
    with pytest.raises(ValueError, match="seed 11 is in two runs"):
        merge_runs([a, run_file([11], [{"seed": 11}])], per_seed=["results"])
    with pytest.raises(ValueError, match="2 results for 1 seeds"):
        merge_runs([a, run_file([23], [{"seed": 23}, {"seed": 24}])], per_seed=["results"])
    with pytest.raises(ValueError, match="no runs"):
        merge_runs([], per_seed=["results"])


def test_merge_runs_keeps_a_cut_short_run_marked_partial():
    from intervals import merge_runs

    cut = {**run_file([23], [{"seed": 23}]), "partial": True}
    pooled = merge_runs([run_file([11], [{"seed": 11}]), cut], per_seed=["results"])
    assert pooled["partial"] is True and pooled["settings"]["seeds"] == [11, 23]


def test_star_curve_pools_json_files_of_seeds_run_apart(tmp_path):
    """The committed 5-seed run split into two files (seeds 11, 23 | 37, 41, 53), pooled by
    --from-json, prints the same table, per-seed figures and intervals as the whole file."""
    import json
    import subprocess

    root = Path(__file__).resolve().parent.parent
    whole = json.loads((root / "bench" / "star_curve_seeds.json").read_text())
    label = "with rationalization"
    parts = []
    for i, seeds in enumerate([[11, 23], [37, 41, 53]]):
        part = {
            **whole,
            "settings": {**whole["settings"], "seeds": seeds},
            "results": {label: [r for r in whole["results"][label] if r["seed"] in seeds]},
        }
        parts.append(tmp_path / f"part{i}.json")
        parts[-1].write_text(json.dumps(part))

    def pool(*files, extra=()):
        cmd = [sys.executable, str(root / "bench" / "star_curve.py"), "--from-json", *map(str, files)]
        return subprocess.run([*cmd, "--out", str(tmp_path / "plot.png"), *extra], capture_output=True, text=True)

    def table(*files, extra=()):
        out = pool(*files, extra=extra)
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if "M0" in line or "M1" in line or "seeds" in line]

    pooled = tmp_path / "pooled.json"
    got = table(*parts, extra=("--json", str(pooled)))
    assert got == table(root / "bench" / "star_curve_seeds.json")
    assert any("-0.017 [-0.039, +0.005]" in line for line in got)  # the published M1 - M0
    assert json.loads(pooled.read_text())["settings"]["seeds"] == [11, 23, 37, 41, 53]

    other = json.loads(parts[1].read_text())
    other["settings"]["steps"] = 600
    parts[1].write_text(json.dumps(other))
    bad = pool(*parts)
    assert bad.returncode != 0 and bad.stderr.strip().splitlines() == [
        "Error: runs of different settings cannot be pooled: steps differ"
    ]
