"""Runs inside a sandbox worker: score a bare answer with a reasoning-gym task's own ``score_answer``.

The entry is rebuilt from the problem's ``metadata.reasoning_gym`` (task, size, seed, config, index),
so what is scored is exactly the entry the problem came from.
"""
from __future__ import annotations

import functools
import json

import reasoning_gym


@functools.lru_cache(maxsize=64)
def _dataset(task: str, size: int, seed: int, config_json: str):
    return reasoning_gym.create_dataset(task, size=size, seed=seed, **json.loads(config_json))


def score(meta: dict, answer: str) -> float:
    ds = _dataset(meta["task"], int(meta["size"]), int(meta["seed"]), json.dumps(meta.get("config") or {}, sort_keys=True))
    entry = ds[int(meta["index"])]
    return float(ds.score_answer(answer, entry))
