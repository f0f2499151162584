"""The general quality filters for samples: one small class each; a filter only says keep (None) or a
drop reason.

The base class (``base.SampleFilter``) applies a filter to many samples and counts kept and dropped per
reason, in the style of datatrove's filters. Filters are registered by name, so the run config composes them
(``selection.filters``); text filters judge the whole output, a server's separate reasoning included. The
long-trace filters of R1-style thoughts are in ``traces``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from starmill.filters.quality.base import FILTERS, MAX_CHARS, SampleFilter, _mentions, _script, bounded
from starmill.schemas.samples import Stage

LENGTH_MAX_CHARS = 200_000  # the length filter's default: an R1 trace of 32k tokens (~130k characters) and its answer


@FILTERS.register
class Truncated(SampleFilter):
    """Output cut by the token limit, or an opened ``<think>`` never closed."""

    name = "truncated"

    def reason(self, sample, problem):
        if sample.finish_reason == "length":
            return "truncated"
        if "<think>" in sample.completion and "</think>" not in sample.completion:
            return "truncated"
        return None


@FILTERS.register
class Length(SampleFilter):
    """The whole output (reasoning and answer) within ``min_chars``..``max_chars`` characters."""

    name = "length"

    def __init__(self, min_chars: int = 1, max_chars: int = LENGTH_MAX_CHARS):
        self.min_chars = bounded("filter 'length': min_chars", min_chars, 0, MAX_CHARS)
        self.max_chars = bounded("filter 'length': max_chars", max_chars, 1, MAX_CHARS)
        if min_chars > max_chars:
            raise ValueError(
                f"filter 'length': min_chars ({min_chars}) is above max_chars ({max_chars}): every "
                "sample would be dropped"
            )

    def reason(self, sample, problem):
        size = len(sample.output_text().strip())
        if size < self.min_chars:
            return "too_short"
        if size > self.max_chars:
            return "too_long"
        return None


@FILTERS.register
class MixedLanguage(SampleFilter):
    """Text in more than one writing system (a common failure of multilingual teachers)."""

    name = "mixed_language"

    def __init__(self, min_letters: int = 8, max_share: float = 0.05):
        self.min_letters = bounded("filter 'mixed_language': min_letters", min_letters, 0, MAX_CHARS)
        self.max_share = bounded("filter 'mixed_language': max_share", max_share, 0, 1, integer=False)

    def reason(self, sample, problem):
        counts = Counter(s for s in map(_script, sample.output_text()) if s is not None)
        if len(counts) < 2:
            return None
        expected = Counter(s for s in map(_script, problem.question) if s is not None)
        total = sum(counts.values())
        for script, count in counts.items():
            if script not in expected and count >= self.min_letters and count / total > self.max_share:
                return "mixed_language"
        return None


@FILTERS.register
class BadStep(SampleFilter):
    """A right final answer reached through a wrong arithmetic claim ("6 + 13 = 6. The answer is 6."):
    the symbolic step checker (``filters.steps``) finds a claim that does not hold."""

    name = "bad_step"

    def reason(self, sample, problem):
        from starmill.filters.steps import bad_steps

        return "bad_step" if bad_steps(sample.output_text()) else None


_LEAK_WORDS = re.compile(
    r"\b(hint|hinted|given answer|answer (?:is )?given|we are told the answer|"
    r"the (?:correct|expected) answer is)\b",
    re.I,
)
# a code rationalization's hint is a reference solution or a test report (``filters.code.hints``)
_CODE_LEAK_WORDS = re.compile(
    r"\b(reference (?:solution|implementation|code|program)|(?:provided|given|shown) "
    r"(?:solution|code|program|implementation)|correct solution (?:shown|given|provided|above)|"
    r"guidance|previous (?:program|attempt)|tests? passed)\b",
    re.I,
)


@FILTERS.register
class HintLeak(SampleFilter):
    """A rationalization that leans on the hint instead of reasoning to the answer.

    Drops text that mentions the hint or a given answer, quotes the hint's wording, or states the gold
    answer before any reasoning (before the first '=' or step), unless the question itself holds it; for
    code, text that mentions a reference or provided solution, guidance, a previous attempt or tests passed.
    """

    name = "hint_leak"

    def __init__(self, hint_phrases: Iterable[str] = ()):
        self.hint_phrases = [p.strip().lower() for p in hint_phrases if len(p.strip()) >= 12]

    @classmethod
    def build(cls, options, context):
        return cls(**{"hint_phrases": context.hint_phrases, **options})

    def reason(self, sample, problem):
        if sample.stage != Stage.RATIONALIZATION:
            return None
        text = sample.answer_text if sample.reasoning is None else sample.reasoning
        text = text if text is not None else sample.completion
        lowered = text.lower()
        if _LEAK_WORDS.search(text) or any(p in lowered for p in self.hint_phrases):
            return "hint_leak"
        if sample.verdicts and sample.verdicts[0].get("checker") == "code":
            return "hint_leak" if _CODE_LEAK_WORDS.search(text) else None  # the gold is the tests: never stated
        gold = problem.gold_answer.strip()
        if gold and not _mentions(problem.question, gold):
            head = re.split(r"=|\n", text, maxsplit=1)[0]
            if _mentions(head, gold):
                return "answer_before_reasoning"
        return None


@FILTERS.register
class CopiesReference(SampleFilter):
    """A code rationalization whose program copies the reference solution it may have been shown: the same
    normalized program, or the entry point's normalized body the same or sharing ``max_overlap`` of its tokens
    (``filters.code.normalize``; parsed, never run). Other samples and non-code problems pass."""

    name = "copies_reference"

    def __init__(self, max_overlap: float = 0.9):
        self.max_overlap = bounded("filter 'copies_reference': max_overlap", max_overlap, 0, 1, integer=False)

    def reason(self, sample, problem):
        if sample.stage != Stage.RATIONALIZATION or not sample.verdicts or sample.verdicts[0].get("checker") != "code":
            return None
        from starmill.filters.code.hints import reference_of, spec_of
        from starmill.filters.code.normalize import copies_reference

        spec = spec_of(problem)  # the extracted program holds the prompt, as HumanEval's reference does
        entry = spec.entry_point if spec is not None else None
        copied = copies_reference(sample.extracted_answer, reference_of(problem), entry, self.max_overlap)
        return "copies_reference" if copied else None
