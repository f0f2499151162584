"""The commands, functions and named pieces of the expression grammar (``grammar.py``): ``\\frac``,
``\\sqrt``, ``\\binom``, floors, ``\\sum``/``\\prod`` with integer bounds, functions with their powers and
bases, symbols with subscripts, mixed numbers."""

from __future__ import annotations

import sympy

from starmill.filters.answers.pysyntax import Unsupported

GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
}
FUNCS = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "cot": sympy.cot,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "ln": sympy.log,
    "exp": sympy.exp,
}
PRIMARY_CMDS = {"frac", "sqrt", "pi", "infty", "binom", "lfloor", "lceil", "log", "abs", "sum", "prod", *FUNCS, *GREEK}
MAX_EXACT_EXPONENT = 1000  # larger integer powers stay unevaluated (compared numerically or not at all)
MAX_EXACT_FACTORIAL = 2000
MAX_EXACT_BITS = 10**6
MAX_SUM_TERMS = 1000


def make_pow(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    small = exp.is_Number and abs(exp) <= MAX_EXACT_EXPONENT
    if small and base.is_Integer and exp.is_Integer and int(base).bit_length() * abs(int(exp)) > MAX_EXACT_BITS:
        small = False  # (10^{999})^{999} would be a gigabyte
    if small or (exp.free_symbols and not exp.has(sympy.Pow)):
        return sympy.Pow(base, exp)
    return sympy.Pow(base, exp, evaluate=False)


class Commands:
    """Mixed into the parser: everything here reads tokens through ``peek``/``take`` and the parser's
    ``expr``/``power``/``group``/``primary``."""

    def mixed(self, whole: str) -> sympy.Expr | None:
        """``2\\frac{1}{2}`` is the mixed number 5/2 when both parts are integer literals."""
        t = self.toks[self.i : self.i + 7]
        shape = [v for _, v in t]
        if (
            "." in whole
            or len(t) < 7
            or shape[0] != "\\frac"
            or shape[1] != "{"
            or shape[3:5] != ["}", "{"]
            or shape[6] != "}"
        ):
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
