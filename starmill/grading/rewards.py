"""starmill's verifiers as RL rewards (DeepSeek-R1-Zero's rule-based accuracy and format rewards), in
TRL's ``GRPOTrainer`` signature: ``reward(completions, **kwargs) -> list[float]``, kwargs carrying the
dataset's columns (``gold_answer`` or ``solution``, ``metadata``, …).

    from trl import GRPOTrainer
    rewards = [accuracy_reward("math"), format_reward(), language_consistency_reward()]
    GRPOTrainer(model=…, reward_funcs=rewards, train_dataset=ds)   # ds: prompt, gold_answer[, metadata]

A completion is text or a conversation (``[{"role": "assistant", "content": …}]``). Each call grades
the whole batch at once; every verifier runs under its own time limit (``timeout``) and the ones that
run foreign code (``python``, ``code``, ``reasoning_gym``) run it in ``filters.isolation``'s sandbox.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from starmill.schemas.errors import StarmillError

Reward = Callable[..., list[float]]
GOLD_COLUMNS = ("gold_answer", "gold", "solution")  # the first present gives a row's gold answer
THINK = re.compile(r"^\s*<think>(.*?)</think>\s*(\S.*)$", re.S)  # one thought, then a non-empty answer
TAGGED = re.compile(r"^\s*<answer>.*?</answer>\s*$", re.S)
TIMEOUT = 5.0  # seconds per completion a verifier may take (its own limit, enforced by it)


class RewardError(StarmillError):
    pass


def completion_text(completion: Any) -> str:
    """The text of a string completion or of the assistant turns of a conversational one."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    parts = []
    for message in completion or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": …}]
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str) and message.get("role", "assistant") == "assistant":
            parts.append(content)
    return "\n".join(parts)


def _rows(n: int, kwargs: dict[str, Any], verifier: Any = None) -> list[dict[str, Any]]:
    """One problem mapping per completion from the dataset columns TRL passes (lists of length n). A row
    marked ``pseudo_label`` (starmill's sft rows: the gold is the majority of the model's own answers)
    gives its gold only to a verifier that takes pseudo-labels (``label_gold``): for the code verifier
    it would be tests the model wrote, so it gets none (unparseable gold, reward 0)."""
    from starmill.filters.verifiers.base import label_gold

    columns = {k: v for k, v in kwargs.items() if isinstance(v, (list, tuple)) and len(v) == n}
    gold = next((c for c in GOLD_COLUMNS if c in columns), None)
    if gold is None:
        raise RewardError(
            f"accuracy reward needs a gold column ({', '.join(GOLD_COLUMNS)}) in the dataset; "
            f"got {sorted(columns) or 'none'}"
        )
    rows = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    for row in rows:
        value = "" if row[gold] is None else row[gold]
        row["gold_answer"] = label_gold(verifier, value) if row.get("pseudo_label") else value
    return rows


def _build(verifier: str, timeout: float, options: dict[str, Any]):
    from starmill.build import build_verifier

    try:
        try:
            return build_verifier(verifier, timeout=timeout, **options)
        except TypeError:  # a verifier with no time limit of its own (exact, regex): nothing slow to bound
            return build_verifier(verifier, **options)
    except (ValueError, TypeError, StarmillError) as exc:
        raise RewardError(f"accuracy reward: verifier {verifier!r}: {exc}") from None


def accuracy_reward(verifier: str = "math", *, timeout: float = TIMEOUT, **options: Any) -> Reward:
    """1.0 where ``verifier`` (any registered name, with its options) says the completion is correct, else
    0.0 (wrong, unparseable, timed out). Problems come from the batch's columns: the gold from
    ``gold_answer`` (or ``gold``, ``solution``), ``metadata`` for forms and reasoning-gym entries."""
    grader = _build(verifier, timeout, options)

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        problems = _rows(len(texts), kwargs, grader)
        return [1.0 if v.correct else 0.0 for v in grader.verify_batch(zip(problems, texts))]

    reward.__name__ = f"accuracy_{verifier}"  # TRL logs each reward under its function's name
    return reward


def format_reward(*, answer_tags: bool = False) -> Reward:
    """1.0 for ``<think>…</think>`` then a non-empty answer (in ``<answer>…</answer>`` with
    ``answer_tags``), else 0.0; a second ``<think>`` or an unclosed one fails."""

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        out = []
        for text in map(completion_text, completions):
            found = THINK.match(text)
            ok = (
                bool(found)
                and "<think>" not in found.group(1)
                and "<think>" not in found.group(2)
                and "</think>" not in found.group(2)
                and (not answer_tags or bool(TAGGED.match(found.group(2))))
            )
            out.append(1.0 if ok else 0.0)
        return out

    reward.__name__ = "format"
    return reward


def script_of(char: str) -> str | None:
    """The script of a letter (``LATIN``, ``CJK``, ``CYRILLIC``, …) from its Unicode name; None for others."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


def language_consistency_reward(script: str | None = None) -> Reward:
    """The share of the thought's letters in one script: ``script`` (``"LATIN"``, ``"CJK"``, …) or, when
    None, the thought's most common one (R1's reward against language mixing). The thought is the text
    in ``<think>…</think>``, else the whole completion; one with no letters scores 1.0."""
    target = script.upper() if script else None

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        out = []
        for text in map(completion_text, completions):
            found = re.search(r"<think>(.*?)(?:</think>|$)", text, re.S)
            counts = Counter(s for s in map(script_of, found.group(1) if found else text) if s)
            total = sum(counts.values())
            if not total:
                out.append(1.0)
                continue
            top = counts[target] if target else counts.most_common(1)[0][1]
            out.append(top / total)
        return out

    reward.__name__ = "language_consistency"
    return reward
