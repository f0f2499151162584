"""The end of a run: its typed report, the ``samples`` and ``sft`` versions streamed from the spool,
the summary the CLI prints, and the same summary as markdown (a Prefect artifact in the flow)."""

from __future__ import annotations

from typing import Any

from starmill.generators import stopping
from starmill.pipeline.run import Run
from starmill.pipeline.stream import Spool, Tally
from starmill.schemas.report import CheckerInfo, FailedShard, IterationReport, RunReport, pass_rate_histogram


def make_report(
    run: Run,
    tally: Tally,
    iterations: list[IterationReport],
    failures: list[FailedShard],
    missing: list[str],
    final_model: dict | None = None,
    stopped_early: int | None = None,
    best_model: dict | None = None,
) -> RunReport:
    from starmill.filters.answers import CHECKER, CHECKER_VERSION
    from starmill.generators.prompts import get_template

    cfg, counts = run.config, tally.totals()
    templates = sorted({cfg.prompts.template, cfg.prompts.rationalization_template})
    return RunReport(
        run_key=run.run_key,
        n=cfg.sampling.n,
        k=cfg.selection.k,
        attempts=cfg.rationalization.attempts,
        iteration_count=cfg.iterations.count,
        pass_at_k=tally.pass_at_k(),
        pass_rate_histogram=pass_rate_histogram(tally.rates.values()),
        rationalized_share=round(counts.get("kept.rationalization", 0) / max(counts["kept"], 1), 4),
        iterations=iterations,
        checker=CheckerInfo(name=CHECKER, version=CHECKER_VERSION),
        verifiers=dict(sorted(tally.verifiers.items())),
        verifier_disagreements=dict(sorted(tally.disagreements.items())),
        prompts=[get_template(t).describe() for t in templates],
        failed_shards=failures,
        missing_shards=len(missing),
        filter_stats=dict(sorted(tally.filter_stats.items())),
        samples_spent=tally.samples_spent(),
        seeds={"base": cfg.sampling.seed},
        final_model=final_model,
        stopped_early=stopped_early,
        best_model=best_model,
        cost=tally.cost(cfg.teacher.price.model_dump() if cfg.teacher.price else None, cfg.teacher.batch),
        by_source=tally.per_source(),
    )


def publish(run: Run, tally: Tally, spool: Spool, models: list[dict[str, Any]], found: RunReport) -> dict[str, Any]:
    """Commit ``samples`` then ``sft`` (whose parents name it), both with the report; never after a
    stop request. Returns the run summary."""
    from starmill.warehouse.publish import easy_to_hard, publish_run

    cfg, counts = run.config, tally.totals()
    partial = bool(found.missing_shards or found.failed_shards)
    audit = _audit(run, spool)
    stopping.check()  # the last moment a stop keeps the run from publishing
    sft = spool.batches("sft")
    if cfg.selection.order == "easy_to_hard":
        sft = easy_to_hard(sft)
    samples_ref, sft_ref = publish_run(
        run.wh,
        names=cfg.datasets.model_dump(),
        config=cfg.model_dump(mode="json"),
        problems_ref=run.problems_ref,
        samples=spool.batches("samples"),
        sft=sft,
        counts=counts,
        drops=dict(tally.drops),
        models=models,
        sampling=cfg.sampling.model_dump(mode="json"),
        partial=partial,
        extra={"report": found.model_dump(mode="json"), **({"audit": audit} if audit else {})},
    )
    tree_ref = None
    if spool.rows["tree"]:  # a tree search ran: its nodes, queryable as ``tree``
        from starmill.warehouse.publish import publish_tree

        tree_ref = publish_tree(
            run.wh,
            cfg.datasets.tree,
            samples_ref,
            spool.batches("tree"),
            config=cfg.model_dump(mode="json"),
            models=models,
            sampling=cfg.sampling.model_dump(mode="json"),
            partial=partial,
            counts={"nodes": spool.rows["tree"]},
        )
    warnings = []
    if not counts.get("kept", 0):  # published all the same (the samples say why), but never silently
        warnings.append(
            f"the run kept 0 training rows: {sft_ref} is empty (see the drop reasons; "
            f'starmill sql "SELECT drop_reason, count(*) FROM {cfg.datasets.samples} GROUP BY 1")'
        )
    return summary(
        found,
        problems=run.problems_ref,
        samples=samples_ref,
        sft=sft_ref,
        counts=counts,
        drops=dict(tally.drops),
        partial=partial,
        warehouse=run.wh.root,
        warnings=warnings,
        **({"tree": tree_ref} if tree_ref else {}),
    )


def _audit(run: Run, spool: Spool) -> dict[str, Any] | None:
    """The second verifier's agreement with a sample of the kept rows (config ``audit``)."""
    from starmill.grading.audit import audit_for_config

    if not run.config.audit.enabled:
        return None
    columns = ["sample_id", "problem_id", "completion", "gold_answer"]
    rows = [r for batch in spool.batches("sft") for r in batch.select(columns).to_pylist()]
    return audit_for_config(
        run.config.audit, rows, run.problems, graded_by=run.config.source_specs()[0].verifier_specs()[0][0]
    )


def summary(found: RunReport, **published: Any) -> dict[str, Any]:
    """What ``starmill run`` prints (``--json``: as is): the refs, counts and drops, and the report's
    pass@k, iterations and failed shards."""
    data = found.model_dump(mode="json")
    return {
        **published,
        "pass_at_k": data["pass_at_k"],
        "iterations": data["iterations"],
        "failed_shards": data["failed_shards"],
        "missing_shards": data["missing_shards"],
        "best_model": data["best_model"],
        "cost": data["cost"],
        "report": data,
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    counts, drops = summary["counts"], summary["drops"]
    lines = [
        f"# starmill run: {summary['sft']}",
        "",
        f"problems **{summary['problems']}** -> samples **{summary['samples']}** -> sft **{summary['sft']}**"
        + (" (**partial**)" if summary["partial"] else ""),
        "",
        "| stage | count |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(counts.items())],
        "",
        "| drop reason | count |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(drops.items(), key=lambda kv: -kv[1])],
        "",
        "pass@k: " + ", ".join(f"pass@{k} = {v:.3f}" for k, v in summary["pass_at_k"].items()),
        "",
        "| iteration | model | attempted | solved | rationalization attempted | rationalized |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {i['iteration']} | {i['model']} | {i['attempted']} | {i['solved_by_rationale']} | "
            f"{i['rationalization_attempted']} | {i['solved_by_rationalization']} |"
            for i in summary["iterations"]
        ],
    ]
    if summary["failed_shards"]:
        lines += ["", f"**{len(summary['failed_shards'])} shard(s) failed** after retries:"]
        lines += [
            f"- {f['stage']} iteration {f['iteration']}, {f['problems']} problems: {f['error']}"
            for f in summary["failed_shards"]
        ]
    return "\n".join(lines)
