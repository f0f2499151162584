"""The STaR flow: thin Prefect wiring over ``starmill.pipeline``.

    starmill run                  # the embedded default (procedural problems, the demo teacher)
    starmill run config.yaml      # your source, teacher and settings
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from flows.redacted import redacted_flow
from generators import stopping
from schemas.redact import redact_text, redacted_error
from starmill import pipeline
from starmill.config import RunConfig, parse_config
from warehouse.ledger import Ledger


@task(name="generate-shard", cache_policy=NO_CACHE)
def generate_task(root: str, run_key: str, teacher: dict, shard, allow_generate: bool, limit: str | None):
    """One shard: from the ledger, or generated with the teacher and recorded; (None, 0) once the run
    is asked to stop (not a failure: no retry)."""
    ledger = Ledger(root, run_key)
    try:
        if limit and not ledger.has(shard.key) and allow_generate:
            from prefect.concurrency.sync import concurrency

            with concurrency(limit, occupy=1):
                return pipeline.generate_shard(ledger, teacher, shard, allow_generate)
        return pipeline.generate_shard(ledger, teacher, shard, allow_generate)
    except stopping.Stopped:
        return None, 0.0
    except Exception as exc:  # Prefect keeps the message in its states and events
        error = redacted_error(exc)
        if error is exc:
            raise
        raise error from None


def run_stage(run: pipeline.Run, teacher: dict, problem_ids: list[str], stage: str, iteration: int,
              allow_generate: bool, failures: list[dict], missing: list[str], timings: Counter) -> list:
    """Map the stage's shards over the task runner; collect samples, failures and missing shards."""
    from prefect.utilities.annotations import unmapped
    from tqdm.auto import tqdm

    runner = run.config.runner
    shards = pipeline.plan(run, teacher, problem_ids, stage, iteration)
    delays = [runner.retry_delay_seconds * 2**i for i in range(runner.retries)] or 0
    task_ = generate_task.with_options(retries=runner.retries, retry_delay_seconds=delays)
    futures = task_.map(unmapped(run.wh.root), unmapped(run.run_key), unmapped(teacher), shards,
                        unmapped(allow_generate), unmapped(runner.concurrency_limit))
    samples, tokens = [], 0
    with tqdm(total=len(shards), desc=f"generate {stage} (iteration {iteration})", unit="shard") as bar:
        for shard, future in zip(shards, futures):
            stopping.check()  # leaving the flow cancels the shards not started; those in flight stop within a batch
            try:
                result, seconds = future.result()
                timings["generate"] += seconds
            except Exception as exc:  # retries are spent: record the failure, keep the rest
                error = redact_text(f"{type(exc).__name__}: {exc}")
                run.ledger.fail(shard.key, error, {"stage": stage, "iteration": iteration, "problems": shard.problem_ids})
                failures.append({"shard": shard.key, "stage": stage, "iteration": iteration,
                                 "problems": len(shard.problem_ids), "problem_ids": shard.problem_ids,
                                 "error": error})
                result = []
            if result is None:
                missing.append(shard.key)
                result = []
            samples += result
            tokens += sum(s.completion_tokens for s in result)
            bar.set_postfix(samples=len(samples), tokens=tokens)
            bar.update()
    return samples


@redacted_flow(name="starmill-star", log_prints=True)
def star_flow(config: dict[str, Any] | None = None, warehouse: str | None = None,
              publish_partial: bool = False) -> dict[str, Any]:
    """Generate, check, rationalize, rejection-sample and publish ``samples`` and ``sft`` versions.
    A stop request ends it Cancelled, with nothing published."""
    try:
        return run_star(parse_config(config), warehouse, publish_partial)
    except stopping.Stopped as exc:
        return Cancelled(message=str(exc))
    except Exception as exc:  # Prefect keeps the message in its states and events
        error = redacted_error(exc)
        if error is exc:
            raise
        raise error from None


def run_star(cfg: RunConfig, warehouse: str | None, publish_partial: bool) -> dict[str, Any]:
    log = get_run_logger()
    timings: Counter = Counter()
    started = time.perf_counter()
    run = pipeline.prepare(cfg, warehouse)
    timings["prepare"] = time.perf_counter() - started
    log.info("problems: %s (%d), run %s", run.problems_ref, len(run.problems), run.run_key)
    graded_all, labels, failures, missing = [], {}, [], []
    remaining = list(run.order)
    for iteration in range(cfg.iterations.count):
        stopping.check()
        if iteration:
            pipeline.make_next_model(run, iteration, graded_all)
        teacher = pipeline.teacher_for(run, iteration)
        run.models.append(pipeline.model_record(teacher, iteration))
        rationales = run_stage(run, teacher, remaining, "rationale", iteration, not publish_partial, failures,
                               missing, timings)
        mark = time.perf_counter()
        graded, found = pipeline.grade(run, rationales)
        timings["check"] += time.perf_counter() - mark
        labels.update(found)
        solved = pipeline.solved(graded)
        hinted: list = []
        failed = {p for f in failures for p in f["problem_ids"]}
        unsolved = [p for p in remaining if p not in solved and p not in failed and run.problems[p].gold_answer]
        if cfg.rationalization.enabled and unsolved:
            hinted = run_stage(run, teacher, unsolved, "rationalization", iteration, not publish_partial, failures,
                               missing, timings)
            mark = time.perf_counter()
            hinted, _ = pipeline.grade(run, hinted)
            timings["check"] += time.perf_counter() - mark
        rationalized = pipeline.solved(hinted)
        run.models[-1] = pipeline.model_record(teacher, iteration)  # now with the engine's details
        from generators.registry import load_seconds

        timings["load_model"] += load_seconds(teacher)
        graded_all += graded + hinted
        run.iterations.append({"iteration": iteration, "model": teacher["model"], "attempted": len(remaining),
                               "solved_by_rationale": len(solved), "rationalization_attempted": len(unsolved),
                               "solved_by_rationalization": len(rationalized)})
        log.info("iteration %d: %d problems, %d solved, %d more by rationalization", iteration,
                 len(remaining), len(solved), len(rationalized))
        remaining = [p for p in remaining if p not in solved and p not in rationalized]
        if not remaining:
            break
    mark = time.perf_counter()
    summary = pipeline.finish(run, graded_all, labels, failures, partial=bool(missing))
    timings["select_and_publish"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    summary["missing_shards"] = len(missing)
    summary["seconds"] = {k: round(v, 3) for k, v in timings.items()}
    pipeline.report(summary)
    return summary
