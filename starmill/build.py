"""The one place config becomes a run's parts: the generation strategies (a tree search with its
scorer), the scorers, the verifiers and the selection. ``starmill run`` (the loop), ``starmill eval``,
regrade and the config's own checks all build here; the config sections themselves stay plain data.

    rationale = rationale_strategy(cfg, gold=run.problems)   # independent, until_verified or a search
    scorers = build_scorers(cfg.scorers)                      # what every sample stores
    selection = run_selection(cfg)                            # filters, selector, k
"""

from __future__ import annotations

from typing import Any

from starmill.adapters.search import FinalAnswer, GoldReward, PathScore
from starmill.filters.scorers import get_scorer
from starmill.filters.verifiers import get_verifier
from starmill.generators.strategies import STRATEGIES, get_strategy, tree_strategies
from starmill.schemas.errors import StarmillError

# The LLM judge (starmill.adapters.judge) registers as a scorer and a verifier: the adapters package,
# imported above for the search's guides, imports its own modules once.


# --- generation strategies ------------------------------------------------------------------------


def sampling_params(sampling):
    """``sampling:`` as ``generators.base.SamplingParams`` (n and the seed are the strategy's to set)."""
    from starmill.generators.base import SamplingParams

    return SamplingParams(
        n=sampling.n,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        max_tokens=sampling.max_tokens,
        logprobs=sampling.logprobs,
    )


def rationale_strategy(cfg, gold: dict | None = None):
    """The rationale stage's strategy: an adaptive budget (``sampling.until_verified``), a tree search
    guided by ``sampling.search.scorer`` (MCTS may back up ``gold``'s answer check), or the plain one."""
    sampling, template = cfg.sampling, cfg.prompts.template
    if sampling.until_verified is not None:  # independent samples in rounds
        return get_strategy(
            "until_verified",
            template=template,
            n=sampling.n,
            target=sampling.until_verified,
            max_samples=sampling.max_samples,
        )
    if sampling.strategy in tree_strategies():
        return tree_strategy(
            sampling.strategy,
            sampling.search,
            template=template,
            scorer=build_scorer(*sampling.search.scorer.pair()),
            gold=gold,
        )
    return get_strategy(sampling.strategy, template=template, n=sampling.n)


def rationalization_strategy(cfg):
    """The rationalization stage's strategy: hinted attempts, stored with the plain training prompt."""
    return get_strategy(
        cfg.rationalization.strategy,
        template=cfg.prompts.rationalization_template,
        n=cfg.rationalization.attempts,
        training_template=cfg.prompts.template,
    )


def search_options(search, name: str) -> dict[str, Any]:
    """The settings of tree search ``name`` from a ``SearchConfig`` (the keys its class takes)."""
    return {key: getattr(search, key) for key in STRATEGIES.get(name).config_keys()}


def tree_strategy(name: str, search: Any, *, template: str, scorer: Any, gold: dict | None = None, **budgets: Any):
    """Tree search ``name`` (beam, dvts, mcts) from a ``SearchConfig`` and a built scorer; ``budgets``
    override the config's (eval sets them from N). ``gold`` (data generation only) lets MCTS back up the
    answer check with ``search.reward: score_and_answer``; eval builds its search with ``gold=None``."""
    reward = GoldReward(gold) if gold is not None and name == "mcts" and search.reward == "score_and_answer" else None
    return get_strategy(
        name,
        template=template,
        score=PathScore(scorer),
        final=FinalAnswer(),
        reward=reward,
        **{**search_options(search, name), **budgets},
    )


# --- scorers ---------------------------------------------------------------------------------------


def build_scorer(name: str, options: dict[str, Any] | None = None):
    """Scorer ``name`` with ``options`` (a bad one raises ``ScorerError``); the judge's too."""
    return get_scorer(name, options)


def build_scorers(specs) -> list:
    """The ``Scorer`` of each ``{name, options…}`` entry (``scorers:``)."""
    return [build_scorer(*s.pair()) for s in specs]


# --- verifiers -------------------------------------------------------------------------------------


def build_verifier(name: str, **options: Any):
    """Verifier ``name`` with ``options``, the judge's too (as ``filters.verifiers.get_verifier``)."""
    return get_verifier(name, **options)


def build_verifiers(source, workers: int = 1, timeout: float = 5.0) -> list[Any] | None:
    """The verifiers a run grades a source's problems with (its ``verifiers``; the first decides).
    ``None`` for the plain default (``[math]`` without a declared form): the checker's own fast path."""
    specs = source.verifier_specs()
    if (
        [name for name, _ in specs] == ["math"]
        and not specs[0][1]
        and source.answer_form is None
        and source.answer_form_field == "answer_form"
        and not _declares_forms(source)
    ):
        return None
    out = []
    for name, options in specs:
        if name == "math":
            options = {
                "form": source.answer_form,
                "form_field": source.answer_form_field,
                "workers": workers,
                "timeout": timeout,
                **options,
            }
        try:
            out.append(build_verifier(name, **options))
        except (ValueError, TypeError, StarmillError) as exc:
            raise StarmillError(f"source.verifiers: {name}: {exc}") from None
    return out


def verifiers_by_source(sources, workers: int = 1, timeout: float = 5.0) -> dict[str, list[Any] | None]:
    """Each source's verifiers by its name (the ``source`` every problem keeps), for a run over many."""
    from starmill.warehouse.sources.ingest import source_name

    return {source_name(s): build_verifiers(s, workers, timeout) for s in sources}


def _declares_forms(source) -> bool:
    """Problems of this source carry ``metadata.answer_form`` (reasoning-gym tasks with a form), which only
    the ``math`` verifier reads, not the plain checker's fast path."""
    if getattr(source, "reasoning_gym", None) is None:
        return False
    from starmill.warehouse.sources.gym import answer_forms

    return bool(answer_forms(source.reasoning_gym))


# --- selection -------------------------------------------------------------------------------------


def selection(section, context=None):
    """The ``filters.selection.Selection`` a ``selection:`` section describes."""
    from starmill.filters.quality import FilterContext
    from starmill.filters.selection import Selection

    name, options = section.selector.pair()
    if section.strategy != "reject":
        name, options = section.strategy, {"scorer": section.scorer} if "best_of_n" in section.strategy else {}
    band = section.difficulty.model_dump() if section.difficulty is not None else None
    return Selection.build(
        [f.pair() for f in section.filters], (name, {"k": section.k, **options}), context or FilterContext(), band
    )


def run_selection(cfg):
    """A run's selection, its hint_leak filter given the hint phrases of the rationalization template."""
    from starmill.filters.quality import FilterContext
    from starmill.generators.prompts import get_template

    hints = FilterContext(tuple(get_template(cfg.prompts.rationalization_template).hint_phrases()))
    return selection(cfg.selection, hints)
