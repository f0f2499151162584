"""Find the final answer in a model output or in a gold solution (GSM8K ``#### 72``, MATH ``\\boxed{}``).

Order: the last balanced ``\\boxed{…}``/``\\fbox{…}``, else ``#### x``, else "The (final|correct)
answer is x" or "Final answer: x", else a line opening "Answer: x", else ``<answer>…</answer>``.
Every scan is linear in the text, so multi-megabyte outputs are cheap.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
BRACE = re.compile(r"\\[{}]|[{}]")
HASHES = re.compile(r"####[ \t]*")
PHRASE = re.compile(  # "the (final|correct|right) answer is", "Final answer:"
    r"\bthe[ \t]+(?:(?:final|correct|right)[ \t]+)?answer[ \t]+is\b[ \t]*:?[ \t]*"
    r"|\bfinal[ \t]+answer[ \t]*(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?[ \t]*",
    re.IGNORECASE,
)
LINE_ANSWER = re.compile(r"^[ \t]*(?:\*\*)?answer[ \t]*(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?[ \t]*", re.IGNORECASE | re.MULTILINE)
BARE_BOX = re.compile(r"[^\s$]+")
LINE_CAP = 5000  # look at most this far after a marker; longer answers are rejected later anyway
SENTENCE_END = re.compile(r"\.(?:\s|$)|,\s+(?=[a-zA-Z]{2})")  # "72. Then…", "5 apples, as computed"
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
MAX_BOX_GAP = 40  # characters between boxes that answer together ("\\boxed{1} and x = \\boxed{2}")
MATH_OPEN = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}


@dataclass(frozen=True, slots=True)
class Extraction:
    answer: str | None  # the final answer, None when there is none
    rule: str  # how it was found: "boxed", "hashes", "phrase", "answer_tag", "last_number", or why not
    candidates: tuple[str, ...] = ()  # every final answer of that kind, in order (for the multiple-answer rule)
    together: bool = False  # several boxes written together ("\\boxed{1} and \\boxed{2}"), not far apart


def _closing_braces(text: str) -> dict[int, int]:
    """Map each '{' position to its matching '}' in one pass over the brace characters only."""
    stack, close = [], {}
    for m in BRACE.finditer(text):
        tok = m.group()
        if tok == "{":
            stack.append(m.start())
        elif tok == "}" and stack:
            close[stack.pop()] = m.start()
    return close


def boxed_contents(text: str) -> list[str]:
    """Contents of every outermost balanced \\boxed{…}/\\fbox{…} (also the ``\\boxed 5`` form), in order."""
    return [content for content, _, _ in _boxes(text)]


def _boxes(text: str) -> list[tuple[str, int, int]]:
    """(content, start, end) of every outermost box."""
    found, close, end = [], None, -1
    for m in BOX.finditer(text):
        if m.start() < end:
            continue  # nested inside the previous box
        i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            close = _closing_braces(text) if close is None else close
            j = close.get(i)
            if j is None:
                continue  # unbalanced: truncated output
            found.append((text[i + 1 : j].strip(), m.start(), j + 1))
            end = j + 1
        elif i > m.end():
            token = BARE_BOX.match(text, i)
            if token:
                found.append((token.group(), m.start(), token.end()))
                end = token.end()
    return found


def _together(text: str, boxes: list[tuple[str, int, int]]) -> bool:
    gaps = [text[a[2] : b[1]] for a, b in zip(boxes, boxes[1:])]
    return len(boxes) > 1 and all(len(g) <= MAX_BOX_GAP and "\n\n" not in g for g in gaps)


def _phrase_answer(rest: str) -> str:
    rest = rest.strip().strip("*").strip()
    for opener, closer in MATH_OPEN.items():
        if rest.startswith(opener):
            j = rest.find(closer, len(opener))
            if j > 0:
                return rest[: j + len(closer)]
    m = SENTENCE_END.search(rest)
    if m:
        rest = rest[: m.start()]
    return rest.strip().rstrip(".").strip().strip("*").strip()


def _rest_of_lines(pattern: re.Pattern, text: str) -> list[str]:
    """The rest of the line after each match of ``pattern`` (overlapping markers on one line all count)."""
    found = []
    for m in pattern.finditer(text):
        j = text.find("\n", m.end(), m.end() + LINE_CAP)
        found.append(text[m.end() : j if j >= 0 else m.end() + LINE_CAP])
    return found


def _answer_tags(text: str) -> list[str]:
    found, i = [], 0
    while True:
        i = text.find("<answer>", i)
        if i < 0:
            return found
        j = text.find("</answer>", i + 8)
        if j < 0:
            return found
        found.append(text[i + 8 : j].strip())
        i = j + 9


def _later_answer(text: str) -> str | None:
    """A ``####`` or "the answer is" answer written after the chosen one (``text`` is what follows it)."""
    hashes = [h.strip() for h in _rest_of_lines(HASHES, text) if h.strip()]
    rests = [r for r in _rest_of_lines(PHRASE, text) if not PHRASE.match(r.lstrip("* \t"))]
    later = hashes + [p for p in map(_phrase_answer, rests) if p]
    return later[-1] if later and not BOX.search(later[-1]) else None


def _find(text: str, *, lenient: bool, after_box: bool = False) -> Extraction:
    spans = [b for b in _boxes(text) if b[0]]
    if spans:
        boxes = tuple(b[0] for b in spans)
        after = _later_answer(text[spans[-1][2]:]) if after_box else None  # "\\boxed{4} … the answer is 5": two answers
        if after:
            return Extraction(boxes[-1], "boxed", boxes + (after,))  # the box, checked against what follows
        return Extraction(boxes[-1], "boxed", boxes, _together(text, spans))
    hashes = [h.strip() for h in _rest_of_lines(HASHES, text) if h.strip()]
    if hashes:
        tail = text[text.rfind("####"):].partition("\n")[2]  # "#### 72 … wait, the answer is 70"
        after = _later_answer(tail) if after_box else None
        return Extraction(hashes[-1], "hashes", tuple(hashes) + ((after,) if after else ()))
    # "Final Answer: The final answer is 5": the outer marker only introduces the inner one
    rests = [r for r in _rest_of_lines(PHRASE, text) if not PHRASE.match(r.lstrip("* \t"))]
    phrases = [p for p in map(_phrase_answer, rests) if p]
    if phrases:
        return Extraction(phrases[-1], "phrase", tuple(phrases))
    lines = [p for p in map(_phrase_answer, _rest_of_lines(LINE_ANSWER, text)) if p]  # a weaker marker: only alone
    if lines:
        return Extraction(lines[-1], "phrase", tuple(lines))
    tags = [t for t in _answer_tags(text) if t]
    if tags:
        return Extraction(tags[-1], "answer_tag", tuple(tags))
    if lenient:
        last = None
        for last in NUMBER.finditer(text):
            pass
        if last is not None:
            return Extraction(last.group(), "last_number", (last.group(),))
    return Extraction(None, "no_answer")


def extract_answer(output: str, *, lenient: bool = False) -> Extraction:
    """The final answer of a model output. Only text after ``</think>`` counts; an unclosed ``<think>``
    (a truncated output) has no answer. ``lenient`` adds the opt-in "last number in the text" fallback."""
    if "</think>" in output:
        output = output.rsplit("</think>", 1)[1]
    elif "<think>" in output:
        return Extraction(None, "truncated_think")
    return _find(output, lenient=lenient, after_box=True)


def extract_gold(solution: str) -> Extraction:
    """The final answer of a gold solution; with several boxes the last one counts (MATH's convention)."""
    found = _find(solution, lenient=False)
    return Extraction(found.answer, found.rule, found.candidates[-1:])
