"""Accuracy of one model on held-out problems: greedy pass@1, unbiased pass@k, maj@k.

maj@k votes over the first k sampled answers, clustered by the answer checker's equivalence (``1/2``
and ``0.5`` are one answer), not by string; a tie goes to the answer seen first. ``STRATEGY@k``
(``--strategy``) is the accuracy of what a selection strategy chooses among the first k samples, by
the same functions the pipeline's selectors use (``filters.selection``). A tree search (beam, dvts,
mcts) is its own run with a budget of N paths: ``STRATEGY@N`` (``starmill.evaluation.search``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starmill.filters.selection import best_choice, majority_choice, pass_at_k, weighted_choice
from starmill.generators.strategies import tree_strategies


def ks_for(n: int) -> list[int]:
    """1, 2, 4, … up to n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]


def majority_correct(answers: Sequence[tuple[str | None, bool]], equivalent: Callable[[str, str], bool]) -> bool:
    """Whether the majority answer of ``(extracted answer, correct)`` pairs is a correct one."""
    winners = majority_choice([a for a, _ in answers], equivalent)
    return bool(winners) and bool(answers[winners[0]][1])


def strategy_correct(
    strategy: str, answers: Sequence[tuple[str | None, bool, float]], equivalent: Callable[[str, str], bool]
) -> bool:
    """Whether the answer ``strategy`` chooses among ``(extracted answer, correct, score)`` is correct:
    ``majority`` (largest cluster), ``best_of_n`` (highest score, first on ties) or
    ``weighted_best_of_n`` (cluster with the largest sum of scores)."""
    if strategy == "majority":
        return majority_correct([(a, c) for a, c, _ in answers], equivalent)
    if strategy == "best_of_n":
        best = best_choice([v for _, _, v in answers])
        return best is not None and bool(answers[best][1])
    if strategy == "weighted_best_of_n":
        winners = weighted_choice([a for a, _, _ in answers], [v for _, _, v in answers], equivalent)
        return bool(winners) and bool(answers[winners[0]][1])
    raise ValueError(f"unknown strategy {strategy!r} (a selection strategy: {', '.join(SELECTION_STRATEGIES)})")


SELECTION_STRATEGIES = ("majority", "best_of_n", "weighted_best_of_n")  # choose among the n samples
EVAL_STRATEGIES = (*SELECTION_STRATEGIES, *tree_strategies())  # the tree searches: starmill.evaluation.search


def accuracy(
    greedy: dict[str, bool],
    sampled: dict[str, list[tuple[str | None, bool]]],
    equivalent: Callable[[str, str], bool],
    scored: dict[str, dict[str, list[tuple[str | None, bool, float]]]] | None = None,
) -> dict[str, float]:
    """Metrics over problems: ``greedy_pass@1``, ``pass@k`` and ``maj@k`` for k in ``ks_for(n)``, and
    ``STRATEGY@k`` for each strategy of ``scored`` (strategy -> problem -> (answer, correct, score)),
    the accuracy of the answer it chooses among the first k samples: the means of ``per_problem``."""
    return {k: round(sum(v.values()) / len(v), 4) for k, v in per_problem(greedy, sampled, equivalent, scored).items()}


def per_problem(
    greedy: dict[str, bool],
    sampled: dict[str, list[tuple[str | None, bool]]],
    equivalent: Callable[[str, str], bool],
    scored: dict[str, dict[str, list[tuple[str | None, bool, float]]]] | None = None,
) -> dict[str, dict[str, float]]:
    """What ``accuracy`` averages, per problem: metric -> problem -> 0/1 (``pass@k``: the unbiased
    estimate, a fraction), for intervals over problems (bench/intervals.py)."""
    out: dict[str, dict[str, float]] = {}
    if greedy:
        out["greedy_pass@1"] = {p: float(c) for p, c in greedy.items()}
    if sampled:
        n = min(len(v) for v in sampled.values())
        for k in ks_for(n):
            out[f"pass@{k}"] = {p: pass_at_k(len(v), sum(c for _, c in v), k) for p, v in sampled.items()}
            out[f"maj@{k}"] = {p: float(majority_correct(v[:k], equivalent)) for p, v in sampled.items()}
            for strategy, rows in (scored or {}).items():
                out[f"{strategy}@{k}"] = {
                    p: float(strategy_correct(strategy, v[:k], equivalent)) for p, v in rows.items()
                }
    return out
