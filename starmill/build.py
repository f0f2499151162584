"""The one place config becomes a run's parts: the verifiers a run grades with (from its source's
``verifiers``; the first decides). ``starmill run`` (the loop) and ``starmill eval`` both build here."""
from __future__ import annotations

from typing import Any

from starmill.schemas.errors import StarmillError


def build_verifiers(source, workers: int = 1, timeout: float = 5.0) -> list[Any] | None:
    """``None`` for the plain default (``[math]`` without a declared form): the checker's own fast path."""
    import starmill.judging  # noqa: F401  (registers llm_judge)
    from starmill.filters.verifiers import get_verifier

    specs = source.verifier_specs()
    if [name for name, _ in specs] == ["math"] and not specs[0][1] and source.answer_form is None \
            and source.answer_form_field == "answer_form" and not _declares_forms(source):
        return None
    out = []
    for name, options in specs:
        if name == "math":
            options = {"form": source.answer_form, "form_field": source.answer_form_field, "workers": workers,
                       "timeout": timeout, **options}
        try:
            out.append(get_verifier(name, **options))
        except (ValueError, TypeError, StarmillError) as exc:
            raise StarmillError(f"source.verifiers: {name}: {exc}") from None
    return out


def verifiers_by_source(sources, workers: int = 1, timeout: float = 5.0) -> dict[str, list[Any] | None]:
    """Each source's verifiers by its name (the ``source`` every problem keeps), for a run over many."""
    from starmill.warehouse.sources.ingest import source_name

    return {source_name(s): build_verifiers(s, workers, timeout) for s in sources}


def _declares_forms(source) -> bool:
    """Problems of this source carry ``metadata.answer_form`` (reasoning-gym tasks with a form), which only
    the ``math`` verifier reads, not the plain checker's fast path."""
    if getattr(source, "reasoning_gym", None) is None:
        return False
    from starmill.warehouse.sources.gym import answer_forms

    return bool(answer_forms(source.reasoning_gym))
