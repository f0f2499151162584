"""Quality filters for samples, one package: ``base`` (``SampleFilter``, ``FilterContext``, the
``FILTERS`` registry and ``get_filter``), ``basic`` (truncated, length, mixed_language, bad_step,
hint_leak, copies_reference) and ``traces`` (the long-trace filters of R1-style thoughts). Each filter
registers where its class is defined; this package imports its own modules once, so every built-in is
known by name (``selection.filters``).
"""

from starmill.filters.quality import basic, traces  # noqa: F401  (the built-ins register where defined)
from starmill.filters.quality.base import FILTERS, MAX_CHARS, FilterContext, SampleFilter, bounded, get_filter
from starmill.filters.quality.basic import BadStep, CopiesReference, HintLeak, Length, MixedLanguage, Truncated

__all__ = [
    "FILTERS",
    "MAX_CHARS",
    "BadStep",
    "CopiesReference",
    "FilterContext",
    "HintLeak",
    "Length",
    "MixedLanguage",
    "SampleFilter",
    "Truncated",
    "bounded",
    "get_filter",
]
