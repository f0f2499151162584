"""A run over many sources (``sources:`` in the run config): their problems as one ``problems`` version.

Every problem keeps its source's name (``source`` column); the manifest lists each source with its
fingerprint, its path shown relative (or as ``<local>/NAME``), its share (``limit`` or ``weight``), its
verifiers and its counts: rows read, problems, rejects, and problems left out by its weight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from starmill.schemas import ProblemRecord, RejectRecord
from starmill.schemas.sources import SourceSpec
from starmill.warehouse.manifest import Manifest, SourceEntry
from starmill.warehouse.sources.ingest import _fingerprint, iter_problems, looks_local, no_problems_message, source_name
from starmill.warehouse.sources.readers import SourceError

LEFT_OUT = "left_out_by_weight"  # a problem a source's weight did not take (counted, never a reject)


def shown_uri(uri: str) -> str:
    """A local path relative to the current folder when inside it, else ``<local>/NAME``: lineage never
    holds a home folder or a machine's layout."""
    path = Path(uri).expanduser()
    if uri.startswith("hf://") or not (path.exists() or looks_local(uri)):
        return uri
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return f"<local>/{path.name}"


def taken(problem_id: str, weight: float | None) -> bool:
    """Whether a source's ``weight`` takes this problem: the same problems on every run."""
    if weight is None:
        return True
    return int(hashlib.sha256(f"weight\0{problem_id}".encode()).hexdigest()[:15], 16) < weight * 16**15


def check_names(specs: Sequence[SourceSpec]) -> None:
    names = [source_name(s) for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SourceError(f"sources: two sources are named {twice[0]!r}; give each its own name")


def _taken(
    records: Iterator[ProblemRecord | RejectRecord], weight: float | None, counts: dict[str, int]
) -> Iterator[ProblemRecord | RejectRecord]:
    for record in records:
        counts["read"] += 1
        if isinstance(record, RejectRecord):
            counts["rejects"] += 1
        elif not taken(record.problem_id, weight):
            counts[LEFT_OUT] += 1
            continue
        else:
            counts["problems"] += 1
        yield record


def entry(spec: SourceSpec, base: SourceEntry, counts: dict[str, int]) -> SourceEntry:
    return SourceEntry(
        name=base.name,
        uri=shown_uri(spec.uri),
        fingerprint=base.fingerprint,
        license=base.license,
        counts=dict(counts),
        limit=spec.limit,
        weight=getattr(spec, "weight", None),
        verifiers=[name for name, _ in spec.verifier_specs()],
    )


def screen_record(cleaner, near_index) -> dict[str, Any] | None:
    """What ``config.decontamination`` of a many-source problems version records: the evaluation sets and
    settings, and the near-duplicate threshold between sources; None when neither applies."""
    from starmill.warehouse.sources.overlap import decontamination_record

    if cleaner is None and near_index is None:
        return None
    record = decontamination_record(cleaner) if cleaner is not None else {}
    if near_index is not None:
        record["across_sources"] = {"threshold": near_index.threshold, "num_perm": near_index.num_perm}
    return record


def ingest_sources(
    warehouse, specs: Sequence[SourceSpec], name: str = "problems", cleaner=None, near_index=None
) -> Manifest:
    """Write every source's problems (rejects included) as one new version of ``name``. A source that
    gives no problems is a SourceError naming its reject reasons, and nothing is committed. A problem
    matching an evaluation set (``cleaner``: a ``Decontaminator``), or nearly repeating an earlier
    source's problem (``near_index``: an empty ``NearIndex`` with the threshold between sources), is a
    reject listed in the version's ``contaminated`` table."""
    from starmill.warehouse.sources.overlap import AcrossSources, screened

    check_names(specs)
    config: dict[str, Any] = {"sources": [s.model_dump(mode="json") for s in specs]}
    screen = screen_record(cleaner, near_index)
    if screen is not None:
        config["decontamination"] = screen
    across = AcrossSources(near_index) if near_index is not None else None
    listed: list = []
    entries: list[SourceEntry] = []
    writer = warehouse.writer(name, "problems", config=config)
    with writer:
        writer.write([], table="rejects")
        for spec in specs:
            counts = {"read": 0, "problems": 0, "rejects": 0, LEFT_OUT: 0}
            drops: dict[str, int] = {}
            records, base = iter_problems(spec)
            if screen is not None:
                records = screened(records, listed, cleaner, across)
            written = []
            for record in _taken(records, getattr(spec, "weight", None), counts):
                if isinstance(record, ProblemRecord):
                    writer.write([record])
                    written.append(record)
                else:
                    writer.write([record], table="rejects")
                    writer.drop(record.reason)
                    drops[record.reason] = drops.get(record.reason, 0) + 1
            if not counts["problems"]:
                where = f"source {source_name(spec)!r}: "
                if counts[LEFT_OUT]:
                    raise SourceError(f"{where}its weight {spec.weight:g} took none of its {counts[LEFT_OUT]} problems")
                raise SourceError(where + no_problems_message(spec, counts["read"], drops))
            entries.append(entry(spec, base, counts))
            for key in ("read", "problems", "rejects", LEFT_OUT):
                writer.count(key, counts[key])
            if across is not None:  # a source's own near-duplicates are not looked for, only later sources'
                across.add(written)
        if screen is not None:
            writer.write(listed, table="contaminated")
        writer.lineage["sources"] = entries
    return warehouse.manifest(f"{name}@v{writer.version}")


def ensure_sources(
    warehouse, specs: Sequence[SourceSpec], name: str = "problems", cleaner=None, near_index=None
) -> tuple[str, list[ProblemRecord]]:
    """The problems of every source: the latest version of ``name`` when it was made from the same sources
    (settings and fingerprints) and screened alike (see ``ingest_sources``), else a newly ingested version.
    Returns ("name@vN", problems)."""
    check_names(specs)
    config = [s.model_dump(mode="json") for s in specs]
    if warehouse.versions(name):
        ref = warehouse.resolve(name)
        manifest = warehouse.manifest(ref)
        if (
            manifest.table == "problems"
            and manifest.config.get("sources") == config
            and [s.fingerprint for s in manifest.sources] == [_fingerprint(s) for s in specs]
            and manifest.config.get("decontamination") == screen_record(cleaner, near_index)
        ):
            return str(ref), [ProblemRecord.from_row(r) for r in warehouse.read(ref).to_pylist()]
    manifest = ingest_sources(warehouse, specs, name, cleaner, near_index)
    ref = f"{name}@v{manifest.version}"
    return ref, [ProblemRecord.from_row(r) for r in warehouse.read(ref).to_pylist()]
