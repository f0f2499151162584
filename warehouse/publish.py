"""Publish a run's results as new immutable versions: ``samples`` (everything) and ``sft`` (kept)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa

from starmill.schemas import ProblemRecord, SampleRecord, SftRecord
from starmill.warehouse.versions import Warehouse

Rows = Iterable[pa.RecordBatch] | Sequence[SampleRecord] | Sequence[SftRecord]  # batches stream


def sft_rows(
    samples: Sequence[SampleRecord],
    problems: dict[str, ProblemRecord],
    pass_rates: dict[str, float],
    pseudo_labels: dict[str, str],
    teacher_tokens: dict[str, float] | None = None,
) -> list[SftRecord]:
    """The training rows: kept samples with their hint-free prompt, in a stable order; each carries its
    problem's pass rate and the teacher's mean completion tokens on it (``teacher_tokens``)."""
    teacher_tokens = teacher_tokens or {}
    rows = []
    for s in sorted(samples, key=lambda s: (s.problem_id, s.stage, s.iteration, s.sample_index, s.sample_id)):
        if not s.kept:
            continue
        problem = problems[s.problem_id]
        rows.append(
            SftRecord(
                sample_id=s.sample_id,
                problem_id=s.problem_id,
                source=problem.source,
                stage=s.stage,
                iteration=s.iteration,
                prompt=s.prompt,
                completion=s.completion,
                reasoning=s.reasoning,
                answer_text=s.answer_text,
                final_answer=s.extracted_answer or "",
                gold_answer=problem.gold_answer or pseudo_labels.get(s.problem_id, ""),
                pseudo_label=not problem.gold_answer and s.problem_id in pseudo_labels,
                pass_rate=pass_rates.get(s.problem_id, 0.0),
                model=s.model,
                token_ids=s.token_ids,
                topk_ids=s.topk_ids,
                topk_logprobs=s.topk_logprobs,
                teacher_tokens=teacher_tokens.get(s.problem_id),
            )
        )
    return rows


EASY_TO_HARD = [("pass_rate", "descending"), ("teacher_tokens", "ascending"), ("problem_id", "ascending")]


def easy_to_hard(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """sft rows by their problem's difficulty, easiest first (``selection.order: easy_to_hard``): pass rate
    highest first, then the teacher's mean completion tokens fewest first (unknown last), then problem id,
    then as they came (a stable sort). The rows are read whole: a sort needs every one."""
    table = pa.Table.from_batches(list(batches), schema=SftRecord.arrow_schema())
    yield from table.sort_by(EASY_TO_HARD).to_batches()


def difficulty_key(pass_rate: float, teacher_tokens: float | None, problem_id: str) -> tuple:
    """``EASY_TO_HARD`` for one row, as Python sorts it."""
    return (-pass_rate, teacher_tokens is None, teacher_tokens or 0.0, problem_id)


def publish_run(
    wh: Warehouse,
    *,
    names: dict[str, str],
    config: dict[str, Any],
    problems_ref: str,
    samples: Rows,
    sft: Rows,
    counts: dict[str, int],
    drops: dict[str, int],
    models: list[dict[str, Any]],
    sampling: dict[str, Any],
    partial: bool,
    extra: dict[str, Any],
) -> tuple[str, str]:
    """Commit the samples version, then the sft version whose parents name it, rows (or record batches)
    written as they come. Returns both refs."""
    problems_manifest = wh.manifest(problems_ref)
    sources = [s.model_dump() for s in problems_manifest.sources]
    common = dict(
        config=config,
        sources=sources,
        models=models,
        sampling=sampling,
        partial=partial,
        extra=extra,
        counts=counts,
        drops=drops,
    )
    samples_ref = _commit(wh, names["samples"], "samples", [problems_ref], samples, **common)
    return samples_ref, _commit(wh, names["sft"], "sft", [samples_ref, problems_ref], sft, **common)


def publish_tree(wh: Warehouse, name: str, parent: str, rows: Rows, *, counts: dict[str, int], **lineage: Any) -> str:
    """Commit a tree search's nodes (``tree`` rows) as a version whose parent is the version of its
    selected paths (a run's samples, an eval's evals)."""
    return _commit(wh, name, "tree", [parent], rows, counts=counts, drops={}, **lineage)


def _commit(
    wh: Warehouse,
    name: str,
    kind: str,
    parents: list[str],
    rows: Rows,
    *,
    counts: dict[str, int],
    drops: dict[str, int],
    **lineage: Any,
) -> str:
    with wh.writer(name, kind, parents=parents, **lineage) as writer:
        if isinstance(rows, Sequence):
            writer.write(rows)
        else:
            for batch in rows:
                writer.write(batch)
        for key, value in counts.items():
            writer.count(key, value)
        for key, value in drops.items():
            writer.drop(key, value)
    return f"{name}@v{writer.version}"
