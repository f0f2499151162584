"""The shape of an answer (scalar, equation, tuple or interval, set or list, union, matrix) and the
comparison of two shapes; the scalars at the leaves are compared by a function the caller passes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

Decision = tuple[bool, str]
Leaf = Callable[[str, str], Optional[Decision]]  # (gold scalar, pred scalar) -> decision or None (unknown)

OPEN = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
TOKEN = re.compile(r"\\langle|\\rangle|\\\{|\\\}|\\cup(?![a-zA-Z])|\\pm(?![a-zA-Z])|\\begin\{[a-z]*matrix\}|\\end\{[a-z]*matrix\}|\\[a-zA-Z]+|[()\[\]{},;=<>]|\bor\b|\band\b")
MATRIX = re.compile(r"\\begin\{([pb]?matrix|array)\}(?:\{[lcr|]*\})?(.*)\\end\{\1\}", re.DOTALL)
SIMPLE_VAR = re.compile(r"[a-zA-Z](?:_\{?\w+\}?)?|\\(?:alpha|beta|gamma|theta|lambda|mu|phi|omega|varphi)|[a-zA-Z](?:\^\{-1\})?\([a-zA-Z]\)")
INEQUALITY = {"<": (True, "<"), "\\lt": (True, "<"), ">": (True, ">"), "\\gt": (True, ">"),
              "\\le": (False, "<"), "\\leq": (False, "<"), "\\leqslant": (False, "<"),
              "\\ge": (False, ">"), "\\geq": (False, ">"), "\\geqslant": (False, ">")}
MAX_ITEMS = 64
BRACKET = {"\\langle": "<", "\\rangle": ">"}


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # scalar | eq | seq | set | list | or | union | matrix
    text: str = ""  # scalar text; for eq the left side
    items: tuple["Node", ...] = ()
    brackets: str = ""  # seq: opening and closing bracket, e.g. "[)"
    shape: tuple[int, int] = (0, 0)  # matrix rows, columns


def _split(text: str, seps: set[str]) -> list[str]:
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


def _inequality(parts: list[str], ops: list[str]) -> Node | None:
    """``x > 3``, ``x \\le 5``, ``1 < x \\le 4`` as intervals."""
    if len(parts) == 2 and SIMPLE_VAR.fullmatch(parts[1]) and not SIMPLE_VAR.fullmatch(parts[0]):
        flipped = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le"}.get(ops[0])
        return _inequality([parts[1], parts[0]], [flipped]) if flipped else None  # 5 \ge x is x \le 5
    if len(parts) == 2 and SIMPLE_VAR.fullmatch(parts[0]):
        strict, direction = INEQUALITY[ops[0]]
        end = "(" if strict else "["
        if direction == ">":
            return Node("seq", items=(Node("scalar", parts[1]), Node("scalar", "\\infty")), brackets=end + ")")
        return Node("seq", items=(Node("scalar", "-\\infty"), Node("scalar", parts[1])), brackets="(" + {"(": ")", "[": "]"}[end])
    if len(parts) == 3 and SIMPLE_VAR.fullmatch(parts[1]) and INEQUALITY[ops[0]][1] == INEQUALITY[ops[1]][1] == "<":
        left = "(" if INEQUALITY[ops[0]][0] else "["
        right = ")" if INEQUALITY[ops[1]][0] else "]"
        return Node("seq", items=(Node("scalar", parts[0]), Node("scalar", parts[2])), brackets=left + right)
    return None


def _items(parts: list[str]) -> tuple[Node, ...]:
    """Parsed elements of a set or list; ``1 \\pm \\sqrt{5}`` inside one counts as two elements."""
    nodes = [parse_structure(p) for p in parts[:MAX_ITEMS] if p]
    return tuple(item for n in nodes for item in (n.items if n.kind == "list" else (n,)))


def parse_structure(text: str) -> Node:
    text = text.strip()
    for kind, seps in (("or", {"or"}), ("list", {",", ";", "and"})):
        parts = _split(text, seps)
        if len(parts) > 1:
            return Node(kind, items=_items(parts))
    if m := MATRIX.fullmatch(text):
        rows = [[c.strip() for c in r.split("&")] for r in re.split(r"\\\\", m[2]) if r.strip()]
        if rows and len({len(r) for r in rows}) == 1:
            cells = tuple(Node("scalar", c) for r in rows for c in r)
            return Node("matrix", items=cells, shape=(len(rows), len(rows[0])))
    parts = _split(text, {"\\cup"})
    if len(parts) > 1:
        return Node("union", items=tuple(parse_structure(p) for p in parts[:MAX_ITEMS]))
    if enclosed := _enclosed(text):
        opener, inside, closer = enclosed
        if MATRIX.fullmatch(inside.strip()):
            return parse_structure(inside)  # \left[\begin{array}…\end{array}\right]
        items = _split(inside, {","})
        if opener == "\\{":
            return Node("set", items=_items(items))
        if len(items) > 1:
            return Node("seq", items=tuple(parse_structure(p) for p in items[:MAX_ITEMS]), brackets=BRACKET.get(opener, opener) + BRACKET.get(closer, closer))
    if text == "\\emptyset":
        return Node("set")
    pm = _split(text, {"\\pm"})
    if len(pm) == 2 and pm[1]:
        base = f"({pm[0]})" if pm[0] else "0"
        return Node("list", items=(Node("scalar", f"{base}+({pm[1]})"), Node("scalar", f"{base}-({pm[1]})")))
    ops = [m.group() for m in TOKEN.finditer(text) if m.group() in INEQUALITY]
    if ops and len(ops) <= 2:
        found = _inequality(_split_ops(text, ops), ops)
        if found:
            return found
    approx = _split(text, {"\\approx"})
    if len(approx) > 1:  # "x = 1/3 \approx 0.33" keeps the exact part; "x \approx 11" reads as x = 11
        text = approx[0] if _split(approx[0], {"="})[1:] else "=".join(approx)
    parts = _split(text, {"=", "\\in"})
    if len(parts) >= 2 and all(parts):
        return Node("eq", parts[0], items=(parse_structure(parts[-1]),))
    return Node("scalar", text)


def _split_ops(text: str, ops: list[str]) -> list[str]:
    return [p.strip() for p in re.split("|".join(re.escape(o) + ("(?![a-zA-Z])" if o[0] == "\\" else "") for o in set(ops)), text)]


def _all(pairs: list[tuple[Node, Node]], leaf: Leaf, kind: str) -> Decision | None:
    unknown = False
    for g, p in pairs:
        d = compare_nodes(g, p, leaf)
        if d is None:
            unknown = True
        elif not d[0]:
            return False, f"{kind}:{d[1]}"
    return None if unknown else (True, kind)


def _unordered(gold: tuple[Node, ...], pred: tuple[Node, ...], leaf: Leaf, kind: str) -> Decision | None:
    if len(gold) != len(pred):
        return False, f"{kind}:size"
    free, unknown = list(pred), False
    for g in gold:
        for i, p in enumerate(free):
            d = compare_nodes(g, p, leaf)
            unknown |= d is None
            if d and d[0]:
                del free[i]
                break
        else:
            return None if unknown else (False, f"{kind}:element")
    return True, kind


def compare_nodes(gold: Node, pred: Node, leaf: Leaf) -> Decision | None:
    g, p = gold, pred
    if g.kind == "scalar" and p.kind == "scalar":
        return leaf(g.text, p.text)
    if g.kind == "eq" and p.kind == "eq":
        if SIMPLE_VAR.fullmatch(g.text) and SIMPLE_VAR.fullmatch(p.text):
            if "".join(g.text.split()) != "".join(p.text.split()):
                return False, "equation:variable"
            return compare_nodes(g.items[0], p.items[0], leaf)
        if g.items[0].kind == p.items[0].kind == "scalar":
            return leaf(f"{g.text}={g.items[0].text}", f"{p.text}={p.items[0].text}")
        return False, "structure"
    if g.kind == "eq" and SIMPLE_VAR.fullmatch(g.text):
        return compare_nodes(g.items[0], p, leaf)
    if p.kind == "eq" and SIMPLE_VAR.fullmatch(p.text):
        return compare_nodes(g, p.items[0], leaf)
    if p.kind == "or" and g.kind not in ("or", "list", "set"):
        return False, "multiple_answers"
    sets = ("set", "list", "or")
    if g.kind in sets and p.kind in sets:
        return _unordered(g.items, p.items, leaf, "set")
    if g.kind in sets and len(g.items) == 1 and p.kind not in sets:
        return compare_nodes(g.items[0], p, leaf)
    if p.kind in sets and len(p.items) == 1 and g.kind not in sets:
        return compare_nodes(g, p.items[0], leaf)
    if p.kind == "list" and g.kind == "scalar":
        return False, "multiple_answers"
    if g.kind == "union" and p.kind == "union":
        return _unordered(g.items, p.items, leaf, "union")
    if g.kind == "seq" and p.kind == "seq":
        if len(g.items) != len(p.items):
            return False, "tuple:size"
        if len(g.items) == 2 and g.brackets != p.brackets:
            return False, "interval:ends"
        return _all(list(zip(g.items, p.items)), leaf, "interval" if g.brackets not in ("()", "<>") else "tuple")
    if g.kind == "matrix" and p.kind == "matrix":
        if g.shape != p.shape:
            return False, "matrix:shape"
        return _all(list(zip(g.items, p.items)), leaf, "matrix")
    vector = {g.kind, p.kind} == {"matrix", "seq"}
    if vector and 1 in (g.shape if g.kind == "matrix" else p.shape) and len(g.items) == len(p.items) > 2:
        return _all(list(zip(g.items, p.items)), leaf, "vector")
    return False, "structure"
