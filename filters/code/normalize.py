"""Programs compared by shape, not text: ``ast.parse`` only (never run). Docstrings go, and the names a
function binds (its arguments and locals) become ``_0``, ``_1``, … in order of first binding, so two
programs that differ only in local names, comments or docstrings normalize to the same text."""

from __future__ import annotations

import ast
import re

PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\S")


def _parse(program: str | None) -> ast.Module | None:
    if not program:
        return None
    try:
        return ast.parse(program)
    except PARSE_ERRORS:
        return None


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return body or [ast.Pass()]


class _Canonical(ast.NodeTransformer):
    """Per function: arguments and names it assigns are renamed in order of first binding."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, str]] = []

    def _bound(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> dict[str, str]:
        names: dict[str, str] = {}
        args = fn.args
        for a in [
            *args.posonlyargs,
            *args.args,
            *([args.vararg] if args.vararg else []),
            *args.kwonlyargs,
            *([args.kwarg] if args.kwarg else []),
        ]:
            names.setdefault(a.arg, f"_{len(names)}")
        if not isinstance(fn, ast.Lambda):
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.setdefault(node.id, f"_{len(names)}")
        return names

    def _function(self, node):
        self.scopes.append(self._bound(node))
        if not isinstance(node, ast.Lambda):
            node.body = _strip_docstring(node.body)
            node.returns = None
        for a in ast.walk(node.args):
            if isinstance(a, ast.arg):
                a.arg, a.annotation = self.scopes[-1].get(a.arg, a.arg), None
        self.generic_visit(node)
        self.scopes.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Name(self, node: ast.Name) -> ast.Name:
        for scope in reversed(self.scopes):
            if node.id in scope:
                node.id = scope[node.id]
                break
        return node


def normalized_program(program: str | None) -> str | None:
    """The program with docstrings, comments, annotations and local names normalized; None when it does not parse."""
    tree = _parse(program)
    if tree is None:
        return None
    tree.body = _strip_docstring(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            node.body = _strip_docstring(node.body)
    try:
        return ast.unparse(_Canonical().visit(tree))
    except PARSE_ERRORS:
        return None


def _functions(program: str | None) -> dict[str, str]:
    """Function name -> its normalized definition under one name (``_f``), nested ones included, so a copy
    renamed or wrapped in a helper still matches."""
    tree = _parse(program)
    if tree is None:
        return {}
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            text = normalized_program(ast.unparse(node))
            if text is not None:
                out.setdefault(node.name, re.sub(r"^(async )?def \w+", r"\1def _f", text, count=1))
    return out


def token_overlap(a: str, b: str) -> float:
    """Share of the shorter token sequence's tokens also in the other (as multisets)."""
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    if not ta or not tb:
        return 0.0
    from collections import Counter

    common = sum((Counter(ta) & Counter(tb)).values())
    return common / max(len(ta), len(tb))


def copies_reference(
    program: str | None, reference: str | None, entry_point: str | None = None, threshold: float = 0.9
) -> bool:
    """Whether ``program`` copies ``reference``: the same normalized program, or any function of it (under any
    name) the same as, or sharing at least ``threshold`` of its tokens with, the reference's entry point (a
    prompt's helpers are in both), else with any function of the reference."""
    if not program or not reference:
        return False
    ours, theirs = normalized_program(program), normalized_program(reference)
    if ours is not None and ours == theirs:
        return True
    mine, ref = _functions(program), _functions(reference)
    targets = [ref[entry_point]] if entry_point in ref else list(ref.values())
    return any(
        body == target or token_overlap(body, target) >= threshold for body in mine.values() for target in targets
    )
