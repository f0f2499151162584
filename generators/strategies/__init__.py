"""Generation strategies, one package: how a stage asks the teacher, from one pass of samples to a
search over steps. ``base``: ``Strategy``, ``PlanContext``, the ``STRATEGIES`` registry and the plain
strategies (independent, hinted, until_verified); ``tree``: search-tree nodes and node expansion;
``search``: ``TreeSearch``, beam and dvts; ``mcts``: Monte Carlo tree search; ``replay``: a search's
engine calls recorded and given back on a rerun. Each strategy registers where its class is defined;
this package imports its own modules once, so every built-in is known.

    strategy = get_strategy("beam", template="cot_zero_shot", beam_width=4, score=..., final=...)
    tree_strategies()   # ["beam", "dvts", "mcts"]
"""

from starmill.generators.strategies import mcts, search  # noqa: F401  (the tree searches register where defined)
from starmill.generators.strategies.base import (
    STRATEGIES,
    HintedRationalization,
    IndependentSamples,
    PlanContext,
    Strategy,
    UntilVerified,
    available,
    get_strategy,
    tree_strategies,
)
from starmill.generators.strategies.mcts import MonteCarloTreeSearch
from starmill.generators.strategies.search import BeamSearch, DiverseVerifierTreeSearch, TreeSearch

__all__ = [
    "STRATEGIES",
    "BeamSearch",
    "DiverseVerifierTreeSearch",
    "HintedRationalization",
    "IndependentSamples",
    "MonteCarloTreeSearch",
    "PlanContext",
    "Strategy",
    "TreeSearch",
    "UntilVerified",
    "available",
    "get_strategy",
    "tree_strategies",
]
