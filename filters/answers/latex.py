"""A small LaTeX-to-sympy parser for the answers models write (numbers, + - * /, powers, \\frac, \\sqrt,
functions, constants, implicit products). It builds expressions from sympy constructors only: no text
ever reaches ``sympify``, ``eval`` or ``exec``. Anything outside its grammar raises ``Unsupported``."""
from __future__ import annotations

import re
from fractions import Fraction

import sympy

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<fn>(?:arc)?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt)(?![a-zA-Z])"
    r"|(?P<cmd>\\[a-zA-Z]+)|(?P<ch>[a-zA-Z])|(?P<op>[-+*/^!()\[\]{}|_,]))"
)
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
FUNCS = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "sec": sympy.sec, "csc": sympy.csc, "cot": sympy.cot,
    "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "tanh": sympy.tanh, "ln": sympy.log, "exp": sympy.exp,
}
PRIMARY_CMDS = {"frac", "sqrt", "pi", "infty", "binom", "lfloor", "lceil", "log", *FUNCS, *GREEK}
MAX_EXACT_EXPONENT = 1000  # larger integer powers stay unevaluated (compared numerically or not at all)
MAX_EXACT_FACTORIAL = 2000
MAX_EXACT_BITS = 10**6


class Unsupported(ValueError):
    """The text is outside this parser's grammar (another parser may still read it)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, i, text = [], 0, text.rstrip()
    while i < len(text):
        m = TOKEN.match(text, i)
        if not m or m.end() == i:
            raise Unsupported(f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        value = m[kind]
        out.append(("cmd", "\\" + value) if kind == "fn" else (kind, value))
        i = m.end()
    return out


def make_pow(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    small = exp.is_Number and abs(exp) <= MAX_EXACT_EXPONENT
    if small and base.is_Integer and exp.is_Integer and int(base).bit_length() * abs(int(exp)) > MAX_EXACT_BITS:
        small = False  # (10^{999})^{999} would be a gigabyte
    if small or (exp.free_symbols and not exp.has(sympy.Pow)):
        return sympy.Pow(base, exp)
    return sympy.Pow(base, exp, evaluate=False)


class _Parser:
    def __init__(self, text: str):
        self.toks, self.i, self.inexact = _tokens(text), 0, False

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
        return kind in ("num", "ch") or value in ("(", "{") or (kind == "cmd" and value[1:] in PRIMARY_CMDS)

    def term(self) -> sympy.Expr:
        node = self.power()
        while tok := self.peek():
            if tok[1] in ("*", "\\cdot", "\\times"):
                self.take()
                node = node * self.signed_power()
            elif tok[1] in ("/", "\\div"):
                self.take()
                node = node / self.signed_power()
            elif self.starts_primary(tok) and tok[0] != "num":  # "2 3" is not 6
                node = node * self.power()
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
        if self.peek() and self.peek()[1] == "^":
            self.take()
            base = make_pow(base, self.exponent())
            if self.peek() and self.peek()[1] == "^":
                raise Unsupported("double superscript")
        return base

    def exponent(self) -> sympy.Expr:
        tok = self.peek()
        if tok is None:
            raise Unsupported("missing exponent")
        if tok[1] == "-":
            self.take()
            return -self.exponent()
        if tok[0] == "num" and len(tok[1]) > 1 and "." not in tok[1]:
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

    def mixed(self, whole: str) -> sympy.Expr | None:
        """``2\\frac{1}{2}`` is the mixed number 5/2 when both parts are integer literals."""
        t = self.toks[self.i : self.i + 7]
        shape = [v for _, v in t]
        if "." in whole or len(t) < 7 or shape[0] != "\\frac" or shape[1] != "{" or shape[3:5] != ["}", "{"] or shape[6] != "}":
            return None
        if t[2][0] != "num" or t[5][0] != "num" or "." in t[2][1] + t[5][1]:
            return None
        num, den = int(t[2][1]), int(t[5][1])
        if not 0 < num < den:
            return None
        self.i += 7
        return sympy.Integer(int(whole)) + sympy.Rational(num, den)

    def symbol(self, letter: str) -> sympy.Expr:
        if self.peek() and self.peek()[1] == "_":
            self.take()
            if self.peek() and self.peek()[1] == "{":
                self.take()
                parts = []
                while self.peek() and self.peek()[1] != "}":
                    parts.append(self.take()[1])
                self.take("}")
                return sympy.Symbol(f"{letter}_{''.join(parts)}")
            return sympy.Symbol(f"{letter}_{self.take()[1]}")
        if letter == "e":
            return sympy.E
        if letter == "i":
            return sympy.I
        return sympy.Symbol(letter)

    def command(self, name: str) -> sympy.Expr:
        if name == "frac":
            num = self.group()
            return num / self.group()
        if name == "sqrt":
            index = None
            if self.peek() and self.peek()[1] == "[":
                self.take()
                index = self.expr()
                self.take("]")
            radicand = self.group()
            return sympy.sqrt(radicand) if index is None else sympy.root(radicand, index)
        if name == "pi":
            return sympy.pi
        if name == "infty":
            return sympy.oo
        if name in GREEK:
            return self.symbol(name)
        if name == "binom":
            n, k = self.group(), self.group()
            small = n.is_Integer and 0 <= n <= MAX_EXACT_FACTORIAL
            return sympy.binomial(n, k) if small else sympy.binomial(n, k, evaluate=False)
        if name in ("lfloor", "lceil"):
            node = self.expr()
            self.take("\\rfloor" if name == "lfloor" else "\\rceil")
            return sympy.floor(node) if name == "lfloor" else sympy.ceiling(node)
        if name == "log" or name in FUNCS:
            return self.function(name)
        raise Unsupported(f"unknown command \\{name}")

    def function(self, name: str) -> sympy.Expr:
        base, power = None, None
        if name == "log" and self.peek() and self.peek()[1] == "_":
            self.take()
            base = self.group()
        if self.peek() and self.peek()[1] == "^":
            self.take()
            power = self.exponent()
        tok = self.peek()
        if tok and tok[1] in ("(", "{"):
            arg = self.primary()
        else:
            arg = self.power()
            while self.starts_primary(self.peek()) and self.peek()[0] != "cmd":
                arg = arg * self.power()
        if name == "log":
            value = sympy.log(arg, base if base is not None else 10)
        else:
            value = FUNCS[name](arg)
        return value if power is None else make_pow(value, power)


def parse_latex(text: str) -> tuple[sympy.Expr, bool]:
    """(expression, inexact) where inexact says a decimal literal was written."""
    parser = _Parser(text)
    return parser.parse(), parser.inexact
