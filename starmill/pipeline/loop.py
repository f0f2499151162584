"""The STaR loop as plain code, given a way to map shards (``map_stage(jobs) -> results``):

    for each iteration (the teacher from ``NextModel`` after the first):
        rationale stage on the problems still unsolved      (strategy ``sampling.strategy``; with
                                                             ``sampling.until_verified``, in rounds)
        rationalization stage on those still without a kept sample and with a gold answer
    publish samples and sft, with the run report

A stage plans requests with its strategy, cuts them into shards, maps them, and streams each finished
shard from the ledger through grading and selection (``stream.Tally``). A shard that failed after its
retries is recorded in the ledger; unless partial results are allowed the run then stops after that
stage with ``PartialRun`` and publishes nothing (a rerun takes the finished shards from the ledger).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tqdm.auto import tqdm

from starmill.build import (
    build_scorers,
    build_verifiers,
    rationale_strategy,
    rationalization_strategy,
    run_selection,
    sampling_params,
    verifiers_by_source,
)
from starmill.config import RunConfig
from starmill.generators import stopping
from starmill.generators.sampling import plan_shards
from starmill.generators.strategies import PlanContext, Strategy
from starmill.pipeline.models import next_model
from starmill.pipeline.preflight import preflight
from starmill.pipeline.publish import make_report, publish
from starmill.pipeline.run import Run, model_record, prepare
from starmill.pipeline.stream import Spool, Tally
from starmill.schemas.errors import StarmillError
from starmill.schemas.report import FailedShard, IterationReport
from starmill.warehouse.shards import (
    DONE,
    FAILED,
    MISSING,
    STOPPED,
    RetryPolicy,
    ShardJob,
    ShardResult,
    map_in_process,
    shards_in_flight,
)

MapStage = Callable[[Sequence[ShardJob]], Iterable[ShardResult]]  # results in the order of the jobs


class PartialRun(StarmillError):
    """Shards failed after their retries; nothing was published."""


class StarLoop:
    def __init__(
        self,
        run: Run,
        map_stage: MapStage,
        *,
        allow_generate: bool = True,
        allow_partial: bool = False,
        progress: bool = True,
    ):
        cfg = run.config
        self.run, self.map_stage, self.progress = run, map_stage, progress
        self.shard_sources = {"generated": 0, "from_ledger": 0}  # done shards: generated now, or by an earlier run
        self.allow_generate, self.allow_partial = allow_generate, allow_partial
        self.rationale = rationale_strategy(cfg, gold=run.problems)  # MCTS may back up the gold answer's check
        self.hinted = rationalization_strategy(cfg)
        self.spool = Spool(run.ledger.path / "spool")
        self.tally = Tally(
            run.problems,
            run_selection(cfg),
            self.spool,
            n=cfg.sampling.n,
            workers=cfg.checker.workers,
            timeout=cfg.checker.timeout,
            self_consistency=cfg.self_consistency.threshold if cfg.self_consistency.enabled else None,
            scorers=build_scorers(cfg.scorers),
            verifiers=build_verifiers(cfg.source_specs()[0], cfg.checker.workers, cfg.checker.timeout),
            by_source=cfg.sources and verifiers_by_source(cfg.sources, cfg.checker.workers, cfg.checker.timeout),
        )
        if cfg.iterations.train is not None:
            from starmill.pipeline.training_step import TrainedModel

            self.next_model = TrainedModel(run, run.ledger.path)
        else:
            self.next_model = next_model(cfg.iterations.models, cfg.iterations.command, run.ledger.path)
        self.final_model: dict[str, Any] | None = None  # M(K) of the outer loop: trained after the last iteration
        self.models: list[dict[str, Any]] = []
        self.iterations: list[IterationReport] = []
        self.failures: list[FailedShard] = []
        self.missing: list[str] = []
        self.left_out: set[str] = set()  # problems of failed or missing shards: no later stage gets them
        self.timings: Counter = Counter()
        self.stopped_early: int | None = None  # the iteration early stopping ended the loop before
        self.best_model: dict[str, Any] | None = None  # the model with the best held-out metric (M0 included)

    def iterate(self) -> None:
        """Every iteration; raises ``PartialRun`` (failed shards, not allowed) or ``Stopped``."""
        from starmill.generators.registry import load_seconds
        from starmill.pipeline.training_step import StopIterations, TrainedModel

        cfg, base = self.run.config, self.run.config.teacher.model_dump(mode="json")
        trains = isinstance(self.next_model, TrainedModel)
        resample_all = cfg.iterations.resample == "all" or (cfg.iterations.resample == "auto" and trains)
        kept = lambda path: self.spool.write_parquet("sft", path)  # noqa: E731
        if trains:
            self.next_model.baseline(base)
        remaining = list(self.run.order)
        for iteration in range(cfg.iterations.count):
            stopping.check()
            try:
                teacher = base if iteration == 0 else self.next_model.teacher(iteration, base, kept)
            except StopIterations:
                self.stopped_early = iteration
                break
            if resample_all:
                remaining = [p for p in self.run.order if p not in self.left_out and p not in self.tally.banded]
            self.models.append(model_record(teacher, iteration))
            solved = self.stage(self.rationale, remaining, teacher, iteration)
            banded = self.tally.outside_band(remaining)  # selection.difficulty: done, whatever they get
            unsolved = [
                p
                for p in remaining
                if p not in solved and p not in self.left_out and p not in banded and self.run.problems[p].gold_answer
            ]
            attempted = unsolved if cfg.rationalization.enabled else []
            hints = self.hints(attempted)
            attempted = [p for p in attempted if p in hints]  # code: only those with a reference or feedback
            rationalized = self.stage(self.hinted, attempted, teacher, iteration, hints) if attempted else set()
            self.models[-1] = model_record(teacher, iteration)  # now with the engine's details
            self.timings["load_model"] += load_seconds(teacher)
            self.iterations.append(
                IterationReport(
                    iteration=iteration,
                    model=teacher["model"],
                    attempted=len(remaining),
                    solved_by_rationale=len(solved),
                    rationalization_attempted=len(attempted),
                    solved_by_rationalization=len(rationalized),
                    **(self.next_model.report(iteration) if trains else {}),
                )
            )
            done = solved | rationalized | self.left_out | banded
            remaining = [p for p in remaining if p not in done]
            if not remaining and not resample_all:
                break
        else:
            if trains:  # M(K): trained on the last iteration's rows and evaluated
                self.next_model.final(len(self.iterations), base, kept)
                self.final_model = {
                    "iteration": len(self.iterations),
                    "model": str(self.run.ledger.path / f"model-it{len(self.iterations)}"),
                    **self.next_model.report(len(self.iterations)),
                }
        if trains:
            self.best_model = self.next_model.best_model(base)

    def hints(self, problem_ids: list[str]) -> dict[str, str]:
        """What each problem's rationalization shows: the gold answer; for a code problem (its gold is a test
        spec) never the tests but, by ``rationalization.code_hint``, the reference solution or the failing
        tests' feedback, and no entry when it has none (then it is not rationalized)."""
        from starmill.filters.code.hints import code_hint, spec_of

        mode, out = self.run.config.rationalization.code_hint, {}
        for p in problem_ids:
            problem = self.run.problems[p]
            hint = code_hint(problem, mode, self.tally.feedback.get(p)) if spec_of(problem) else problem.gold_answer
            if hint:
                out[p] = hint
        return out

    def stage(
        self,
        strategy: Strategy,
        problem_ids: list[str],
        teacher: dict[str, Any],
        iteration: int,
        hints: dict[str, str] | None = None,
    ) -> set[str]:
        """Generate one stage for ``problem_ids``; the problems that now have a kept sample."""
        from starmill.generators.registry import model_identity

        cfg, run = self.run.config, self.run
        model, revision = model_identity(teacher)
        context = PlanContext(iteration, sampling_params(cfg.sampling), cfg.sampling.seed, model, revision, hints)
        if strategy.rounds:
            return self.rounds(strategy, problem_ids, teacher, context)
        requests = strategy.plan([run.problems[p] for p in problem_ids], context)
        return self.shards(strategy, requests, teacher, iteration)

    def rounds(
        self, strategy: Strategy, problem_ids: list[str], teacher: dict[str, Any], context: PlanContext
    ) -> set[str]:
        """A strategy that samples in rounds (an adaptive budget): each round is planned from what the
        earlier ones kept and spent, and its shards are graded and selected before the next."""
        solved: set[str] = set()
        spent_before, kept_before = Counter(self.tally.spent), Counter(self.tally.kept_count)
        pending, round_index = list(problem_ids), 0
        try:
            while pending:  # budgets are per stage: an iteration that resamples all starts afresh
                spent = {p: self.tally.spent[p] - spent_before[p] for p in pending}
                kept = {p: self.tally.kept_count[p] - kept_before[p] for p in pending}
                sizes = strategy.round_sizes(pending, spent, kept)
                if not sizes:
                    break
                requests = strategy.plan_round([self.run.problems[p] for p in sizes], context, round_index, sizes)
                solved |= self.shards(strategy, requests, teacher, context.iteration, round_index)
                pending = [p for p in sizes if p not in self.left_out]
                round_index += 1
        finally:
            self.tally.end_rounds()
        return solved

    def shards(
        self,
        strategy: Strategy,
        requests: list,
        teacher: dict[str, Any],
        iteration: int,
        round_index: int | None = None,
    ) -> set[str]:
        """Cut ``requests`` into shards, map them and take each finished one; the problems now solved."""
        jobs = [
            ShardJob(self.run.wh.root, self.run.run_key, teacher, shard, self.allow_generate)
            for shard in plan_shards(requests, self.run.config.runner.shard_size, strategy)
        ]
        solved: set[str] = set()
        failed_before = len(self.failures)
        where = f"iteration {iteration}" + ("" if round_index is None else f", round {round_index}")
        with tqdm(
            total=len(jobs), desc=f"generate {strategy.stage.value} ({where})", unit="shard", disable=not self.progress
        ) as bar:
            results, mark = iter(self.map_stage(jobs)), time.perf_counter()
            try:
                for job, result in zip(jobs, results):
                    self.timings["generate"] += time.perf_counter() - mark  # waiting for shards (side by side)
                    stopping.check()  # leaving cancels the shards not started; those in flight stop within a batch
                    solved |= self.collect(job, result, rounds=round_index is not None)
                    bar.update()
                    mark = time.perf_counter()
            finally:  # now, not when the traceback goes: the shards in flight end before the run does
                getattr(results, "close", lambda: None)()
        if len(self.failures) > failed_before and not self.allow_partial:
            raise PartialRun(partial_message(self.failures[failed_before:]))
        return solved

    def collect(self, job: ShardJob, result: ShardResult, rounds: bool = False) -> set[str]:
        shard = job.shard
        if result.key != shard.key:
            raise RuntimeError(f"map_stage gave shard {result.key} for {shard.key}: results must come in order")
        if result.status == STOPPED:
            raise stopping.Stopped()
        if result.status in (FAILED, MISSING):
            self.left_out.update(shard.problem_ids)
            if result.status == MISSING:
                self.missing.append(shard.key)
                return set()
            detail = {"stage": shard.stage.value, "iteration": shard.iteration, "problems": shard.problem_ids}
            self.run.ledger.fail(shard.key, result.error or "unknown error", detail)
            self.failures.append(
                FailedShard(
                    shard=shard.key,
                    stage=shard.stage.value,
                    iteration=shard.iteration,
                    problems=len(shard.problem_ids),
                    problem_ids=shard.problem_ids,
                    error=result.error or "unknown error",
                )
            )
            return set()
        assert result.status == DONE, result.status
        self.shard_sources["from_ledger" if result.from_ledger else "generated"] += 1
        mark = time.perf_counter()
        solved = self.tally.take(self.run.ledger.load(shard.key), rounds=rounds)
        self.spool.add("tree", self.run.ledger.load_tree(shard.key))  # a tree search's nodes, else none
        self.timings["check"] += time.perf_counter() - mark
        return solved


def partial_message(failures: list[FailedShard]) -> str:
    first = failures[0]
    return (
        f"{len(failures)} shard(s) failed after their retries (first: {first.stage}, iteration "
        f"{first.iteration}, {first.problems} problems: {first.error}); nothing was published. Run the "
        "same command again to retry them (finished shards come from the ledger), or add --allow-partial "
        "to publish what finished, marked partial"
    )


def run_star(
    config: RunConfig,
    warehouse: str | None = None,
    map_stage: MapStage | None = None,
    *,
    publish_partial: bool = False,
    allow_partial: bool = False,
    progress: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """The whole STaR run: prepare, iterate, publish; the run summary (with the report). Without
    ``map_stage`` shards run one after another in this process. When the latest sft version came from
    the same problems and config, nothing is generated or published (``unchanged`` in the summary) unless
    ``force``."""
    from starmill.pipeline.unchanged import unchanged_summary

    started = time.perf_counter()
    preflight(config, warehouse, generate=not publish_partial)
    run = prepare(config, warehouse)
    same = None if force or publish_partial else unchanged_summary(run)
    if same is not None:
        return {**same, "seconds": {"prepare": round(time.perf_counter() - started, 3)}}
    prepared = time.perf_counter() - started
    policy = RetryPolicy(config.runner.retries, config.runner.retry_delay_seconds)
    window = shards_in_flight(config.teacher.model_dump(mode="json"), config.runner.shard_size, config.sampling.n)
    loop = StarLoop(
        run,
        map_stage or map_in_process(policy, window),
        allow_generate=not publish_partial,
        allow_partial=allow_partial or publish_partial,
        progress=progress,
    )
    loop.timings["prepare"] = prepared
    try:
        loop.iterate()
        mark = time.perf_counter()
        found = make_report(
            run,
            loop.tally,
            loop.iterations,
            loop.failures,
            loop.missing,
            loop.final_model,
            loop.stopped_early,
            loop.best_model,
        )
        summary = publish(run, loop.tally, loop.spool, loop.models, found)
        loop.timings["select_and_publish"] += time.perf_counter() - mark
    finally:
        loop.spool.remove()
    loop.timings["total"] = time.perf_counter() - started
    summary["seconds"] = {k: round(v, 3) for k, v in loop.timings.items()}
    summary["shards"] = dict(loop.shard_sources)
    return summary
