"""Prefect work pools for real, against a `prefect server` on 127.0.0.1: `prefect deploy` from the repo's
prefect.yaml, a `process` pool and a `prefect worker` run a triggered deployment with the run config's
task runner; and a global concurrency limit keeps two flow runs' generation tasks from overlapping."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from starmill.warehouse import Warehouse
from tests.fixtures_engines import Reply, ScriptedServer, chat_body
from tests.test_schedule_and_scale import tiny_config

REPO = Path(__file__).resolve().parent.parent
PREFECT = Path(sys.executable).parent / "prefect"
pytestmark = pytest.mark.slow


def client_env(url: str, tmp_path: Path) -> dict[str, str]:
    """A Prefect client of the test server: its own PREFECT_HOME, nothing sent out."""
    return {
        **os.environ,
        "PREFECT_API_URL": url,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "STARMILL_HOME": str(REPO),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }  # an earlier in-process `starmill run` may have set WARNING here


def prefect(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(PREFECT), "--no-prompt", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
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
    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", pool],
        cwd=REPO,
        env={**env, "PREFECT_WORKER_QUERY_SECONDS": "2"},
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out = prefect(
            [
                "deployment",
                "run",
                f"starmill-star/{deployment['name']}",
                "--params",
                json.dumps({"config": config, "warehouse": str(tmp_path / "wh")}),
            ],
            env,
        )
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)  # the cron's own runs are far off
        assert api.get(f"/flow_runs/{run_id}").json()["deployment_id"] == found["id"]
        state = wait_for_run(api, run_id, 400)
        logs = [
            entry["message"]
            for entry in api.post(
                "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
            ).json()
        ]
        assert state == "COMPLETED", "\n".join(logs[-30:]) + (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_worker(worker)
        worker_log.close()
    deadline = time.time() + 60  # the run's logs reach the API in batches: under load after the run ends
    while "shards run on thread x3" not in logs and time.time() < deadline:
        time.sleep(1)
        logs = [
            entry["message"]
            for entry in api.post(
                "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}
            ).json()
        ]
    assert "shards run on thread x3" in logs  # the run config's runner, not the flow's decoration
    assert Warehouse(tmp_path / "wh").versions("sft") == [1]


def shard_tasks_running(api: httpx.Client, warehouse: str) -> int:
    """How many generate-shard tasks of the flow run writing to ``warehouse`` are running (inside the
    task body, where the concurrency slot is taken)."""
    runs = [
        run["id"]
        for run in api.post("/flow_runs/filter", json={"sort": "EXPECTED_START_TIME_DESC", "limit": 20}).json()
        if run["parameters"].get("warehouse") == warehouse
    ]
    if not runs:
        return 0
    return api.post(
        "/task_runs/count",
        json={"flow_runs": {"id": {"any_": runs}}, "task_runs": {"state": {"type": {"any_": ["RUNNING"]}}}},
    ).json()


def test_a_global_concurrency_limit_serializes_generation_across_two_runs(prefect_server, tmp_path):
    """Limit 1, two `starmill run`s at once on one teacher server: each request is tagged with its
    run (the model name). The server holds the first run's first request until the other run has shard
    tasks running, so both runs want the slot at once whatever their start-up times; then no request of
    one run is in flight while one of the other is, and the other run waited for the first."""
    env = client_env(prefect_server, tmp_path)
    prefect(["gcl", "create", "teacher-gpus", "--limit", "1"], env)
    api = httpx.Client(base_url=prefect_server, timeout=10)
    warehouses = {name: str(tmp_path / name) for name in ("run-a", "run-b")}
    server = ScriptedServer()
    spans: dict[str, list[tuple[float, float]]] = {"run-a": [], "run-b": []}
    gate = {"first": None, "other_waited": False, "released": None}
    lock = threading.Lock()

    def respond(seen):
        name = seen.body["model"]
        with lock:
            first = gate["first"] is None
            if first:
                gate["first"] = name
        if first:  # hold the slot until the other run's shards are running (and so wait for it)
            other = next(n for n in warehouses if n != name)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not gate["other_waited"]:
                gate["other_waited"] = shard_tasks_running(api, warehouses[other]) > 0
                time.sleep(0.5)
            time.sleep(1.0)  # its shards are past the task's start, at the slot
            gate["released"] = time.monotonic()
        spans[name].append((seen.at, time.monotonic() + 0.6))
        return Reply(body=chat_body(seen.body), delay=0.6)

    server.respond = respond
    runs = []
    try:
        for name in ("run-a", "run-b"):
            cfg = {
                "source": {"procedural": {"n": 8, "seed": 11, "difficulty": 1}},
                "teacher": {
                    "backend": "openai",
                    "model": name,
                    "base_url": server.base_url,
                    "options": {"timeout": 600},
                },
                "sampling": {"n": 2, "max_tokens": 16, "seed": 5},
                "rationalization": {"attempts": 1},
                "runner": {"shard_size": 2, "retries": 0, "max_workers": 4, "concurrency_limit": "teacher-gpus"},
            }
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump(cfg))
            runs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "starmill.cli", "run", str(path), "--json"],
                    cwd=REPO,
                    env={**env, "STARMILL_WAREHOUSE": warehouses[name]},
                    stdout=subprocess.PIPE,
                    stderr=open(tmp_path / f"{name}.log", "w"),
                    text=True,
                )
            )
        for name, proc in zip(("run-a", "run-b"), runs):
            proc.wait(timeout=500)
            assert proc.returncode == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for proc in runs:
            if proc.poll() is None:
                proc.kill()
        server.close()
    assert gate["other_waited"], "the second run never had a shard running while the first held the slot"
    first = gate["first"]
    other = next(n for n in spans if n != first)
    assert spans[first] and spans[other], "a run sent no requests"
    # the other run was at the slot while the first one's first request was held: it sent nothing until then
    assert min(s for s, _ in spans[other]) >= gate["released"] + 0.6 - 0.05
    a, b = spans["run-a"], spans["run-b"]
    overlaps = [(x, y) for x in a for y in b if x[0] < y[1] - 0.05 and y[0] < x[1] - 0.05]
    assert not overlaps, f"{len(overlaps)} requests of the two runs overlapped under limit 1"
    print(f"limit 1: {len(a)} + {len(b)} requests, {first} first, no overlap")
