"""No idle engine (issue 25): with small shards, several run side by side over the OpenAI backend's one
in-flight window, so a real HTTP server with long-tailed answer times (tests/long_tail_server.py)
never waits at a shard boundary while work remains; each shard is still recorded whole in the
ledger, a stopped run keeps only whole shards, a rerun takes them from the ledger, and Ctrl-C stops a
real ``starmill run`` with nothing published."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from starmill.config import parse_config
from starmill.generators import stopping
from starmill.pipeline import RetryPolicy, run_star
from starmill.warehouse import Warehouse
from starmill.warehouse.ledger import Ledger
from starmill.warehouse.shards import map_in_process, shards_in_flight
from tests.long_tail_server import LongTailServer, busy

REPO = Path(__file__).resolve().parent.parent
SLOTS = 8  # the backend's max_concurrency


@pytest.fixture(scope="module")
def server():
    with LongTailServer(median=0.05) as running:
        yield running


def settings(url: str, problems: int, shard_size: int = 4, n: int = 1) -> dict:
    return {
        "source": {"procedural": {"n": problems, "seed": 3, "difficulty": 1}},
        "teacher": {
            "backend": "openai",
            "model": "m",
            "base_url": url,
            "options": {"max_concurrency": SLOTS, "progress": False},
        },
        "sampling": {"n": n, "seed": 5},
        "rationalization": {"enabled": False},
        "runner": {"shard_size": shard_size, "retries": 0},
        "audit": {"enabled": False},
    }


def test_shards_in_flight_fill_the_engine_window_four_times():
    openai = {"backend": "openai", "model": "m", "options": {}}
    assert shards_in_flight(openai, 16, 4) == 5  # 16 in flight by default: 4 x 16 requests, plus one shard
    assert shards_in_flight({**openai, "options": {"max_concurrency": 8}}, 4, 1) == 9
    assert shards_in_flight({**openai, "options": {"base_urls": ["http://a/v1", "http://b/v1"]}}, 16, 1) == 9
    assert shards_in_flight({"backend": "vllm", "model": "m"}, 16, 4) == 17  # 256 sequences, 64 a shard
    assert shards_in_flight({**openai, "options": {"max_concurrency": 4096}}, 1, 1) == 64  # capped
    assert shards_in_flight({"backend": "transformers", "model": "m"}, 16, 4) == 1  # one call at a time
    # the engine's own window: n requests a problem without choices; sequences over data-parallel engines
    assert shards_in_flight({**openai, "options": {"use_n": False}}, 16, 4) == 2  # 64 requests a shard
    assert shards_in_flight({"backend": "vllm", "model": "m", "options": {"data_parallel_size": 2}}, 16, 4) == 33
    assert shards_in_flight({"backend": "vllm", "model": "m", "options": {"max_num_seqs": 32}}, 16, 4) == 3
    # the Batch API: every shard is a batch the provider queues, so all are submitted (up to 64)
    assert shards_in_flight({**openai, "options": {"batch": True}}, 16, 4) == 64
    assert shards_in_flight({"backend": "openai-batch", "model": "m"}, 16, 4) == 64
    assert shards_in_flight({**openai, "options": {"batch": False}}, 16, 4) == 5


def test_the_server_never_idles_between_shards_while_work_remains(server, tmp_path):
    cfg = parse_config(settings(server.url, 96))
    server.reset()  # the control (and the warm-up: first imports): one shard at a time waits for its slowest
    run_star(cfg, str(tmp_path / "one-by-one"), map_in_process(RetryPolicy(0)), progress=False)
    barrier = busy(server.stats()["timeline"], SLOTS)
    assert barrier["utilisation"] < 0.5 and barrier["longest_idle"] > 0.05, barrier

    server.reset()
    summary = run_star(cfg, str(tmp_path / "side-by-side"), progress=False)
    fed = busy(server.stats()["timeline"], SLOTS)
    assert summary["shards"] == {"generated": 24, "from_ledger": 0}
    assert summary["counts"]["generated"] == 96
    assert fed["utilisation"] > 0.8, fed  # 0.90-0.98 on a loaded 2-core machine
    assert fed["longest_idle"] < 0.05, (fed, barrier)  # under a millisecond there


@pytest.mark.slow
def test_prefect_tasks_keep_the_server_as_busy(prefect_harness, server, tmp_path):
    """Shards as Prefect tasks on the thread runner (at least shards_in_flight workers) feed the engine too."""
    from starmill.flows.star import star_flow

    star_flow(config=settings(server.url, 8), warehouse=str(tmp_path / "warm-up"))  # first task runs: slow starts
    server.reset()
    summary = star_flow(config=settings(server.url, 96), warehouse=str(tmp_path / "wh"))
    fed = busy(server.stats()["timeline"], SLOTS)
    assert summary["shards"] == {"generated": 24, "from_ledger": 0}
    assert fed["utilisation"] > 0.8 and fed["longest_idle"] < 0.05, fed


def ledger_shards(root: Path) -> list[Path]:
    return sorted(root.glob("_runs/*/shards/*"))


def test_a_stopped_run_keeps_whole_shards_and_a_rerun_takes_them_from_the_ledger(server, tmp_path):
    cfg = parse_config(settings(server.url, 64, n=2))
    root = tmp_path / "wh"
    outcome: dict = {}

    def work():
        try:
            outcome["summary"] = run_star(cfg, str(root), progress=False)
        except stopping.Stopped as exc:
            outcome["stopped"] = exc

    server.reset()
    stopping.reset()
    runner = threading.Thread(target=work)
    runner.start()
    try:
        deadline = time.time() + 60
        while len(ledger_shards(root)) < 3 and time.time() < deadline and runner.is_alive():
            time.sleep(0.005)
        stopping.request()
        runner.join(30)
    finally:
        stopping.reset()
    assert "stopped" in outcome, "the run finished before the stop"
    assert server.drained(timeout=2)  # nothing of the stopped shards left running there
    files = ledger_shards(root)
    assert files and all(f.suffix == ".parquet" for f in files)  # no half-written files
    ledger = Ledger(root, files[0].parent.parent.name)
    for f in files:  # every recorded shard is whole: 4 problems x 2 samples
        assert ledger.has(f.stem) and len(ledger.load(f.stem)) == 8
    kept = len(files)
    assert kept < 16
    wh = Warehouse(root)
    assert wh.versions("samples") == [] and wh.versions("sft") == []

    server.reset()
    summary = run_star(cfg, str(root), progress=False)
    assert summary["shards"] == {"generated": 16 - kept, "from_ledger": kept}
    assert server.stats()["served"] == (16 - kept) * 4  # only the shards not recorded were asked again
    fresh = run_star(cfg, str(tmp_path / "fresh"), progress=False)

    def rows(s, where):
        return sorted((r["sample_id"], r["completion"]) for r in Warehouse(where).read(s["samples"]).to_pylist())

    assert rows(summary, root) == rows(fresh, tmp_path / "fresh")


@pytest.mark.slow
def test_ctrl_c_stops_a_run_that_feeds_the_server_side_by_side(tmp_path):
    """The real CLI, Prefect's thread runner, shards side by side: Ctrl-C to the process group exits
    130 within seconds, with whole shards in the ledger, nothing published and no request left running."""
    with LongTailServer(median=0.2) as slow:
        data = settings(slow.url, 160, shard_size=8)
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump(data))
        root = tmp_path / "wh"
        root.mkdir()
        env = {**os.environ, "STARMILL_WAREHOUSE": str(root), "PREFECT_HOME": str(tmp_path / ".prefect")}
        env.pop("PREFECT_API_URL", None)
        with open(tmp_path / "err", "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "starmill.cli", "run", str(config)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.time() + 240
        while not ledger_shards(root) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None and ledger_shards(root), (tmp_path / "err").read_text()[-3000:]
        time.sleep(0.3)  # several shards in flight at once now
        os.killpg(proc.pid, signal.SIGINT)
        try:
            assert proc.wait(timeout=20) == 130
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("still running 20 s after Ctrl-C:\n" + (tmp_path / "err").read_text()[-3000:])
        err_text = (tmp_path / "err").read_text()
        assert "Stopped: nothing was published" in err_text
        files = ledger_shards(root)
        assert all(f.suffix == ".parquet" for f in files) and 0 < len(files) < 20
        assert slow.drained(timeout=2)  # the requests in flight were dropped, not left running
        wh = Warehouse(root)
        assert wh.versions("samples") == [] and wh.versions("sft") == []
        summary = run_star(parse_config(data), str(root), progress=False)  # the rerun resumes
        assert summary["shards"] == {"generated": 20 - len(files), "from_ledger": len(files)}
