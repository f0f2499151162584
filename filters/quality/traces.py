"""Long-trace filters for R1-style outputs (``<think>`` thought ``</think>`` answer, 2k-32k tokens).

Each is a small ``SampleFilter`` with a per-sample ``metric`` (stored on the sample as a ``scores`` row
named ``trace:<filter>``) and a drop reason when the metric passes its bound. Only samples with a
thought are judged: a plain completion is kept and gets no row. Defaults were chosen on the labelled
fixture of ``bench/long_traces.py`` (see ``bench/long_trace_filters.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Any

from starmill.filters.quality.base import FILTERS, MAX_CHARS, SampleFilter, _mentions, _script, bounded
from starmill.schemas import ProblemRecord, SampleRecord

VERSION = "1"


def split_trace(sample: SampleRecord) -> tuple[str | None, str | None]:
    """(thought, final part): the thought is ``None`` when there is none; the final part is ``None``
    when the thought was never closed (cut in the middle of the thought)."""
    text = sample.completion
    if sample.reasoning is not None and sample.reasoning not in text:
        return sample.reasoning, text  # a server's separate reasoning_content: closed by the server
    if "</think>" in text:
        head, final = text.rsplit("</think>", 1)
        return head.split("<think>", 1)[-1], final
    if "<think>" in text:
        return text.split("<think>", 1)[1], None
    return None, text


class TraceFilter(SampleFilter):
    """Judges the thought by one number: ``metric`` (None: not measurable), ``verdict`` maps it to a reason."""

    def metric(self, thought: str, final: str | None, sample: SampleRecord, problem: ProblemRecord) -> float | None:
        raise NotImplementedError

    def verdict(self, value: float | None) -> str | None:
        raise NotImplementedError

    def measure(self, sample: SampleRecord, problem: ProblemRecord) -> float | None:
        thought, final = split_trace(sample)
        return None if thought is None else self.metric(thought, final, sample, problem)

    def reason(self, sample, problem):
        return self.verdict(self.measure(sample, problem))

    def apply(self, samples, problems, stats=None):
        out = []
        for sample in samples:
            if sample.drop_reason is None and split_trace(sample)[0] is not None:
                value = self.measure(sample, problems[sample.problem_id])
                why = self.verdict(value)
                row = {"scorer": f"trace:{self.name}", "version": VERSION, "value": value, "steps": None}
                rows = [r for r in sample.scores or [] if r["scorer"] != row["scorer"]] + [row]
                sample = replace(sample, scores=rows, **({"kept": False, "drop_reason": why} if why else {}))
                if stats is not None:
                    stats[f"{self.name}.{'dropped_' + why if why else 'kept'}"] += 1
            out.append(sample)
        return out


def repeated_share(text: str, n: int) -> float:
    """Share of the word ``n``-grams of ``text`` that already occurred earlier in it (a loop of k copies
    of a paragraph scores (k-1)/k over its span)."""
    words = text.split()
    if len(words) <= n:
        return 0.0
    seen, repeats = set(), 0
    for i in range(len(words) - n + 1):
        gram = hash(tuple(words[i : i + n]))
        repeats += gram in seen
        seen.add(gram)
    return repeats / (len(words) - n + 1)


@FILTERS.register
class Repetition(TraceFilter):
    """A thought stuck in a loop: the share of repeated word ``ngram``-grams above ``max_share``. (20-grams
    separate loops from reused phrasing on the fixture; a whole-trace zlib ratio overlapped: see README.)"""

    name = "repetition"

    def __init__(self, ngram: int = 20, max_share: float = 0.15):
        self.ngram = bounded("filter 'repetition': ngram", ngram, 2, 1000)
        self.max_share = bounded("filter 'repetition': max_share", max_share, 0, 1, integer=False)

    def metric(self, thought, final, sample, problem):
        return repeated_share(thought, self.ngram)

    def verdict(self, value):
        return "repetition_loop" if value is not None and value > self.max_share else None


MATH_NOTATION = re.compile(r"\\[A-Za-z]+|\$[^$\n]{0,400}\$|(?<![A-Za-z])[A-Za-z]{1,3}(?![A-Za-z])")


@FILTERS.register
class ThoughtLanguage(TraceFilter):
    """A thought that switches writing system: the share of its letters outside its dominant script (and
    outside the question's scripts) above ``max_share``, with at least ``min_letters`` such letters. Math
    notation is not language: LaTeX commands, ``$…$`` spans and Latin words of 1-3 letters (variables,
    units, sin) are left out, so a Chinese thought may write ``\\frac{x}{2}`` or ``cm``."""

    name = "thought_language"

    def __init__(self, max_share: float = 0.0002, min_letters: int = 20):
        self.max_share = bounded("filter 'thought_language': max_share", max_share, 0, 1, integer=False)
        self.min_letters = bounded("filter 'thought_language': min_letters", min_letters, 0, MAX_CHARS)

    def metric(self, thought, final, sample, problem):
        counts = Counter(s for s in map(_script, MATH_NOTATION.sub(" ", thought)) if s is not None)
        if not counts:
            return 0.0
        dominant = counts.most_common(1)[0][0]
        allowed = {dominant, *(s for s in map(_script, problem.question) if s is not None)}
        foreign = sum(c for s, c in counts.items() if s not in allowed)
        return foreign / sum(counts.values()) if foreign >= self.min_letters else 0.0

    def verdict(self, value):
        return "language_switch" if value is not None and value > self.max_share else None


@FILTERS.register
class ThoughtAnswer(TraceFilter):
    """The thought's last answer-like statement (the checker's extraction over the thought) differs from
    the final answer. The metric is 1.0 on a mismatch, 0.0 on agreement, None when either is missing."""

    name = "thought_answer"

    def metric(self, thought, final, sample, problem):
        from starmill.filters.answers import check_answer, extract_answer

        inner = extract_answer(thought).answer
        outer = sample.extracted_answer or (extract_answer(final).answer if final is not None else None)
        if not inner or not outer:
            return None
        same = inner.strip() == outer.strip() or check_answer(outer, inner, pred_is_answer=True).correct
        return 0.0 if same else 1.0

    def verdict(self, value):
        return "answer_mismatch" if value == 1.0 else None


@FILTERS.register
class Overthinking(TraceFilter):
    """Thinking on after the gold answer first appeared: the share of the thought after its first mention.
    ``max_after`` caps it (None: only the metric is recorded)."""

    name = "overthinking"

    def __init__(self, max_after: float | None = 0.5):
        self.max_after = (
            None if max_after is None else bounded("filter 'overthinking': max_after", max_after, 0, 1, integer=False)
        )

    def metric(self, thought, final, sample, problem):
        gold = problem.gold_answer.strip() if problem.gold_answer else ""
        found = re.search(r"(?<![\w.])" + re.escape(gold) + r"(?![\w])", thought) if gold else None
        if found is None or _mentions(problem.question, gold):
            return None
        return (len(thought) - found.end()) / max(len(thought), 1)

    def verdict(self, value):
        return "overthinking" if self.max_after is not None and value is not None and value > self.max_after else None


@FILTERS.register
class ThinkFormat(TraceFilter):
    """R1's format reward: the thought is closed by ``</think>`` and an answer follows it. The metric is
    1.0 when the format holds, else 0.0."""

    name = "think_format"

    def measure(self, sample, problem):
        thought, final = split_trace(sample)
        if thought is None:
            return None
        if final is None:
            return 0.0
        return 1.0 if final.strip() else 0.5

    def verdict(self, value):
        return {0.0: "unclosed_think", 0.5: "no_final_answer"}.get(value)


@FILTERS.register
class ThoughtBudget(TraceFilter):
    """The thought within ``max_tokens`` tokens, counted as characters / ``chars_per_token`` (no
    tokenizer needed; about 4 for English prose with BPE tokenizers)."""

    name = "thought_budget"

    def __init__(self, max_tokens: int = 32_768, chars_per_token: float = 4.0):
        self.max_tokens = bounded("filter 'thought_budget': max_tokens", max_tokens, 1, MAX_CHARS)
        self.chars_per_token = bounded(
            "filter 'thought_budget': chars_per_token", chars_per_token, 0.5, 100, integer=False
        )

    def metric(self, thought, final, sample, problem):
        return len(thought) / self.chars_per_token

    def verdict(self, value):
        return "thought_too_long" if value is not None and value > self.max_tokens else None


def trace_metrics(
    sample: SampleRecord, problem: ProblemRecord, options: dict[str, dict[str, Any]] | None = None
) -> dict[str, float | None]:
    """Every long-trace filter's metric for one sample (for benches and inspection)."""
    options = options or {}
    names = ("repetition", "thought_language", "thought_answer", "overthinking", "think_format", "thought_budget")
    return {n: FILTERS.make(n, options.get(n)).measure(sample, problem) for n in names}
