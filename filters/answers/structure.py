"""The shape of an answer: scalar, equation (with a label such as ``x``, ``f(x)``, ``(p,q)``, ``|AB|``),
tuple or interval (inequalities become intervals), set or list, union, matrix. ``shapes.py`` compares
two shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass

Decision = tuple[bool, str]

OPEN = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
TOKEN = re.compile(
    r"\\langle|\\rangle|\\\{|\\\}|\\cup(?![a-zA-Z])|\\pm(?![a-zA-Z])|\\begin\{(?:[a-z]*matrix|cases)\}|\\end\{(?:[a-z]*matrix|cases)\}|\\[a-zA-Z]+|[()\[\]{},;=<>]|\bor\b|\band\b"
)
CASES = re.compile(r"\\begin\{cases\}(.*)\\end\{cases\}", re.DOTALL)
CONDITION_WORDS = re.compile(r"^(?:,|\s|if\b|for\b|when\b|:)+")
MATRIX = re.compile(r"\\begin\{([pb]?matrix|array)\}(?:\{[lcr|]*\})?(.*)\\end\{\1\}", re.DOTALL)
SIMPLE_VAR = re.compile(
    r"[a-zA-Z](?:_\{?\w+\}?)?|\\(?:alpha|beta|gamma|theta|lambda|mu|phi|omega|varphi)|[a-zA-Z](?:\^\{-1\})?\([a-zA-Z]\)"
)
INEQUALITY = {
    "<": (True, "<"),
    "\\lt": (True, "<"),
    ">": (True, ">"),
    "\\gt": (True, ">"),
    "\\le": (False, "<"),
    "\\leq": (False, "<"),
    "\\leqslant": (False, "<"),
    "\\ge": (False, ">"),
    "\\geq": (False, ">"),
    "\\geqslant": (False, ">"),
}
# What may stand left of "=" as the name of an answer: x, f(x), (p,q), |AB|, AB, \angle ABC.
LABEL = re.compile(
    rf"(?:{SIMPLE_VAR.pattern})|\((?:{SIMPLE_VAR.pattern})(?:\s*,\s*(?:{SIMPLE_VAR.pattern}))+\)"
    r"|\|\s*[A-Z]{1,3}\s*\||[A-Z]{2,3}|\\overline\{[A-Z]{2}\}|m?\\angle\s*[A-Z]{1,3}"
)
DEPENDENT = re.compile(r"[a-zA-Z]\([a-z]\)")  # f(x): names the same thing as y
FLIP = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le"}
ABS_VAR = re.compile(r"\|\s*([a-zA-Z])\s*\|")  # |x| > 1
CONSTANT = re.compile(r"\d+(?:\.\d+)?")
SIGNED_NUMBER = re.compile(r"\s*-?\s*\d+(?:\.\d+)?\s*")
NOT_EQUAL = re.compile(rf"({SIMPLE_VAR.pattern})\s*\\neq\s*(-?\d+(?:\.\d+)?)")  # x \neq 0
MAX_ITEMS = 64
BRACKET = {"\\langle": "<", "\\rangle": ">"}


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # scalar | eq | seq | set | list | or | union | matrix | cases | piece
    text: str = ""  # scalar text; for eq the left side; for an interval or union from an inequality its variable
    items: tuple[Node, ...] = ()
    brackets: str = ""  # seq: opening and closing bracket, e.g. "[)"
    shape: tuple[int, int] = (0, 0)  # matrix rows, columns


def split_top(text: str, seps: set[str]) -> list[str]:
    """Split at separators that stand at bracket depth 0."""
    parts, depth, start = [], 0, 0
    for m in TOKEN.finditer(text):
        tok = m.group()
        if tok in ("(", "[", "{", "\\{", "\\langle") or tok.startswith("\\begin"):
            depth += 1
        elif tok in (")", "]", "}", "\\}", "\\rangle") or tok.startswith("\\end"):
            depth -= 1
        elif depth == 0 and tok in seps:
            parts.append(text[start : m.start()].strip())
            start = m.end()
    return parts + [text[start:].strip()]


def _enclosed(text: str) -> tuple[str, str, str] | None:
    """(opening, inside, closing) when one bracket pair encloses the whole text."""
    for opener in OPEN:
        if not text.startswith(opener):
            continue
        depth = 0
        for m in TOKEN.finditer(text):
            tok = m.group()
            if tok in ("(", "[", "{", "\\{", "\\langle"):
                depth += 1
            elif tok in (")", "]", "}", "\\}", "\\rangle"):
                depth -= 1
                if depth == 0:
                    if m.end() != len(text):
                        return None
                    return opener, text[len(opener) : m.start()], tok
        return None
    return None


def is_label(text: str) -> bool:
    return bool(LABEL.fullmatch(text.strip()))


def same_label(gold: str, pred: str) -> bool:
    """The same name; ``y`` and ``f(x)`` both name the function's value."""
    g, p = "".join(gold.split()), "".join(pred.split())
    return g == p or ("y" in (g, p) and bool(DEPENDENT.fullmatch(p if g == "y" else g)))


def _inequality(parts: list[str], ops: list[str]) -> Node | None:
    """Solved inequalities (``x > 3``, ``5 \\ge x``, ``1 < x \\le 4``) as intervals, and a negated variable
    against a number (``-x > -1`` is ``x < 1``: the same set, read by flipping both sides). Anything else
    unsolved (``-2x \\ge -6``, ``x + 2 > 3``) is the problem restated, not its solution: it stays unread."""
    if (
        len(parts) == 2
        and parts[0].startswith("-")
        and SIMPLE_VAR.fullmatch(parts[0][1:].strip())
        and SIGNED_NUMBER.fullmatch(parts[1])
        and ops[0] in FLIP
    ):
        number = parts[1].strip()
        negated = number[1:].strip() if number.startswith("-") else ("0" if float(number) == 0 else "-" + number)
        return _inequality([parts[0][1:].strip(), negated], [FLIP[ops[0]]])
    if len(parts) == 2 and (m := ABS_VAR.fullmatch(parts[0])) and CONSTANT.fullmatch(parts[1]):
        return _absolute(m[1], parts[1], *INEQUALITY[ops[0]])
    if len(parts) == 2 and not SIMPLE_VAR.fullmatch(parts[0]) and SIMPLE_VAR.fullmatch(parts[1]):
        flipped = FLIP.get(ops[0])
        return _inequality([parts[1], parts[0]], [flipped]) if flipped else None  # 5 \ge x is x \le 5
    if len(parts) == 2 and SIMPLE_VAR.fullmatch(parts[0]):
        strict, direction = INEQUALITY[ops[0]]
        end = "(" if strict else "["
        if direction == ">":
            return Node("seq", parts[0], (Node("scalar", parts[1]), Node("scalar", "\\infty")), end + ")")
        return Node(
            "seq", parts[0], (Node("scalar", "-\\infty"), Node("scalar", parts[1])), "(" + {"(": ")", "[": "]"}[end]
        )
    if len(parts) == 3 and SIMPLE_VAR.fullmatch(parts[1]) and INEQUALITY[ops[0]][1] == INEQUALITY[ops[1]][1] == "<":
        left = "(" if INEQUALITY[ops[0]][0] else "["
        right = ")" if INEQUALITY[ops[1]][0] else "]"
        return Node("seq", parts[1], (Node("scalar", parts[0]), Node("scalar", parts[2])), left + right)
    return None


def _absolute(var: str, bound: str, strict: bool, direction: str) -> Node:
    """``|x| < c`` is the interval (-c, c); ``|x| > c`` the union of (-inf, -c) and (c, inf)."""
    low, high = Node("scalar", f"-{bound}"), Node("scalar", bound)
    if direction == "<":
        return Node("seq", var, (low, high), "()" if strict else "[]")
    below = Node("seq", "", (Node("scalar", "-\\infty"), low), "()" if strict else "(]")
    above = Node("seq", "", (high, Node("scalar", "\\infty")), "()" if strict else "[)")
    return Node("union", var, (below, above))


def _cases(body: str) -> Node:
    """``\\begin{cases} x & x \\ge 0 \\\\ -x & x < 0 \\end{cases}``: pieces of (value, condition); a
    condition is an inequality read as an interval, or its words (``otherwise``)."""
    pieces = []
    for row in re.split(r"\\\\", body):
        if not row.strip():
            continue
        value, amp, condition = row.partition("&")
        condition = CONDITION_WORDS.sub("", condition.strip()).strip().rstrip(".,").strip()
        if not amp or not condition or "&" in condition:
            return Node("scalar", f"\\begin{{cases}}{body}\\end{{cases}}")  # unreadable: the parser refuses it
        read = parse_structure(condition)
        pieces.append(
            Node(
                "piece",
                items=(
                    parse_structure(value.strip().rstrip(",").strip()),
                    read if read.kind == "seq" and read.text else Node("scalar", condition),
                ),
            )
        )
    return Node("cases", items=tuple(pieces[:MAX_ITEMS]))


def _items(parts: list[str]) -> tuple[Node, ...]:
    """Parsed elements of a set or list; ``1 \\pm \\sqrt{5}`` inside one counts as two elements."""
    nodes = [parse_structure(p) for p in parts[:MAX_ITEMS] if p]
    return tuple(item for n in nodes for item in (n.items if n.kind == "list" else (n,)))


def parse_structure(text: str) -> Node:
    text = text.strip()
    for kind, seps in (("or", {"or"}), ("list", {",", ";", "and"})):
        parts = split_top(text, seps)
        if len(parts) > 1:
            return Node(kind, items=_items(parts))
    if m := CASES.fullmatch(text):
        return _cases(m[1])
    if m := MATRIX.fullmatch(text):
        rows = [[c.strip() for c in r.split("&")] for r in re.split(r"\\\\", m[2]) if r.strip()]
        if rows and len({len(r) for r in rows}) == 1:
            cells = tuple(Node("scalar", c) for r in rows for c in r)
            return Node("matrix", items=cells, shape=(len(rows), len(rows[0])))
    parts = split_top(text, {"\\cup"})
    if len(parts) > 1:
        return Node("union", items=tuple(parse_structure(p) for p in parts[:MAX_ITEMS]))
    if enclosed := _enclosed(text):
        opener, inside, closer = enclosed
        if MATRIX.fullmatch(inside.strip()):
            return parse_structure(inside)  # \left[\begin{array}…\end{array}\right]
        items = split_top(inside, {","})
        if opener == "\\{":
            return Node("set", items=_items(items))
        if len(items) > 1:
            return Node(
                "seq",
                items=tuple(parse_structure(p) for p in items[:MAX_ITEMS]),
                brackets=BRACKET.get(opener, opener) + BRACKET.get(closer, closer),
            )
    if text == "\\emptyset":
        return Node("set")
    pm = split_top(text, {"\\pm"})
    if len(pm) == 2 and pm[1]:
        base = f"({pm[0]})" if pm[0] else "0"
        return Node("list", items=(Node("scalar", f"{base}+({pm[1]})"), Node("scalar", f"{base}-({pm[1]})")))
    if m := NOT_EQUAL.fullmatch(text):  # x \neq 0: the line without a point
        point = Node("scalar", m[2])
        return Node(
            "union",
            m[1],
            (
                Node("seq", "", (Node("scalar", "-\\infty"), point), "()"),
                Node("seq", "", (point, Node("scalar", "\\infty")), "()"),
            ),
        )
    ops = [m.group() for m in TOKEN.finditer(text) if m.group() in INEQUALITY]
    if ops and len(ops) <= 2:
        found = _inequality(_split_ops(text, ops), ops)
        if found:
            return found
    approx = split_top(text, {"\\approx"})
    if len(approx) > 1:  # "1/3 \approx 0.33", "x = 1/3 \approx 0.33" keep the exact part; "x \approx 11" is x = 11
        head = approx[0]
        text = (
            approx[-1] if not head else "=".join(approx) if is_label(head) and not split_top(head, {"="})[1:] else head
        )
    parts = split_top(text, {"=", "\\in"})
    if len(parts) >= 2 and all(parts):
        value = parse_structure(parts[-1])
        if (
            len(parts) == 2
            and value.kind == "seq"
            and len(value.items) == 2
            and not value.text
            and SIMPLE_VAR.fullmatch(parts[0])
            and len(split_top(text, {"\\in"})) == 2
        ):
            return Node("seq", parts[0], value.items, value.brackets)  # x \in (1, 2): an interval in x, as 1 < x < 2
        return Node("eq", parts[0], items=(value,))
    return Node("scalar", text)


def _split_ops(text: str, ops: list[str]) -> list[str]:
    return [
        p.strip()
        for p in re.split("|".join(re.escape(o) + ("(?![a-zA-Z])" if o[0] == "\\" else "") for o in set(ops)), text)
    ]
