"""Monte Carlo tree search over steps (experimental).

Each of ``simulations`` rounds, for every problem of the shard at once: select a leaf from the root
by UCT (mean value + ``c_uct`` × exploration), expand it by sampling ``expansions`` steps (one engine
call), roll the best new child out to the end of the answer (one more call), and back the reward up
to the root. With progressive widening (``widening`` α > 0) selection also stops at a node whose
step children number fewer than ``expansions`` × visits^α and widens it by ``expansions`` more (new
seeds), so well-visited nodes get more alternatives instead of a fixed M. The reward of a finished
path is the path scorer's value, times the injected ``reward`` (a check against the gold answer) when
data generation gives one; eval never does. A path without a
final answer rewards 0. Every path rolled out or ended becomes a sample, best value first.
"""

from __future__ import annotations

import math

from starmill.generators.strategies.base import STRATEGIES
from starmill.generators.strategies.search import TreeSearch
from starmill.generators.strategies.tree import Expansion, Node, descendants


@STRATEGIES.register
class MonteCarloTreeSearch(TreeSearch):
    name = "mcts"
    budgets = ("simulations", "expansions", "max_depth")
    width = "simulations"
    takes = (*TreeSearch.takes, "c_uct", "widening")
    simulations = 8

    @classmethod
    def budgets_for(cls, n: int, expansions: int) -> dict[str, int]:
        """N simulations, one rollout each."""
        return {"simulations": n}

    def __init__(self, template: str, *, c_uct: float = 1.0, widening: float = 0.0, **options) -> None:
        super().__init__(template, **options)
        for name, value, top in (("c_uct", c_uct, math.inf), ("widening", widening, 1.0)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not 0 <= value <= top
            ):
                bound = "of at least 0" if top == math.inf else f"between 0 and {top:g}"
                raise ValueError(f"mcts: {name} must be a finite number {bound}, got {value!r}")
        self.c_uct, self.widening = float(c_uct), float(widening)

    def settings(self):
        widening = {"widening": self.widening} if self.widening else {}  # off: the keys runs always had
        return {**super().settings(), "c_uct": self.c_uct, **widening}

    def walk(self, requests, generate):
        roots = [Node.root(r) for r in requests]
        for _ in range(self.simulations):
            leaves = [self.select(root) for root in roots]
            open_ = [i for i, leaf in enumerate(leaves) if not leaf.terminal]
            jobs = [
                Expansion(requests[i], leaves[i], self.expansions, offset=len(self.steps(leaves[i]))) for i in open_
            ]
            grown = dict(zip(open_, self.grow(jobs, generate)))
            picks = []
            for i, leaf in enumerate(leaves):
                children = grown.get(i)
                if children is None:
                    picks.append(leaf)
                elif children:
                    picks.append(max(children, key=lambda c: c.score or 0.0))  # the first of equal scores
                else:
                    leaf.terminal = True  # refused: nothing to expand
                    picks.append(leaf)
            rolling = [i for i, pick in enumerate(picks) if not pick.terminal]
            rolled = dict(
                zip(rolling, self.grow([Expansion(requests[i], picks[i], 1, "rollout") for i in rolling], generate))
            )
            for i, pick in enumerate(picks):
                end = (rolled.get(i) or [pick])[0]
                end.terminal = True
                self.backup(end, self.reward_of(requests[i].problem_id, end))
        return [[root] for root in roots]

    def select(self, root: Node) -> Node:
        node = root
        while not node.terminal:
            steps = self.steps(node)
            if not steps or self.widens(node, len(steps)):
                return node
            node = max(steps, key=lambda c: c.uct(self.c_uct))  # the first of equal values
        return node

    @staticmethod
    def steps(node: Node) -> list[Node]:
        return [c for c in node.children if not c.rollout]

    def widens(self, node: Node, children: int) -> bool:
        """Progressive widening: a node with fewer step children than ``expansions × visits^α`` gets more."""
        return self.widening > 0 and children < self.expansions * max(node.visits, 1) ** self.widening

    def reward_of(self, problem_id: str, end: Node) -> float:
        if end.answer is None or end.depth == 0:
            return 0.0
        value = end.score if end.score is not None else 0.0
        return value * self.reward(problem_id, end.path) if self.reward is not None else value

    @staticmethod
    def backup(end: Node, reward: float) -> None:
        node: Node | None = end
        while node is not None:
            node.visits += 1
            node.value_sum += reward
            node = node.parent

    def chosen(self, roots):
        ends = [n for n in descendants(roots[0]) if n.terminal and n.visits]
        return sorted(ends, key=lambda n: -(n.value or 0.0))
