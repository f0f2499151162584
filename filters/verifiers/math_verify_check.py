"""``math-verify``: Hugging Face's math-verify (``parse``/``verify``, in the dev extra) as a second opinion,
for audits. It runs in a child Python (``child``, the pairs as JSON on stdin), each check under
math-verify's own time limit and the batch under a wall-clock limit, so a parse that hangs or eats
memory costs a timeout, not the caller."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from starmill.filters.verifiers.base import Verifier, gold_of
from starmill.filters.verifiers.registry import VERIFIERS

DEFAULT_TIMEOUT = 5  # seconds per check (math-verify's parsing and verify timeouts)
CHILD = "from starmill.filters.verifiers.math_verify_check import child; child()"
START = 30  # seconds the child may take to start and import math-verify (sympy)


def _version() -> str:
    import importlib.metadata as md

    try:
        return md.version("math-verify")
    except md.PackageNotFoundError:
        return "missing"


def _check_all(pairs: list[tuple[str, str]], timeout: int) -> list[tuple[str, str | None]]:
    """In the child: (verdict, pred) per (gold, output); a bare gold is read as LaTeX in dollars."""
    from math_verify import parse, verify

    out = []
    for gold, output in pairs:
        try:
            golds = parse(gold if "$" in gold or "\\boxed" in gold else f"${gold}$", parsing_timeout=timeout)
            preds = parse(output, parsing_timeout=timeout)
            if not golds:
                out.append(("unparseable_gold", None))
            elif not preds:
                out.append(("unparseable_pred", None))
            else:
                ok = verify(golds, preds, timeout_seconds=timeout)
                out.append(("correct" if ok else "wrong", str(preds[-1])))
        except Exception as exc:  # math-verify's own errors (its timeout included) are a verdict, not a crash
            out.append(("error", type(exc).__name__))
    return out


@VERIFIERS.register
class MathVerifyVerifier(Verifier):
    name = "math-verify"
    version = "unknown"  # the installed math-verify's, set when built

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT):
        try:
            import math_verify  # noqa: F401
        except ImportError:
            raise ValueError("math-verify is not installed: pip install 'starmill[dev]' (or math-verify)") from None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
            raise ValueError("timeout must be in (0, 3600] seconds")
        self.timeout = max(1, int(timeout))
        self.version = _version()

    def verify(self, problem: Any, output: str):
        return next(self.verify_batch([(problem, output)]))

    def verify_batch(self, items: Iterable[tuple[Any, str]]) -> Iterator:
        pairs = [(str(gold_of(p) or ""), output) for p, output in items]
        if not pairs:
            return
        started = time.perf_counter()
        limit = START + 3 * self.timeout * len(pairs)  # parse + verify per pair (the gold's, the output's, both)
        try:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(self.timeout)],
                input=json.dumps(pairs),
                capture_output=True,
                text=True,
                timeout=limit,
            )
            results = [tuple(r) for r in json.loads(done.stdout)] if done.returncode == 0 else []
            if len(results) != len(pairs):
                results = [("error", "child_failed")] * len(pairs)
        except subprocess.TimeoutExpired:  # killed at the limit
            results = [("timeout", None)] * len(pairs)
        except ValueError:
            results = [("error", "child_failed")] * len(pairs)
        seconds = (time.perf_counter() - started) / max(len(pairs), 1)
        for (gold, _), (verdict, pred) in zip(pairs, results):
            rule = "math_verify" if verdict in ("correct", "wrong") else verdict
            if verdict == "error":  # pred holds what went wrong
                rule, pred = pred, None
            yield self._verdict(verdict, rule, pred, gold, seconds)


def child() -> None:
    """The child: (gold, output) pairs on stdin, (verdict, pred) pairs on stdout."""
    sys.stdout.write(json.dumps(_check_all(json.loads(sys.stdin.read()), int(sys.argv[1]))))
