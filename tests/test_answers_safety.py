"""Model text must never run as code, and no input may hang a check: attacks, hangs, threads, asyncio."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from starmill.filters.answers import check_answer, check_batch

LIMIT = 1.0  # seconds per symbolic check in these tests
SLACK = 1.0  # the issue's bound: a hang returns within the limit plus one second
RECORDED: list[str] = []
WATCHING = threading.Event()


def _audit(event, args):
    if not WATCHING.is_set():
        return
    if event in ("os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn") or event.startswith(
        "os.exec"
    ):
        RECORDED.append(event)
    elif event == "compile" and isinstance(args[1], str) and args[1].startswith("<"):
        RECORDED.append(f"compile {args[1]}")


sys.addaudithook(_audit)


def _payloads(marker) -> list[str]:
    code = f"__import__('os').system('touch {marker}')"
    return [
        code,
        f"\\boxed{{{code}}}",
        f"${code}$",
        f"\\text{{{code}}}",
        f"#### {code}",
        f"The answer is {code}.",
        f"<answer>{code}</answer>",
        f"\\boxed{{\\operatorname{{__import__}}('os').system('touch {marker}')}}",
        f"\\boxed{{x = {code}}}",
        f"\\boxed{{({code}, 1)}}",
        f"\\boxed{{\\{{{code}\\}}}}",
        f"\\boxed{{exec(\"import os; os.system('touch {marker}')\")}}",
        f"\\boxed{{eval(\"__import__('os').system('touch {marker}')\")}}",
        f"\\boxed{{open('{marker}', 'w').write('x')}}",
        "\\boxed{().__class__.__bases__[0].__subclasses__()}",
        f"\\boxed{{\\frac{{{code}}}{{2}}}}",
        f"\\boxed{{1e5{code}}}",
        f"\\boxed{{\\mathrm{{{code}}}}}",
        f"\\boxed{{\\sqrt{{{code}}}}}",
        f"\\boxed{{Lambda(x, {code})}}",
    ]


def test_injected_code_never_runs(tmp_path, checker_pool):
    marker = tmp_path / "MARKER"
    payloads = _payloads(marker)
    WATCHING.set()
    try:
        verdicts = [check_answer("3", p, pool=checker_pool, timeout=5) for p in payloads]
        verdicts += [check_answer(p, "\\boxed{3}", pool=checker_pool, timeout=5) for p in payloads]
        verdicts += [check_answer(p, p, gold_is_solution=True, pool=checker_pool, timeout=5) for p in payloads[1:]]
        verdicts += list(check_batch([("x", p) for p in payloads], workers=2, pool=checker_pool, timeout=5))
    finally:
        WATCHING.clear()
    assert not marker.exists()
    assert RECORDED == []  # nothing in this process compiled or launched anything
    assert checker_pool.blocked == []  # no worker even tried (their audit hooks record every attempt)
    assert all(v.verdict in ("wrong", "unparseable_pred", "unparseable_gold", "correct") for v in verdicts), verdicts
    assert not any(v.verdict == "correct" for v in verdicts[: 2 * len(payloads)])


GUARDED = """
import sys, sympy
from starmill.filters.answers.worker import install_guard
blocked = []
if sys.argv[2] == "guarded":
    install_guard(blocked)
try:
    sympy.sympify(sys.argv[1])
except Exception as exc:
    print(type(exc).__name__, blocked)
"""


@pytest.mark.parametrize("mode", ["guarded", "bare"])
def test_worker_guard_stops_what_sympify_would_run(tmp_path, mode):
    """The control: sympy's own sympify runs the payload; the workers' guard refuses it."""
    marker = tmp_path / "MARKER"
    payload = f"__import__('os').system('touch {marker}')"
    out = subprocess.run([sys.executable, "-c", GUARDED, payload, mode], capture_output=True, text=True, timeout=120)
    if mode == "bare":
        assert marker.exists()
    else:
        assert not marker.exists()
        assert out.stdout.startswith("PermissionError") and "compile" in out.stdout, out.stdout + out.stderr


HANGS = [
    ("1", "\\boxed{10^{10^{10}}}"),
    ("1", "\\boxed{9^{9^{9^{9}}}}"),
    ("3", "\\boxed{9^{9^{9^{9}}} - 9^{9^{9^{9}}} + 2}"),
    ("5", "\\boxed{1000000!}"),
    ("5", "\\boxed{(10^{10})!}"),
    ("5", "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}"),
    ("5", "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}"),
    ("5", "\\boxed{" + "1" * 1_000_000 + "}"),
    ("5", "\\boxed{" + "x+" * 500_000 + "1}"),
    ("5", "9" * 1_000_000),
    ("x", "\\boxed{(x+1)^{100000}}"),
    ("\\frac{1}{3}", "\\boxed{\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{2^{3^{4^{5}}}}}}}}}}}}"),
]


def _check_hangs(pool, results):
    for gold, pred in HANGS:
        start = time.perf_counter()
        verdict = check_answer(gold, pred, pool=pool, timeout=LIMIT)
        results.append((pred[:40], verdict, time.perf_counter() - start))


def _assert_bounded(results):
    assert len(results) == len(HANGS)
    for pred, verdict, elapsed in results:
        assert elapsed < LIMIT + SLACK, (pred, verdict, elapsed)
        # "wrong" is a proof, not a give-up: 10^{10^{10}} is not 1, and mpmath can show it fast.
        assert verdict.verdict in ("timeout", "unparseable_pred", "wrong"), (pred, verdict)
    assert any(v.verdict == "timeout" for _, v, _ in results)
    assert any(v.rule in ("too_long", "too_deep") for _, v, _ in results)


def test_hang_inputs_return_within_the_limit(checker_pool):
    results = []
    _check_hangs(checker_pool, results)
    _assert_bounded(results)


def test_hang_inputs_return_within_the_limit_from_a_thread(checker_pool):
    results = []
    thread = threading.Thread(target=_check_hangs, args=(checker_pool, results))
    thread.start()
    thread.join(len(HANGS) * (LIMIT + SLACK) + 30)
    assert not thread.is_alive()
    _assert_bounded(results)


def test_pool_recovers_after_timeouts(checker_pool):
    before = checker_pool.replaced
    assert check_answer("1", "\\boxed{9^{9^{9^{9}}}}", pool=checker_pool, timeout=LIMIT).verdict == "timeout"
    assert checker_pool.replaced == before + 1
    assert check_answer("\\sqrt{2}", "\\boxed{\\frac{2}{\\sqrt{2}}}", pool=checker_pool, timeout=5).verdict == "correct"


def test_concurrent_checks_from_many_threads(checker_pool):
    pairs = [
        ("\\sqrt{2}", "\\frac{2}{\\sqrt{2}}"),
        ("1", "9^{9^{9^{9}}}"),
        ("\\pi", "3.14159265"),
        ("x^2", "x \\cdot x"),
    ] * 3
    out = {}

    def run(i, gold, pred):
        out[i] = check_answer(gold, pred, pred_is_answer=True, pool=checker_pool, timeout=LIMIT).verdict

    threads = [threading.Thread(target=run, args=(i, g, p)) for i, (g, p) in enumerate(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [out[i] for i in range(len(pairs))] == ["correct", "timeout", "correct", "correct"] * 3


def test_asyncio_callers_are_not_blocked(checker_pool):
    from starmill.filters.answers import acheck_answer

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        verdicts = await asyncio.gather(
            acheck_answer("1", "\\boxed{9^{9^{9^{9}}}}", pool=checker_pool, timeout=LIMIT),
            acheck_answer("3", "\\boxed{\\sqrt{9}}", pool=checker_pool, timeout=LIMIT),
        )
        task.cancel()
        return verdicts, ticks

    (slow, fast), ticks = asyncio.run(main())
    assert (slow.verdict, fast.verdict) == ("timeout", "correct")
    assert ticks >= 5  # the loop kept running while a worker was stuck


def test_workers_run_under_the_memory_cap():
    from starmill.filters.answers import CheckerPool

    with CheckerPool(1, memory_mb=1536) as pool:
        pool.start()
        (pid,) = pool.worker_pids()
        limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
        (line,) = [entry for entry in limits if entry.startswith("Max address space")]
        assert line.split()[3:5] == [str(1536 * 2**20)] * 2


def test_a_worker_that_dies_mid_check_is_replaced():
    from starmill.filters.answers import CheckerPool

    with CheckerPool(1) as pool:
        pool.start()
        (pid,) = pool.worker_pids()
        threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
        verdict = check_answer("1", "\\boxed{9^{9^{9^{9}}}}", pool=pool, timeout=30)
        assert (verdict.verdict, verdict.rule) == ("error", "worker_died")
        assert check_answer("3", "\\boxed{\\sqrt{9}}", pool=pool, timeout=30).verdict == "correct"
        assert pool.worker_pids() != [pid]
