"""Scheduling with `starmill serve` against a real Prefect server, and the Dask task runner on a local
cluster (both need a running server: a session fixture starts one on 127.0.0.1)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from starmill.warehouse import Warehouse
from tests.helpers import without_timings

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def tiny_config(tmp_path, **runner):
    cfg = {
        "source": {"procedural": {"n": 6, "seed": 11, "difficulty": 1}},
        "sampling": {"n": 2, "max_tokens": 48, "seed": 5},
        "rationalization": {"attempts": 1},
        "runner": {"shard_size": 2, "retries": 0, **runner},
    }
    path = tmp_path / f"cfg-{runner.get('kind', 'thread')}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def env_for(url, root):
    env = {**os.environ, "PREFECT_API_URL": url, "STARMILL_WAREHOUSE": str(root)}
    return env


def run_cli(args, env, timeout=400):
    proc = subprocess.run(
        [sys.executable, "-m", "starmill.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout[proc.stdout.index("{") :])


def test_dask_runner_on_a_local_cluster_matches_the_thread_runner(prefect_server, tmp_path):
    dask = run_cli(
        ["run", str(tiny_config(tmp_path, kind="dask", max_workers=2)), "--json"],
        {**env_for(prefect_server, tmp_path / "dask"), "DASK_TEMPORARY_DIRECTORY": str(tmp_path / "dask-tmp")},
    )
    thread = run_cli(["run", str(tiny_config(tmp_path)), "--json"], env_for(prefect_server, tmp_path / "thread"))
    assert dask["counts"] == thread["counts"] and dask["counts"]["generated.rationale"] == 12
    left = Warehouse(tmp_path / "dask").read(dask["samples"]).sort_by("sample_id")
    right = Warehouse(tmp_path / "thread").read(thread["samples"]).sort_by("sample_id")
    assert without_timings(left) == without_timings(right)


def test_serve_schedules_and_runs_the_flow(prefect_server, tmp_path):
    api = httpx.Client(base_url=prefect_server, timeout=10)
    env = env_for(prefect_server, tmp_path / "served")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "starmill.cli",
            "serve",
            str(tiny_config(tmp_path)),
            "--cron",
            "0 3 * * *",
            "--name",
            "test-serve",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deployment = None
        deadline = time.time() + 120
        while time.time() < deadline and deployment is None:
            found = api.post("/deployments/filter", json={"deployments": {"name": {"any_": ["test-serve"]}}}).json()
            deployment = found[0] if found else None
            time.sleep(1)
        assert deployment is not None, "serve registered no deployment"
        assert deployment["schedules"][0]["schedule"]["cron"] == "0 3 * * *"
        scheduled = []
        while time.time() < deadline and not scheduled:
            scheduled = api.post(
                "/flow_runs/filter",
                json={
                    "deployments": {"id": {"any_": [deployment["id"]]}},
                    "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                },
            ).json()
            time.sleep(1)
        assert scheduled, "no run was scheduled"
        run = api.post(f"/deployments/{deployment['id']}/create_flow_run", json={}).json()
        state = None
        deadline = time.time() + 300
        while time.time() < deadline:
            state = api.get(f"/flow_runs/{run['id']}").json()["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(2)
        assert state == "COMPLETED"
        assert Warehouse(tmp_path / "served").versions("sft")[:1] == [1]  # (a scheduled run may add one at 03:00)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_serve_without_a_server_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "starmill.cli", "serve", "--cron", "* * * * *"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("Error: scheduling needs a running Prefect server")
