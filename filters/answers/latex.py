"""A small LaTeX-to-sympy parser for the answers models write (numbers, + - * /, powers, \\frac, \\sqrt,
functions, constants, implicit products, finite sums and products), which also reads Python/sympy
syntax (``pysyntax.py``). It builds expressions from sympy constructors only: no text ever reaches
``sympify``, ``eval`` or ``exec``. Anything outside its grammar raises ``Unsupported``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import sympy

from filters.answers.pysyntax import Unsupported, is_python, python_tokens
from filters.answers.typed import GLUED

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<fn>(?:arc)?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt)(?![a-zA-Z])"
    r"|(?P<cmd>\\[a-zA-Z]+)|(?P<ch>[a-zA-Z])|(?P<op>\*\*|[-+*/^!()\[\]{}|_,=]))"
)
WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}(?![a-zA-Z])(\s*\()?")  # a word is never a product of letters
FUNCTION_NAME = re.compile(r"(?:arc)?(?:sin|cos|tan|sec|csc|cot)h?|ln|log|exp|sqrt")
BARS = {"\\lvert": "|", "\\rvert": "|", "\\vert": "|", "\\mid": "|"}
MAX_SUM_TERMS = 1000
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
PRIMARY_CMDS = {"frac", "sqrt", "pi", "infty", "binom", "lfloor", "lceil", "log", "abs", "sum", "prod", *FUNCS, *GREEK}
MAX_EXACT_EXPONENT = 1000  # larger integer powers stay unevaluated (compared numerically or not at all)
MAX_EXACT_FACTORIAL = 2000
MAX_EXACT_BITS = 10**6


@dataclass(frozen=True, slots=True)
class Parsed:
    expr: sympy.Expr
    inexact: bool  # a decimal literal was written
    symbols: frozenset  # names of the free symbols as written (0x has x even though 0x is 0)
    implicit_symbols: bool  # a symbol took part in an implicit product (2x, 0 a)


def _tokens(text: str) -> list[tuple[str, str]]:
    if GLUED.search(text):
        raise Unsupported("letters between digits")
    for m in WORD.finditer(text):
        if (len(m[0]) >= 4 or m[1]) and not FUNCTION_NAME.fullmatch(m[0].rstrip("( \t")):
            raise Unsupported(f"a word: {m[0][:20]!r}")
    out, i, text = [], 0, text.rstrip()
    while i < len(text):
        m = TOKEN.match(text, i)
        if not m or m.end() == i:
            raise Unsupported(f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        value = m[kind]
        if kind == "fn":
            if value == "log" and not text[m.end():].lstrip().startswith("_"):
                raise Unsupported("log without a backslash or a base: ln or log10?")  # sympy's log is ln
            kind, value = "cmd", "\\" + value
        if value in BARS:
            kind, value = "op", BARS[value]
        out.append((kind, value))
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
        while tok := self.peek():
            if tok[1] in ("*", "\\cdot", "\\times"):
                self.take()
                node = node * self.signed_power()
            elif tok[1] in ("/", "\\div"):
                self.take()
                node = node / self.signed_power()
            elif self.implicit and self.starts_primary(tok) and tok[0] != "num":  # "2 3" is not 6
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
        if letter in self.bound:  # a sum's index: \sum_{i=1}^{3} i has no imaginary unit
            return sympy.Symbol(letter)
        if self.peek() and self.peek()[1] == "_":
            self.take()
            if self.peek() and self.peek()[1] == "{":
                self.take()
                parts = []
                while self.peek() and self.peek()[1] != "}":
                    parts.append(self.take()[1])
                self.take("}")
                name = f"{letter}_{''.join(parts)}"
            else:
                name = f"{letter}_{self.take()[1]}"
            self.symbols.add(name)
            return sympy.Symbol(name)
        if letter == "e":
            return sympy.E
        if letter == "i":
            return sympy.I
        self.symbols.add(letter)
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
        if name == "abs":
            return sympy.Abs(self.group())
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name == "log" or name in FUNCS:
            return self.function(name)
        raise Unsupported(f"unknown command \\{name}")

    def big_operator(self, name: str) -> sympy.Expr:
        """``\\sum_{k=1}^{10} k^2`` with integer bounds, evaluated term by term; the body is the
        product that follows (``\\sum_{k=1}^{3} k + 1`` is 7)."""
        self.take("_")
        self.take("{")
        kind, letter = self.take()
        if kind != "ch":
            raise Unsupported("sum index")
        self.take("=")
        low = self.expr()
        self.take("}")
        self.take("^")
        high = self.group()
        if not (low.is_Integer and high.is_Integer and 0 <= high - low <= MAX_SUM_TERMS):
            raise Unsupported("sum bounds")
        before = (set(self.symbols), self.implicit_symbols)
        self.bound.add(letter)
        body = self.power()
        while self.implicit and self.starts_primary(self.peek()) and self.peek()[0] != "num":
            body = body * self.power()
        self.bound.discard(letter)
        index = sympy.Symbol(letter)
        if not body.free_symbols - {index}:
            self.symbols, self.implicit_symbols = before  # the index is bound, not a free symbol
        terms = [body.subs(index, k) for k in range(int(low), int(high) + 1)]
        return sympy.Add(*terms) if name == "sum" else sympy.Mul(*terms)

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
        elif not self.implicit:
            raise Unsupported("a Python function call needs parentheses")
        else:
            arg = self.power()
            while self.starts_primary(self.peek()) and self.peek()[0] not in ("cmd", "num"):
                arg = arg * self.power()  # \sin 2x is sin(2x); \sin x 2 is not sin(2x)
        if name == "log":
            value = sympy.log(arg, base if base is not None else 10)
        else:
            value = FUNCS[name](arg)
        return value if power is None else make_pow(value, power)


def parse_latex(text: str) -> Parsed:
    """Parse LaTeX, or Python/sympy syntax when the text is written that way (``pysyntax.is_python``)."""
    python = is_python(text)
    parser = _Parser(python_tokens(text) if python else _tokens(text), implicit=not python)
    expr = parser.parse()
    return Parsed(expr, parser.inexact, frozenset(parser.symbols), parser.implicit_symbols)


def parse_factors(text: str) -> list[sympy.Expr]:
    """The factors of a product as written (``2(x+1)^2(x-3)``: 2, (x+1)^2, x-3), each parsed on its
    own so sympy cannot multiply them out; a sum or quotient at the top is one factor."""
    python = is_python(text)
    tokens = python_tokens(text) if python else _tokens(text)
    parser = _Parser(tokens, implicit=not python)
    negative = bool(parser.peek()) and parser.peek()[1] == "-"
    if negative:
        parser.take()
    factors = [parser.power()]
    while (tok := parser.peek()) is not None:
        if tok[1] in ("*", "\\cdot", "\\times"):
            parser.take()
            factors.append(parser.power())
        elif parser.implicit and parser.starts_primary(tok) and tok[0] != "num":
            factors.append(parser.power())
        else:
            return [_Parser(tokens, implicit=not python).parse()]
    return [-factors[0], *factors[1:]] if negative else factors
