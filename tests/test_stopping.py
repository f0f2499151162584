"""Stopping ``starmill run`` for real, in a subprocess: Ctrl-C (SIGINT to the process group), SIGINT
to the main process alone (even when started with SIGINT ignored, as ``&`` in a script does) and
SIGTERM each stop generation within seconds, publish nothing, keep the finished shards, print how to
go on, exit 130 / 143 and leave no child behind; after ``kill -9`` the temporary Prefect server dies
with its parent. Plus the stop flag's own contract, without processes."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from starmill.generators import stopping
from starmill.warehouse import Warehouse

REPO = Path(__file__).resolve().parent.parent
WORK = ["--set", "source.procedural.n=400", "--set", "runner.max_workers=1"]  # 25 shards: runs well past the signal


def test_the_stop_flag_stops_checks_and_awaits():
    stopping.reset()
    try:
        stopping.check()  # no request: nothing happens

        async def forever():
            await asyncio.sleep(3600)

        async def main():
            asyncio.get_running_loop().call_later(0.05, stopping.request)
            await stopping.unless_stopped(forever())

        started = time.monotonic()
        with pytest.raises(stopping.Stopped):
            asyncio.run(main())
        assert time.monotonic() - started < 2
        with pytest.raises(stopping.Stopped):
            stopping.check()
    finally:
        stopping.reset()


def test_a_stopped_shard_is_not_recorded(tmp_path):
    from starmill.pipeline import generate_shard
    from starmill.warehouse.ledger import Ledger

    class Shard:
        key = "k1"

    ledger = Ledger(tmp_path, "run")
    stopping.request()
    try:
        with pytest.raises(stopping.Stopped):
            generate_shard(ledger, {"backend": "transformers", "model": "never-loaded"}, Shard())
    finally:
        stopping.reset()
    assert not ledger.has("k1")


STUBBORN = """
import subprocess, sys, time
from starmill.cli import interrupts
interrupts.GRACE_SECONDS = float(sys.argv[1])
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(sleeper.pid, flush=True)
with interrupts.Stoppable("bye: nothing was published") as work:
    work.run(time.sleep, 300)  # work that never looks at the stop flag (a long engine call)
"""


@pytest.mark.parametrize("grace,signals,code", [(0.5, [signal.SIGTERM], 143), (60, [signal.SIGINT] * 2, 130)])
def test_work_that_ignores_the_stop_is_cut_off(tmp_path, grace, signals, code):
    """After the grace period, or at a second signal, the command exits at once and kills its children."""
    with open(tmp_path / "err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", STUBBORN, str(grace)], cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True
        )
    sleeper = psutil.Process(int(proc.stdout.readline()))
    time.sleep(0.5)  # into work.run
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(0.2)
    assert proc.wait(timeout=10) == code
    assert "bye: nothing was published" in (tmp_path / "err").read_text()
    assert gone([sleeper], timeout=3) == []


def start(root: Path, log: str, *, ignore_sigint: bool = False) -> subprocess.Popen:
    """``starmill run`` (the demo teacher) in its own process group; output to files, not pipes."""
    env = {**os.environ, "STARMILL_WAREHOUSE": str(root), "PREFECT_HOME": str(root / ".prefect")}
    env.pop("PREFECT_API_URL", None)
    root.mkdir(parents=True, exist_ok=True)
    preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    with open(root / f"{log}.out", "wb") as out, open(root / f"{log}.err", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "starmill.cli", "run", *WORK],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=preexec,
        )


def wait_for(predicate, proc: subprocess.Popen, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        assert proc.poll() is None, f"the run ended before {what}"
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {what} within {timeout:.0f} s")


def shards(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in root.glob("_runs/*/shards/*.parquet")}


def gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still running (zombies count as gone) after up to ``timeout`` seconds."""
    deadline = time.time() + timeout
    while True:
        alive = []
        for p in processes:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("how,code", [("group-SIGINT", 130), ("pid-SIGINT", 130), ("pid-SIGTERM", 143)])
def test_a_signal_stops_the_run_and_publishes_nothing(tmp_path, how, code):
    root = tmp_path / "wh"
    target, name = how.split("-")
    proc = start(root, "run", ignore_sigint=target == "pid")
    wait_for(lambda: shards(root), proc, 240, "finished shard")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("uvicorn" in " ".join(c.cmdline()) for c in children), "no temporary Prefect server among the children"
    before = shards(root)
    sent = time.monotonic()
    if target == "group":
        os.killpg(proc.pid, getattr(signal, name))
    else:
        proc.send_signal(getattr(signal, name))
    try:
        assert proc.wait(timeout=15) == code
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running 15 s after {how}:\n" + (root / "run.err").read_text()[-3000:])
    seconds = time.monotonic() - sent
    err = (root / "run.err").read_text()
    assert "Stopped: nothing was published" in err and "--publish-partial" in err and "starmill run" in err
    assert "Crash detected!" not in err and "Finished in state Crashed" not in err  # cancelled tasks are no crash
    after = shards(root)
    assert all(after.get(k) == v for k, v in before.items())  # the finished shards stay, untouched
    assert len(after) < 25  # generation did stop: not every rationale shard was made
    wh = Warehouse(root)
    assert wh.versions("samples") == [] and wh.versions("sft") == []
    assert gone(children, timeout=5) == [], f"children left after {how}"
    assert seconds < 15


@pytest.mark.slow
def test_the_temporary_prefect_server_dies_with_a_killed_run(tmp_path):
    root = tmp_path / "wh"
    proc = start(root, "run")

    def server():
        try:
            found = [c for c in psutil.Process(proc.pid).children(recursive=True) if "uvicorn" in " ".join(c.cmdline())]
        except psutil.NoSuchProcess:
            return None
        return found[0] if found else None

    child = wait_for(server, proc, 120, "temporary Prefect server")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert gone([child], timeout=5) == [], "the Prefect server outlived kill -9 of its parent"
