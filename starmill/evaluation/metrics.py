"""Accuracy of one model on held-out problems: greedy pass@1, unbiased pass@k, maj@k.

maj@k votes over the first k sampled answers, clustered by the answer checker's equivalence (``1/2``
and ``0.5`` are one answer), not by string; a tie goes to the answer seen first.
"""
from __future__ import annotations

from typing import Callable, Sequence

from filters.selection import pass_at_k


def ks_for(n: int) -> list[int]:
    """1, 2, 4, … up to n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]


def majority_correct(answers: Sequence[tuple[str | None, bool]], equivalent: Callable[[str, str], bool]) -> bool:
    """Whether the majority answer of ``(extracted answer, correct)`` pairs is a correct one."""
    clusters: list[list] = []  # [representative, votes, correct]
    for answer, correct in answers:
        if not answer:
            continue
        for cluster in clusters:
            if answer == cluster[0] or equivalent(cluster[0], answer):
                cluster[1] += 1
                break
        else:
            clusters.append([answer, 1, correct])
    if not clusters:
        return False
    best = max(clusters, key=lambda c: c[1])  # max keeps the first of equal counts
    return bool(best[2])


def accuracy(greedy: dict[str, bool], sampled: dict[str, list[tuple[str | None, bool]]],
             equivalent: Callable[[str, str], bool]) -> dict[str, float]:
    """Metrics over problems: ``greedy_pass@1``, ``pass@k`` and ``maj@k`` for k in ``ks_for(n)``."""
    out: dict[str, float] = {}
    if greedy:
        out["greedy_pass@1"] = sum(greedy.values()) / len(greedy)
    if sampled:
        n = min(len(v) for v in sampled.values())
        for k in ks_for(n):
            out[f"pass@{k}"] = sum(pass_at_k(len(v), sum(c for _, c in v), k) for v in sampled.values()) / len(sampled)
            out[f"maj@{k}"] = sum(majority_correct(v[:k], equivalent) for v in sampled.values()) / len(sampled)
    return {k: round(v, 4) for k, v in out.items()}
