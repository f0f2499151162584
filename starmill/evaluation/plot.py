"""Accuracy per evaluation (per STaR iteration when the evals are of successive models), as a PNG."""
from __future__ import annotations

import os
from pathlib import Path

from schemas.errors import StarmillError


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
    """``[{ref, model, metrics}]`` of every evals version (of the problems ``on`` when given), oldest first."""
    history = []
    for version in wh.versions(name):
        manifest = wh.manifest(f"{name}@v{version}")
        extra = manifest.model_extra or {}
        if on is None or extra.get("eval_on") == on:
            model = manifest.models[0]["model"] if manifest.models else "?"
            history.append({"ref": f"{name}@v{version}", "model": model, "metrics": extra.get("metrics") or {}})
    return history


def plot_history(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for h in history for k in h["metrics"]}, key=lambda k: (k.split("@")[0], int(k.split("@")[1])))
    shown = [k for k in keys if k == "greedy_pass@1" or k.startswith("maj@") or k == "pass@1"]
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=120)
    xs = list(range(len(history)))
    for key in shown:
        ax.plot(xs, [h["metrics"].get(key) for h in history], marker="o", label=key)
    ax.set_xticks(xs, [Path(h["model"]).name or h["model"] for h in history], rotation=20, fontsize=7)
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, format="png")  # exactly at ``path``: with a format, matplotlib adds no suffix
    plt.close(fig)
