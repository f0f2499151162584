"""Search-tree nodes and the one way a tree search asks the engine: expand nodes by sampling steps.

A node is a step of a partial answer; its ``path`` is the whole answer so far (the request's
``prefix`` when it is expanded). Node ids derive from the parent's id and the child's index, and
request ids and seeds from the node, so a search given the same replies walks the same tree: what
lets a killed search replay its finished expansions (``replay``) and go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from starmill.generators.base import Completion, GenerationRequest, Message
from starmill.generators.sampling import Generate, PlannedRequest, skip_refused
from starmill.schemas import content_hash
from starmill.schemas.tree import TreeRecord

Score = Callable[[Sequence[Sequence[Message]], Sequence[str]], list[float]]  # (prompts, path texts) -> values
Final = Callable[[str], "str | None"]  # path text -> its final answer, None while it has none


@dataclass(eq=False)
class Node:
    node_id: str
    parent: Node | None
    depth: int
    step: str = ""
    path: str = ""  # the parent's path + step (+ the delimiter when the step ended on it)
    subtree: int = 0
    score: float | None = None
    visits: int = 0
    value_sum: float = 0.0
    terminal: bool = False
    rollout: bool = False
    finish_reason: str = "stop"
    tokens: int = 0
    prompt_tokens: int = 0  # of the prompt and prefix this step continued
    answer: str | None = None
    selected: bool = False
    sample_id: str | None = None
    children: list[Node] = field(default_factory=list)

    @classmethod
    def root(cls, request: PlannedRequest, subtree: int = 0) -> Node:
        return cls(content_hash("root", request.key, subtree)[:16], None, 0, subtree=subtree)

    def child(self, index: int, kind: str = "step") -> Node:
        node = Node(content_hash("node", self.node_id, kind, index)[:16], self, self.depth + 1, subtree=self.subtree)
        self.children.append(node)
        return node

    @property
    def value(self) -> float | None:
        return self.value_sum / self.visits if self.visits else None

    def prompt_length(self) -> int:
        """Tokens of the prompt alone: what the first step of this path continued."""
        node = self
        while node.parent is not None and node.parent.depth > 0:
            node = node.parent
        return node.prompt_tokens

    def path_tokens(self) -> int:
        node, total = self, 0
        while node is not None:
            total, node = total + node.tokens, node.parent
        return total

    def uct(self, c: float) -> float:
        """Mean value plus the exploration bonus; an unvisited node first."""
        if not self.visits or self.parent is None:
            return math.inf
        return self.value_sum / self.visits + c * math.sqrt(math.log(max(self.parent.visits, 1)) / self.visits)

    def added(self) -> str:
        """What this node adds to its parent's path: the step and the delimiter it ended on, so the
        steps of a node's ancestors, joined with nothing, are its path."""
        return self.path[len(self.parent.path) :] if self.parent is not None else self.path

    def record(self, request: PlannedRequest, strategy: str) -> TreeRecord:
        return TreeRecord(
            problem_id=request.problem_id,
            stage=request.stage.value,
            iteration=request.iteration,
            strategy=strategy,
            search_key=request.key,
            node_id=self.node_id,
            parent_id=self.parent.node_id if self.parent is not None and self.parent.depth > 0 else None,
            depth=self.depth,
            subtree=self.subtree,
            step=self.added(),
            score=self.score,
            visits=self.visits,
            value=self.value if strategy == "mcts" else None,
            terminal=self.terminal,
            rollout=self.rollout,
            finish_reason=self.finish_reason,
            completion_tokens=self.tokens,
            answer=self.answer,
            selected=self.selected,
            sample_id=self.sample_id,
        )


def descendants(root: Node) -> list[Node]:
    """Every node below ``root`` (not itself), parents before children."""
    out, stack = [], list(reversed(root.children))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


@dataclass(frozen=True)
class Expansion:
    """Ask ``count`` continuations of ``node``'s path for ``request``: one step each (``stop`` set) or
    to the end (a rollout, ``stop`` empty)."""

    request: PlannedRequest
    node: Node
    count: int
    kind: str = "step"  # step | rollout
    offset: int = 0  # children the node already has of this kind (a widened node): new ids and seeds

    def generation(self, delimiter: str, max_tokens: int) -> GenerationRequest:
        again = (self.offset,) if self.offset else ()  # a first expansion keeps the ids it always had
        seed = int(content_hash("expand", self.request.key, self.node.node_id, self.kind, *again)[:8], 16) % (2**31 - 1)
        stop = (delimiter,) if self.kind == "step" else ()
        sampling = replace(self.request.sampling, n=self.count, stop=stop, max_tokens=max_tokens, seed=seed)
        return GenerationRequest(
            request_id=content_hash(self.request.key, self.node.node_id, self.kind, self.count, *again),
            messages=list(self.request.messages),
            sampling=sampling,
            prefix=self.node.path or None,
        )


def expand(
    jobs: Sequence[Expansion],
    generate: Generate,
    *,
    delimiter: str,
    step_tokens: int,
    rollout_tokens: int,
    final: Final,
    score: Score,
    max_depth: int,
) -> list[list[Node]]:
    """One engine call for every job (the requests the engine refuses are left out and their nodes
    end there); the new children of each job, scored, terminal at a final answer, at the end of the
    output or at ``max_depth``."""
    requests = [j.generation(delimiter, step_tokens if j.kind == "step" else rollout_tokens) for j in jobs]
    by_id, refused = skip_refused(generate, requests)
    for job, request in zip(jobs, requests):
        if request.request_id in refused:  # the engine refused this node's prompt: its path ends there
            job.node.terminal, job.node.finish_reason = True, refused[request.request_id].reason
    out = []
    for job, request in zip(jobs, requests):
        result = by_id.get(request.request_id)
        completions = result.completions if result is not None else []
        out.append([_grow(job, index, c, delimiter, final, max_depth) for index, c in enumerate(completions)])
    grown = [(job, node) for job, children in zip(jobs, out) for node in children]
    if grown:  # one scorer call for the whole level (a reward model batches)
        values = score([job.request.messages for job, _ in grown], [node.path for _, node in grown])
        for (_, node), value in zip(grown, values):
            node.score = float(value)
    return out


def _grow(job: Expansion, index: int, c: Completion, delimiter: str, final: Final, max_depth: int) -> Node:
    node = job.node.child(job.offset + index, job.kind)
    node.step, node.tokens, node.finish_reason, node.rollout = (
        c.text,
        c.completion_tokens,
        c.finish_reason,
        job.kind == "rollout",
    )
    node.prompt_tokens = c.prompt_tokens
    node.answer = final(job.node.path + c.text)
    # the stop string is not in the text: a step that ended on it (no answer yet) gets it back
    ended = node.answer is not None or c.finish_reason != "stop" or not c.text.strip() or node.rollout
    node.path = job.node.path + c.text + ("" if ended else delimiter)
    node.terminal = ended or node.depth >= max_depth
    if node.terminal and not ended:
        node.finish_reason = "length"  # the depth limit: an unfinished path, dropped as truncated
    return node
