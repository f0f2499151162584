"""The Ray task runner on a real local cluster: `ray start --head` and a second node on 127.0.0.1 run the
flow's shards (`runner.kind: ray`, `runner.address`), and the versions equal the thread runner's."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from starmill.warehouse import Warehouse
from tests.helpers import without_timings
from tests.test_schedule_and_scale import env_for, run_cli, tiny_config

pytest.importorskip("prefect_ray")
pytestmark = pytest.mark.slow


def ray_env(temp: Path) -> dict[str, str]:
    """Everything of Ray's under ``temp`` (no ~/.ray), nothing sent out, every address 127.0.0.1
    (Ray turns 127.0.0.1 into the host's outward IP unless told this is not a cluster host)."""
    return {
        **os.environ,
        "RAY_TMPDIR": str(temp),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }


# Two nodes (two raylets, one CPU each) on 127.0.0.1, in a process of their own until SIGTERM. Not
# `ray start --address` for the second node: with every address on loopback Ray's CLI refuses to add a
# node ("multi-node clusters are not supported"), and without that setting it binds the host's outward
# IP. Ray's own `cluster_utils.Cluster` starts real nodes the same way, on 127.0.0.1.
CLUSTER = """
import signal, sys
from ray.cluster_utils import Cluster
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False, "temp_dir": sys.argv[1]})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
print(cluster.address, flush=True)
signal.signal(signal.SIGTERM, lambda *_: (cluster.shutdown(), sys.exit(0)))
signal.pause()
"""


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A head node and one worker node, one CPU each, on 127.0.0.1; yields (address, env)."""
    temp = Path("/tmp") / f"starmill-ray-{os.getpid()}"  # Ray's socket paths must stay short
    (temp / "ray").mkdir(parents=True, exist_ok=True)
    env = ray_env(temp)
    log = tmp_path_factory.mktemp("ray") / "cluster.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLUSTER, str(temp / "ray")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(log, "w"),
        text=True,
        start_new_session=True,
    )
    try:
        address = proc.stdout.readline().strip()  # blocks until both nodes are up (or it dies)
        assert address.startswith("127.0.0.1:"), log.read_text()[-3000:]
        yield address, env
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)  # the group: the nodes' processes too
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what the group still holds
        except ProcessLookupError:
            pass
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


def test_ray_cluster_runs_the_shards_and_matches_the_thread_runner(prefect_server, ray_cluster, tmp_path):
    address, env = ray_cluster
    start = time.perf_counter()
    ray = run_cli(
        ["run", str(tiny_config(tmp_path, kind="ray", address=address)), "--json"],
        {**env, **env_for(prefect_server, tmp_path / "ray"), "PYTHONPATH": env["PYTHONPATH"]},
    )
    ray_seconds = time.perf_counter() - start
    thread = run_cli(["run", str(tiny_config(tmp_path)), "--json"], env_for(prefect_server, tmp_path / "thread"))
    assert ray["counts"] == thread["counts"] and ray["counts"]["generated.rationale"] == 12
    left = Warehouse(tmp_path / "ray").read(ray["samples"]).sort_by("sample_id")
    right = Warehouse(tmp_path / "thread").read(thread["samples"]).sort_by("sample_id")
    assert without_timings(left) == without_timings(right)
    left_sft = Warehouse(tmp_path / "ray").read(ray["sft"]).sort_by("sample_id")
    right_sft = Warehouse(tmp_path / "thread").read(thread["sft"]).sort_by("sample_id")
    assert left_sft.to_pylist() == right_sft.to_pylist()
    assert len(nodes_that_ran("generate-shard", Path(env["RAY_TMPDIR"]))) == 2, "the shards ran on one node only"
    print(f"ray run: {ray_seconds:.1f}s")


def nodes_that_ran(task_name: str, temp: Path) -> set[str]:
    """The raylets (one per node: raylet.out, raylet.1.out) whose worker processes ran ``task_name``,
    from the session's logs: each raylet logs the pids it starts, each worker's log names its tasks."""
    logs = next(temp.glob("ray/session_*/logs"))
    started = {}
    for raylet in logs.glob("raylet*.out"):
        for pid in re.findall(r"Started worker process with pid (\d+)", raylet.read_text(errors="replace")):
            started[pid] = raylet.name
    return {
        started.get(out.stem.rsplit("-", 1)[1], "?")
        for out in logs.glob("worker-*.out")
        if f":task_name:{task_name}" in out.read_text(errors="replace")
    }
