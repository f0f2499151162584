"""The STaR flow: thin Prefect wiring over ``starmill.pipeline``. Shards run as Prefect tasks on the
task runner the config names (``runner:``, also under ``prefect deploy``); the run summary becomes
artifacts.

    starmill run                  # the embedded default (procedural problems, the demo teacher)
    starmill run config.yaml      # your source, teacher and settings
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from starmill.config import RunnerConfig, parse_config
from starmill.flows.redacted import redacted_flow
from starmill.flows.runners import task_runner
from starmill.generators import stopping
from starmill.pipeline import RetryPolicy, ShardJob, ShardResult, run_star, summary_markdown
from starmill.schemas.redact import redact_text, redacted_error
from starmill.warehouse.shards import STOPPED, shards_in_flight


@task(name="generate-shard", cache_policy=NO_CACHE)
def generate_task(job: ShardJob, limit: str | None) -> ShardResult:
    """One shard, from the ledger or generated and recorded; ``stopped`` once the run is asked to stop
    (not a failure: no retry)."""
    try:
        if limit and job.allow_generate:
            from prefect.concurrency.sync import concurrency

            with concurrency(limit, occupy=1):
                return job.run()
        return job.run()
    except stopping.Stopped:
        return ShardResult(job.shard.key, STOPPED)
    except Exception as exc:  # Prefect keeps the message in its states and events
        raise _redacted(exc) from None


def _worth_retrying(task_, task_run, state) -> bool:
    """Prefect's retry condition: the policy's, on the exception the task raised."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception:  # the result is not at hand: retry, as Prefect would
        return True
    return not isinstance(exc, BaseException) or RetryPolicy.should_retry(exc)


def prefect_map_stage(runner, config: RunnerConfig):
    """``map_stage`` over Prefect tasks on ``runner`` (a started task runner), with the run's retries."""
    from prefect.utilities.annotations import unmapped

    policy = RetryPolicy(config.retries, config.retry_delay_seconds)
    shard_task = generate_task.with_options(
        retries=policy.retries, retry_delay_seconds=policy.delays() or 0, retry_condition_fn=_worth_retrying
    )

    def map_stage(jobs: Sequence[ShardJob]) -> Iterator[ShardResult]:
        if not jobs:
            return
        futures = runner.map(shard_task, {"job": list(jobs), "limit": unmapped(config.concurrency_limit)})
        for job, future in zip(jobs, futures):
            try:
                yield future.result()
            except Exception as exc:  # retries are spent: the loop records the failure
                yield ShardResult.failure(job.shard, exc)

    return map_stage


@redacted_flow(name="starmill-star", log_prints=True)
def star_flow(
    config: dict[str, Any] | None = None,
    warehouse: str | None = None,
    publish_partial: bool = False,
    allow_partial: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Generate, check, rationalize, select and publish ``samples`` and ``sft`` versions. A stop request
    ends it Cancelled, failed shards (unless ``allow_partial``) Failed, both with nothing published."""
    from starmill.flows.prefect_env import flow_run_url

    try:
        cfg = parse_config(config)
        url = flow_run_url()
        if url:  # the CLI prints it; the log holds it too
            import logging

            logging.getLogger("starmill.flows.star").info("flow run: %s", url)
        window = shards_in_flight(cfg.teacher.model_dump(mode="json"), cfg.runner.shard_size, cfg.sampling.n)
        with task_runner(cfg.runner, window) as runner:
            summary = run_star(
                cfg,
                warehouse,
                prefect_map_stage(runner, cfg.runner),
                publish_partial=publish_partial,
                allow_partial=allow_partial,
                force=force,
            )
        publish_artifacts(summary)
        return {**summary, "flow_run_url": url} if url else summary
    except stopping.Stopped as exc:
        return Cancelled(message=str(exc))
    except Exception as exc:  # Prefect keeps the message in its states and events
        raise _redacted(exc) from None


def publish_artifacts(summary: dict[str, Any]) -> None:
    """Prefect artifacts for the run: a markdown summary and a table of counts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        redact_text(summary_markdown(summary)), key="starmill-run-summary", description="starmill run"
    )
    create_table_artifact(
        [{"stage": k, "count": v} for k, v in sorted(summary["counts"].items())],
        key="starmill-run-counts",
        description="rows at every stage",
    )


def _redacted(exc: Exception) -> Exception:
    error = redacted_error(exc)
    return exc if error is exc else error
