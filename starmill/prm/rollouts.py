"""Monte Carlo rollouts from step prefixes, graded against the gold answer (Math-Shepherd).

Each step prefix of a rationale becomes one request asking for R continuations of the answer after
the prefix; a rollout's full text is prefix + continuation, and it counts as reaching the gold when
the project's checker says ``correct`` (an unparseable answer does not). A prefix that already holds
a final answer ("The answer is N.") needs no rollout: its own verdict is its label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starmill.generators.base import GenerationRequest, SamplingParams
from starmill.generators.sampling import Generate, skip_refused
from starmill.schemas import content_hash


@dataclass(frozen=True)
class Rollout:
    """R rollouts from one step prefix; ``key`` hashes everything that decides their text."""

    key: str
    messages: tuple[dict[str, str], ...]
    prefix: str
    sampling: SamplingParams

    def request(self) -> GenerationRequest:
        return GenerationRequest(
            request_id=self.key, messages=[dict(m) for m in self.messages], sampling=self.sampling, prefix=self.prefix
        )


def split_steps(text: str, delimiter: str) -> list[str]:
    """The rationale's steps: split at ``delimiter``, blank pieces left out (a trailing newline is no
    step); a text without the delimiter is one step."""
    return [piece for piece in text.split(delimiter) if piece.strip()]


def prefixes(steps: Sequence[str], delimiter: str) -> list[str]:
    """The prefix ending at each step: the steps so far joined by the delimiter, with one after it
    (where the model starts the next step)."""
    return [delimiter.join(steps[: i + 1]) + delimiter for i in range(len(steps))]


def plan_rollout(
    messages: Sequence[dict[str, str]],
    prefix: str,
    *,
    rollouts: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    model_key: str,
) -> Rollout:
    """One request for ``rollouts`` continuations of ``prefix``; key and seed derive from the content, so
    a rerun asks exactly the same question and rationales sharing a prefix share its rollouts."""
    key = content_hash("prm-rollout", prefix, list(messages), rollouts, temperature, max_tokens, seed, model_key)
    sampling = SamplingParams(
        n=rollouts, temperature=temperature, max_tokens=max_tokens, seed=int(key[:8], 16) % (2**31 - 1)
    )
    return Rollout(key, tuple(dict(m) for m in messages), prefix, sampling)


def run_rollouts(generate: Generate, rollouts: Sequence[Rollout]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Full rollout texts (prefix + continuation) per key, and the reason of each request the engine
    refused (a prefix over the context): a refused request is left out and the batch runs again
    without it, so it never fails its neighbours."""
    results, refused = skip_refused(generate, [r.request() for r in rollouts])
    by_key = {r.key: r for r in rollouts}
    texts = {key: [by_key[key].prefix + c.text for c in res.completions] for key, res in results.items()}
    return texts, {key: exc.reason for key, exc in refused.items()}


def reached_gold(pairs: Iterable[tuple[str, str]], workers: int = 1) -> list[bool]:
    """For each (gold, text): whether the checker finds the text's final answer equal to the gold."""
    from starmill.filters.answers import check_batch

    return [v.correct for v in check_batch(pairs, workers=workers)]


def has_final_answer(text: str) -> bool:
    from starmill.filters.answers import extract_answer

    return extract_answer(text).answer is not None


@dataclass
class Plan:
    """One rationale: its steps, and per step the rollouts from its prefix, or the prefix itself when
    it already states a final answer (graded as it is)."""

    sample: Any  # SampleRecord
    problem: Any  # ProblemRecord
    steps: list[str]
    todo: list[Rollout | str]

    def rollouts(self) -> list[Rollout]:
        return [t for t in self.todo if isinstance(t, Rollout)]


def plan(sample, problem, settings, model_key: str) -> Plan:
    steps = split_steps(sample.output_text(), settings.delimiter)
    todo: list[Rollout | str] = [
        prefix
        if has_final_answer(prefix)
        else plan_rollout(
            sample.prompt,
            prefix,
            rollouts=settings.rollouts,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
            model_key=model_key,
        )
        for prefix in prefixes(steps, settings.delimiter)
    ]
    return Plan(sample, problem, steps, todo)


class ShardCache:
    """Finished rollout shards of one labelling run, one JSON file each (written whole or not at all),
    so a killed run resumes from them; removed once the version is committed."""

    def __init__(self, storage, folder: str):
        self.storage, self.folder = storage, folder

    def get(self, key: str) -> dict | None:
        try:
            data = json.loads(self.storage.read_text(f"{self.folder}/{key}.json"))
        except (FileNotFoundError, ValueError):  # not there, or damaged: generated again
            return None
        return data if isinstance(data, dict) and {"texts", "refused"} <= set(data) else None

    def put(self, key: str, texts: dict, refused: dict) -> None:
        self.storage.write_text(f"{self.folder}/{key}.json", json.dumps({"texts": texts, "refused": refused}))

    def clear(self) -> None:
        self.storage.remove_tree(self.folder)


def roll(generate: Generate, plans: Sequence[Plan], shard: int, progress: bool = True, cache: ShardCache | None = None):
    """Run every distinct rollout request of the plans, ``shard`` requests per engine call, with a
    progress bar, skipping the shards ``cache`` holds; (texts by key, refusal reasons by key)."""
    from tqdm.auto import tqdm

    unique = list({r.key: r for p in plans for r in p.rollouts()}.values())
    texts: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    for at in tqdm(range(0, len(unique), shard), desc="prm rollouts", unit="shard", disable=not progress):
        chunk = unique[at : at + shard]
        key = content_hash("prm-shard", [r.key for r in chunk])
        done = cache.get(key) if cache is not None else None
        if done is None:
            got, bad = run_rollouts(generate, chunk)
            if cache is not None:
                cache.put(key, got, bad)
        else:
            got, bad = done["texts"], done["refused"]
        texts.update(got)
        refused.update(bad)
    return texts, refused


def soft_labels(plans: Sequence[Plan], texts: dict[str, list[str]], workers: int = 1) -> list[list[float]]:
    """Per plan, per step: the share of its rollouts that reach the gold (a stated answer: 1.0 or 0.0);
    every text graded in one stream. A refused step (no texts) gets 0.0, and its plan is skipped."""
    pairs, where = [], []
    for n, p in enumerate(plans):
        for i, t in enumerate(p.todo):
            for text in [t] if isinstance(t, str) else texts.get(t.key, []):
                pairs.append((p.problem.gold_answer, text))
                where.append((n, i))
    hits: dict[tuple[int, int], list[bool]] = {}
    for at, ok in zip(where, reached_gold(pairs, workers)):
        hits.setdefault(at, []).append(ok)
    return [
        [sum(hits.get((n, i), [])) / max(len(hits.get((n, i), [])), 1) for i in range(len(p.steps))]
        for n, p in enumerate(plans)
    ]
