"""Process-reward data from our own samples: every step prefix of a rationale labelled by Monte Carlo
rollouts (Math-Shepherd), written as a version of ``prm`` with the samples version as its parent.

For step i the prefix is steps[0..i] joined by the delimiter (one more after it); R rollouts continue
it and the soft label is the share that reach the gold answer, the hard label whether any did. A
prefix that already states a final answer (the last step, "The answer is N.") is not rolled out: its
label is the checker's verdict on it (1.0 or 0.0), i.e. the sample's own verdict, since every
continuation would keep that answer (a second, different one only makes the checker say wrong).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starmill.schemas import PrmRecord, ProblemRecord, SampleRecord, content_hash
from starmill.schemas.errors import StarmillError
from starmill.schemas.prm import prm_id
from starmill.warehouse.lineage import problems_parent

SHARD = 64  # rollout requests (step prefixes) per generate call
RUNS = "_runs"  # where a labelling run keeps its finished shards until it commits (resumable)
ONLY = ("all", "correct")
MAX_ROLLOUTS = 1024  # per step prefix, as sampling.n allows in a run config (a billion asked for ~520 GB)
MAX_TOKENS = 1_000_000  # per rollout


class PrmDataError(StarmillError):
    pass


@dataclass
class PrmSettings:
    rollouts: int = 8  # R: continuations per step prefix
    model: str | None = None  # the completer; None: the samples version's last model, else the demo teacher
    backend: str | None = None  # None: the recorded model's backend, else transformers
    options: dict[str, Any] = field(default_factory=dict)  # backend options (base_url, dtype, …)
    only: str = "all"  # "correct": label only rationales whose final answer is right
    limit: int | None = None  # label at most this many rationales (in the version's order)
    temperature: float = 0.7
    max_tokens: int = 96  # per rollout
    delimiter: str = "\n"
    seed: int = 0
    workers: int = 1  # answer-checker processes

    def check(self) -> None:
        if not 1 <= self.rollouts <= MAX_ROLLOUTS:
            raise PrmDataError(f"--rollouts must be from 1 to {MAX_ROLLOUTS}, got {self.rollouts}")
        if not 1 <= self.max_tokens <= MAX_TOKENS:
            raise PrmDataError(f"--max-tokens must be from 1 to {MAX_TOKENS:,}, got {self.max_tokens}")
        if self.limit is not None and self.limit < 1:
            raise PrmDataError(f"--limit must be at least 1, got {self.limit}")
        if self.temperature < 0:
            raise PrmDataError(f"--temperature must be 0 or more, got {self.temperature}")
        if self.temperature == 0 and self.rollouts > 1:
            raise PrmDataError(
                "at --temperature 0 every rollout is the same: use --rollouts 1 or a temperature above 0"
            )
        if not self.delimiter:
            raise PrmDataError("the step delimiter is empty: give one with --delimiter (default a newline)")
        if self.only not in ONLY:
            raise PrmDataError(f"--only must be one of {', '.join(ONLY)}, got {self.only!r}")


@dataclass
class PrmReport:
    ref: str  # the prm version written
    source: str  # the samples version labelled
    model: str
    rows: int  # rationales labelled
    steps: int
    rollouts: int  # rollouts generated (terminal steps need none)
    skipped: dict[str, int]  # reason -> samples not labelled
    mean_soft: float  # mean soft label over all steps
    seconds: float


def teacher_for(manifest, settings: PrmSettings) -> dict[str, Any]:
    """The completer's config: as given, else the last model the samples version records, else the demo
    teacher."""
    from starmill.generators.registry import DEMO_ALIAS

    recorded = (manifest.models or [{}])[-1]
    model = settings.model or recorded.get("model") or DEMO_ALIAS
    same = settings.model is None and recorded.get("model")
    backend = settings.backend or (recorded.get("backend") if same else None) or "transformers"
    kept = (recorded.get("options") or {}) if same and backend == recorded.get("backend") else {}
    return {"backend": backend, "model": model, "revision": None, "options": {**kept, **settings.options}}


def _check_target(wh, name: str) -> None:
    """Before any rollout: the name is valid and holds ``prm`` rows, if it exists."""
    from starmill.warehouse.versions import check_name

    check_name(name)
    if wh.versions(name) and (table := wh.manifest(wh.resolve(name)).table) != "prm":
        raise PrmDataError(f"dataset {name!r} holds '{table}' rows, not 'prm': choose another --name")


def _inputs(wh, ref: str, settings: PrmSettings):
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "samples":
        raise PrmDataError(f"{version} holds '{manifest.table}' rows: prm-data labels a samples version")
    table = wh.read(version)
    if table.num_rows == 0:
        raise PrmDataError(f"{version} holds no samples")
    problems_ref = problems_parent(wh, manifest, PrmDataError)
    problems = {p["problem_id"]: ProblemRecord.from_row(p) for p in wh.read(problems_ref).to_pylist()}
    chosen, skipped = [], Counter()
    for row in table.to_pylist():
        s = SampleRecord.from_row(row)
        problem = problems.get(s.problem_id)
        if settings.only == "correct" and not s.correct:
            skipped["not_correct"] += 1
        elif problem is None or not problem.gold_answer.strip():
            skipped["no_gold_answer"] += 1
        elif not s.output_text().strip():
            skipped["empty_completion"] += 1
        elif settings.limit is not None and len(chosen) >= settings.limit:
            skipped["over_limit"] += 1
        else:
            chosen.append((s, problem))
    if not chosen:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
        raise PrmDataError(f"no sample of {version} can be labelled ({why})")
    return version, manifest, problems_ref, chosen, skipped


def label_steps(
    wh, ref: str, settings: PrmSettings | None = None, name: str = "prm", progress: bool = True
) -> PrmReport:
    """Label every step of the samples in ``ref`` by rollouts and commit a version of ``name``."""
    import time

    from starmill.generators.registry import backend_for, model_identity
    from starmill.prm import rollouts as mc

    settings = settings or PrmSettings()
    settings.check()
    start = time.perf_counter()
    _check_target(wh, name)
    version, manifest, problems_ref, chosen, skipped = _inputs(wh, ref, settings)
    teacher = teacher_for(manifest, settings)
    model_id, revision = model_identity(teacher)
    backend = backend_for(teacher)  # a model that does not exist fails here, before any work
    revision = revision or backend.info().model_revision or ""
    lineage = {
        "model": model_id,
        "revision": revision,
        "rollouts": settings.rollouts,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "seed": settings.seed,
        "delimiter": settings.delimiter,
    }
    plans = [mc.plan(s, problem, settings, f"{model_id}@{revision}") for s, problem in chosen]
    run_key = content_hash("prm-run", str(version), name, lineage, settings.only, settings.limit)
    cache = mc.ShardCache(wh.storage, wh.storage.path(RUNS, f"prm-{run_key}"))
    texts, refused = mc.roll(backend.generate, plans, SHARD, progress, cache)
    soft = mc.soft_labels(plans, texts, settings.workers)
    records = []
    for p, labels in zip(plans, soft):
        reason = next((refused[r.key] for r in p.rollouts() if r.key in refused), None)
        if reason is not None:
            skipped[f"refused:{reason}"] += 1
            continue
        s = p.sample
        records.append(
            PrmRecord(
                prm_id=prm_id(s.sample_id, lineage),
                sample_id=s.sample_id,
                problem_id=s.problem_id,
                prompt=[dict(m) for m in s.prompt],
                steps=p.steps,
                labels=[v > 0 for v in labels],
                soft_labels=labels,
                rollouts=settings.rollouts,
                delimiter=settings.delimiter,
                gold_answer=p.problem.gold_answer,
                model=model_id,
                completer_version=revision,
            )
        )
    if not records:
        raise PrmDataError(
            f"no sample of {version} could be labelled: the engine refused every one "
            f"({', '.join(f'{v} {k}' for k, v in sorted(skipped.items()))})"
        )
    generated = sum(len(v) for v in texts.values())
    ref_out = _commit(
        wh, name, records, skipped, generated, version, problems_ref, teacher, backend.info(), lineage, settings
    )
    cache.clear()  # the version holds it all now
    n_steps = sum(len(r.steps) for r in records)
    mean = sum(v for r in records for v in r.soft_labels) / n_steps
    return PrmReport(
        ref_out,
        str(version),
        model_id,
        len(records),
        n_steps,
        generated,
        dict(sorted(skipped.items())),
        round(mean, 4),
        round(time.perf_counter() - start, 2),
    )


def _commit(
    wh, name, records, skipped, generated, version, problems_ref, teacher, info, lineage, settings: PrmSettings
) -> str:
    from starmill.filters.answers import CHECKER, CHECKER_VERSION

    writer = wh.writer(
        name,
        "prm",
        parents=[str(version), problems_ref],
        models=[
            {
                "model": lineage["model"],
                "revision": lineage["revision"],
                "backend": teacher["backend"],
                "engine": info.engine,
                "engine_version": info.engine_version,
            }
        ],
        sampling={
            "n": settings.rollouts,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "seed": settings.seed,
        },
        extra={
            "prm": {
                **lineage,
                "backend": teacher["backend"],
                "only": settings.only,
                "limit": settings.limit,
                "from": str(version),
                "terminal_steps": "a prefix with a final answer is labelled by its own verdict, without rollouts",
                "checker": {"name": CHECKER, "version": CHECKER_VERSION},
            }
        },
    )
    with writer:
        writer.write(records)
        writer.count("rows", len(records))
        writer.count("steps", sum(len(r.steps) for r in records))
        writer.count("rollouts", generated)
        for reason, count in skipped.items():
            writer.drop(reason, count)
    return f"{writer.name}@v{writer.version}"
