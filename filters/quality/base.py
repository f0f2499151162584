"""The sample filter base, its registry (``get_filter`` builds any filter by name) and the helpers
filters share (bounds, scripts, mentions). ``basic`` holds the general filters and ``traces`` the
long-trace ones; each registers where its class is defined.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from starmill.schemas import ProblemRecord, SampleRecord
from starmill.schemas.registry import Registry


@dataclass(frozen=True)
class FilterContext:
    """What the run knows that a filter may need: the hinted template's own wording."""

    hint_phrases: tuple[str, ...] = ()


class SampleFilter:
    """Decides keep (``None``) or a drop reason for one sample of one problem."""

    name: ClassVar[str] = "filter"

    @classmethod
    def build(cls, options: dict[str, Any], context: FilterContext) -> SampleFilter:
        """The filter from its config options (a TypeError names an unknown option)."""
        return cls(**options)

    def reason(self, sample: SampleRecord, problem: ProblemRecord) -> str | None:
        raise NotImplementedError

    def apply(
        self, samples: Iterable[SampleRecord], problems: dict[str, ProblemRecord], stats: Counter | None = None
    ) -> list[SampleRecord]:
        """Samples with ``drop_reason`` set where this filter drops them (already dropped ones pass through)."""
        out = []
        for sample in samples:
            if sample.drop_reason is None:
                why = self.reason(sample, problems[sample.problem_id])
                if why is not None:
                    sample = replace(sample, kept=False, drop_reason=why)
                if stats is not None:
                    stats[f"{self.name}.{'dropped_' + why if why else 'kept'}"] += 1
            out.append(sample)
        return out


FILTERS: Registry[SampleFilter] = Registry("filter")
MAX_CHARS = (
    10_000_000  # the longest bound a length filter takes (a completion of millions of characters is no rationale)
)


def bounded(where: str, value: Any, low: float, high: float, integer: bool = True) -> Any:
    """``value`` when it is a number (an integer when ``integer``; never a bool) from ``low`` to ``high``,
    else a ValueError naming ``where``."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise ValueError(f"{where} must be {what} from {low} to {high}, got {value!r}")
    return value


# Scripts that count as languages; Greek is left out because mathematics uses its letters.
_SCRIPTS = (
    "LATIN",
    "CJK",
    "HIRAGANA",
    "KATAKANA",
    "HANGUL",
    "CYRILLIC",
    "ARABIC",
    "HEBREW",
    "DEVANAGARI",
    "THAI",
    "BENGALI",
    "TAMIL",
    "ARMENIAN",
    "GEORGIAN",
    "ETHIOPIC",
)


def _script(ch: str) -> str | None:
    if not ch.isalpha() or ord(ch) < 128:
        return "LATIN" if ch.isascii() and ch.isalpha() else None
    name = unicodedata.name(ch, "")
    head = name.split(" ")[0]
    return head if head in _SCRIPTS else None


def _mentions(text: str, answer: str) -> bool:
    return re.search(r"(?<![\w.])" + re.escape(answer) + r"(?![\w])", text) is not None


def get_filter(
    name: str, options: dict[str, Any] | None = None, context: FilterContext = FilterContext()
) -> SampleFilter:
    """A new filter ``name`` with ``options``; an unknown name or option raises ValueError."""
    return FILTERS.make(name, options, lambda cls, opts: cls.build(opts, context))
