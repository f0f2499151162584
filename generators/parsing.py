"""Split a model output into its reasoning and answer parts, and tell whether it was cut off."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputParts:
    reasoning: str | None  # inside <think>…</think>, or a server's separate reasoning_content
    answer: str | None  # what follows the reasoning (the whole text when there is no reasoning)
    truncated: bool  # an opened <think> never closed, or the engine stopped at the token limit


def split_output(text: str, reasoning: str | None = None, finish_reason: str | None = None) -> OutputParts:
    """``finish_reason="length"`` (the engine hit max_tokens or the context) marks it truncated too."""
    cut = finish_reason == "length"
    if reasoning is not None:
        return OutputParts(reasoning.strip(), text.strip(), cut)
    if "</think>" in text:
        head, _, tail = text.partition("</think>")
        return OutputParts(head.split("<think>", 1)[-1].strip(), tail.strip(), cut)
    if "<think>" in text:
        return OutputParts(text.split("<think>", 1)[1].strip(), None, True)
    return OutputParts(None, text.strip(), cut)
