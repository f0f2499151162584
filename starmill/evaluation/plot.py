"""Accuracy per evaluation (per STaR iteration when the evals are of successive models), as a PNG."""

from __future__ import annotations

import os
from pathlib import Path

from starmill.schemas.errors import StarmillError


class PlotError(StarmillError):
    pass


def plot_path(text: str) -> Path:
    """Where ``--plot`` writes, checked before any work: a ``.png`` file in a folder that exists and can be
    written (matplotlib would otherwise fail after the evaluation, or add ``.png`` to a path without one)."""
    path = Path(text).expanduser()
    if path.suffix.lower() != ".png":
        raise PlotError(f"--plot {text!r}: the plot is a PNG, give a file name ending in .png")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise PlotError(f"--plot {text!r}: its folder does not exist")
    if path.is_dir() or not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PlotError(f"--plot {text!r}: cannot write there")
    return path


def eval_history(wh, name: str = "evals", on: str | None = None) -> list[dict]:
    """``[{ref, model, metrics, base}]`` of every evals version (of the problems ``on`` when given), oldest
    first; ``base``: the model a starmill-trained model was trained from (None otherwise)."""
    from starmill.schemas.evals import EvalSummary

    history = []
    for version in wh.versions(name):
        manifest = wh.manifest(f"{name}@v{version}")
        summary = EvalSummary.from_manifest(manifest) or EvalSummary()
        if on is None or summary.eval_on == on:
            model = manifest.models[0]["model"] if manifest.models else "?"
            history.append(
                {"ref": f"{name}@v{version}", "model": model, "metrics": summary.metrics, "base": _base_model(model)}
            )
    return history


def _base_model(model: str) -> str | None:
    import json

    try:
        return json.loads((Path(model) / "starmill_training.json").read_text()).get("base_model")
    except (OSError, ValueError, AttributeError):
        return None


def _order(key: str) -> tuple:
    name, _, k = key.partition("@")
    return (name != "greedy_pass", name, int(k) if k.isdigit() else 0)


def series(history: list[dict]) -> list[dict]:
    """What the plot draws: one series per metric measured (greedy pass@1, every pass@k, maj@k and
    STRATEGY@k), each with its points ``(x, value)`` and the segments that join an eval to the one before
    only when its model was trained from that one's model (a STaR iteration); unrelated models stay apart."""
    keys = sorted({k for h in history for k in h["metrics"]}, key=_order)
    related = [
        i > 0
        and history[i]["base"] is not None
        and str(Path(history[i]["base"]).expanduser()) == str(Path(history[i - 1]["model"]).expanduser())
        for i in range(len(history))
    ]
    out = []
    for key in keys:
        points = [(i, h["metrics"][key]) for i, h in enumerate(history) if h["metrics"].get(key) is not None]
        at = dict(points)
        segments = [((i - 1, at[i - 1]), (i, at[i])) for i in at if related[i] and i - 1 in at]
        out.append({"metric": key, "points": points, "segments": segments})
    return out


def plot_history(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    xs = list(range(len(history)))
    drawn = series(history)
    spread = 0.5 / max(len(drawn), 1)  # side by side within a model's slot, so equal values don't hide
    for n, item in enumerate(drawn):
        dx = (n - (len(drawn) - 1) / 2) * spread
        points = [(x + dx, y) for x, y in item["points"]]
        line = ax.plot(
            [x for x, _ in points],
            [y for _, y in points],
            linestyle="none",
            marker="o",
            markersize=4,
            label=item["metric"],
        )[0]
        for (x0, y0), (x1, y1) in item["segments"]:
            ax.plot([x0 + dx, x1 + dx], [y0, y1], color=line.get_color(), linewidth=1)
    ax.set_xticks(xs, [Path(h["model"]).name or h["model"] for h in history], rotation=20, fontsize=7)
    ax.set_xlim(-0.6, len(history) - 0.4)
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=6, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, format="png")  # exactly at ``path``: with a format, matplotlib adds no suffix
    plt.close(fig)
