"""Seeded procedural programming problems: write one small Python function, graded by its tests.

The code counterpart of ``procedural`` (``uri: procedural_code``) and the demo code teacher's training data.
Each problem names a function in backticks; its gold answer is the code verifier's functional test spec
(``check(candidate)`` asserts, and a compact ``reference`` program: the rationalization hint), its gold solution
what the demo code teacher learns to write: a short ``<think>`` plan and the program step by step.
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from starmill.schemas.problems import ProblemRecord

SOURCE = "procedural_code"
LEVELS = {
    1: "one arithmetic expression of an integer",
    2: "one list or string operation with a parameter",
    3: "filter, transform and sum or collect a list",
}
NAMES = [
    "f",
    "g",
    "h",
    "solve",
    "compute",
    "calc",
    "process",
    "answer",
    "apply",
    "transform",
    "run",
    "pick",
    "work",
    "result",
    "value",
    "step",
    "go",
    "do_it",
    "task",
    "fn",
    "make",
    "build",
    "get",
    "find",
]
INT_ARGS, LIST_ARGS, STR_ARGS = ("x", "n"), ("xs", "nums"), ("s", "text")
TESTS = 4  # asserts per check


@dataclass(frozen=True)
class CodeTask:
    entry_point: str
    question: str
    think: str  # the plan in <think>
    steps: str  # the body the teacher writes, one step a line
    reference: str  # the same function, compact (the hint a rationalization is shown)
    tests: tuple[tuple[str, str], ...]  # (argument, expected) as Python literals
    family: str

    def completion(self) -> str:
        """What the demo code teacher writes: its plan, then the program in a python block."""
        return f"<think>\n{self.think}\n</think>\n```python\n{self.steps}```"

    def check(self) -> str:
        lines = [f"    assert candidate({arg}) == {expected}" for arg, expected in self.tests]
        return "def check(candidate):\n" + "\n".join(lines) + "\n"

    def spec(self) -> dict:
        return {
            "kind": "functional",
            "entry_point": self.entry_point,
            "test": self.check(),
            "reference": self.reference,
        }


def _function(name: str, arg: str, body: list[str]) -> str:
    return f"def {name}({arg}):\n" + "".join(f"    {line}\n" for line in body)


def _task(name: str, arg: str, q: str, plan: str, body: list[str], ref: list[str], args, family: str, oracle) -> tuple:
    """A level's task tuple: (question, plan, stepwise program, reference program, args, family, oracle)."""
    return (
        f"Write a Python function `{name}({arg})` that {q}.",
        plan,
        _function(name, arg, body),
        _function(name, arg, ref),
        args,
        family,
        oracle,
    )


def _level1(rng: random.Random, name: str) -> tuple:
    x = rng.choice(INT_ARGS)
    a, b = rng.randint(2, 9), rng.randint(1, 20)
    form = rng.choice(["mul_add", "mul_sub", "square_add", "add_mul"])
    expr, first, then, plan = {
        "mul_add": (f"{a} * {x} + {b}", f"{a} * {x}", f"y + {b}", f"Multiply {x} by {a}, then add {b}."),
        "mul_sub": (f"{a} * {x} - {b}", f"{a} * {x}", f"y - {b}", f"Multiply {x} by {a}, then subtract {b}."),
        "square_add": (f"{x} * {x} + {b}", f"{x} * {x}", f"y + {b}", f"Square {x}, then add {b}."),
        "add_mul": (f"({x} + {b}) * {a}", f"{x} + {b}", f"y * {a}", f"Add {b} to {x}, then multiply by {a}."),
    }[form]
    question = f"Write a Python function `{name}({x})` that returns {expr}."
    steps = _function(name, x, [f"y = {first}", f"return {then}"])
    reference = _function(name, x, [f"return {expr}"])
    args = [repr(rng.randint(-10, 20)) for _ in range(TESTS)]
    oracle = {
        "mul_add": lambda v: a * v + b,
        "mul_sub": lambda v: a * v - b,
        "square_add": lambda v: v * v + b,
        "add_mul": lambda v: (v + b) * a,
    }[form]
    return question, plan, steps, reference, args, form, oracle


def _list(rng: random.Random) -> str:
    return repr([rng.randint(0, 20) for _ in range(rng.randint(0, 7))])


def _string(rng: random.Random, letters: str) -> str:
    return repr("".join(rng.choice(letters) for _ in range(rng.randint(0, 9))))


FILTERS = {  # name: (question words, condition of v, plan words) — k is the parameter
    "greater": ("is greater than {k}", "v > {k}", "v > {k}"),
    "less": ("is less than {k}", "v < {k}", "v < {k}"),
    "divisible": ("is divisible by {k}", "v % {k} == 0", "v divisible by {k}"),
    "even": ("is even", "v % 2 == 0", "v even"),
    "odd": ("is odd", "v % 2 == 1", "v odd"),
}
MAPS = {"same": "v", "times": "{a} * v", "plus": "v + {a}", "square": "v * v"}
# What the conditions and terms above compute, for the expected values (never by running their text)
KEEPS = {
    "greater": lambda v, k: v > k,
    "less": lambda v, k: v < k,
    "divisible": lambda v, k: v % k == 0,
    "even": lambda v, k: v % 2 == 0,
    "odd": lambda v, k: v % 2 == 1,
}
CHANGES = {
    "same": lambda v, a: v,
    "times": lambda v, a: a * v,
    "plus": lambda v, a: v + a,
    "square": lambda v, a: v * v,
}


def _level2(rng: random.Random, name: str) -> tuple:
    family = rng.choice(
        ["sum_greater", "count_divisible", "map_times", "map_plus", "count_char", "replace_char", "prefix"]
    )
    k = rng.randint(2, 9) if family == "count_divisible" else rng.randint(1, 30)
    if family in ("count_char", "replace_char", "prefix"):
        s = rng.choice(STR_ARGS)
        c, d = rng.sample("abcdefgh", 2)
        args = [_string(rng, "abcdefgh") for _ in range(TESTS)]
        if family == "count_char":
            q, plan = f"returns how many times the letter '{c}' appears in {s}", f"Count each ch in {s} equal to '{c}'."
            body = ["count = 0", f"for ch in {s}:", f"    if ch == '{c}':", "        count += 1", "return count"]
            ref = [f"return {s}.count('{c}')"]
            oracle = lambda text: text.count(c)  # noqa: E731
        elif family == "replace_char":
            q, plan = f"returns {s} with every '{c}' replaced by '{d}'", f"Go through {s}; write '{d}' for each '{c}'."
            body = [
                "out = ''",
                f"for ch in {s}:",
                f"    if ch == '{c}':",
                f"        ch = '{d}'",
                "    out += ch",
                "return out",
            ]
            ref = [f"return {s}.replace('{c}', '{d}')"]
            oracle = lambda text: text.replace(c, d)  # noqa: E731
        else:
            k = k % 9 + 1
            q, plan = f"returns the first {k} characters of {s}", f"Slice {s} up to index {k}."
            body, ref = [f"out = {s}[:{k}]", "return out"], [f"return {s}[:{k}]"]
            oracle = lambda text: text[:k]  # noqa: E731
        return _task(name, s, q, plan, body, ref, args, family, oracle)
    xs = rng.choice(LIST_ARGS)
    args = [_list(rng) for _ in range(TESTS)]
    if family == "sum_greater":
        q, plan = (
            f"returns the sum of the numbers in {xs} that are greater than {k}",
            f"Add up each v in {xs} with v > {k}.",
        )
        body = ["total = 0", f"for v in {xs}:", f"    if v > {k}:", "        total += v", "return total"]
        ref = [f"return sum(v for v in {xs} if v > {k})"]
        oracle = lambda values: sum(v for v in values if v > k)  # noqa: E731
    elif family == "count_divisible":
        q, plan = f"returns how many numbers in {xs} are divisible by {k}", f"Count each v in {xs} with v % {k} == 0."
        body = ["count = 0", f"for v in {xs}:", f"    if v % {k} == 0:", "        count += 1", "return count"]
        ref = [f"return len([v for v in {xs} if v % {k} == 0])"]
        oracle = lambda values: len([v for v in values if v % k == 0])  # noqa: E731
    elif family == "map_times":
        q, plan = (
            f"returns a new list with every number in {xs} multiplied by {k}",
            f"Append {k} * v for each v in {xs}.",
        )
        body = ["out = []", f"for v in {xs}:", f"    out.append({k} * v)", "return out"]
        ref = [f"return [{k} * v for v in {xs}]"]
        oracle = lambda values: [k * v for v in values]  # noqa: E731
    else:
        q, plan = f"returns a new list with {k} added to every number in {xs}", f"Append v + {k} for each v in {xs}."
        body = ["out = []", f"for v in {xs}:", f"    out.append(v + {k})", "return out"]
        ref = [f"return [v + {k} for v in {xs}]"]
        oracle = lambda values: [v + k for v in values]  # noqa: E731
    return _task(name, xs, q, plan, body, ref, args, family, oracle)


def _level3(rng: random.Random, name: str) -> tuple:
    xs = rng.choice(LIST_ARGS)
    keep, change, total = rng.choice(list(FILTERS)), rng.choice(list(MAPS)), rng.choice(["sum", "list"])
    k = rng.randint(2, 9) if keep == "divisible" else rng.randint(1, 30)
    a = rng.randint(2, 12) if change == "times" else rng.randint(1, 30)
    words, cond, plan_cond = (t.format(k=k) for t in FILTERS[keep])
    term = MAPS[change].format(a=a)
    if total == "sum":
        q = f"returns the sum of {term} for each number v in {xs} that {words}"
        plan = f"For each v in {xs} with {plan_cond}, add {term} to the total."
        body = ["total = 0", f"for v in {xs}:", f"    if {cond}:", f"        total += {term}", "return total"]
        ref = [f"return sum({term} for v in {xs} if {cond})"]
    else:
        q = f"returns the list of {term} for each number v in {xs} that {words}, in order"
        plan = f"For each v in {xs} with {plan_cond}, append {term}."
        body = ["out = []", f"for v in {xs}:", f"    if {cond}:", f"        out.append({term})", "return out"]
        ref = [f"return [{term} for v in {xs} if {cond}]"]
    args = [_list(rng) for _ in range(TESTS)]
    kept = lambda values: [CHANGES[change](v, a) for v in values if KEEPS[keep](v, k)]  # noqa: E731
    oracle = (lambda values: sum(kept(values))) if total == "sum" else kept
    return _task(name, xs, q, plan, body, ref, args, f"{keep}_{change}_{total}", oracle)


def _expected(oracle, args: list[str]) -> tuple[tuple[str, str], ...]:
    """(argument, the expected result) for the asserts: each argument is a literal read back with
    ``ast.literal_eval`` and the result comes from ``oracle``, the same function as the reference program
    written as Python here: no generated text is ever executed in this process (tests/test_code_procedural.py
    runs each reference against its asserts in the sandbox)."""
    return tuple((arg, repr(oracle(ast.literal_eval(arg)))) for arg in args)


def generate_tasks(n: int, seed: int = 0, difficulty: int = 2) -> Iterator[CodeTask]:
    """``n`` distinct tasks, the same ones for the same arguments."""
    if difficulty not in LEVELS:
        raise ValueError(f"procedural_code difficulty must be one of {sorted(LEVELS)}, got {difficulty}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng, make = random.Random(f"code:{seed}:{difficulty}"), {1: _level1, 2: _level2, 3: _level3}[difficulty]
    seen, misses, made = set(), 0, 0
    while made < n:
        name = rng.choice(NAMES)
        question, plan, steps, reference, args, family, oracle = make(rng, name)
        if question in seen:
            misses += 1
            if misses > 100_000:
                raise ValueError(
                    f"procedural_code difficulty {difficulty} has no more than about {len(seen)} "
                    "distinct problems; ask for fewer"
                )
            continue
        misses = 0
        seen.add(question)
        made += 1
        yield CodeTask(name, question, plan, steps, reference, _expected(oracle, args), family)


def generate_problems(n: int, seed: int = 0, difficulty: int = 2, split: str = "train") -> Iterator[ProblemRecord]:
    """The tasks as problems graded by the ``code`` verifier (gold answer: the functional test spec)."""
    for task in generate_tasks(n, seed, difficulty):
        yield ProblemRecord.make(
            source=SOURCE,
            question=task.question,
            gold_answer=json.dumps(task.spec()),
            split=split,
            gold_solution=task.completion(),
            metadata={"family": task.family, "difficulty": difficulty, "seed": seed, "entry_point": task.entry_point},
        )
