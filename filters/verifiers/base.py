"""The ``Verifier`` interface: one object that grades a model output for a problem and returns a
``Verdict`` carrying its own name and version, so stored verdicts say which verifier made them."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from starmill.filters.answers.verdict import Verdict


def gold_of(problem: Any) -> str | None:
    """The gold answer of a ``ProblemRecord`` or of a mapping with ``gold_answer`` (or ``gold``)."""
    if isinstance(problem, Mapping):
        return problem.get("gold_answer", problem.get("gold"))
    return getattr(problem, "gold_answer", None)


def label_gold(verifier: Any, label: Any) -> str:
    """What a self-consistency pseudo-label (the majority of the model's own answers) may give
    ``verifier`` as gold: the label, or "" for a verifier that takes none (``takes_pseudo_labels``
    false: its gold is code it runs, so a label would be tests the model wrote). Every place that puts
    a label where a gold answer goes asks this: grading, the audit and the RL rewards."""
    if not label or not getattr(verifier, "takes_pseudo_labels", True):
        return ""
    return str(label)


def metadata_of(problem: Any) -> dict:
    """The problem's metadata as a dict (``ProblemRecord.metadata`` is a JSON string)."""
    raw = problem.get("metadata") if isinstance(problem, Mapping) else getattr(problem, "metadata", None)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            return {}
    return dict(raw) if isinstance(raw, Mapping) else {}


class Verifier(ABC):
    """Grades outputs. Subclasses set ``name`` and ``version`` (bump it on any change that can alter a
    verdict) and implement ``verify``; ``verify_batch`` may be overridden to stream or parallelize."""

    name: ClassVar[str]
    version: ClassVar[str]
    # Whether a self-consistency pseudo-label (the majority of the model's own answers) may stand in for a
    # missing gold. Not for a verifier whose gold is code it runs: the model would write its own tests.
    takes_pseudo_labels: ClassVar[bool] = True

    @abstractmethod
    def verify(self, problem: Any, output: str) -> Verdict:
        """The verdict for one model ``output`` on ``problem`` (a ``ProblemRecord`` or a mapping)."""

    def verify_batch(self, items: Iterable[tuple[Any, str]]) -> Iterator[Verdict]:
        """Verdicts for (problem, output) pairs, in order."""
        for problem, output in items:
            yield self.verify(problem, output)

    def _verdict(
        self,
        verdict: str,
        rule: str,
        pred: str | None,
        gold: str | None,
        seconds: float,
        form: str | None = None,
        detail: str | None = None,
    ) -> Verdict:
        return Verdict(
            verdict,
            rule,
            pred,
            gold,
            seconds,
            checker=self.name,
            checker_version=self.version,
            form=form,
            detail=detail,
        )
