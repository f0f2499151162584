"""Generation shards as jobs any executor can run, what one reports back, and the in-process mapper.

A ``ShardJob`` names everything a worker needs (warehouse root, run key, teacher, shard); running it
takes the shard from the ledger or generates and records it, and reports a small ``ShardResult``:
the samples stay in the ledger, so nothing large travels back. ``map_in_process`` is a
``map_stage`` for one process (tests, benchmarks, ``starmill eval``); ``flows/star.py`` maps jobs as
Prefect tasks. It lives beside the ledger, below the core, so the run and ``starmill eval`` share it.

An engine that takes calls side by side (``concurrent_calls``: an OpenAI-compatible server, vLLM's
offline engine) is fed by several shards at once (``shards_in_flight``), so while one shard waits for
its slowest request the next ones' requests already fill the engine; each shard is still recorded in
the ledger on its own, when its own requests are done.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from starmill.generators import stopping
from starmill.generators.base import retryable
from starmill.generators.sampling import Shard
from starmill.schemas import SampleRecord
from starmill.schemas.redact import redact_text
from starmill.warehouse.ledger import Ledger

DONE, FAILED, MISSING, STOPPED = "done", "failed", "missing", "stopped"


@dataclass(frozen=True)
class ShardResult:
    key: str
    status: str  # done | failed (after its retries) | missing (not generated: a partial publish) | stopped
    seconds: float = 0.0  # spent generating (0 when it came from the ledger)
    samples: int = 0
    tokens: int = 0  # completion tokens
    error: str | None = None  # for failed: "Type: message", secrets redacted
    from_ledger: bool = False  # done by an earlier run (a resume), not generated now

    @classmethod
    def failure(cls, shard: Shard, exc: BaseException) -> ShardResult:
        return cls(shard.key, FAILED, error=redact_text(f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class ShardJob:
    root: str  # the warehouse root (its store is opened with options once per process)
    run_key: str
    teacher: dict[str, Any]
    shard: Shard
    allow_generate: bool = True  # False for a partial publish: what the ledger lacks stays missing

    def run(self) -> ShardResult:
        """From the ledger, or generated and recorded; raises what generation raised, and ``Stopped``
        once the run is asked to stop (nothing is recorded then)."""
        ledger = Ledger(self.root, self.run_key)
        resumed = ledger.has(self.shard.key)
        samples, seconds = generate_shard(ledger, self.teacher, self.shard, self.allow_generate)
        if samples is None:
            return ShardResult(self.shard.key, MISSING)
        return ShardResult(
            self.shard.key, DONE, seconds, len(samples), sum(s.completion_tokens for s in samples), from_ledger=resumed
        )


def generate_shard(
    ledger: Ledger, teacher: dict[str, Any], shard: Shard, allow_generate: bool = True
) -> tuple[list[SampleRecord] | None, float]:
    """A shard's samples and the seconds spent generating them: from the ledger when it is there
    (0 s), else generated and recorded. With ``allow_generate`` False (a partial publish), a shard not
    in the ledger gives (None, 0). Raises ``Stopped`` once a stop is requested (nothing is recorded).
    The engine's lock is taken per generate call, so a strategy that loops lets other shards in."""
    stopping.check()
    if ledger.has(shard.key):
        return ledger.load(shard.key), 0.0
    if not allow_generate:
        return None, 0.0
    from starmill.generators.registry import backend_for, backend_lock
    from starmill.generators.sampling import run_shard

    backend = backend_for(teacher)
    # one generate call per engine at a time (engines and seeding are not thread-safe), except a
    # backend whose calls run side by side: an OpenAI server's or vLLM's engine shared by the shards in
    # flight, the Batch API's shards waiting for their batches
    lock = contextlib.nullcontext() if getattr(backend, "concurrent_calls", False) else backend_lock(teacher)
    busy = [0.0]  # seconds in the engine, not waiting for it

    def generate(requests):
        with lock:
            start = time.perf_counter()
            try:
                if getattr(backend, "keeps_batches", False):  # a rerun polls the batches this run made
                    return backend.generate(requests, state=ledger)
                return backend.generate(requests)
            finally:
                busy[0] += time.perf_counter() - start

    if getattr(shard.strategy, "tree", False):  # a tree search: its calls replay after a kill, its nodes kept
        from starmill.generators.strategies.replay import replayed

        calls = replayed(
            generate,
            lambda call: ledger.load_call(shard.key, call),
            lambda call, results: ledger.record_call(shard.key, call, results),
        )
        samples, nodes = shard.strategy.search(shard.requests, calls, backend.info)
        ledger.record_tree(shard.key, nodes)
        ledger.record(shard.key, samples)
        ledger.clear_calls(shard.key)
        return samples, busy[0]
    samples = run_shard(backend, shard, generate)
    ledger.record(shard.key, samples)
    return samples, busy[0]


@dataclass(frozen=True)
class RetryPolicy:
    """A failing shard is tried again ``retries`` times, ``delay`` seconds first, doubling; errors
    that say they are deterministic (bad settings, a missing model, a 4xx) and our own bugs are not."""

    retries: int = 2
    delay: float = 1.0

    def delays(self) -> list[float]:
        return [self.delay * 2**i for i in range(self.retries)]

    @staticmethod
    def should_retry(exc: BaseException) -> bool:
        return not isinstance(exc, stopping.Stopped) and retryable(exc)


def run_job(job: ShardJob, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> ShardResult:
    """One job under the retry policy: its result, a failure once retries are spent (or not worth
    it), or ``stopped``."""
    for delay in [*policy.delays(), None]:
        try:
            return job.run()
        except stopping.Stopped:
            return ShardResult(job.shard.key, STOPPED)
        except Exception as exc:  # the policy decides; the loop records the failure
            if delay is None or not policy.should_retry(exc):
                return ShardResult.failure(job.shard, exc)
            sleep(delay)
    raise AssertionError("unreachable")


def map_in_process(policy: RetryPolicy, window: int = 1) -> Callable[[Sequence[ShardJob]], Iterator[ShardResult]]:
    """A ``map_stage`` that runs the jobs in this process: one after another, or up to ``window`` at
    once on threads (each thread takes the next job as soon as its own is done); results in the jobs'
    order. Leaving early (a stop, an error) cancels the jobs not started and waits for those running
    (after a stop they end within a batch), so no shard is still being written once it returns."""

    def map_stage(jobs: Sequence[ShardJob]) -> Iterator[ShardResult]:
        if window <= 1 or len(jobs) <= 1:
            for job in jobs:
                yield run_job(job, policy)
            return
        pool = ThreadPoolExecutor(max_workers=min(window, len(jobs)), thread_name_prefix="starmill-shard")
        try:
            futures = [pool.submit(run_job, job, policy) for job in jobs]
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return map_stage


FILL = 4  # shards in flight hold this many times the engine's window in requests
MAX_SHARDS_IN_FLIGHT = 64


def shards_in_flight(teacher: dict[str, Any], shard_size: int, n: int) -> int:
    """How many shards to run at once so that the engine always has queued work. The teacher's backend
    class says what its engine holds side by side and what one shard asks of it (``in_flight``,
    read from the options without loading anything): enough shards to fill that window four times,
    plus one; every shard at once (up to 64) for an engine with no window of its own (the Batch API:
    each shard is one batch, waiting on the provider); 1 for an engine that runs one call at a time
    (no ``in_flight``: transformers). Twice was not enough: shards near their end hold few requests
    (bench/idle_engine.py: 3 shards of 16 at 16 in flight kept a long-tailed server 76% busy, 5 shards
    96-99%, as busy as a raw client)."""
    from starmill.generators import backend_class, resolve_kind

    options = dict(teacher.get("options") or {})
    in_flight = getattr(backend_class(resolve_kind(teacher.get("backend"), options)), "in_flight", None)
    if in_flight is None:
        return 1
    load = in_flight(options, shard_size, n)
    if load is None:
        return MAX_SHARDS_IN_FLIGHT
    slots, per_shard = load
    return min(math.ceil(FILL * slots / max(per_shard, 1)) + 1, MAX_SHARDS_IN_FLIGHT)
