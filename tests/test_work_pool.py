"""Prefect work pools for real, against a `prefect server` on 127.0.0.1: `prefect deploy` from the repo's
prefect.yaml, a `process` pool and a `prefect worker` run a triggered deployment with the run config's
task runner; and a global concurrency limit keeps two flow runs' generation tasks from overlapping."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fixtures_engines import Reply, ScriptedServer, chat_body
from tests.test_schedule_and_scale import tiny_config
from warehouse import Warehouse

REPO = Path(__file__).resolve().parent.parent
PREFECT = Path(sys.executable).parent / "prefect"
pytestmark = pytest.mark.slow


def client_env(url: str, tmp_path: Path) -> dict[str, str]:
    """A Prefect client of the test server: its own PREFECT_HOME, nothing sent out."""
    return {**os.environ, "PREFECT_API_URL": url, "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "STARMILL_HOME": str(REPO),
            "PREFECT_LOGGING_LEVEL": "INFO"}  # an earlier in-process `starmill run` may have set WARNING here


def prefect(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([str(PREFECT), "--no-prompt", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, f"prefect {' '.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def stop_worker(proc: subprocess.Popen) -> None:
    """A Prefect worker turns the first SIGTERM into SIGINT and may need a second; then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for_run(api: httpx.Client, run_id: str, seconds: float) -> str:
    state = None
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = api.get(f"/flow_runs/{run_id}").json()["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(2)
    return state


def test_a_deployment_from_prefect_yaml_runs_on_a_process_worker_with_the_configs_runner(prefect_server, tmp_path):
    env = client_env(prefect_server, tmp_path)
    deployment = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"][0]
    pool = deployment["work_pool"]["name"]
    prefect(["work-pool", "create", pool, "--type", "process"], env)
    prefect(["deploy", "--all"], env)
    api = httpx.Client(base_url=prefect_server, timeout=10)
    [found] = api.post("/deployments/filter", json={"deployments": {"name": {"any_": [deployment["name"]]}}}).json()
    assert found["entrypoint"] == deployment["entrypoint"] and found["work_pool_name"] == pool

    config = yaml.safe_load(tiny_config(tmp_path, max_workers=3).read_text())
    worker_log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([str(PREFECT), "worker", "start", "--pool", pool], cwd=REPO,
                              env={**env, "PREFECT_WORKER_QUERY_SECONDS": "2"}, stdout=worker_log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out = prefect(["deployment", "run", f"starmill-star/{deployment['name']}", "--params",
                       json.dumps({"config": config, "warehouse": str(tmp_path / "wh")})], env)
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)  # the cron's own runs are far off
        assert api.get(f"/flow_runs/{run_id}").json()["deployment_id"] == found["id"]
        state = wait_for_run(api, run_id, 400)
        logs = [entry["message"] for entry in api.post("/logs/filter", json={
            "logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}).json()]
        assert state == "COMPLETED", "\n".join(logs[-30:]) + (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_worker(worker)
        worker_log.close()
    deadline = time.time() + 60  # the run's logs reach the API in batches: under load after the run ends
    while "shards run on thread x3" not in logs and time.time() < deadline:
        time.sleep(1)
        logs = [entry["message"] for entry in api.post("/logs/filter", json={
            "logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}).json()]
    assert "shards run on thread x3" in logs  # the run config's runner, not the flow's decoration
    assert Warehouse(tmp_path / "wh").versions("sft") == [1]


def test_a_global_concurrency_limit_serializes_generation_across_two_runs(prefect_server, tmp_path):
    """Limit 1, two `starmill run`s at once on one teacher server: each request is tagged with its
    run (the model name), and no request of one run is in flight while one of the other is."""
    env = client_env(prefect_server, tmp_path)
    prefect(["gcl", "create", "teacher-gpus", "--limit", "1"], env)
    server = ScriptedServer()
    server.respond = lambda seen: Reply(body=chat_body(seen.body), delay=0.6)
    runs = []
    try:
        for name in ("run-a", "run-b"):
            cfg = {"source": {"procedural": {"n": 8, "seed": 11, "difficulty": 1}},
                   "teacher": {"backend": "openai", "model": name, "base_url": server.base_url},
                   "sampling": {"n": 2, "max_tokens": 16, "seed": 5}, "rationalization": {"attempts": 1},
                   "runner": {"shard_size": 2, "retries": 0, "max_workers": 4, "concurrency_limit": "teacher-gpus"}}
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump(cfg))
            runs.append(subprocess.Popen(
                [sys.executable, "-m", "starmill.cli", "run", str(path), "--json"], cwd=REPO,
                env={**env, "STARMILL_WAREHOUSE": str(tmp_path / name)}, stdout=subprocess.PIPE,
                stderr=open(tmp_path / f"{name}.log", "w"), text=True))
        for name, proc in zip(("run-a", "run-b"), runs):
            proc.wait(timeout=400)
            assert proc.returncode == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for proc in runs:
            if proc.poll() is None:
                proc.kill()
        server.close()
    spans = {name: [(s.at, s.at + 0.6) for s in server.posts() if s.body["model"] == name] for name in ("run-a", "run-b")}
    assert all(spans.values()), "a run sent no requests"
    a, b = spans["run-a"], spans["run-b"]
    window = lambda spans: (min(s for s, _ in spans), max(e for _, e in spans))  # noqa: E731
    (a0, a1), (b0, b1) = window(a), window(b)
    assert a0 < b1 and b0 < a1, "the two runs did not generate at the same time: the test shows nothing"
    overlaps = [(x, y) for x in a for y in b if x[0] < y[1] - 0.05 and y[0] < x[1] - 0.05]
    assert not overlaps, f"{len(overlaps)} requests of the two runs overlapped under limit 1"
    print(f"limit 1: {len(a)} + {len(b)} requests, windows {a0 - a0:.1f}-{a1 - a0:.1f}s and {b0 - a0:.1f}-{b1 - a0:.1f}s, no overlap")
