"""The STaR loop as plain functions; ``flows/star.py`` only wires them into Prefect tasks.

prepare -> for each iteration: plan + generate rationales -> grade -> plan + generate
rationalizations for the unsolved -> grade -> (next iteration on what is still unsolved) ->
finish: quality filters, rejection sampling, publish ``samples`` and ``sft``.
"""
from __future__ import annotations

import shlex
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from generators import stopping
from generators.base import SamplingParams
from generators.sampling import Shard, plan_requests, plan_shards, run_shard
from schemas import ProblemRecord, SampleRecord, content_hash
from schemas.errors import StarmillError
from schemas.redact import redact_text
from starmill.config import RunConfig
from warehouse import Warehouse
from warehouse.ledger import Ledger


class RunError(StarmillError):
    pass


@dataclass
class Run:
    config: RunConfig
    wh: Warehouse
    problems_ref: str
    problems: dict[str, ProblemRecord]
    order: list[str]  # problem ids in source order
    ledger: Ledger
    run_key: str
    iterations: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)


def run_key(config: RunConfig, problems_ref_fingerprint: str) -> str:
    """What determines the generations: problems, teacher, prompts, sampling, R and iterations."""
    parts = config.model_dump(mode="json", include={"teacher", "prompts", "sampling", "rationalization", "iterations"})
    return content_hash("run", problems_ref_fingerprint, parts)[:16]


def prepare(config: RunConfig, warehouse: str | None = None) -> Run:
    from warehouse.sources import ensure_problems

    wh = Warehouse(config.warehouse or warehouse, options=config.warehouse_options or None)
    ref, problems = ensure_problems(wh, config.source, config.datasets.problems)
    if not problems:
        raise RunError(f"{ref} holds no problems: check the source and its rejects ({config.datasets.problems}_rejects)")
    ids = [p.problem_id for p in problems]
    key = run_key(config, content_hash(ids))
    return Run(config, wh, ref, {p.problem_id: p for p in problems}, ids, Ledger(wh.root, key), key)


def teacher_for(run: Run, iteration: int) -> dict[str, Any]:
    """The teacher config of an iteration: the configured one, then ``iterations.models`` or the
    model made by ``iterations.command``."""
    teacher = run.config.teacher.model_dump(mode="json")
    if iteration == 0:
        return teacher
    models = run.config.iterations.models
    if iteration - 1 < len(models):
        return {**teacher, "model": models[iteration - 1], "revision": None}
    if run.config.iterations.command:
        return {**teacher, "model": str(run.ledger.path / f"model-it{iteration}"), "revision": None}
    return teacher  # no new model: the same teacher samples again (new seeds) on what is unsolved


def make_next_model(run: Run, iteration: int, samples: Sequence[SampleRecord]) -> None:
    """Run ``iterations.command`` to produce the model for ``iteration`` from the graded samples so far
    (it gets the rows selection keeps, as a Parquet file of ``sft`` rows)."""
    command = run.config.iterations.command
    if not command or iteration - 1 < len(run.config.iterations.models):
        return
    stopping.check()
    import pyarrow.parquet as pq

    from warehouse.publish import sft_rows
    from schemas import SftRecord

    sft_path = run.ledger.path / f"sft-before-it{iteration}.parquet"
    rows = sft_rows(select_samples(run, samples), run.problems, {}, {})
    pq.write_table(SftRecord.to_table(rows) if rows else SftRecord.arrow_schema().empty_table(), sft_path)
    output = run.ledger.path / f"model-it{iteration}"
    line = command.format(sft=shlex.quote(str(sft_path)), output=shlex.quote(str(output)), iteration=iteration)
    proc = subprocess.run(line, shell=True, capture_output=True, text=True)
    if proc.returncode != 0 or not output.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RunError(f"iteration command failed (exit {proc.returncode}) or wrote no model to {output}: "
                       + " | ".join(tail))


def plan(run: Run, teacher: dict[str, Any], problem_ids: Sequence[str], stage: str, iteration: int) -> list[Shard]:
    from generators.registry import model_identity

    cfg = run.config
    model, revision = model_identity(teacher)
    n = cfg.sampling.n if stage == "rationale" else cfg.rationalization.attempts
    params = SamplingParams(n=n, temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p,
                            top_k=cfg.sampling.top_k, max_tokens=cfg.sampling.max_tokens)
    template = cfg.prompts.template if stage == "rationale" else cfg.prompts.rationalization_template
    requests = plan_requests(
        [run.problems[i] for i in problem_ids], stage=stage, iteration=iteration, template_id=template,
        training_template_id=cfg.prompts.template, sampling=params, base_seed=cfg.sampling.seed,
        model=model, model_revision=revision,
    )
    return plan_shards(requests, cfg.runner.shard_size)


def generate_shard(ledger: Ledger, teacher: dict[str, Any], shard: Shard,
                   allow_generate: bool = True) -> tuple[list[SampleRecord] | None, float]:
    """A shard's samples and the seconds spent generating them: from the ledger when it is there
    (0 s), else generated and recorded. With ``allow_generate`` False (a partial publish), a shard not
    in the ledger gives (None, 0). Raises ``Stopped`` once a stop is requested (nothing is recorded)."""
    stopping.check()
    if ledger.has(shard.key):
        return ledger.load(shard.key), 0.0
    if not allow_generate:
        return None, 0.0
    from generators.registry import backend_for, backend_lock

    backend = backend_for(teacher)
    with backend_lock(teacher):  # one generate call per engine at a time: engines and seeding are not thread-safe
        start = time.perf_counter()
        samples = run_shard(backend, shard)
        seconds = time.perf_counter() - start
    ledger.record(shard.key, samples)
    return samples, seconds


def grade(run: Run, samples: Sequence[SampleRecord], progress: bool = True) -> tuple[list[SampleRecord], dict[str, str]]:
    """Verdicts on every sample; with self-consistency on, problems without a gold answer are graded
    against their majority answer. Returns (graded samples, pseudo labels)."""
    from filters.grading import extracted_answers, grade as grade_samples
    from filters.selection import majority_labels

    labels: dict[str, str] = {}
    if run.config.self_consistency.enabled:
        unlabeled = [s for s in samples if not run.problems[s.problem_id].gold_answer and s.stage == "rationale"]
        if unlabeled:
            votes = majority_labels(extracted_answers(unlabeled), run.config.self_consistency.threshold)
            labels = {p: answer for p, (answer, _) in votes.items()}
    graded = grade_samples(samples, run.problems, workers=run.config.checker.workers,
                           timeout=run.config.checker.timeout, labels=labels, progress=progress)
    return graded, labels


def solved(samples: Sequence[SampleRecord]) -> set[str]:
    return {s.problem_id for s in samples if s.correct}


def hint_phrases(run: Run) -> list[str]:
    """The fixed wording of the rationalization template, which a leaking output would quote."""
    from generators.prompts import get_template

    return get_template(run.config.prompts.rationalization_template).hint_phrases()


def select_samples(run: Run, samples: Sequence[SampleRecord], stats: Counter | None = None) -> list[SampleRecord]:
    """Every sample with ``kept`` and ``drop_reason`` decided: correctness, quality filters, then
    rejection sampling (up to k distinct per problem)."""
    from filters.quality import default_filters
    from filters.selection import mark_incorrect, select

    cfg = run.config
    checked = mark_incorrect(samples)
    for f in default_filters(cfg.filters.min_chars, cfg.filters.max_chars, cfg.filters.mixed_language,
                             hint_phrases(run)):
        checked = f.apply(checked, run.problems, stats)
    return select(checked, cfg.k, cfg.filters.near_duplicate_threshold)


def finish(
    run: Run, samples: Sequence[SampleRecord], labels: dict[str, str], failures: list[dict], partial: bool
) -> dict[str, Any]:
    """Filters, rejection sampling, pass rates and publishing (never after a stop request). Returns the
    run summary."""
    from filters.selection import pass_at_k, pass_rates
    from warehouse.publish import publish_run, sft_rows

    cfg = run.config
    stats: Counter = Counter()
    final = select_samples(run, samples, stats)
    rates = pass_rates([s for s in final if s.iteration == 0])
    sft = sft_rows(final, run.problems, rates, labels)

    counts: Counter = Counter()
    counts["problems"] = len(run.problems)
    for s in final:
        counts[f"generated.{s.stage}"] += 1
        counts[f"correct.{s.stage}"] += s.correct
        counts[f"kept.{s.stage}"] += s.kept
    counts["generated"] = len(final)
    counts["correct"] = sum(s.correct for s in final)
    counts["kept"] = len(sft)
    counts["problems_solved"] = len({r.problem_id for r in sft})
    counts["problems_unsolved"] = len(run.problems) - counts["problems_solved"]
    counts["pseudo_labeled"] = sum(r.pseudo_label for r in sft)
    drops = Counter(s.drop_reason for s in final if s.drop_reason)

    n = cfg.sampling.n
    per_problem = Counter(s.problem_id for s in final if s.stage == "rationale" and s.iteration == 0)
    right = Counter(s.problem_id for s in final if s.stage == "rationale" and s.iteration == 0 and s.correct)
    pass_k = {str(k): round(sum(pass_at_k(per_problem[p], right[p], k) for p in per_problem) / max(len(per_problem), 1), 4)
              for k in sorted({1, min(2, n), n}) if k <= n}
    histogram = Counter(min(int(r * 10), 9) for r in rates.values())
    from filters.answers import CHECKER_VERSION
    from generators.prompts import get_template

    extra = {
        "run_key": run.run_key,
        "iterations": run.iterations,
        "failed_shards": failures,
        "pass_at_k": pass_k,
        "pass_rate_histogram": {f"{b / 10:.1f}-{(b + 1) / 10:.1f}": histogram.get(b, 0) for b in range(10)},
        "rationalized_share": round(counts["kept.rationalization"] / max(len(sft), 1), 4),
        "filter_stats": dict(stats),
        "checker": {"name": "starmill", "version": CHECKER_VERSION},
        "prompts": [get_template(t).describe() for t in sorted({cfg.prompts.template, cfg.prompts.rationalization_template})],
        "seeds": {"base": cfg.sampling.seed},
    }
    stopping.check()  # the last moment a stop keeps the run from publishing
    samples_ref, sft_ref = publish_run(
        run.wh, names=cfg.datasets.model_dump(), config=cfg.model_dump(mode="json"),
        problems_ref=run.problems_ref, samples=final, sft=sft, counts=dict(counts), drops=dict(drops),
        models=run.models, sampling=cfg.sampling.model_dump(mode="json"), partial=partial or bool(failures),
        extra=extra,
    )
    return {"problems": run.problems_ref, "samples": samples_ref, "sft": sft_ref, "counts": dict(counts),
            "drops": dict(drops), "pass_at_k": pass_k, "iterations": run.iterations, "failed_shards": failures,
            "partial": partial or bool(failures), "warehouse": run.wh.root}


def model_record(teacher: dict[str, Any], iteration: int) -> dict[str, Any]:
    """The teacher of an iteration as the manifest records it (engine details filled in if loaded)."""
    from generators.registry import loaded_info, model_identity

    model, revision = model_identity(teacher)
    record = {"iteration": iteration, "model": model, "revision": revision, "backend": teacher["backend"],
              "options": teacher.get("options") or {}}
    info = loaded_info(teacher)
    if info is not None:
        record.update(engine=info.engine, engine_version=info.engine_version, dtype=info.dtype)
    return record


def summary_markdown(summary: dict[str, Any]) -> str:
    counts, drops = summary["counts"], summary["drops"]
    lines = [
        f"# starmill run: {summary['sft']}",
        "",
        f"problems **{summary['problems']}** -> samples **{summary['samples']}** -> sft **{summary['sft']}**"
        + (" (**partial**)" if summary["partial"] else ""),
        "",
        "| stage | count |", "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(counts.items())],
        "", "| drop reason | count |", "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(drops.items(), key=lambda kv: -kv[1])],
        "", "pass@k: " + ", ".join(f"pass@{k} = {v:.3f}" for k, v in summary["pass_at_k"].items()),
        "", "| iteration | model | attempted | solved | rationalization attempted | rationalized |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
        *[f"| {i['iteration']} | {i['model']} | {i['attempted']} | {i['solved_by_rationale']} | "
          f"{i['rationalization_attempted']} | {i['solved_by_rationalization']} |" for i in summary["iterations"]],
    ]
    if summary["failed_shards"]:
        lines += ["", f"**{len(summary['failed_shards'])} shard(s) failed** after retries:"]
        lines += [f"- {f['stage']} iteration {f['iteration']}, {f['problems']} problems: {f['error']}"
                  for f in summary["failed_shards"]]
    return "\n".join(lines)


def report(summary: dict[str, Any]) -> None:
    """Prefect artifacts for the run: a markdown summary and a table of counts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(redact_text(summary_markdown(summary)), key="starmill-run-summary",
                             description="starmill run")
    create_table_artifact([{"stage": k, "count": v} for k, v in sorted(summary["counts"].items())],
                          key="starmill-run-counts", description="rows at every stage")
