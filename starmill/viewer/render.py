"""Model output as safe HTML: every character of the data escaped (a rationale holding ``<script>``
shows as text), ``<think>`` folded into ``<details>``, fenced code highlighted by Pygments, and the
extracted answer and the step checker's claims marked. LaTeX stays text: blocks that hold a LaTeX
command get the ``tex`` class, which the vendored KaTeX typesets in the browser (so ``$5`` in a GSM8K
rationale is never taken for math)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from starmill.filters.steps import check_steps

FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
THINK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.S)
LATEX = re.compile(r"\\[A-Za-z]+|\\\(|\\\[|\$\$")
MAX_CHARS = 100_000  # longer texts are cut (with a note): a page must stay small


def tex_class(text: str | None) -> str:
    return "text tex" if text and LATEX.search(text) else "text"


def output(
    completion: str, reasoning: str | None = None, answer: str | None = None, correct: bool | None = None
) -> Markup:
    """A whole output: the thinking folded, then the rest with its answer and claims marked."""
    think, body = None, completion or ""
    if reasoning and reasoning not in body:
        think = reasoning
    else:
        match = THINK.search(body)
        if match:
            think, body = match.group(1), (body[: match.start()] + body[match.end() :]).lstrip("\n")
    parts = []
    if think is not None:
        parts.append(
            Markup('<details class="think"><summary>thinking · {} characters</summary>{}</details>').format(
                len(think), text(think.strip("\n"))
            )
        )
    parts.append(text(body, answer, correct))
    return Markup("").join(parts)


def text(value: str | None, answer: str | None = None, correct: bool | None = None, claims: bool = True) -> Markup:
    """Prose and fenced code blocks; ``answer``'s last occurrence marked, as right or wrong."""
    value = value or ""
    cut = len(value) > MAX_CHARS
    value = value[:MAX_CHARS]
    pieces, last = [], 0
    for match in FENCE.finditer(value):
        pieces.append(("prose", value[last : match.start()].removesuffix("\n")))
        pieces.append(("code", match.group(1), match.group(2)))
        last = match.end()
    pieces.append(("prose", value[last:]))
    mark_at = max((i for i, p in enumerate(pieces) if p[0] == "prose" and answer and answer in p[1]), default=None)
    out = []
    for i, piece in enumerate(pieces):
        if piece[0] == "code":
            out.append(code(piece[2], piece[1]))
        elif piece[1]:
            prose = piece[1].removeprefix("\n") if i and pieces[i - 1][0] == "code" else piece[1]
            out.append(_prose(prose, answer if i == mark_at else None, correct, claims))
    if cut:
        out.append(Markup('<span class="note">… cut at {:,} characters</span>').format(MAX_CHARS))
    return Markup('<div class="{}">{}</div>').format(tex_class(value), Markup("").join(out))


def _prose(value: str, answer: str | None, correct: bool | None, claims: bool) -> Markup:
    spans: list[tuple[int, int, str, str]] = []  # start, end, class, title
    if claims:
        at = 0
        for claim in check_steps(value):
            start = value.find(claim.text, at)
            if start < 0:
                continue
            ok = claim.verdict == "ok"
            spans.append(
                (
                    start,
                    start + len(claim.text),
                    "step ok" if ok else "step wrong",
                    "step checks" if ok else "wrong step: " + " ≠ ".join(claim.values),
                )
            )
            at = start + len(claim.text)
    if answer:
        start = value.rfind(answer)
        state = {True: "ans right", False: "ans wrong"}.get(correct, "ans")
        spans.append((start, start + len(answer), state, "extracted answer"))
    out, at = [], 0
    for start, end, cls, title in sorted(spans):
        if start < at:
            continue  # overlapping marks: the first one wins
        out.append(escape(value[at:start]))
        out.append(Markup('<mark class="{}" title="{}">{}</mark>').format(cls, title, value[start:end]))
        at = end
    out.append(escape(value[at:]))
    return Markup("").join(out)


def code(source: str, language: str = "") -> Markup:
    """A fenced block, highlighted when Pygments knows its language (escaped either way)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language or "python")
    except ClassNotFound:
        lexer = TextLexer()
    body = highlight(source, lexer, HtmlFormatter(nowrap=True))
    label = Markup('<span class="lang">{}</span>').format(language) if language else ""
    return Markup('<pre class="code">{}{}</pre>').format(label, Markup(body))


def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".code")
