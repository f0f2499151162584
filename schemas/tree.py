"""The ``tree`` table: every node a tree search (beam, dvts, mcts) expanded, one row each.

The root (the prompt, no text yet) is not a row: a node at depth 1 has no parent. ``selected`` marks
the nodes whose full path the search returned as a sample (``sample_id``); whether the selection then
kept that sample is the sample's own ``kept``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from starmill.schemas.base import Record


@dataclass(frozen=True, slots=True)
class TreeRecord(Record):
    problem_id: str
    stage: str
    iteration: int
    strategy: str  # beam | dvts | mcts
    search_key: str  # the planned request the search ran for (one tree per problem and stage)
    node_id: str
    parent_id: str | None  # None at depth 1 (the root is not a row)
    depth: int  # steps from the root, from 1
    subtree: int  # dvts: which independent subtree; 0 otherwise
    step: str  # the text this node adds to its parent's path, with the delimiter it ended on: steps joined are the path
    score: float | None  # the scorer's value of the path up to here
    visits: int  # mcts: simulations through this node; 0 otherwise
    value: float | None  # mcts: mean backed-up reward; None otherwise
    terminal: bool  # a final answer, the end of the output, or the depth limit
    rollout: bool  # mcts: a rollout to the end, not an expanded step
    finish_reason: str
    completion_tokens: int  # tokens generated for this node's step
    answer: str | None  # the final answer the search saw in the path, if any
    selected: bool
    sample_id: str | None

    TABLE: ClassVar[str] = "tree"
    SCHEMA_VERSION: ClassVar[int] = 1
    ARROW_SCHEMA: ClassVar[pa.Schema] = pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("stage", pa.string(), nullable=False),
            pa.field("iteration", pa.int32(), nullable=False),
            pa.field("strategy", pa.string(), nullable=False),
            pa.field("search_key", pa.string(), nullable=False),
            pa.field("node_id", pa.string(), nullable=False),
            pa.field("parent_id", pa.string()),
            pa.field("depth", pa.int32(), nullable=False),
            pa.field("subtree", pa.int32(), nullable=False),
            pa.field("step", pa.string(), nullable=False),
            pa.field("score", pa.float64()),
            pa.field("visits", pa.int32(), nullable=False),
            pa.field("value", pa.float64()),
            pa.field("terminal", pa.bool_(), nullable=False),
            pa.field("rollout", pa.bool_(), nullable=False),
            pa.field("finish_reason", pa.string(), nullable=False),
            pa.field("completion_tokens", pa.int32(), nullable=False),
            pa.field("answer", pa.string()),
            pa.field("selected", pa.bool_(), nullable=False),
            pa.field("sample_id", pa.string()),
        ]
    )
