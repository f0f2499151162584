"""Precision and recall of each long-trace filter (filters/quality/traces.py) on the labelled fixture of
tests/long_traces.py, each filter alone at its defaults; then the default selection filters as a whole.

    .venv/bin/python bench/long_trace_filters.py
    .venv/bin/python bench/long_trace_filters.py --clean 40 --defect 15 --seed 0 --metrics

Precision: of the samples a filter drops, the share labelled with its defect. Recall: of the samples with
that defect, the share it drops. ``--metrics`` prints each filter's metric range per label (calibration).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starmill.filters.quality import get_filter  # noqa: E402
from tests.long_traces import DEFECTS, compose  # noqa: E402

TARGETS = {
    "repetition": "loop",
    "thought_language": "language_switch",
    "thought_answer": "answer_mismatch",
    "overthinking": "overthinking",
    "think_format": "truncated",
    "thought_budget": "too_long",
}


def scores(cases, name: str, options: dict | None = None) -> tuple[float, float, int, int, Counter]:
    """(precision, recall, drops, clean traces dropped, drop reasons) of filter ``name`` against its defect label."""
    f = get_filter(name, options)
    target = TARGETS[name]
    dropped = [(label, f.reason(s, p)) for label, p, s in cases]
    hits = sum(1 for label, why in dropped if why and label == target)
    drops = sum(1 for _, why in dropped if why)
    total = sum(1 for label, _, _ in cases if label == target)
    clean = sum(1 for label, why in dropped if why and label is None)
    return (
        hits / drops if drops else 1.0,
        hits / total if total else 1.0,
        drops,
        clean,
        Counter(w for _, w in dropped if w),
    )


def metric_ranges(cases, name: str) -> dict[str, tuple[float, float]]:
    f, found = get_filter(name), {}
    for label, p, s in cases:
        value = f.measure(s, p)
        if value is not None:
            lo, hi = found.get(label or "clean", (value, value))
            found[label or "clean"] = (min(lo, value), max(hi, value))
    return found


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", type=int, default=40)
    ap.add_argument("--defect", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--metrics", action="store_true")
    args = ap.parse_args(argv)
    cases = compose(args.clean, args.defect, args.seed)
    print(f"{len(cases)} traces ({args.clean} clean, {args.defect} per defect: {', '.join(DEFECTS)}), seed {args.seed}")
    print(f"| {'filter':16} | {'defect':15} | {'reason(s)':31} | precision | recall | drops | clean dropped |")
    for name in TARGETS:
        precision, recall, drops, clean, why = scores(cases, name)
        print(
            f"| {name:16} | {TARGETS[name]:15} | {', '.join(sorted(why)) or '-':31} | {precision:9.2f} | "
            f"{recall:6.2f} | {drops:5d} | {clean:13d} |"
        )
        if args.metrics:
            for label, (lo, hi) in sorted(metric_ranges(cases, name).items()):
                print(f"    {label:16} {lo:10.4f} .. {hi:10.4f}")
    from starmill.config import SelectionConfig

    filters = [get_filter(n, o) for n, o in (f.pair() for f in SelectionConfig().filters)]
    kept = Counter()
    for label, p, s in cases:
        kept[label or "clean"] += all(f.reason(s, p) is None for f in filters)
    counts = Counter(label or "clean" for label, _, _ in cases)
    print(
        "default selection filters, kept / total: "
        + ", ".join(f"{k} {kept[k]}/{counts[k]}" for k in ["clean", *DEFECTS])
    )


if __name__ == "__main__":
    main()
