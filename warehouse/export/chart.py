"""A PNG of the exported data: per-problem pass rates and assistant-answer lengths."""

from __future__ import annotations

import io

CHART = "pass_rates_and_lengths.png"


def chart_png(pass_rates: list[float], lengths: list[int], title: str) -> bytes:
    """Two histograms; rendered with Agg and without metadata, so the bytes are reproducible."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.hist(pass_rates, bins=[i / 10 for i in range(11)], color="#4c72b0", edgecolor="white")
    left.set(
        title="Teacher pass rate per exported problem",
        xlabel="pass rate (pass@1 estimate)",
        ylabel="problems",
        xlim=(0, 1),
    )
    right.hist(lengths, bins=20, color="#dd8452", edgecolor="white")
    right.set(title="Assistant turn length", xlabel="characters", ylabel="rows")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
