"""Find the final answer in a model output or in a gold solution (GSM8K ``#### 72``, MATH ``\\boxed{}``).

Order: the last balanced ``\\boxed{…}``/``\\fbox{…}``, else ``#### x``, else "The (final|correct)
answer is x" or "Final answer: x", else a line opening "Answer: x", else ``<answer>…</answer>``.
Every scan is linear in the text, so multi-megabyte outputs are cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starmill.filters.answers import typed
from starmill.filters.answers.normalize import normalize
from starmill.filters.answers.words import number_phrases, parse_number_words

BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
BRACE = re.compile(r"\\[{}]|[{}]")
HASHES = re.compile(r"####[ \t]*")
PHRASE = re.compile(  # "the (final|correct|right) answer is", "Final answer:"
    r"\bthe[ \t]+(?:(?:final|correct|right)[ \t]+)?answer[ \t]+is\b[ \t]*:?[ \t]*"
    r"|\bfinal[ \t]+answer[ \t]*(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?[ \t]*",
    re.IGNORECASE,
)
LINE_ANSWER = re.compile(
    r"^[ \t]*(?:\*\*)?answer[ \t]*(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?[ \t]*", re.IGNORECASE | re.MULTILINE
)
BARE_BOX = re.compile(r"[^\s$]+")
LINE_CAP = 5000  # look at most this far after a marker; longer answers are rejected later anyway
SENTENCE_END = re.compile(r"\.(?:\s|$)|,\s+(?=[a-zA-Z]{2})")  # "72. Then…", "5 apples, as computed"
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
TAIL_END = re.compile(r"\.(?:\s|$)|\n")  # the end of the final answer's sentence
# A number in the rest of that sentence (not an exponent or index: cm^2, V_1; not after \approx: a rounding)
TAIL_NUMBER = re.compile(
    r"\\approx\s*\$?\s*-?\d[\d,]*(?:\.\d+)?|[\^_]\s*\{[^{}]*\}|[\^_]\s*-?\d+"  # skipped: rounding, exponent, index
    r"|(?<![\w.])(-?\\frac\s*\{[^{}]*\}\s*\{[^{}]*\}|-?\d+\s*/\s*\d+(?![\d.])|-?\d[\d,]*(?:\.\d+)?)"
)
WORDS_ONLY = re.compile(r"(?:\\text\{)?[A-Za-z][A-Za-z'’ \t-]*\}?")
# "1,200 (that is …)": an aside opens; "5 (thousand)" is no aside
ASIDE = re.compile(
    r"\s+\((?=(?:that|i\.e\.|ie|which|since|because|as|from|by|using|see|rounded|where|or|possibly|"
    r"maybe|perhaps)\b)",
    re.IGNORECASE,
)
SCALE = re.compile(
    r"\b(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|mod|modulo|base)\b", re.IGNORECASE
)
SECTION = (
    r"(?:Explanation|Solution|Steps?|Answer|Reasoning|Summary|Verification|Conclusion|Approach|Calculations?|"
    r"Analysis|Setup|Problem|Method|Check|Results?|Part|Case|Understanding|Breakdown|Work|Working)"
)
# A markdown heading: a few words, one of them a section's name ("#### Explanation", "#### Step 2: Compute")
HEADING = re.compile(
    rf"(?:[A-Za-z]+[ \t]+){{0,3}}{SECTION}(?:[ \t]+[A-Za-z0-9]+){{0,5}}[ \t]*:?[ \t]*"
    r"(?::[ \t]*[A-Za-z ]*)?"
)
# A sentence stating one number: words, a verb that states it, the number, then at most four words
PROSE = re.compile(
    r"(?:[A-Za-z][A-Za-z'’]*[ \t]+)*(?:is|are|was|were|equals|be|costs?|pays?|paid|has|have|had|gets?|got|"
    r"makes?|made|earns?|earned|needs?|needed|takes?|took|spends?|spent|sells?|sold|buys?|bought|"
    r"totals?|reads?|scored?|weighs?)[ \t]+\\?\$?[ \t]*(-?\d[\d,]*(?:\.\d+)?)[ \t]*(?:\\?%)?"
    r"(?:[ \t]+[A-Za-z][A-Za-z'’]*){0,4}",
    re.IGNORECASE,
)
# Words that change what a number in a sentence means: a negation, a hedge, a bound, a comparison, arithmetic
# still to do, a number word
PROSE_BLOCK = re.compile(
    r"\b(?:not|no|never|cannot|can't|isn't|wasn't|aren't|won't|incorrect|wrong|false|except|unless|instead|or|maybe|"
    r"possibly|perhaps|probably|likely|about|around|approximately|roughly|nearly|almost|over|under|least|most|more|"
    r"less|fewer|than|between|up|guess|if|plus|minus|off|divided|before|after|without|extra|additional|half|twice|"
    r"double|triple|dozen|zero|one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
    r"percent|times)\b",
    re.IGNORECASE,
)
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
    return _phrase_split(rest)[0]


def _phrase_split(rest: str, aside: bool = False) -> tuple[str, str]:
    """(the answer, the rest of its sentence); ``aside`` also ends the answer where a parenthesis of words opens."""
    rest = rest.strip().strip("*").strip()
    for opener, closer in MATH_OPEN.items():
        if rest.startswith(opener):
            j = rest.find(closer, len(opener))
            if j > 0:
                return rest[: j + len(closer)], _sentence(rest[j + len(closer) :])
    m = SENTENCE_END.search(rest)
    if aside and (a := ASIDE.search(rest)) and (m is None or a.start() < m.start()):
        m = a
    tail = ""
    if m:
        rest, tail = rest[: m.start()], _sentence(rest[m.start() :])
    return rest.strip().rstrip(".").strip().strip("*").strip(), tail


def _sentence(text: str) -> str:
    """``text`` up to the end of its sentence (a full stop or a line break)."""
    m = TAIL_END.search(text, 1 if text.startswith(".") else 0)
    return text[: m.start()] if m else text[:LINE_CAP]


def tail_numbers(tail: str, answer: str = "") -> tuple[str, ...]:
    """Numbers written in the rest of the final answer's sentence ("\\boxed{3} (or possibly 4)", "The answer
    is 64 squares, plus 1 more … is 65"): each is a second final answer, so one that differs makes the
    answer ambiguous. Exponents and indices (cm^2, V_1) and roundings after ``\\approx`` are not answers."""
    atom = typed.classify(normalize(answer).text) if WORDS_ONLY.fullmatch(answer) else None
    if atom is not None and atom.kind == "text" and parse_number_words(answer) is None:
        return ()  # "yes, because 3 > 2": an answer in words has no rival in a number
    if SCALE.search(tail):
        return (tail.strip(),)  # "\\boxed{5} thousand", "5, in millions", "5 (mod 7)": not the answer alone
    found = [m[1] for m in TAIL_NUMBER.finditer(tail) if m[1]]
    return tuple(n for n in found if n.strip("-,")) + number_phrases(tail)


def _prose(answer: str) -> str:
    """The number of an answer written as a plain sentence ("The total cost is 18 dollars"), when it is
    the sentence's only number and no word around it changes what it means; else the answer unchanged."""
    m = PROSE.fullmatch(answer)
    if m and not PROSE_BLOCK.search(answer):
        return m[1] + ("%" if "%" in answer else "")
    return answer


def _rest_of_lines(pattern: re.Pattern, text: str) -> list[str]:
    """The rest of the line after each match of ``pattern`` (overlapping markers on one line all count)."""
    found = []
    for m in pattern.finditer(text):
        j = text.find("\n", m.end(), m.end() + LINE_CAP)
        found.append(text[m.end() : j if j >= 0 else m.end() + LINE_CAP])
    return found


def _hash_lines(text: str) -> list[tuple[str, int]]:
    """(the text after ``####``, where its line ends) for each ``####`` line that is not a markdown heading
    ("#### Explanation" followed by a line of text introduces a section: it is no answer)."""
    found = []
    for m in HASHES.finditer(text):
        j = text.find("\n", m.end(), m.end() + LINE_CAP)
        end = j if j >= 0 else min(len(text), m.end() + LINE_CAP)
        rest = text[m.end() : end]
        following = text[end + 1 : end + 200].lstrip(" \t").split("\n", 1)[0] if j >= 0 else ""
        if HEADING.fullmatch(rest) and following.strip():
            continue
        found.append((rest, end))
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
    hashes = [h.strip() for h, _ in _hash_lines(text) if h.strip()]
    rests = [r for r in _rest_of_lines(PHRASE, text) if not PHRASE.match(r.lstrip("* \t"))]
    later = hashes + [p for p in map(_phrase_answer, rests) if p]
    return later[-1] if later and not BOX.search(later[-1]) else None


def _find(text: str, *, lenient: bool, after_box: bool = False) -> Extraction:
    spans = [b for b in _boxes(text) if b[0]]
    if spans:
        boxes = tuple(b[0] for b in spans)
        after = (
            _later_answer(text[spans[-1][2] :]) if after_box else None
        )  # "\\boxed{4} … the answer is 5": two answers
        if after:
            return Extraction(boxes[-1], "boxed", boxes + (after,))  # the box, checked against what follows
        trailing = tail_numbers(_sentence(text[spans[-1][2] :]), boxes[-1]) if after_box else ()
        if trailing:  # "\\boxed{3} (or possibly 4)"
            return Extraction(boxes[-1], "boxed", boxes + trailing)
        return Extraction(boxes[-1], "boxed", boxes, _together(text, spans))
    lines = _hash_lines(text)
    hashes = [h.strip() for h, _ in lines if h.strip()]
    if hashes:
        if not after_box:
            return Extraction(hashes[-1], "hashes", tuple(hashes))
        last, tail = _phrase_split(hashes[-1], aside=True)  # "#### 1,200 (that is …)"
        last = last or hashes[-1]
        after = _later_answer(text[lines[-1][1] :])  # "#### 72 … wait, the answer is 70"
        later = tail_numbers(tail, last) + ((after,) if after else ())
        return Extraction(last, "hashes", tuple(hashes[:-1]) + (last,) + later)
    # "Final Answer: The final answer is 5": the outer marker only introduces the inner one
    for pattern in (PHRASE, LINE_ANSWER):  # a line opening "Answer:" is a weaker marker: only alone
        rests = _rest_of_lines(pattern, text)
        if pattern is PHRASE:
            rests = [r for r in rests if not PHRASE.match(r.lstrip("* \t"))]
        split = [_phrase_split(r, aside=after_box) for r in rests]
        found = [(p, t) for p, t in split if p]
        if found:
            answers = tuple(p for p, _ in found)
            if not after_box:
                return Extraction(answers[-1], "phrase", answers)
            last = _prose(answers[-1])
            return Extraction(last, "phrase", answers[:-1] + (last,) + tail_numbers(found[-1][1], last))
    tags = [t for t in _answer_tags(text) if t]
    if tags:
        return Extraction(tags[-1], "answer_tag", tuple(tags))
    if lenient:
        last = None
        for last in NUMBER.finditer(text):  # noqa: B007  runs the iterator to its last match
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
