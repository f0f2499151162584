"""Turn an extracted answer into a canonical string: LaTeX wrappers, spacing, units, currency, degrees
and percent signs removed; the percent sign is reported separately because it changes the value, and
the dropped unit words are kept (``plain``) for the typed comparisons that need them (times, durations)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from starmill.filters.answers.words import parse_number_words

MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
WRAPPERS = (
    "boxed",
    "fbox",
    "text",
    "textbf",
    "textit",
    "textrm",
    "textnormal",
    "textup",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mbox",
    "hbox",
    "emph",
    "bm",
    "boldsymbol",
    "operatorname",
)
WRAPPER = re.compile(r"\\(" + "|".join(WRAPPERS) + r")(?![a-zA-Z])\s*\{")
TRAILING_TEXT = re.compile(
    r"^(?P<core>.*?\S)\s*\\(?:text|mbox|mathrm|textrm|textnormal)\s*\{\s*(?P<words>[a-zA-Z][a-zA-Z .'/-]*)\}\s*(?P<tail>\^\{?\d\}?)?$"
)
TRAILING_WORD = re.compile(r"\s+([a-zA-Z][a-zA-Z.'/-]*)(?:\^\{?\d\}?)?$")
MULTIPLIERS = {"thousand", "million", "billion", "trillion"}
LETTER_UNITS = {"m", "g", "s", "h", "l", "L", "K", "J", "W", "V", "A", "N"}
# Words that carry meaning and must never be dropped as units.
KEEP_WORDS = {
    "or",
    "and",
    "to",
    "pi",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "log",
    "ln",
    "exp",
    "inf",
    "infty",
    "infinity",
    "thousand",
    "million",
    "billion",
    "trillion",
    "hundred",
    "mod",
    "i",
    "e",
    "percent",
    "undefined",
    "none",
    "no",
    "yes",
    "true",
    "false",
    "odd",
    "even",
    "not",
    # a verb, a verdict, a bound, a hedge or arithmetic: "18 is incorrect", "12 dozen", "5 or more", "5 squared"
    "is",
    "are",
    "was",
    "were",
    "be",
    "wrong",
    "incorrect",
    "right",
    "correct",
    "dozen",
    "dozens",
    "score",
    "gross",
    "more",
    "less",
    "fewer",
    "least",
    "most",
    "than",
    "at",
    "about",
    "around",
    "approximately",
    "roughly",
    "nearly",
    "almost",
    "maybe",
    "possibly",
    "perhaps",
    "probably",
    "over",
    "under",
    "plus",
    "minus",
    "times",
    "half",
    "twice",
    "double",
    "triple",
    "squared",
    "cubed",
    "if",
    "but",
    "only",
    "unless",
    "except",
}
SPACES = re.compile(r"(?<!\\)\\(?:quad|qquad|[,;: ])|~")
SIZES = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg|middle)(?![a-zA-Z])")
DROP = re.compile(r"\\(?:displaystyle|textstyle|limits|mathstrut|!)|\\\$|\$")
DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])")
THIN_THOUSANDS = re.compile(r"(?<=\d)(?:\\,|\{,\}|,\\!\s*)(?=\d{3}(?!\d))")  # 1\,000, 1{,}000, 11,\! 111
TRIG = re.compile(r"\\?(?:arc)?(?:sin|cos|tan|sec|csc|cot)(?![a-zA-Z])")
DEGREE_VALUE = re.compile(r"(\d+(?:\.\d+)?|[a-zA-Z])\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z]))")
UNICODE = (("×", "\\times "), ("·", "\\cdot "), ("−", "-"), ("÷", "\\div "), ("\\colon", ":"), ("\\ast", "*"))
FRAC_ALIASES = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
FRAC_DIGITS = re.compile(r"\\frac\s*(\d)\s*(\d)")
FRAC_DIGIT_BRACE = re.compile(r"\\frac\s*(\d)\s*\{")
FRAC_BRACE_DIGIT = re.compile(r"\\frac\s*\{([^{}]*)\}\s*(\d)")
SQRT_BARE = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
INFINITY = re.compile(r"\\infinity|\binfinity\b|\\inf(?![a-zA-Z])|∞")
EMPTY_SET = re.compile(r"\\(?:varnothing|emptyset)|\\\{\s*\\\}|∅")
CURRENCY = re.compile(r"^(?:€|£|¥|₹|\\euro|\\pounds|Rs\.?|USD|US\$)\s*")
THOUSANDS = re.compile(r"^([-+]?)(\d{1,3}(?:,\d{3})+)(?=$|\.\d|\s|[a-zA-Z%])")
SPACED_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
RELATIONS = [
    (re.compile(p), r)
    for p, r in (
        (r">=|≥|\\geq?slant(?![a-zA-Z])|\\geq(?![a-zA-Z])", r"\\ge "),
        (r"<=|≤|\\leq?slant(?![a-zA-Z])|\\leq(?![a-zA-Z])", r"\\le "),
        (r"!=|≠|\\ne(?![a-zA-Z])", r"\\neq "),
        (r"\\gt(?![a-zA-Z])", ">"),
        (r"\\lt(?![a-zA-Z])", "<"),
    )
]
PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
DIGIT_GAP = re.compile(r"(?<=[\d.])\s+(?=[\d.])")  # 7 2, 1 1/2, 2 .5: a space between digits is never nothing
NO_SOLUTION = re.compile(r"no\s+solutions?", re.IGNORECASE)
ALL_REALS = re.compile(
    r"(?P<var>.*\\in\s*)?(?:\\mathbb\s*\{\s*R\s*\}|\\mathbb\s+R|ℝ|all\s+real\s+numbers|all\s+reals)", re.IGNORECASE
)
OR_WORDS = re.compile(r"\\lor(?![a-zA-Z])|\\vee(?![a-zA-Z])")


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    percent: bool  # the answer ended in a percent sign or the word "percent"
    source: str = ""  # the answer as given

    @property
    def plain(self) -> str:
        """The same text with its unit words kept (``8:30 pm``, ``90 minutes``)."""
        return _plain(self.source) if any(c.isalpha() for c in self.source) else self.text


def unwrap(text: str, pattern: re.Pattern = WRAPPER) -> str:
    """Replace ``\\name{X}`` by ``X`` for every wrapper command, nested ones included."""
    for _ in range(50):
        m = pattern.search(text)
        if not m:
            return text
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth:
            return text  # unbalanced: leave it for the parser to reject
        text = text[: m.start()] + text[m.end() : i - 1] + text[i:]
    return text


def strip_delimiters(text: str) -> str:
    changed = True
    while changed:
        changed, text = False, text.strip()
        for opener, closer in MATH_DELIMS:
            if len(text) >= len(opener) + len(closer) and text.startswith(opener) and text.endswith(closer):
                text, changed = text[len(opener) : len(text) - len(closer)], True
                break
    return text


def _strip_units(text: str, keep: bool = False) -> str:
    """Drop trailing unit words (``18 dollars``, ``5\\text{ cm}^2``) after a number or a closing bracket."""
    if keep:
        return text
    m = TRAILING_TEXT.match(text)
    if m and not set(m["words"].lower().split()) & KEEP_WORDS:
        return m["core"]
    core = text
    while (m := TRAILING_WORD.search(core)) and core[: m.start()].strip():
        word = m[1].strip(".").lower()
        rest = core[: m.start()].rstrip()
        unit = len(word) >= 2 or (m[1] in LETTER_UNITS and re.fullmatch(r"[-+]?[\d.,]+", rest))
        if word in KEEP_WORDS or not unit:
            break
        core = rest
    if core != text and (core[-1] in "0123456789})" or core.rsplit(None, 1)[-1] in MULTIPLIERS):
        return core
    return text


def _degrees(text: str) -> str:
    """Degrees inside a trigonometric function are radians times pi/180 (``\\sin 30^\\circ`` is 1/2);
    anywhere else the degree mark is dropped (``90^\\circ`` is 90)."""
    if TRIG.search(text):
        text = DEGREE_VALUE.sub(r"(\1\\pi/180)", text)
    return DEGREES.sub("", text)


def _pipeline(answer: str, keep_units: bool) -> tuple[str, bool]:
    text = strip_delimiters(answer)
    for raw, canonical in UNICODE:
        text = text.replace(raw, canonical)
    text = THIN_THOUSANDS.sub("", text)
    text = text.replace("\\%", "%").replace("\\{,\\}", ",").replace("{,}", ",")
    text = _degrees(text)
    text = DROP.sub("", text)
    text = SIZES.sub("", text)
    text = FRAC_ALIASES.sub(r"\\frac", text)
    text = OR_WORDS.sub(" or ", text)
    for pattern, replacement in RELATIONS:
        text = pattern.sub(replacement, text)
    text = _strip_units(text.strip(), keep_units)
    text = unwrap(text)
    text = SPACES.sub(" ", text)
    text = FRAC_DIGITS.sub(r"\\frac{\1}{\2}", text)
    text = FRAC_DIGIT_BRACE.sub(r"\\frac{\1}{", text)
    text = FRAC_BRACE_DIGIT.sub(r"\\frac{\1}{\2}", text)
    text = SQRT_BARE.sub(r"\\sqrt{\1}", text)
    text = INFINITY.sub(r"\\infty", text)
    text = EMPTY_SET.sub(r"\\emptyset", text)
    text = " ".join(text.split()).strip().rstrip(".").strip()
    text = CURRENCY.sub("", text)
    percent = False
    for suffix in ("%", " percent", "percent", " pct"):
        if text.endswith(suffix) and len(text) > len(suffix):
            text, percent = text[: -len(suffix)].strip(), True
            break
    if NO_SOLUTION.fullmatch(text):
        text = "\\emptyset"  # the empty solution set
    elif m := ALL_REALS.fullmatch(text):
        text = (m["var"] or "") + "(-\\infty,\\infty)"  # \\mathbb{R}, all real numbers
    text = _strip_units(text, keep_units)
    text = THOUSANDS.sub(lambda m: m[1] + m[2].replace(",", ""), text)
    if SPACED_THOUSANDS.fullmatch(text):
        text = text.replace(" ", "")
    if text.startswith("+") and not text.startswith("+\\infty"):
        text = text[1:].strip()
    return text.replace("+\\infty", "\\infty"), percent


@functools.lru_cache(maxsize=1024)
def _plain(answer: str) -> str:
    return _pipeline(answer, keep_units=True)[0]


def normalize(answer: str) -> Normalized:
    if PLAIN_NUMBER.fullmatch(answer):
        return Normalized(answer, False, answer)  # 72, -3.5: nothing to normalize (the GSM8K fast path)
    text, percent = _pipeline(answer, keep_units=False)
    return Normalized(text, percent, answer)


def in_words(answer: Normalized) -> Normalized:
    """A whole answer in number words as its numeral ("three hundred five" is 305, "a half" 1/2): the
    math checker's reading (``compare.decide``); plain ``normalize`` leaves words alone."""
    if answer.text[:1].isalpha() and (value := parse_number_words(answer.text)) is not None:
        return Normalized(str(value), answer.percent, answer.source)
    return answer


def squash(text: str) -> str:
    """The key for plain string equality: no whitespace, except one space between two digits (``7 2`` is
    not ``72``, nor ``1 1/2`` ``11/2``; spaced thousands were joined by normalization)."""
    return " ".join("".join(part.split()) for part in DIGIT_GAP.split(text))
