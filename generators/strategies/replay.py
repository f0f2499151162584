"""Replayable engine calls: a tree search's ``generate`` calls recorded by a content key and given back
on a rerun, so a killed search walks its finished expansions again without the engine.

    generate = replayed(engine_generate, load=calls.get, save=calls.__setitem__)

The key of a call is the hash of its requests (ids, prefixes, sampling), which derive from the
problem, the node and the seed: the same search asks the same calls in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starmill.generators.base import Completion, EngineInfo, GenerationRequest, GenerationResult
from starmill.generators.sampling import Generate
from starmill.schemas import content_hash


def call_key(requests: Sequence[GenerationRequest]) -> str:
    return content_hash(
        "call", [(r.request_id, r.prefix, r.sampling.as_dict(), list(r.messages or []), r.text) for r in requests]
    )


def to_json(results: Sequence[GenerationResult]) -> list[dict[str, Any]]:
    return [
        {
            "request_id": r.request_id,
            "engine": vars(r.engine),
            "completions": [c.as_json() for c in r.completions],
        }
        for r in results
    ]


def from_json(rows: list[dict[str, Any]]) -> list[GenerationResult]:
    return [
        GenerationResult(r["request_id"], [Completion(**c) for c in r["completions"]], EngineInfo(**r["engine"]))
        for r in rows
    ]


def replayed(generate: Generate, load: Callable[[str], list | None], save: Callable[[str, list], None]) -> Generate:
    """``generate`` that answers a call recorded before from ``load`` and records every new one with
    ``save`` (after the engine answered whole: a call cut short is asked again)."""

    def call(requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        key = call_key(requests)
        found = load(key)
        if found is not None:
            return from_json(found)
        results = generate(requests)
        save(key, to_json(results))
        return results

    return call
