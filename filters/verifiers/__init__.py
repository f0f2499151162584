"""Pluggable verifiers: one small object per way of grading an output, chosen by name.

    from starmill.filters.verifiers import get_verifier
    verifier = get_verifier("math")   # also "exact", "numeric", "regex", "reasoning_gym", "python", "code"
    verdict = verifier.verify(problem, output)            # verdict.checker == "math"

A verifier is a ``Verifier`` subclass with ``name``, ``version`` and ``verify(problem, output) -> Verdict``;
``@VERIFIERS.register`` makes it available by name. Wiring verifiers into the pipeline per source is separate.
"""

from starmill.filters.verifiers import code, external, math_answers, math_verify_check, simple  # noqa: F401  (register the built-ins)
from starmill.filters.verifiers.base import Verifier, gold_of, metadata_of
from starmill.filters.verifiers.registry import VERIFIERS, available, get_verifier, register

__all__ = ["VERIFIERS", "Verifier", "available", "get_verifier", "gold_of", "metadata_of", "register"]
