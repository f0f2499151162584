"""An export from start to end: read the versions, decontaminate, mix, format, split, then write.

``build_export`` does the work in memory and writes nothing (rows are formatted as they are written,
a row group at a time); ``export_to_folder`` and ``export_to_hub`` put the same files in a folder or in
one Hub commit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from starmill.schemas.errors import StarmillError
from starmill.schemas.redact import redact
from starmill.schemas.report import pass_rate_histogram, tokens_by_pass_rate
from starmill.schemas.samples import Stage
from starmill.warehouse.export import hub
from starmill.warehouse.export.card import render_card, size_category
from starmill.warehouse.export.chart import CHART, chart_png
from starmill.warehouse.export.decontaminate import CONTAMINATED, REASON, contaminated_lines
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.export.folder import (
    PARQUET,
    check_target,
    folder_files,
    shard_names,
    staged_folder,
    write_parquet_groups,
    write_split,
)
from starmill.warehouse.export.formats import KEYS, assistant_lengths, format_rows, has_teacher
from starmill.warehouse.export.mix import parse_mix, sample
from starmill.warehouse.export.model import Export, ExportSettings, Part
from starmill.warehouse.export.share import share_text, shared
from starmill.warehouse.export.split import split_by_problem
from starmill.warehouse.lineage import starmill_version
from starmill.warehouse.sources.overlap import ACROSS

LINEAGE = "starmill_export.json"
OUTSIDE_BAND = "outside_difficulty_band"  # drop reason of --difficulty-band
ORDER = [("problem_id", "ascending"), ("sample_id", "ascending"), ("origin", "ascending")]  # exported row order
# --order easy_to_hard (or a version stored so): warehouse.publish.EASY_TO_HARD, then as ORDER
EASY_TO_HARD = [("pass_rate", "descending"), ("teacher_tokens", "ascending"), *ORDER]
TOKENS = "teacher_tokens"  # sft schema 3; older versions' rows get nulls
ROW = "_row"  # in a split's key table: the row's index in ``Export.source``


def _parts(wh, settings: ExportSettings) -> list[tuple[str, float]]:
    """(resolved ref, weight) of every version; the main one first, weight 1 unless --mix says."""
    mixes = [parse_mix(m) for m in settings.mix]
    weights: dict[str, float] = {str(wh.resolve(settings.ref)): 1.0}
    seen: set[str] = set()
    for part in mixes:
        ref = str(wh.resolve(part.ref))
        if ref in seen:
            raise ExportError(f"--mix names {ref} twice")
        seen.add(ref)
        weights[ref] = part.weight
    return list(weights.items())


def _read(wh, ref: str, weight: float) -> tuple[Part, pa.Table]:
    manifest = wh.manifest(ref)
    if manifest.table != "sft":
        raise ExportError(f"{ref} holds '{manifest.table}' rows; export takes versions of an 'sft' dataset")
    table = wh.read(ref).replace_schema_metadata(None)
    if TOKENS not in table.column_names:  # written before sft schema 3
        table = table.append_column(TOKENS, pa.nulls(table.num_rows, pa.float64()))
    table = table.append_column("origin", pa.array([ref] * table.num_rows, pa.string()))
    stages = table.column("stage")
    rates = dict(zip(table.column("problem_id").to_pylist(), table.column("pass_rate").to_pylist()))
    part = Part(
        ref=ref,
        weight=weight,
        manifest=manifest,
        rows=table.num_rows,
        rationalized=pc.sum(pc.equal(stages, Stage.RATIONALIZATION.value)).as_py() or 0,
        pass_rates=rates,
        screened=screened_at_ingest(wh, manifest),
    )
    return part, table


def screened_at_ingest(wh, manifest) -> dict[str, Any] | None:
    """The problems version a run's version came from, when its ingest was screened (decontamination:),
    and what that dropped per reason; None otherwise (or when the parent is gone)."""
    for parent in manifest.parents:
        try:
            found = wh.manifest(parent)
        except StarmillError:
            continue
        if found.table == "problems" and found.config.get("decontamination"):
            drops = {k: v for k, v in sorted(found.drops.items()) if k.startswith(REASON) or k == ACROSS}
            return {"ref": parent, "drops": drops, "listed": found.tables.get("contaminated", 0)}
    return None


def _in_band(table: pa.Table, band: tuple[float, float] | None) -> tuple[pa.Table, int]:
    """Rows whose problem's pass rate lies in ``band`` (both ends kept), and how many were not."""
    if band is None:
        return table, 0
    rates = table.column("pass_rate")
    keep = pc.and_(pc.greater_equal(rates, band[0]), pc.less_equal(rates, band[1]))
    kept = table.filter(keep)
    return kept, table.num_rows - kept.num_rows


def stored_order(manifest) -> str:
    """How a version's rows are ordered: ``easy_to_hard`` when its run said so (``selection.order``)."""
    selection = (manifest.config or {}).get("selection") or {}
    return "easy_to_hard" if selection.get("order") == "easy_to_hard" else "problem"


def build_export(wh, settings: ExportSettings, repo_id: str | None = None) -> Export:
    """Everything an export holds, in memory; raises ``StarmillError`` on any user mistake."""
    settings = settings.with_run_decontamination(wh.manifest(wh.resolve(settings.ref)))
    cleaner = settings.cleaner()
    eval_sets = cleaner.eval_sets
    band = settings.band()
    parts, tables = [], []
    for ref, weight in _parts(wh, settings):
        part, table = _read(wh, ref, weight)
        table, outside = _in_band(table, band)
        table, listed = cleaner.apply(table)
        part.drops = dict(sorted(Counter(REASON + r["eval_set"] for r in listed).items()))
        if band is not None:
            part.drops[OUTSIDE_BAND] = outside
        part.clean = table.num_rows
        table = sample(table, weight, settings.seed) if weight != 1 else table
        part.taken = table.num_rows
        parts.append(part)
        tables.append(table)
    rows = pa.concat_tables(tables)
    del tables, table  # long rows make every copy count: the rows are held once, unsorted
    by = settings.order or stored_order(parts[0].manifest)
    order = pc.sort_indices(rows, sort_keys=EASY_TO_HARD if by == "easy_to_hard" else ORDER)
    keys = rows.select(list(KEYS)).take(order).append_column(ROW, order)
    splits = split_by_problem(keys, settings.test_size, settings.seed)
    rates = dict(zip(rows.column("problem_id").to_pylist(), rows.column("pass_rate").to_pylist()))
    tokens = dict(zip(rows.column("problem_id").to_pylist(), rows.column(TOKENS).to_pylist()))
    lengths = assistant_lengths(rows)
    return Export(
        settings=settings,
        parts=parts,
        eval_sets=eval_sets,
        splits=splits,
        contaminated=cleaner.listed,
        rationalized=pc.sum(pc.equal(rows.column("stage"), Stage.RATIONALIZATION.value)).as_py() or 0,
        pass_rates=[rates[p] for p in sorted(rates)],
        lengths=[lengths[i] for i in order.to_pylist()],
        order=by,
        teacher_tokens=[tokens[p] for p in sorted(rates)],
        source=rows,
        repo_id=repo_id,
        command=redact(settings.command(parts)),
    )


def lineage(export: Export) -> dict[str, Any]:
    """The machine-readable twin of the card (``starmill_export.json``), secrets redacted."""
    return redact(
        {
            "format": 1,
            "starmill_version": starmill_version(),
            "command": export.command,
            "settings": export.settings.model_dump(mode="json"),
            "size_category": size_category(export.rows),
            "splits": {s: {"rows": t.num_rows, "problems": export.problems(s)} for s, t in export.splits.items()},
            "rationalized_rows": export.rationalized,
            "parts": [
                {
                    "ref": p.ref,
                    "weight": p.weight,
                    "rows": p.rows,
                    "rows_after_decontamination": p.clean,
                    "rows_taken": p.taken,
                    "drops": p.drops,
                    "screened_at_ingest": p.screened,
                    "manifest": p.manifest.model_dump(mode="json", exclude={"files"}),
                }
                for p in export.parts
            ],
            "difficulty": {
                "band": export.settings.band(),
                "order": export.order,
                "pass_rate_histogram": pass_rate_histogram(export.pass_rates),
                "teacher_tokens_by_pass_rate": tokens_by_pass_rate(export.pass_rates, export.teacher_tokens),
            },
            "decontamination": {
                "ngram": export.settings.ngram,
                "near_duplicates": export.settings.near_duplicates,
                "from_run_config": export.settings.decontamination_from,
                "eval_sets": [s.report() for s in export.eval_sets],
                "listed_in": CONTAMINATED if export.eval_sets else None,
            },
        }
    )


def row_groups(export: Export, keys: pa.Table) -> Iterator[pa.Table]:
    """The formatted rows that ``keys`` (a slice of a split) index in ``export.source``, one Parquet row
    group at a time."""
    settings, source = export.settings, export.source
    teacher = has_teacher(source)
    batches = source.to_batches()
    starts = np.cumsum([0] + [b.num_rows for b in batches])
    for start in range(0, max(keys.num_rows, 1), PARQUET["row_group_size"]):  # an empty split: one empty group
        rows = _take(batches, starts, keys.column(ROW).slice(start, PARQUET["row_group_size"]), source.schema)
        yield format_rows(rows, settings.format, settings.system_prompt, teacher)


def _take(batches: list[pa.RecordBatch], starts, indices: pa.ChunkedArray, schema: pa.Schema) -> pa.Table:
    """``Table.take`` chunk by chunk: a take over a many-chunk table first joins each whole column
    (a copy of every exported row per row group); this copies only the rows taken."""
    wanted = indices.to_numpy().astype(np.int64)
    chunk = np.searchsorted(starts, wanted, side="right") - 1
    grouped = np.argsort(chunk, kind="stable")
    pieces = [batches[c].take(pa.array(wanted[grouped][chunk[grouped] == c] - starts[c])) for c in np.unique(chunk)]
    rows = pa.Table.from_batches(pieces, schema=schema).combine_chunks()
    return rows.take(pa.array(np.argsort(grouped, kind="stable")))  # back to the order asked for


def write_export(export: Export, root: Path) -> list[str]:
    """Write the export's files into the empty folder ``root``; their relative paths, sorted."""
    for split, table in export.splits.items():
        if export.source is None:  # formatted already
            write_split(table, split, root, export.settings.rows_per_file)
            continue
        for rel, offset, length in shard_names(split, table.num_rows, export.settings.rows_per_file):
            write_parquet_groups(row_groups(export, table.slice(offset, max(length, 0))), root / rel)
    title = f"{', '.join(p.ref for p in export.parts)} ({export.settings.format})"
    if export.eval_sets:  # every dropped row, with the evaluation problem it matched
        (root / CONTAMINATED).write_text(contaminated_lines(export.contaminated), encoding="utf-8")
    (root / CHART).write_bytes(chart_png(export.pass_rates, export.lengths, title))
    # both are published: no absolute local path (a source file is <local>/NAME, its fingerprint kept)
    (root / LINEAGE).write_text(
        json.dumps(shared(lineage(export)), indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (root / "README.md").write_text(share_text(render_card(export)), encoding="utf-8")
    return folder_files(root)


def export_to_folder(wh, settings: ExportSettings, dest: str | Path) -> tuple[Export, list[str]]:
    """Export into ``dest`` (absent or empty) atomically; the export and its files."""
    check_target(Path(dest).expanduser())  # fail before reading anything
    export = build_export(wh, settings)
    with staged_folder(dest) as staging:
        files = write_export(export, staging)
    return export, files


def export_to_hub(
    wh,
    settings: ExportSettings,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
) -> tuple[Export, list[str], str]:
    """Export and push as one commit to the dataset repo ``repo_id``; the export, files and commit URL."""
    token = hub.resolve_token()  # fail before reading anything
    export = build_export(wh, settings, repo_id=repo_id)
    message = commit_message or f"Export {', '.join(p.ref for p in export.parts)} ({settings.format}) with starmill"
    files, url = hub.push_written(
        lambda root: write_export(export, root),
        repo_id,
        token=token,
        private=private,
        revision=revision,
        commit_message=message,
    )
    return export, files, url
