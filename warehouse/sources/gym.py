"""reasoning-gym as a problem source: procedural tasks with their own scorers (``starmill[gym]``).

Each problem carries ``metadata.reasoning_gym = {task, size, seed, config, index}``: enough to rebuild
the exact entry later (``gym_entry``), so the task's own ``score_answer`` can grade it. A task whose
answer has a form (``ANSWER_FORMS``) also stores ``metadata.answer_form``, which the ``math`` verifier
reads, so grading by value and form needs no configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starmill.schemas import ProblemRecord, RejectRecord, content_hash
from starmill.schemas.sources import GymSpec
from starmill.warehouse.sources.readers import SourceError

# task -> the answer form its question asks for (filters.answers.forms); integrals need no entry: their
# gold ends in "+ C", a symbol the checker then requires of the answer too
ANSWER_FORMS = {
    "fraction_simplification": "reduced",  # "Simplify the fraction … to its lowest terms"
    "prime_factorization": "factored",  # "Write the factors separated by ×"
    "power_function": "sig_figs:3",  # "correct to 3 significant figures" (the gold has every digit)
}


def answer_forms(spec: GymSpec) -> dict[str, str]:
    """The declared form of each of ``spec``'s tasks that has one."""
    return {task: ANSWER_FORMS[task] for task in spec.tasks if task in ANSWER_FORMS}


def _module():
    try:
        import reasoning_gym
    except ImportError:
        raise SourceError("a reasoning_gym source needs reasoning-gym: pip install 'starmill[gym]'") from None
    return reasoning_gym


def task_sizes(spec: GymSpec) -> dict[str, int]:
    """Split ``size`` over the tasks by weight (largest remainders; every share is deterministic)."""
    total = sum(spec.tasks.values())
    exact = {name: spec.size * w / total for name, w in spec.tasks.items()}
    sizes = {name: int(value) for name, value in exact.items()}
    left = spec.size - sum(sizes.values())
    for name in sorted(exact, key=lambda n: (sizes[n] - exact[n], n))[:left]:
        sizes[name] += 1
    return sizes


def task_seed(seed: int, task: str) -> int:
    return int(content_hash("gym", seed, task)[:8], 16)


def _dataset(task: str, size: int, seed: int, config_json: str):
    reasoning_gym = _module()
    from starmill.filters.verifiers import gym_score  # the verifier rebuilds entries the same way

    try:
        return gym_score.dataset(task, size, seed, config_json)
    except (KeyError, ValueError, TypeError, AssertionError) as exc:
        known = ", ".join(sorted(reasoning_gym.factory.DATASETS))
        raise SourceError(f"reasoning_gym task {task!r}: {exc} (tasks: {known})") from None


def gym_entry(meta: dict[str, Any]) -> dict[str, Any]:
    """Rebuild the reasoning-gym entry a problem came from (for the task's own scorer)."""
    from starmill.filters.verifiers import gym_score

    _dataset(meta["task"], meta["size"], meta["seed"], json.dumps(meta.get("config") or {}, sort_keys=True))
    return gym_score.entry(meta)


def iter_gym(spec: GymSpec, source: str, split: str) -> Iterator[ProblemRecord | RejectRecord]:
    """Problems of every task, interleaved round-robin so a prefix (``limit``) mixes the tasks."""
    sizes = task_sizes(spec)
    for task in sizes:
        if sizes[task]:
            _dataset(
                task, sizes[task], task_seed(spec.seed, task), json.dumps(spec.config.get(task) or {}, sort_keys=True)
            )  # fail early on a bad task
    unknown = set(spec.config) - set(spec.tasks)
    if unknown:
        raise SourceError(f"reasoning_gym config for tasks not listed in tasks: {sorted(unknown)}")
    longest = max(sizes.values())
    for index in range(longest):
        for task, size in sizes.items():
            if index >= size:
                continue
            meta = {
                "task": task,
                "size": size,
                "seed": task_seed(spec.seed, task),
                "config": spec.config.get(task) or {},
                "index": index,
            }
            entry, _ = gym_entry(meta)
            answer = entry.get("answer")
            if answer is None or str(answer).strip() == "":
                yield RejectRecord(
                    source,
                    index,
                    "missing_answer",
                    f"reasoning_gym {task} entry {index} has no answer",
                    json.dumps({"task": task, "index": index}),
                )
                continue
            extra = json.loads(json.dumps(entry.get("metadata") or {}, default=str))
            metadata = {"reasoning_gym": meta, "task": task, "gym": extra}
            if task in ANSWER_FORMS:
                metadata["answer_form"] = ANSWER_FORMS[task]
            yield ProblemRecord.make(
                source=source, question=str(entry["question"]), gold_answer=str(answer), split=split, metadata=metadata
            )


def fingerprint(spec: GymSpec) -> str:
    import importlib.metadata as md

    try:
        version = md.version("reasoning-gym")
    except md.PackageNotFoundError:
        version = "missing"
    return "reasoning_gym:" + content_hash(version, spec.model_dump(mode="json"))
