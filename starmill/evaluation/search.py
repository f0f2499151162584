"""Tree search in eval (``starmill eval --strategy beam|dvts|mcts -n N``): N is the budget in paths,
as search-and-learn compares strategies: beam ``beam_width × expansions ≈ N``, dvts
``subtrees × expansions ≈ N``, mcts N simulations (one rollout each). The search is guided by the
scorer alone: it is planned from problems without their gold answer and gets no gold reward. Its
answer is the weighted vote of the paths it returned (scores summed over equivalent answers; MCTS
by the backed-up value); ``STRATEGY@N`` is the share of problems where that answer is right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from starmill.generators.strategies import STRATEGIES, tree_strategies
from starmill.schemas import EvalRecord, ProblemRecord
from starmill.schemas.errors import StarmillError

SHARD = 64  # problems per search (each depth level is one engine call for all of them)
SET_BY_N = tuple(STRATEGIES.get(name).width for name in tree_strategies())  # budgets -n sets


class SearchSettingsError(StarmillError):
    """A tree search asked for with bad settings (-n 0, an unknown or out-of-range --search)."""


def budgets(name: str, n: int, expansions: int) -> dict[str, int]:
    """The search's budgets for N paths (at least 1 each), as its class states them."""
    return STRATEGIES.get(name).budgets_for(n, expansions)


def search_settings(pairs: Sequence[str]) -> dict[str, Any]:
    """``--search KEY=VALUE`` pairs (values read as YAML scalars), checked; a bad one is a SearchSettingsError."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SearchSettingsError(f"--search {pair!r}: use KEY=VALUE")
        if key.strip() in SET_BY_N:
            raise SearchSettingsError(f"--search {key.strip()}: set by -n (the budget N)")
        try:
            out[key.strip()] = raw.replace("\\n", "\n") if key.strip() == "delimiter" else yaml.safe_load(raw)
        except yaml.YAMLError:
            raise SearchSettingsError(f"--search {pair!r}: not a value") from None
    _config(out)
    return out


def _config(search: dict[str, Any]):
    from starmill.config import ConfigError, parse_config

    try:
        return parse_config({"sampling": {"search": search}}, "--search").sampling.search
    except ConfigError as exc:
        raise SearchSettingsError(str(exc).replace("sampling.search.", "")) from None


def search_strategy(name: str, n: int, scorer: Any, template: str, search: dict[str, Any] | None = None):
    """The eval's search: no gold anywhere (``gold=None``: MCTS backs up the scorer's value only)."""
    from starmill.build import tree_strategy

    if n < 1:
        raise SearchSettingsError(f"--strategy {name} searches with a budget of -n paths: give -n 1 or more")
    config = _config(search or {})
    return tree_strategy(
        name, config, template=template, scorer=scorer, gold=None, **budgets(name, n, config.expansions)
    )


def run_search(
    name: str,
    backend,
    model_id: str,
    revision,
    problems: Sequence[ProblemRecord],
    settings,
    scorer: Any,
    equivalent: Callable[[str, str], bool],
    tree: list | None = None,
    outcomes: dict[str, float] | None = None,
) -> tuple[list[EvalRecord], float, dict[str, int]]:
    """Rows of every returned path (mode ``name``), the accuracy of the search's answer, and the
    tokens it generated and nodes it expanded; every node goes to ``tree`` (``TreeRecord`` rows) when given,
    and whether each problem's answer is right (problem -> 0/1) to ``outcomes`` when given."""
    from tqdm.auto import tqdm

    from starmill.filters.grading import grade
    from starmill.filters.selection import weighted_choice
    from starmill.generators.base import SamplingParams
    from starmill.generators.sampling import plan_shards
    from starmill.generators.strategies import PlanContext

    strategy = search_strategy(name, settings.n, scorer, settings.template, getattr(settings, "search", None))
    blind = [replace(p, gold_answer="", gold_solution=None) for p in problems]  # the search never sees gold
    params = SamplingParams(temperature=settings.temperature, max_tokens=settings.max_tokens)
    requests = strategy.plan(blind, PlanContext(0, params, settings.seed, model_id, revision))
    by_id = {p.problem_id: p for p in problems}
    rows, right, used = [], 0, {"tokens": 0, "nodes": 0}
    for shard in tqdm(plan_shards(requests, SHARD), desc=f"eval {name}@{settings.n}", unit="shard"):
        samples, nodes = strategy.search(shard.requests, backend.generate, backend.info)
        used["tokens"] += sum(n.completion_tokens for n in nodes)
        used["nodes"] += len(nodes)
        if tree is not None:
            tree += nodes
        weight = {n.sample_id: (n.value if name == "mcts" else n.score) or 0.0 for n in nodes if n.selected}
        graded = grade(samples, by_id, workers=settings.workers, progress=False)
        per: dict[str, list] = {}
        for s in graded:
            per.setdefault(s.problem_id, []).append(s)
            rows.append(
                EvalRecord.of_sample(
                    s,
                    mode=name,
                    model=model_id,
                    revision=revision,
                    gold_answer=by_id[s.problem_id].gold_answer,
                    temperature=settings.temperature,
                )
            )
        for problem_id, paths in per.items():
            winners = weighted_choice(
                [s.extracted_answer for s in paths], [weight[s.sample_id] for s in paths], equivalent
            )
            ok = bool(winners) and bool(paths[winners[0]].correct)
            right += ok
            if outcomes is not None:
                outcomes[problem_id] = float(ok)
    return rows, round(right / max(len(problems), 1), 4), used
