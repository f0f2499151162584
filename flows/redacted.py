"""A Prefect flow whose parameters reach Prefect's API (its database, the UI) with secrets redacted;
the flow itself still gets them intact."""

from __future__ import annotations

from typing import Any

from prefect import Flow

from starmill.schemas.redact import redact


class RedactedFlow(Flow):
    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return redact(super().serialize_parameters(parameters))

    def with_options(self, **options: Any) -> RedactedFlow:
        copy = super().with_options(**options)
        copy.__class__ = type(self)  # Prefect's with_options builds a plain Flow
        return copy


def redacted_flow(**options: Any):
    """``@redacted_flow(name=…)``: like ``@prefect.flow``."""
    return lambda fn: RedactedFlow(fn, **options)
