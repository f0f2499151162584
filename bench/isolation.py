"""What the OS-level sandbox costs per check, against the previous design in the same run.

    python bench/isolation.py                  # 5 interleaved rounds of 200 calls and 40 programs
    python bench/isolation.py --rounds 3 --calls 100

Function calls (reasoning-gym's basic_arithmetic scorer, as the reasoning_gym verifier makes them):
- ``reused worker``: one long-lived worker process answering JSON over a pipe — the previous design
  (an audit hook in a reused worker, no namespaces), rebuilt here as the baseline;
- ``sandbox``: ``FunctionSandbox`` under bubblewrap, a fresh forked child per call;
- ``unisolated``: the same zygote without bubblewrap (``isolation: none``).
Programs (the code verifier's path): ``python -I main.py`` as a plain subprocess vs ``run_program``.
Prints per-call milliseconds (median of rounds) and the ratio to the baseline with its min-max spread.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

META = {"task": "basic_arithmetic", "size": 50, "seed": 7, "config": {}}


def _worker(conn):
    import reasoning_gym  # noqa: F401

    from starmill.filters.verifiers import gym_score

    while True:
        message = conn.recv_bytes()
        if not message:
            return
        meta, answer = json.loads(message)
        conn.send_bytes(json.dumps({"value": gym_score.score(meta, answer)}).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--programs", type=int, default=40)
    args = parser.parse_args()

    from starmill.filters.isolation import FunctionSandbox, Limits, run_program
    from starmill.filters.verifiers import gym_score

    answers = [
        (dict(META, index=i % 50), str(gym_score.entry(dict(META, index=i % 50))[0]["answer"]))
        for i in range(args.calls)
    ]
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_worker, args=(child,), daemon=True)
    proc.start()
    modules = ["reasoning_gym", "starmill.filters.verifiers.gym_score"]
    boxes = {"sandbox": FunctionSandbox(modules), "unisolated": FunctionSandbox(modules, isolation="none")}
    limits = Limits(wall_seconds=10)

    def reused() -> None:
        for meta, answer in answers:
            parent.send_bytes(json.dumps([meta, answer]).encode())
            assert json.loads(parent.recv_bytes())["value"] == 1.0

    def boxed(name):
        def run() -> None:
            for meta, answer in answers:
                outcome = boxes[name].call(
                    "starmill.filters.verifiers.gym_score:score", limits, meta=meta, answer=answer
                )
                assert outcome.status == "ok" and outcome.value == 1.0, outcome

        return run

    program = b"print(sum(range(1000)))\n"
    folder = Path(tempfile.mkdtemp())
    (folder / "main.py").write_bytes(program)

    def plain() -> None:
        for _ in range(args.programs):
            done = subprocess.run([sys.executable, "-I", str(folder / "main.py")], capture_output=True)
            assert done.stdout == b"499500\n"

    def sandboxed() -> None:
        for _ in range(args.programs):
            out = run_program([sys.executable, "-I", "/input/main.py"], files={"main.py": program}, limits=limits)
            assert out.stdout == b"499500\n", out

    timed = {
        "reused worker": reused,
        "sandbox": boxed("sandbox"),
        "unisolated": boxed("unisolated"),
        "plain subprocess": plain,
        "run_program": sandboxed,
    }
    for run in timed.values():  # warm: imports, first sandbox start
        run()
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.rounds):
        for name, run in timed.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    parent.send_bytes(b"")
    for box in boxes.values():
        box.close()

    def per(name, n):
        return [s / n * 1000 for s in seconds[name]]

    print(f"{'path':<18} {'ms/call (median)':>17} {'x baseline (min-max)':>24}")
    for name, base, n in (
        ("reused worker", "reused worker", args.calls),
        ("sandbox", "reused worker", args.calls),
        ("unisolated", "reused worker", args.calls),
        ("plain subprocess", "plain subprocess", args.programs),
        ("run_program", "plain subprocess", args.programs),
    ):
        ratios = [a / b for a, b in zip(seconds[name], seconds[base])]
        print(
            f"{name:<18} {statistics.median(per(name, n)):>17.2f} "
            f"{statistics.median(ratios):>10.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
