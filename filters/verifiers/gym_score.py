"""reasoning-gym entries rebuilt from a problem's ``metadata.reasoning_gym`` (task, size, seed, config,
index), so what is scored is exactly the entry the problem came from; ``score`` runs inside a sandbox
worker (the ``reasoning_gym`` verifier), ``entry`` also serves the source that made the problems."""

from __future__ import annotations

import functools
import json

import reasoning_gym


@functools.lru_cache(maxsize=64)
def dataset(task: str, size: int, seed: int, config_json: str):
    return reasoning_gym.create_dataset(task, size=size, seed=seed, **json.loads(config_json))


def entry(meta: dict):
    """(the entry, its dataset) of a problem's ``metadata.reasoning_gym``."""
    ds = dataset(
        meta["task"], int(meta["size"]), int(meta["seed"]), json.dumps(meta.get("config") or {}, sort_keys=True)
    )
    return ds[int(meta["index"])], ds


def score(meta: dict, answer: str) -> float:
    found, ds = entry(meta)
    return float(ds.score_answer(answer, found))
