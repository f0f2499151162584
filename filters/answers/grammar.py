"""The expression grammar shared by LaTeX and Python syntax (tokens from ``latex.py`` or ``pysyntax.py``):
sums, products (implicit ones only in LaTeX), powers, factorials, groups and absolute values, built with
sympy constructors only. Commands and functions are in ``commands.py``."""

from __future__ import annotations

from fractions import Fraction

import sympy

from starmill.filters.answers.commands import MAX_EXACT_FACTORIAL, PRIMARY_CMDS, Commands, make_pow
from starmill.filters.answers.pysyntax import Unsupported


class Parser(Commands):
    def __init__(self, toks: list[tuple[str, str]], implicit: bool = True):
        self.toks, self.i, self.inexact = toks, 0, False
        self.implicit = implicit  # LaTeX's "2x"; Python syntax has no implicit products
        self.symbols: set[str] = set()
        self.implicit_symbols = False
        self.bound: set[str] = set()

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise Unsupported(f"expected {value!r}, found {tok}")
        self.i += 1
        return tok

    def parse(self) -> sympy.Expr:
        if not self.toks:
            raise Unsupported("empty")
        node = self.expr()
        if self.peek() is not None:
            raise Unsupported(f"trailing {self.peek()}")
        return node

    def expr(self) -> sympy.Expr:
        node = self.unary()
        while (tok := self.peek()) and tok[1] in "+-":
            self.take()
            rhs = self.unary()
            node = node + rhs if tok[1] == "+" else node - rhs
        return node

    def unary(self) -> sympy.Expr:
        tok = self.peek()
        if tok and tok[1] == "-":
            self.take()
            return -self.unary()
        if tok and tok[1] == "+":
            self.take()
            return self.unary()
        return self.term()

    def starts_primary(self, tok: tuple[str, str] | None) -> bool:
        if tok is None:
            return False
        kind, value = tok
        return kind in ("num", "ch", "sym") or value in ("(", "{") or (kind == "cmd" and value[1:] in PRIMARY_CMDS)

    def term(self) -> sympy.Expr:
        node = self.power()
        divided = False  # the last operator was / or \div
        while tok := self.peek():
            if tok[1] in ("*", "\\cdot", "\\times"):
                self.take()
                node, divided = node * self.signed_power(), False
            elif tok[1] in ("/", "\\div"):
                self.take()
                node, divided = node / self.signed_power(), True
            elif self.implicit and self.starts_primary(tok) and tok[0] != "num":  # "2 3" is not 6
                if divided:  # 1/2x, 6/2(1+2): (1/2)x or 1/(2x)? Either reading is a guess
                    raise Unsupported("an implicit product after a division")
                rhs = self.power()
                self.implicit_symbols |= bool(node.free_symbols or rhs.free_symbols)
                node = node * rhs
            else:
                break
        return node

    def signed_power(self) -> sympy.Expr:
        if self.peek() and self.peek()[1] == "-":
            self.take()
            return -self.signed_power()
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.postfix()
        if self.peek() and self.peek()[1] in ("^", "**"):
            digit_only = self.take()[1] == "^" and self.implicit  # LaTeX's x^23; Python's x**23
            base = make_pow(base, self.exponent(digit_only))
            if self.peek() and self.peek()[1] in ("^", "**"):
                raise Unsupported("double superscript")
        return base

    def exponent(self, digit_only: bool = True) -> sympy.Expr:
        tok = self.peek()
        if tok is None:
            raise Unsupported("missing exponent")
        if tok[1] == "-":
            self.take()
            return -self.exponent(digit_only)
        if digit_only and tok[0] == "num" and len(tok[1]) > 1 and "." not in tok[1]:
            self.toks[self.i] = ("num", tok[1][1:])  # x^23 is x^2 times 3 in LaTeX
            return sympy.Integer(int(tok[1][0]))
        return self.postfix()

    def postfix(self) -> sympy.Expr:
        node = self.primary()
        while self.peek() and self.peek()[1] == "!":
            self.take()
            small = node.is_Integer and 0 <= node <= MAX_EXACT_FACTORIAL
            node = sympy.factorial(node) if small else sympy.factorial(node, evaluate=False)
        return node

    def group(self) -> sympy.Expr:
        tok = self.peek()
        if tok and tok[1] == "{":
            self.take()
            node = self.expr()
            self.take("}")
            return node
        if tok and tok[0] == "num":  # \frac12 style: one digit
            self.take()
            if len(tok[1]) > 1:
                self.i -= 1
                self.toks[self.i] = ("num", tok[1][1:])
            return self.number(tok[1][0])
        return self.primary()

    def number(self, text: str) -> sympy.Expr:
        if "." in text:
            self.inexact = True
        value = Fraction(text.rstrip(".") or "0")
        return sympy.Rational(value.numerator, value.denominator)

    def primary(self) -> sympy.Expr:
        tok = self.peek()
        if tok is None:
            raise Unsupported("unexpected end")
        kind, value = self.take()
        if kind == "num":
            return self.mixed(value) or self.number(value)
        if kind == "ch":
            return self.symbol(value)
        if kind == "sym":  # a Python name
            self.symbols.add(value)
            return sympy.Symbol(value)
        if value in ("(", "[", "{"):
            node = self.expr()
            self.take({"(": ")", "[": "]", "{": "}"}[value])
            return node
        if value == "|":
            node = self.expr()
            self.take("|")
            return sympy.Abs(node)
        if kind == "cmd":
            return self.command(value[1:])
        raise Unsupported(f"unexpected {value!r}")
