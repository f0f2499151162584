"""The task runner a config asks for: Prefect's thread pool, or Dask / Ray for many machines."""

from __future__ import annotations

from starmill.config import RunnerConfig
from starmill.schemas.errors import StarmillError


def task_runner(runner: RunnerConfig, threads: int = 1):
    """The runner, named in the flow run's log (``shards run on …``: what a deployment really used).
    A thread runner gets at least ``threads`` workers: the shards that keep a shared engine fed
    (``warehouse.shards.shards_in_flight``)."""
    if runner.kind == "thread" and threads > runner.max_workers:
        runner = runner.model_copy(update={"max_workers": threads})
    built = _build(runner)
    _log(f"shards run on {describe(runner)}")
    return built


def describe(runner: RunnerConfig) -> str:
    """``thread x3``, ``dask tcp://…``, ``ray 127.0.0.1:6379 (limit gpus)``: kind, size or address, limit."""
    where = runner.address or (f"x{runner.max_workers}" if runner.kind == "thread" else f"local x{runner.max_workers}")
    limit = f" (limit {runner.concurrency_limit})" if runner.concurrency_limit else ""
    return f"{runner.kind} {where}{limit}"


def _log(message: str) -> None:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        get_run_logger().info(message)
    except MissingContextError:  # called outside a flow run (tests of the factory)
        pass


def _build(runner: RunnerConfig):
    if runner.kind == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=runner.max_workers)
    if runner.kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise StarmillError("runner.kind 'dask' needs prefect-dask: pip install 'starmill[dask]'") from None
        if runner.address:
            return DaskTaskRunner(address=runner.address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": runner.max_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    try:
        from prefect_ray import RayTaskRunner
    except ImportError:
        raise StarmillError("runner.kind 'ray' needs prefect-ray: pip install 'starmill[ray]'") from None
    return (
        RayTaskRunner(address=runner.address)
        if runner.address
        else RayTaskRunner(init_kwargs={"num_cpus": runner.max_workers, "include_dashboard": False})
    )
