"""Seeded procedural arithmetic problems with exact answers and step-by-step solutions.

The embedded default source for the quickstart and the tests, and the demo teacher's training data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from starmill.schemas.problems import ProblemRecord

SOURCE = "procedural"


@dataclass(frozen=True)
class Difficulty:
    steps_min: int  # operations per problem, at least
    steps_max: int  # operations per problem, at most
    max_value: int  # largest operand
    ops: str  # allowed operators, a subset of "+-*/"


LEVELS: dict[int, Difficulty] = {
    1: Difficulty(1, 1, 20, "+-"),
    2: Difficulty(1, 2, 99, "+-"),
    3: Difficulty(2, 3, 99, "+-"),
    4: Difficulty(2, 4, 99, "+-*"),
    5: Difficulty(3, 5, 999, "+-*/"),
}

NAMES = ["Ava", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena"]
ITEMS = ["apples", "marbles", "stickers", "coins", "books", "pencils", "shells", "cards"]
MORE = ["{p} buys {b} more.", "{p} finds {b} more.", "A friend gives {o} {b} more."]
LESS = ["{p} gives away {b}.", "{p} sells {b}.", "{p} loses {b}."]
TIMES = ["Then {p} ends up with {b} times as many."]
SHARE = ["{p} splits them into {b} equal groups and keeps one group."]
SYMBOL = {"+": "+", "-": "-", "*": "*", "/": "/"}


def _steps(rng: random.Random, d: Difficulty) -> tuple[int, list[tuple[str, int, int]]]:
    """Pick a start value and (op, operand, result) steps whose results stay non-negative integers."""
    value = rng.randint(1, d.max_value)
    start, steps = value, []
    for _ in range(rng.randint(d.steps_min, d.steps_max)):
        op = rng.choice(d.ops)
        if op == "-" and value == 0:
            op = "+"
        if op == "+":
            b = rng.randint(1, d.max_value)
            value += b
        elif op == "-":
            b = rng.randint(1, value)
            value -= b
        elif op == "*":
            b = rng.randint(2, 9)
            value *= b
        else:
            divisors = [k for k in range(2, 10) if value % k == 0]
            if not divisors:
                b = rng.randint(1, d.max_value)
                op, value = "+", value + b
            else:
                b = rng.choice(divisors)
                value //= b
        steps.append((op, b, value))
    return start, steps


def _expression(start: int, steps: list[tuple[str, int, int]]) -> str:
    text, additive = str(start), False
    for op, b, _ in steps:
        if op in "*/" and additive:
            text = f"({text})"
        text = f"{text} {SYMBOL[op]} {b}"
        additive = op in "+-"
    return text


def _word(rng: random.Random, start: int, steps: list[tuple[str, int, int]]) -> str:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    parts = [f"{name} has {start} {item}."]
    for op, b, _ in steps:
        pool = {"+": MORE, "-": LESS, "*": TIMES, "/": SHARE}[op]
        parts.append(rng.choice(pool).format(p=name, o=name, b=b))
    parts.append(f"How many {item} does {name} have now?")
    return " ".join(parts)


def solution(start: int, steps: list[tuple[str, int, int]]) -> str:
    """One line per operation, then 'The answer is N.' (what the demo teacher learns to write)."""
    lines, value = [], start
    for op, b, result in steps:
        lines.append(f"{value} {SYMBOL[op]} {b} = {result}")
        value = result
    lines.append(f"The answer is {value}.")
    return "\n".join(lines)


def generate_problems(
    n: int,
    seed: int = 0,
    difficulty: int = 2,
    split: str = "train",
    kinds: tuple[str, ...] = ("word", "expression"),
) -> Iterator[ProblemRecord]:
    """Yield ``n`` distinct problems, the same ones for the same arguments."""
    if difficulty not in LEVELS:
        raise ValueError(f"difficulty must be one of {sorted(LEVELS)}, got {difficulty}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng, level, seen, misses = random.Random(f"{seed}:{difficulty}"), LEVELS[difficulty], set(), 0
    while len(seen) < n:
        start, steps = _steps(rng, level)
        kind = rng.choice(kinds)
        question = _word(rng, start, steps) if kind == "word" else f"Compute {_expression(start, steps)}."
        if question in seen:
            misses += 1
            if misses > 100_000:  # the level has fewer distinct problems than asked for
                raise ValueError(
                    f"difficulty {difficulty} has no more than about {len(seen)} distinct "
                    f"{'/'.join(kinds)} problems; ask for fewer"
                )
            continue
        misses = 0
        seen.add(question)
        yield ProblemRecord.make(
            source=SOURCE,
            question=question,
            gold_answer=str(steps[-1][2]),
            split=split,
            gold_solution=solution(start, steps),
            metadata={"kind": kind, "difficulty": difficulty, "seed": seed, "steps": len(steps)},
        )
