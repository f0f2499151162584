"""``check_answer`` and ``check_batch``: extraction and the fast path here, the symbolic path in the
worker pool under a hard time limit."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from starmill.filters.answers.compare import decide, read_gold
from starmill.filters.answers.extract import extract_answer, extract_gold
from starmill.filters.answers.forms import NO_FORM, Form, parse_form
from starmill.filters.answers.normalize import normalize, squash
from starmill.filters.answers.pool import CheckerPool, shared_pool
from starmill.filters.answers.structure import parse_structure
from starmill.filters.answers.verdict import Verdict

FormSpec = "str | Form | None"  # "reduced", "sig_figs:3,exact", … (forms.parse_form)

DEFAULT_TIMEOUT = 5.0  # seconds per symbolic check, enforced by killing the worker
MAX_ANSWER_CHARS = 2000  # longer extracted answers are unparseable, never parsed
MAX_DEPTH = 100  # deeper bracket nesting is unparseable, never parsed
MAX_CANDIDATES = 20  # more distinct final answers than this count as different without comparing
SOLUTION_MARKS = re.compile(r"####|\\(?:boxed|fbox)(?![a-zA-Z])|\bthe\s+(?:final\s+)?answer\s+is\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Job:
    gold: str
    pred: str
    started: float
    form: Form = NO_FORM


def looks_like_solution(gold: str) -> bool:
    """A gold holding ``####``, ``\\boxed{}`` or "The answer is" is a solution; anything else is an answer."""
    return bool(SOLUTION_MARKS.search(gold))


def _depth(text: str) -> int:
    depth = deepest = 0
    for c in text:
        if c in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")}]":
            depth -= 1
    return deepest


def _guard(answer: str) -> str | None:
    if len(answer) > MAX_ANSWER_CHARS:
        return "too_long"
    if _depth(answer) > MAX_DEPTH:
        return "too_deep"
    return None


def _differ(candidates: tuple[str, ...]) -> bool:
    """Several final answers that are not all the same (after normalization, by the fast path)."""
    distinct = list(dict.fromkeys(candidates))
    if len(distinct) > MAX_CANDIDATES or (len(distinct) > 1 and any(_guard(c) for c in distinct)):
        return True
    unique = list(dict.fromkeys(squash(normalize(c).text) for c in distinct))
    last = unique[-1] if unique else ""
    return any((decide(c, last) or ("",))[0] != "correct" for c in unique[:-1])


def _list_gold(gold: str) -> bool:
    node = parse_structure(normalize(gold).text)
    return node.kind in ("list", "set", "or") and len(node.items) >= 2


def _joined(candidates: tuple[str, ...]) -> str:
    """Several boxes as one list answer (for a list gold): each distinct answer once, in order."""
    distinct: dict[str, str] = {}
    for c in candidates:
        distinct.setdefault(squash(normalize(c).text), c)
    return ", ".join(distinct.values())


def _prepare(
    gold: str | None, pred: str | None, gold_is_solution: bool | None, pred_is_answer: bool, lenient: bool, form: Form
) -> Verdict | _Job:
    started = time.perf_counter()

    def verdict(kind: str, rule: str, g: str | None, p: str | None) -> Verdict:
        return Verdict(kind, rule, p, g, time.perf_counter() - started, form=str(form) or None)

    if gold is None or not str(gold).strip():
        return verdict("unparseable_gold", "empty", None, None)
    gold_answer = str(gold).strip()
    if gold_is_solution is None:
        gold_is_solution = looks_like_solution(gold_answer)
    if gold_is_solution:
        found = extract_gold(gold_answer)
        if found.answer is None:
            return verdict("unparseable_gold", found.rule, None, None)
        gold_answer = found.answer
    if rule := _guard(gold_answer):
        return verdict("unparseable_gold", rule, gold_answer, None)
    if pred is None:
        return verdict("unparseable_pred", "empty", gold_answer, None)
    if pred_is_answer:
        pred_answer, candidates = str(pred).strip(), (str(pred).strip(),)
    else:
        found = extract_answer(str(pred), lenient=lenient)
        if found.answer is None:
            return verdict("unparseable_pred", found.rule, gold_answer, None)
        pred_answer, candidates = found.answer, found.candidates
    if rule := _guard(pred_answer):
        return verdict("unparseable_pred", rule, gold_answer, pred_answer)
    if len(candidates) > 1 and _differ(candidates):
        if not found.together or not _list_gold(gold_answer):
            return verdict("wrong", "multiple_answers", gold_answer, pred_answer)
        pred_answer = _joined(candidates)  # \boxed{(2,2)} and \boxed{(6,2)} against a list gold
        if rule := _guard(pred_answer):
            return verdict("unparseable_pred", rule, gold_answer, pred_answer)
    decided = decide(gold_answer, pred_answer, form=form)
    if decided is not None:
        return verdict(*decided, gold_answer, pred_answer)
    return _Job(gold_answer, pred_answer, started, form)


def _finish(job: _Job, pool: CheckerPool, timeout: float) -> Verdict:
    verdict, rule = pool.run(job.gold, job.pred, timeout, str(job.form))
    return Verdict(verdict, rule, job.pred, job.gold, time.perf_counter() - job.started, form=str(job.form) or None)


def check_answer(
    gold: str,
    pred: str,
    *,
    gold_is_solution: bool | None = False,
    pred_is_answer: bool = False,
    lenient: bool = False,
    form: FormSpec = None,
    timeout: float = DEFAULT_TIMEOUT,
    pool: CheckerPool | None = None,
) -> Verdict:
    """Grade one prediction against one gold answer.

    ``gold`` is a bare answer, or a whole solution (GSM8K ``#### 72``, MATH ``\\boxed{}``, "The answer
    is 72.") with ``gold_is_solution``; ``None`` decides per gold (``looks_like_solution``). ``pred`` is a
    model output to extract the final answer from, or a bare answer with ``pred_is_answer``. ``lenient``
    allows the last number of the output as its answer. ``form`` is the answer form the problem asks for
    (``"reduced"``, ``"factored"``, ``"sig_figs:3"``, …; see ``forms.Form``); without one only the value
    counts. The symbolic path runs in ``pool`` (the shared one by default) and gives up after ``timeout``
    seconds.
    """
    item = _prepare(gold, pred, gold_is_solution, pred_is_answer, lenient, parse_form(form))
    if isinstance(item, Verdict):
        return item
    return _finish(item, pool or shared_pool(), timeout)


def unreadable_gold(
    gold: str | None,
    *,
    gold_is_solution: bool | None = False,
    timeout: float = DEFAULT_TIMEOUT,
    pool: CheckerPool | None = None,
) -> str | None:
    """Why the checker cannot read ``gold`` (``"empty"``, ``"parse_error"``, ``"date:ambiguous"``,
    ``"time_limit"``, …), or None when it can: for validating golds at ingest. Reads a solution's final
    answer with ``gold_is_solution`` (None: decided per gold, ``looks_like_solution``)."""
    if gold is None or not str(gold).strip():
        return "empty"
    answer = str(gold).strip()
    if gold_is_solution or (gold_is_solution is None and looks_like_solution(answer)):
        found = extract_gold(answer)
        if found.answer is None:
            return found.rule
        answer = found.answer
    if rule := _guard(answer):
        return rule
    decided = read_gold(answer)
    if decided is None:
        decided = (pool or shared_pool()).run(answer, None, timeout)
    return None if decided[0] == "correct" else decided[1]


async def acheck_answer(gold: str, pred: str, **options) -> Verdict:
    """``check_answer`` for asyncio code: runs in a thread, so the event loop never blocks."""
    return await asyncio.to_thread(check_answer, gold, pred, **options)


def check_batch(
    pairs: Iterable[tuple],
    *,
    workers: int | None = None,
    gold_is_solution: bool | None = False,
    pred_is_answer: bool = False,
    lenient: bool = False,
    form: FormSpec = None,
    timeout: float = DEFAULT_TIMEOUT,
    pool: CheckerPool | None = None,
) -> Iterator[Verdict]:
    """Grade (gold, pred) or (gold, pred, form) tuples, yielding verdicts in input order as soon as each
    is known; up to ``workers`` symbolic checks run at once. ``form`` applies to pairs without their own.
    Reads ``pairs`` lazily, so any length streams."""
    default_form = parse_form(form)
    pool = pool or shared_pool(workers)
    lanes = max(1, workers or pool.size)
    window = 16 * lanes
    pending: deque[Verdict | Future] = deque()
    executor = ThreadPoolExecutor(lanes, thread_name_prefix="starmill-check")

    def ready() -> bool:
        return bool(pending) and (isinstance(pending[0], Verdict) or pending[0].done() or len(pending) > window)

    try:
        for gold, pred, *own in pairs:
            pair_form = parse_form(own[0]) if own and own[0] else default_form
            item = _prepare(gold, pred, gold_is_solution, pred_is_answer, lenient, pair_form)
            pending.append(item if isinstance(item, Verdict) else executor.submit(_finish, item, pool, timeout))
            while ready():
                head = pending.popleft()
                yield head if isinstance(head, Verdict) else head.result()
        while pending:
            head = pending.popleft()
            yield head if isinstance(head, Verdict) else head.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
