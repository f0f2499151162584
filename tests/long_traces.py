"""A labelled fixture of R1-style long traces: clean ones and ones with one known defect each.

Clean traces are 2k-32k tokens (chars / 4) of varied step-by-step reasoning built from templates and
procedural arithmetic (every ``=`` claim exact, so ``bad_step`` keeps them), inside ``<think>…</think>``,
then a boxed final answer. Defects: ``loop``, ``language_switch``, ``answer_mismatch``, ``overthinking``,
``truncated``, ``too_long``. Used by tests/test_traces.py and bench/long_trace_filters.py.

    from tests.long_traces import compose
    cases = compose(n_clean=40, n_defect=15, seed=0)   # [(label or None, problem, sample), ...]
"""

from __future__ import annotations

import random

from starmill.schemas import ProblemRecord
from starmill.schemas.samples import think_text
from tests.helpers import sample

DEFECTS = ("loop", "language_switch", "answer_mismatch", "overthinking", "truncated", "too_long")
CHARS_PER_TOKEN = 4

OPENERS = [
    "Okay, so I need to work out how many items are shipped in the end. Let me read the problem again carefully.",
    "Alright, let me think about this step by step. The question asks for the net number of items.",
    "Hmm, this is a multi-step counting problem. I should be careful with each multiplication.",
]
CJK = [
    "嗯，让我再检查一下这个乘法是否正确。",
    "所以我们需要先计算每个箱子里的物品数量，然后再乘以箱子的数量。",
    "等一下，我觉得这里可能有一个错误，需要重新计算。",
    "好的，现在把所有的部分加起来，得到总数。",
]
CONNECT = ["Wait,", "Hmm,", "Okay,", "Let me see,", "Actually,", "Alternatively,", "So", "Right,", "Now,", "Then"]


def _detour(r: random.Random) -> str:
    """One paragraph of varied reasoning about fresh numbers (exact claims only)."""
    x, y = r.randint(12, 989), r.randint(11, 97)
    y1 = r.randint(1, y - 1)
    y2 = y - y1
    c = r.choice(CONNECT)
    kind = r.randrange(8)
    if kind == 0:
        return (
            f"{c} let me break {x} × {y} into pieces: {x} × {y1} = {x * y1} and {x} × {y2} = {x * y2}, "
            f"so together {x * y1} + {x * y2} = {x * y}. That matches {x} × {y} = {x * y}."
        )
    if kind == 1:
        return (
            f"{c} as a sanity check I can estimate. {x} is roughly {round(x, -1)} and {y} is roughly "
            f"{round(y, -1)}, so the product should be near {round(x, -1) * round(y, -1)}; the exact value "
            f"{x * y} is in that neighbourhood, which is reassuring."
        )
    if kind == 2:
        return (
            f"{c} I could also check by division: if {x * y} ÷ {y} = {x}, then the multiplication was right. "
            f"Dividing, {y} goes into {x * y} exactly {x} times, with no remainder."
        )
    if kind == 3:
        t = r.randint(2, 9)
        return (
            f"{c} suppose one crate held {t} more boxes. Then it would hold {y} + {t} = {y + t} boxes, and "
            f"{x} such crates would hold {x} × {y + t} = {x * (y + t)} boxes. That is not what the problem "
            f"says, but it shows how sensitive the total is to each count."
        )
    if kind == 4:
        d = r.randint(1, 9)
        return (
            f"{c} let me redo the column addition slowly. {x * y1} plus {x * y2}: the units give "
            f"{(x * y1) % 10 + (x * y2) % 10}, I carry where needed, and the sum comes out to {x * y}. "
            f"Adding {d} to that would give {x * y + d}, but nothing is added here."
        )
    if kind == 5:
        return (
            f"{c} thinking about units: boxes per crate times crates gives boxes, and items per box times "
            f"boxes gives items. So with {y} boxes and {x} items per box I get {x} × {y} = {x * y} items "
            f"in that little example, and the units line up."
        )
    if kind == 6:
        h = x * 2
        return (
            f"{c} doubling and halving: {h} × {y} = {h * y}, and half of that is {x * y}. "
            f"Same answer for the partial product, good."
        )
    return (
        f"{c} one more way to see it: {y} × {x} = {x * y} by commutativity, and {y} × {x} - {y} = "
        f"{y * x - y}, which is {y} × {x - 1}. Everything is consistent so far."
    )


def _problem(r: random.Random, i: int, clean: bool) -> tuple[ProblemRecord, dict]:
    a, b, c = r.randint(11, 89), r.randint(12, 48), r.randint(6, 36)
    d = r.randint(10, a * b * c // 10)
    # a clean thought may quote the question's own script; (a switch into it would go unseen: not a defect here)
    topic = " (a counting exercise from the 九章算术)" if clean and i % 9 == 4 else ""
    q = (
        f"A warehouse ships {a} crates, each holding {b} boxes of {c} items{topic}. Then {d} items are returned. "
        "How many items were shipped in the end?"
    )
    return ProblemRecord.make(source="long_traces", question=q, gold_answer=str(a * b * c - d)), dict(
        a=a, b=b, c=c, d=d
    )


def _core(n: dict) -> list[str]:
    a, b, c, d = n["a"], n["b"], n["c"], n["d"]
    return [
        f"First, the boxes: {a} crates with {b} boxes each, so {a} × {b} = {a * b} boxes.",
        f"Next, the items: {a * b} boxes with {c} items each, so {a * b} × {c} = {a * b * c} items.",
        f"Finally the returns: {a * b * c} - {d} = {a * b * c - d} items remain shipped.",
    ]


def _thought(r: random.Random, n: dict, gold: str, tokens: int, answer_at: float, stated: str | None = None) -> str:
    """Paragraphs up to about ``tokens`` tokens; the core steps and the answer statement at ``answer_at``."""
    target = tokens * CHARS_PER_TOKEN
    paras, size = [r.choice(OPENERS)], 0
    while size < target:
        paras.append(_detour(r))
        size += len(paras[-1]) + 2
    at = max(2, int(len(paras) * answer_at))
    core = _core(n) + [f"So the answer is {stated or gold}."]
    if r.random() < 0.3:  # a tentative wrong reading first, corrected later: the last statement counts
        core.insert(0, f"At first I thought the answer is {n['a'] * n['b'] * n['c']}, but that forgets the returns.")
    paras[at:at] = core
    if r.random() < 0.2:
        paras.append(f"Let me also write the total with a thousands separator: {int(gold):,} items.")
    if r.random() < 0.15:
        paras.append("(A stray Cyrillic letter в from a pasted note.)")  # fewer letters than min_letters
    return "\n\n".join(paras)


def _sample(problem: ProblemRecord, index: int, thought: str, final: str | None, finish: str = "stop"):
    completion = think_text(thought, final) if final is not None else "<think>\n" + thought
    return sample(problem.problem_id, completion, index=index, finish=finish)


def compose(n_clean: int = 40, n_defect: int = 15, seed: int = 0) -> list[tuple[str | None, ProblemRecord, object]]:
    """``n_clean`` clean traces and ``n_defect`` of each defect: (label, problem, sample) triples."""
    r = random.Random(seed)
    out = []
    labels = [None] * n_clean + [d for d in DEFECTS for _ in range(n_defect)]
    for i, label in enumerate(labels):
        problem, n = _problem(r, i, label is None)
        gold = problem.gold_answer
        final = f"The warehouse shipped {gold} items in the end.\n\n**Final answer:** $\\boxed{{{gold}}}$"
        tokens = int(2 ** r.uniform(11, 14.9))  # 2k-30k tokens, log-uniform
        answer_at = r.uniform(0.7, 0.95)
        finish = "stop"
        if label == "overthinking":
            answer_at = r.uniform(0.08, 0.35)
        thought = _thought(
            r,
            n,
            gold,
            tokens if label != "too_long" else r.randint(34_000, 60_000),
            answer_at,
            stated=str(int(gold) + r.choice([-10, -1, 1, 9, 100])) if label == "answer_mismatch" else None,
        )
        if label == "loop":
            paras = thought.split("\n\n")
            at = r.randrange(len(paras) // 3, len(paras) - 1)
            unit = "\n\n".join(paras[at : at + r.randint(1, 3)])
            copies = max(3, int(len(thought) * r.uniform(0.25, 1.5) / len(unit)))
            paras[at:at] = [unit] * copies + ["Wait, I keep repeating myself. Let me just conclude."]
            thought = "\n\n".join(paras)
        elif label == "language_switch":
            paras = thought.split("\n\n")
            for _ in range(r.randint(1, 4)):
                paras.insert(r.randrange(1, len(paras)), "".join(r.sample(CJK, r.randint(1, 3))))
            thought = "\n\n".join(paras)
        elif label == "truncated":
            thought, finish = thought[: int(len(thought) * r.uniform(0.2, 0.95))], r.choice(["length", "stop"])
            final = None if r.random() < 0.8 else ""
        out.append((label, problem, _sample(problem, i, thought, final, finish)))
    return out
