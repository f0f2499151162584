"""The ``code`` verifier: the program in a model's output runs against the problem's test spec
(``schemas.code``) in a fresh sandbox, and is correct only when the trusted harness replies with the
run's secret and every test passed.

The gold is the spec: ``metadata["tests"]`` when present, else ``gold_answer`` (a JSON object or its text).
Verdicts and their rules:

- ``correct`` (``passed``); ``wrong``: ``wrong_answer``, ``runtime_error``, ``exit`` (SystemExit in a test),
  ``missing_entry``, ``not_plain_return``, ``tampered``, ``no_result`` (no secret: the program ended the
  run), ``output_limit``;
- ``unparseable_pred``: ``no_code``, ``syntax_error``, ``too_long``; ``unparseable_gold``: ``bad_spec``;
- ``timeout``: ``timeout``, ``memory``; ``error``: ``isolation`` (the sandbox could not start).

``detail`` is JSON: the per-test statuses, passed, total and pass_rate.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from starmill.filters.code import extract_program, run_tests
from starmill.filters.code.runner import limits_for
from starmill.filters.isolation import IsolationError, require
from starmill.filters.verifiers.base import Verifier, gold_of, metadata_of
from starmill.filters.verifiers.registry import VERIFIERS

if TYPE_CHECKING:
    from starmill.schemas.code import CodeSpec

log = logging.getLogger(__name__)
# A test's status from the harness -> (verdict, rule); the first test that did not pass decides.
FAILURES = {
    "fail": ("wrong", "wrong_answer"),
    "error": ("wrong", "runtime_error"),
    "load_error": ("wrong", "runtime_error"),
    "exit": ("wrong", "exit"),
    "missing_entry": ("wrong", "missing_entry"),
    "not_plain": ("wrong", "not_plain_return"),
    "tampered": ("wrong", "tampered"),
    "memory": ("timeout", "memory"),
    "syntax_error": ("unparseable_pred", "syntax_error"),
    "harness_error": ("error", "harness_error"),
}
RUN_FAILURES = {
    "timeout": ("timeout", "timeout"),
    "output_limit": ("wrong", "output_limit"),
    "no_result": ("wrong", "no_result"),
    "tampered": ("wrong", "tampered"),
}
MAX_LISTED = 200  # per-test statuses kept in a verdict's detail


def code_gold(problem: Any) -> Any:
    """The test spec of ``problem``: ``metadata["tests"]``, else its gold answer."""
    tests = metadata_of(problem).get("tests")
    return tests if tests is not None else gold_of(problem)


@VERIFIERS.register
class CodeVerifier(Verifier):
    """Runs the output's program against the problem's tests (``time_limit`` per test, ``memory_mb`` for the
    run: each overrides the spec's; ``workers`` programs at once in ``verify_batch``). Programs import from
    the standard library only; ``site_packages: true`` opens the environment's packages too (numpy, …),
    whose native code could read the harness's secret: a weaker guarantee, stated in the version."""

    name = "code"
    version = "1"
    takes_pseudo_labels = False  # the gold is test code the harness runs: only the problem's own, never the model's

    def __init__(
        self,
        *,
        isolation: str = "bwrap",
        time_limit: float | None = None,
        memory_mb: int | None = None,
        workers: int = 1,
        site_packages: bool = False,
    ):
        if time_limit is not None and (
            isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not 0 < time_limit <= 600
        ):
            raise ValueError("code verifier: time_limit must be seconds in (0, 600]")
        if memory_mb is not None and (isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb < 64):
            raise ValueError("code verifier: memory_mb must be an integer of at least 64")
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
            raise ValueError("code verifier: workers must be an integer from 1 to 64")
        require(isolation)  # no sandbox here: one clear error before any generation
        if not isinstance(site_packages, bool):
            raise ValueError("code verifier: site_packages must be true or false")
        self.isolation, self.time_limit, self.memory_mb, self.workers = isolation, time_limit, memory_mb, workers
        self.site_packages = site_packages
        if site_packages:
            log.warning(
                "verifier code lets programs import the environment's packages (site_packages: true): native "
                "extensions can read the harness's memory, so a program could forge a pass"
            )
            self.version = f"{self.version}+site-packages"
        if isolation == "none":
            log.warning("verifier code runs model-written programs WITHOUT isolation (isolation: none)")
            self.version = f"{self.version}+unisolated"

    def verify(self, problem: Any, output: str) -> Any:
        from starmill.schemas.code import (
            parse_code_spec,  # here: filters.verifiers also loads in sandboxes without schemas
        )

        started = time.perf_counter()
        raw = code_gold(problem)
        spec = parse_code_spec(raw)
        gold = raw if isinstance(raw, str) or raw is None else json.dumps(raw, ensure_ascii=False)
        if isinstance(spec, str):
            return self._verdict("unparseable_gold", "bad_spec", None, gold, time.perf_counter() - started, detail=spec)
        extracted = extract_program(output or "", prompt=spec.prompt, entry_point=spec.entry_point)
        if extracted.program is None:
            return self._verdict("unparseable_pred", extracted.rule, None, gold, time.perf_counter() - started)
        return self.grade(spec, extracted.program, gold, started)

    def grade(self, spec: CodeSpec, program: str, gold: str | None = None, started: float | None = None):
        """The verdict for a whole ``program`` (already extracted) against ``spec``."""
        started = time.perf_counter() if started is None else started
        try:
            run = run_tests(
                spec,
                program,
                isolation=self.isolation,
                limits=limits_for(spec, self.time_limit, self.memory_mb),
                site_packages=self.site_packages,
            )
        except IsolationError as exc:
            return self._verdict("error", "isolation", program, gold, time.perf_counter() - started, detail=str(exc))
        seconds = time.perf_counter() - started
        detail = {
            "status": run.status,
            "passed": run.passed,
            "total": spec.n_tests,
            "pass_rate": round(run.passed / spec.n_tests, 4),
            "tests": run.results[:MAX_LISTED],
        }
        if run.status == "passed":
            kind, rule = "correct", "passed"
        elif run.status == "failed":
            kind, rule = FAILURES[next(r for r in run.results if r != "pass")]
        else:
            kind, rule = RUN_FAILURES[run.status]
        if run.stderr and kind != "correct":
            detail["stderr"] = run.stderr[-300:]
        return self._verdict(kind, rule, program, gold, seconds, detail=json.dumps(detail))

    def verify_batch(self, items: Iterable[tuple[Any, str]]) -> Iterator[Any]:
        if self.workers == 1:
            yield from super().verify_batch(items)
            return
        with ThreadPoolExecutor(self.workers) as pool:  # each check is its own sandboxed process
            yield from pool.map(lambda pair: self.verify(*pair), items)
