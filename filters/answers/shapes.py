"""The comparison of two answer shapes (``structure.py``); the scalars at the leaves are compared by a
function the caller passes, so the same rules hold in the fast path and in the symbolic workers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from starmill.filters.answers.structure import SIMPLE_VAR, Decision, Node, is_label, same_label

Leaf = Callable[[str, str], Decision | None]  # (gold scalar, pred scalar) -> decision or None (unknown)


def _all(pairs: list[tuple[Node, Node]], leaf: Leaf, kind: str, ordered: bool) -> Decision | None:
    unknown = False
    for g, p in pairs:
        d = compare_nodes(g, p, leaf, ordered)
        if d is None:
            unknown = True
        elif not d[0]:
            return False, f"{kind}:{d[1]}"
    return None if unknown else (True, kind)


def _unordered(gold: tuple[Node, ...], pred: tuple[Node, ...], leaf: Leaf, kind: str, ordered: bool) -> Decision | None:
    if len(gold) != len(pred):
        return False, f"{kind}:size"
    free, unknown = list(pred), False
    for g in gold:
        for i, p in enumerate(free):
            d = compare_nodes(g, p, leaf, ordered)
            unknown |= d is None
            if d and d[0]:
                del free[i]
                break
        else:
            return None if unknown else (False, f"{kind}:element")
    return True, kind


def _constant(text: str) -> bool:
    """No variable outside LaTeX commands (``7``, ``\\frac{\\sqrt3}{2}``, ``2\\pi``)."""
    return not re.search(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", "", text))


def _equations(g: Node, p: Node, leaf: Leaf, ordered: bool) -> Decision | None:
    value = g.items[0]
    if is_label(g.text) and value.kind == "scalar" and _constant(value.text) and not is_label(p.text):
        if p.items[0].kind == "scalar" and is_label(p.items[0].text) and _constant(p.text):
            return _equations(g, Node("eq", p.items[0].text, (Node("scalar", p.text),)), leaf, ordered)  # 3 = x
        return False, "equation:unsolved"  # x + 2 = 9 restates "solve for x"; x = 7 solves it
    if is_label(g.text) and is_label(p.text):  # x = 3 against x = 3; y = 2x+3 against f(x) = 2x+3
        if not same_label(g.text, p.text):
            return False, "equation:variable"
        return compare_nodes(g.items[0], p.items[0], leaf, ordered)
    if g.items[0].kind == p.items[0].kind == "scalar":
        return leaf(f"{g.text}={g.items[0].text}", f"{p.text}={p.items[0].text}")
    return False, "structure"


def _point_or_interval(g: Node, p: Node) -> bool:
    """A gold ``(a, b)`` with finite ends may be a point; an inequality (``a < x < b``) is an interval."""
    return (
        g.brackets == "()"
        and not g.text
        and bool(p.text)
        and len(g.items) == 2
        and not any("\\infty" in item.text for item in g.items)
    )


def _as_union(node: Node) -> Node:
    """``x < -2 or x > 3`` (inequalities in one variable joined by "or") as the union of their intervals."""
    if node.kind == "or" and len(node.items) >= 2 and all(n.kind == "seq" and n.text for n in node.items):
        names = {"".join(n.text.split()) for n in node.items}
        if len(names) == 1:
            return Node("union", node.items[0].text, tuple(replace(n, text="") for n in node.items))
    return node


def _components(node: Node) -> dict[str, Node] | None:
    """Named components: ``(a,b,c) = (3,4,5)`` or ``a=3, b=4, c=5`` as {name: value}; None otherwise."""
    if (
        node.kind == "eq"
        and node.text.strip().startswith("(")
        and node.items[0].kind == "seq"
        and node.items[0].brackets == "()"
    ):
        names = ["".join(n.split()) for n in node.text.strip()[1:-1].split(",")]
        values = node.items[0].items
    elif node.kind == "list" and all(n.kind == "eq" and SIMPLE_VAR.fullmatch(n.text.strip()) for n in node.items):
        names, values = ["".join(n.text.split()) for n in node.items], [n.items[0] for n in node.items]
    else:
        return None
    if len(names) < 2 or len(names) != len(values) or len(set(names)) != len(names):
        return None
    return dict(zip(names, values))


def _labelled(g: Node, p: Node, leaf: Leaf, ordered: bool) -> Decision | None:
    """A labelled tuple against labelled components (``(a,b,c) = (3,4,5)``, ``b=4, a=3, c=5``)."""
    gold, pred = _components(g), _components(p)
    if set(gold) != set(pred):
        return False, "labelled:names"
    return _all([(gold[k], pred[k]) for k in gold], leaf, "labelled", ordered)


def _condition(g: Node, p: Node, leaf: Leaf, ordered: bool) -> Decision | None:
    """Two conditions of a piecewise answer: intervals by their ends and variable, words as written."""
    if g.kind == p.kind == "seq":
        return compare_nodes(g, p, leaf, ordered)
    if g.kind == p.kind == "scalar" and "".join(g.text.split()).lower() == "".join(p.text.split()).lower():
        return True, "condition"
    return False, "cases:condition"


def compare_nodes(gold: Node, pred: Node, leaf: Leaf, ordered: bool = False) -> Decision | None:
    """Two shapes; lists compare as unordered collections unless ``ordered`` (a declared form)."""
    g, p = gold, pred
    if g.kind == "scalar" and p.kind == "scalar":
        return leaf(g.text, p.text)
    if {g.kind, p.kind} == {"eq", "list"} and _components(g) is not None and _components(p) is not None:
        return _labelled(g, p, leaf, ordered)
    g, p = _as_union(g), _as_union(p)
    if g.kind == "eq" and p.kind == "eq":
        return _equations(g, p, leaf, ordered)
    if g.kind == "eq" and is_label(g.text):
        return compare_nodes(g.items[0], p, leaf, ordered)
    if p.kind == "eq" and is_label(p.text):
        return compare_nodes(g, p.items[0], leaf, ordered)
    if p.kind == "or" and g.kind not in ("or", "list", "set"):
        return False, "multiple_answers"
    sets = ("set", "list", "or")
    if ordered and g.kind == "list" and p.kind in ("list", "or"):
        if len(g.items) != len(p.items):
            return False, "list:size"
        return _all(list(zip(g.items, p.items)), leaf, "list", ordered)
    if g.kind in sets and p.kind in sets:
        return _unordered(g.items, p.items, leaf, "set", ordered)
    if "set" in (g.kind, p.kind):
        return False, "type:set"  # \{3\} is a set, 3 a number (the other side is no collection)
    if g.kind in sets and len(g.items) == 1 and p.kind not in sets:
        return compare_nodes(g.items[0], p, leaf, ordered)
    if p.kind in sets and len(p.items) == 1 and g.kind not in sets:
        return compare_nodes(g, p.items[0], leaf, ordered)
    if p.kind == "list" and g.kind == "scalar":
        return False, "multiple_answers"
    if g.kind == "union" and p.kind == "union":
        if g.text and p.text and "".join(g.text.split()) != "".join(p.text.split()):
            return False, "union:variable"
        return _unordered(g.items, p.items, leaf, "union", ordered)
    if g.kind == "seq" and p.kind == "seq":
        if len(g.items) != len(p.items):
            return False, "tuple:size"
        if len(g.items) == 2 and g.brackets != p.brackets:
            return False, "interval:ends"
        if _point_or_interval(g, p):
            return False, "interval:point"
        if g.text and p.text and "".join(g.text.split()) != "".join(p.text.split()):
            return False, "interval:variable"  # x < 3 is not y < 3
        return _all(
            list(zip(g.items, p.items)), leaf, "interval" if g.brackets not in ("()", "<>") else "tuple", ordered
        )
    if g.kind == "cases" and p.kind == "cases":
        return _unordered(g.items, p.items, leaf, "cases", ordered)
    if g.kind == "piece" and p.kind == "piece":
        condition = _condition(g.items[1], p.items[1], leaf, ordered)
        if condition is not None and not condition[0]:
            return condition
        value = compare_nodes(g.items[0], p.items[0], leaf, ordered)
        return None if value is None or condition is None else value
    if g.kind == "matrix" and p.kind == "matrix":
        if g.shape != p.shape:
            return False, "matrix:shape"
        return _all(list(zip(g.items, p.items)), leaf, "matrix", ordered)
    vector = {g.kind, p.kind} == {"matrix", "seq"}
    if vector and 1 in (g.shape if g.kind == "matrix" else p.shape) and len(g.items) == len(p.items) > 2:
        return _all(list(zip(g.items, p.items)), leaf, "vector", ordered)
    return False, "structure"
