"""Teacher backends behind one interface (``generators.base``), prompts, procedural problems and the
demo teacher."""

from __future__ import annotations

from typing import Any

from starmill.generators.base import Backend, SettingsError

BACKENDS = ("transformers", "vllm", "openai", "openai-batch")


def backend_class(kind: str) -> type:
    """The class of backend ``kind`` (its module imports its engine only when one is built)."""
    if kind == "transformers":
        from starmill.generators.transformers_backend import TransformersBackend

        return TransformersBackend
    if kind == "vllm":
        from starmill.generators.vllm_backend import VLLMBackend

        return VLLMBackend
    if kind == "openai":
        from starmill.generators.openai_backend import OpenAIBackend

        return OpenAIBackend
    if kind == "openai-batch":
        from starmill.generators.openai_batch import OpenAIBatchBackend

        return OpenAIBatchBackend
    raise SettingsError(f"unknown backend {kind!r}: use one of {', '.join(BACKENDS)}")


def resolve_kind(kind: str | None, options: dict[str, Any]) -> str | None:
    """The backend a teacher's settings name: the openai backend with option ``batch: true`` is the
    Batch API's (``openai-batch``)."""
    return "openai-batch" if kind == "openai" and options.get("batch") is True else kind


def load_backend(kind: str, model: str, **options: Any) -> Backend:
    """A backend by kind; heavy engines are imported only here."""
    resolved = resolve_kind(kind, options)
    if kind == "openai":
        options.pop("batch", None)  # the choice of backend, not one of its options
    kind = resolved
    backend = backend_class(kind)
    if kind in ("openai", "openai-batch"):
        base_url = options.pop("base_url", None)
        if not base_url:
            raise SettingsError("the openai backend needs base_url (the server's /v1 URL)")
        return backend(model, base_url, **options)
    return backend(model, **options)
