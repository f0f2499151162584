"""Problems that overlap what is held elsewhere, found at ingest: copies and paraphrases of evaluation
problems (a ``Decontaminator``), and near-duplicates of an earlier source's problems in a run over
many sources. Each becomes a reject with its reason and a ``contaminated`` row naming what it matched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from starmill.schemas import ContaminationRecord, ProblemRecord, RejectRecord
from starmill.warehouse.sources.readers import RAW_LIMIT

ACROSS = "near_duplicate_across_sources"  # reject reason: an earlier source holds (nearly) the same problem


def _raw(record: ProblemRecord) -> str:
    data = {"problem_id": record.problem_id, "question": record.question, "gold_answer": record.gold_answer}
    return json.dumps(data, ensure_ascii=False)[:RAW_LIMIT].encode("utf-8", "backslashreplace").decode("utf-8")


class AcrossSources:
    """The problems of a run's earlier sources, indexed for near-duplicates. ``index``: an empty
    ``warehouse.export.near_duplicates.NearIndex`` (MinHash LSH, containment), given by the caller, as
    export reads sources and not the other way round."""

    def __init__(self, index: Any):
        self.index = index
        self.owners: list[tuple[str, str]] = []  # (source, problem id) of each indexed problem

    def add(self, problems: Iterable[ProblemRecord]) -> None:
        for p in problems:
            self.index.add(p.question)
            self.owners.append((p.source, p.problem_id))

    def match(self, question: str) -> tuple[str, str, float] | None:
        """(source, problem id, score) of the earlier problem this question nearly repeats (containment both
        ways, the same numbers), or None."""
        found = self.index.best(question, both_ways=True)
        return None if found is None else (*self.owners[found[0]], found[1])


def decontamination_record(cleaner: Any) -> dict[str, Any]:
    """How a ``Decontaminator`` was set up, as a manifest's ``config.decontamination`` records it (two
    ingests with equal records saw the same evaluation sets and settings)."""
    return {
        **cleaner.method(),
        "eval_sets": [{"name": s.name, "path": s.path, "fingerprint": s.fingerprint} for s in cleaner.eval_sets],
    }


def screened(
    records: Iterator[ProblemRecord | RejectRecord],
    listed: list[ContaminationRecord],
    cleaner: Any = None,
    across: AcrossSources | None = None,
) -> Iterator[ProblemRecord | RejectRecord]:
    """``records`` with the problems matching an evaluation set (``contaminated:<set>``) or an earlier
    source (``near_duplicate_across_sources``) turned into rejects; each is appended to ``listed``.
    ``cleaner``: a ``warehouse.export.decontaminate.Decontaminator`` (given, not imported: export reads sources)."""
    for index, record in enumerate(records):
        if not isinstance(record, ProblemRecord):
            yield record
            continue
        hit = cleaner.find(record.question) if cleaner is not None else None
        if hit is not None:
            s, found = hit
            listed.append(
                ContaminationRecord(
                    record.problem_id,
                    record.source,
                    record.question,
                    "eval_set",
                    s.name,
                    str(found["eval_id"]),
                    found["method"],
                    float(found["score"]),
                )
            )
            yield RejectRecord(
                record.source,
                index,
                f"contaminated:{s.name}",
                f"matches evaluation problem {found['eval_id']} of {s.name} ({found['method']}, score "
                f"{found['score']:g})",
                _raw(record),
            )
            continue
        near = across.match(record.question) if across is not None else None
        if near is not None:
            source, problem_id, score = near
            listed.append(
                ContaminationRecord(
                    record.problem_id,
                    record.source,
                    record.question,
                    "source",
                    source,
                    problem_id,
                    "minhash",
                    round(score, 4),
                )
            )
            yield RejectRecord(
                record.source,
                index,
                ACROSS,
                f"near-duplicate of problem {problem_id} of source {source} (minhash, score {score:.4g})",
                _raw(record),
            )
            continue
        yield record
