"""``math``: the typed answer checker (``filters.answers``) as a verifier: extraction, typed values,
declared answer forms and the sandboxed symbolic path under a time limit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from starmill.filters.answers import (
    CHECKER_VERSION,
    DEFAULT_TIMEOUT,
    CheckerPool,
    Verdict,
    check_answer,
    check_batch,
    parse_form,
)
from starmill.filters.verifiers.base import Verifier, gold_of, metadata_of
from starmill.filters.verifiers.registry import VERIFIERS


@VERIFIERS.register
class MathVerifier(Verifier):
    """``form`` applies to every problem unless its metadata has ``form_field`` (``"answer_form"``)."""

    name = "math"
    version = CHECKER_VERSION

    def __init__(
        self,
        *,
        form: str | None = None,
        form_field: str = "answer_form",
        pred_is_answer: bool = False,
        lenient: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        workers: int | None = None,
        pool: CheckerPool | None = None,
    ):
        parse_form(form)  # a bad form is a config error, raised now
        self.form, self.form_field = form, form_field
        self.options = dict(pred_is_answer=pred_is_answer, lenient=lenient, timeout=timeout, pool=pool)
        self.workers = workers

    def _form(self, problem: Any) -> str | None:
        return metadata_of(problem).get(self.form_field) or self.form

    def _named(self, verdict: Verdict) -> Verdict:
        return replace(verdict, checker=self.name, checker_version=self.version)

    def verify(self, problem: Any, output: str) -> Verdict:
        return self._named(check_answer(gold_of(problem), output, form=self._form(problem), **self.options))

    def verify_batch(self, items: Iterable[tuple[Any, str]]) -> Iterator[Verdict]:
        triples = ((gold_of(p), output, self._form(p)) for p, output in items)
        for verdict in check_batch(triples, workers=self.workers, **self.options):
            yield self._named(verdict)
