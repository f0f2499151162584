"""Tree search against a verifier: step-level beam search and diverse verifier tree search (DVTS),
guided by an injected path scorer (generators never import filters).

    strategy = get_strategy("beam", template="cot_zero_shot", beam_width=4, expansions=4, max_depth=8,
                            score=lambda prompts, texts: [1.0] * len(texts), final=lambda text: None)
    samples, nodes = strategy.search(requests, generate, info)   # nodes: TreeRecord rows

A step is what the teacher writes up to ``delimiter`` (the stop string). Every depth level of every
problem of a shard is one engine call. ``beam``: the root is expanded ``beam_width × expansions``
times, then the best ``beam_width`` unfinished paths by score are each expanded ``expansions`` times,
until ``beam_width`` paths are finished or ``max_depth`` (beams are distinct paths: a copy of a kept
one is pruned); the finished paths, best first, become the samples (the best unfinished one when
none finished). ``dvts``: ``subtrees`` independent searches, each
keeping its one best child of ``expansions`` per level; each subtree's path becomes a sample. The
budget N (paths) is ``beam_width × expansions`` for beam and ``subtrees × expansions`` for dvts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from starmill.generators.base import Completion, EngineInfo
from starmill.generators.sampling import Generate, PlannedRequest, to_sample
from starmill.generators.strategies.base import STRATEGIES, PlanContext, Strategy
from starmill.generators.strategies.tree import Expansion, Final, Node, Score, descendants, expand
from starmill.schemas import ProblemRecord, SampleRecord, content_hash
from starmill.schemas.samples import Stage
from starmill.schemas.tree import TreeRecord


class TreeSearch(Strategy):
    """A search over steps; subclasses set ``name`` and implement ``walk``. ``score`` and ``final`` are
    injected by the pipeline or eval (a scorer, the answer extractor); ``reward`` (a gold-answer check)
    only by data generation, never by eval."""

    stage = Stage.RATIONALE
    tree: ClassVar[bool] = True  # generate_shard replays its engine calls and records its nodes
    budgets: ClassVar[tuple[str, ...]] = ("expansions", "max_depth")
    width: ClassVar[str]  # the budget that sets how many paths it returns (eval's -n sets it)
    takes: ClassVar[tuple[str, ...]] = ("delimiter", "step_tokens")  # the settings it takes besides its budgets

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The ``sampling.search`` keys this search is built from."""
        return (*cls.budgets, *cls.takes)

    @classmethod
    def budgets_for(cls, n: int, expansions: int) -> dict[str, int]:
        """The budgets of a search of N paths (at least 1 each): ``width × expansions ≈ N``."""
        m = max(1, min(expansions, n))
        return {cls.width: max(1, n // m), "expansions": m}

    def __init__(
        self,
        template: str,
        *,
        n: int = 1,
        training_template: str | None = None,
        expansions: int = 4,
        max_depth: int = 8,
        delimiter: str = "\n",
        step_tokens: int | None = None,
        score: Score | None = None,
        final: Final | None = None,
        reward: Callable[[str, str], float] | None = None,
        **budgets: Any,
    ) -> None:
        super().__init__(template, n=n, training_template=training_template)
        self.expansions, self.max_depth, self.step_tokens = expansions, max_depth, step_tokens
        for key, value in budgets.items():
            if key not in self.budgets:
                raise TypeError(f"unexpected option {key!r}")
            setattr(self, key, value)
        for key in self.budgets:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{self.name}: {key} must be a whole number of at least 1, got {value!r}")
        if step_tokens is not None and (not isinstance(step_tokens, int) or step_tokens < 1):
            raise ValueError(f"{self.name}: step_tokens must be at least 1, got {step_tokens!r}")
        if not isinstance(delimiter, str) or not delimiter:
            raise ValueError(f"{self.name}: the step delimiter must be a non-empty string")
        self.delimiter, self.score, self.final, self.reward = delimiter, score, final, reward

    def settings(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.budgets} | {
            "delimiter": self.delimiter,
            "step_tokens": self.step_tokens,
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.settings()}

    def plan(self, problems: Sequence[ProblemRecord], context: PlanContext) -> list[PlannedRequest]:
        """As ``independent``, keyed by the search settings and what guides it too (another search is
        other samples)."""
        guide = {"scorer": getattr(self.score, "identity", None), "reward": getattr(self.reward, "identity", None)}
        return [
            replace(r, key=content_hash("search", r.key, self.name, self.settings(), guide))
            for r in super().plan(problems, context)
        ]

    def run(
        self, requests: Sequence[PlannedRequest], generate: Generate, info: Callable[[], EngineInfo]
    ) -> list[SampleRecord]:
        return self.search(requests, generate, info)[0]

    def for_shard(self, requests: Sequence[PlannedRequest]) -> TreeSearch:
        """This search for one shard: a reward holding per-problem data (the gold answers) keeps only
        the shard's problems', so what travels to a worker does not grow with the run."""
        narrowed = getattr(self.reward, "narrowed", None)
        if narrowed is None:
            return self
        shard = copy.copy(self)
        shard.reward = narrowed({r.problem_id for r in requests})
        return shard

    def search(
        self, requests: Sequence[PlannedRequest], generate: Generate, info: Callable[[], EngineInfo]
    ) -> tuple[list[SampleRecord], list[TreeRecord]]:
        """The selected paths as samples (ungraded) and every node as a tree row."""
        if self.score is None or self.final is None:
            raise ValueError(f"{self.name}: a tree search needs a path scorer and an answer extractor")
        roots = self.walk(list(requests), generate)
        samples: list[SampleRecord] = []
        nodes: list[TreeRecord] = []
        for request, trees in zip(requests, roots):
            for index, leaf in enumerate(self.chosen(trees)):
                samples.append(self._sample(request, index, leaf, info))
            nodes += [n.record(request, self.name) for root in trees for n in descendants(root)]
        return samples, nodes

    def walk(self, requests: list[PlannedRequest], generate: Generate) -> list[list[Node]]:
        """Search every request; each one's roots (one, or one per subtree)."""
        raise NotImplementedError

    def chosen(self, roots: list[Node]) -> list[Node]:
        """The leaves whose paths become samples, best first."""
        raise NotImplementedError

    def grow(self, jobs: list[Expansion], generate: Generate) -> list[list[Node]]:
        if not jobs:
            return []
        step = self.step_tokens or jobs[0].request.sampling.max_tokens
        return expand(
            jobs,
            generate,
            delimiter=self.delimiter,
            step_tokens=step,
            rollout_tokens=jobs[0].request.sampling.max_tokens,
            final=self.final,
            score=self.score,
            max_depth=self.max_depth,
        )

    def _sample(self, request: PlannedRequest, index: int, leaf: Node, info) -> SampleRecord:
        leaf.selected = True
        leaf.sample_id = content_hash("sample", request.key, leaf.node_id)
        finish = "stop" if leaf.answer is not None or leaf.finish_reason == "stop" else "length"  # else: unfinished
        completion = Completion(leaf.path, finish, leaf.prompt_length(), leaf.path_tokens())
        return replace(to_sample(request, index, completion, info()), sample_id=leaf.sample_id)


def best(nodes: Sequence[Node]) -> list[Node]:
    """By score, highest first (stable: the first of equal scores first)."""
    return sorted(nodes, key=lambda n: -(n.score if n.score is not None else float("-inf")))


def distinct(nodes: Sequence[Node]) -> list[Node]:
    """The first node of each path text: two beams on one path would spend the budget twice."""
    seen: set[str] = set()
    return [n for n in nodes if not (n.path in seen or seen.add(n.path))]


@STRATEGIES.register
class BeamSearch(TreeSearch):
    """Step-level beam search: keep the ``beam_width`` best partial paths, expand each ``expansions`` times."""

    name = "beam"
    budgets = ("beam_width", "expansions", "max_depth")
    width = "beam_width"
    beam_width = 4

    def walk(self, requests, generate):
        roots = [Node.root(r) for r in requests]
        beams: list[list[Node]] = [[root] for root in roots]
        finished: list[list[Node]] = [[] for _ in requests]
        for _ in range(self.max_depth):
            jobs, owners = [], []
            for i, request in enumerate(requests):
                if len(finished[i]) >= self.beam_width:
                    continue
                for node in beams[i]:
                    count = self.beam_width * self.expansions if node.depth == 0 else self.expansions
                    jobs.append(Expansion(request, node, count))
                    owners.append(i)
            if not jobs:
                break
            grown: list[list[Node]] = [[] for _ in requests]
            for i, children in zip(owners, self.grow(jobs, generate)):
                grown[i] += children
            for i, children in enumerate(grown):
                finished[i] += [c for c in children if c.terminal]
                beams[i] = distinct(best([c for c in children if not c.terminal]))[: self.beam_width]
        return [[root] for root in roots]

    def chosen(self, roots):
        """Every finished path is in the tree as a terminal node (pruned beams were never expanded)."""
        nodes = descendants(roots[0])
        done = [n for n in nodes if n.terminal]
        if done:
            return best(done)[: self.beam_width]
        deepest = max((n.depth for n in nodes), default=0)
        return best([n for n in nodes if n.depth == deepest])[:1]


@STRATEGIES.register
class DiverseVerifierTreeSearch(TreeSearch):
    """DVTS: ``subtrees`` independent greedy searches, each keeping its best of ``expansions`` children."""

    name = "dvts"
    budgets = ("subtrees", "expansions", "max_depth")
    width = "subtrees"
    subtrees = 4

    def walk(self, requests, generate):
        roots = [[Node.root(r, t) for t in range(self.subtrees)] for r in requests]
        heads = [(request, root) for request, trees in zip(requests, roots) for root in trees]
        for _ in range(self.max_depth):
            live = [(r, node) for r, node in heads if not node.terminal]
            if not live:
                break
            grown = self.grow([Expansion(r, node, self.expansions) for r, node in live], generate)
            ends = {id(node): (best(children)[0] if children else None) for (_, node), children in zip(live, grown)}
            heads = [(r, ends.get(id(node), node) or _ended(node)) for r, node in heads]
        return roots

    def chosen(self, roots):
        leaves = []
        for root in roots:
            node = root
            while node.children:  # the kept child is the best one
                node = best(node.children)[0]
            if node.depth:
                leaves.append(node)
        return leaves


def _ended(node: Node) -> Node:
    """A node whose expansion gave nothing (refused): its path ends there."""
    node.terminal = True
    return node
