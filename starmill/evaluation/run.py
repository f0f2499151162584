"""Evaluate a model on held-out problems and write the result as a version of ``evals``, its manifest's
section typed (``schemas.evals.EvalSummary``). Greedy and sampled answers are generated as a run generates:
planned by the rationale strategy, cut into shards, each taken from the ledger or generated and recorded
(``warehouse.shards``), so an interrupted eval run again generates only the shards it had not finished.
Tree searches (``evaluation.search``) run outside the ledger."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from starmill.schemas import EvalRecord, ProblemRecord, SampleRecord
from starmill.schemas.errors import StarmillError
from starmill.schemas.evals import EvalSummary

SHARD = 64  # requests per shard (one generate call; a shard is what the ledger keeps)


class EvalError(StarmillError):
    pass


@dataclass
class EvalSettings:
    n: int = 8  # sampled answers per problem for pass@k and maj@k; 0: greedy only
    temperature: float = 0.7
    max_tokens: int = 128
    template: str = "cot_zero_shot"
    seed: int = 0
    backend: str = "transformers"
    options: dict[str, Any] = field(default_factory=dict)
    greedy: bool = True
    workers: int = 1  # answer-checker processes
    strategies: tuple[str, ...] = ()  # selection strategies measured over the n samples (STRATEGY@k)
    scorer: str = "steps"  # what best_of_n and weighted_best_of_n rank by, and what guides beam, dvts and mcts
    search: dict[str, Any] = field(default_factory=dict)  # tree search settings (sampling.search keys); N is n
    preset: str = "plain"  # how a source file's fields map to problems (gsm8k, math, plain), as for ingest
    base_url: str | None = None  # openai backend: the server's /v1 URL
    verifier: str | None = None  # grade with this verifier (code: pass@k on code problems); None: the source's own
    shard_size: int = SHARD  # requests per shard


@dataclass
class EvalReport:
    ref: str  # the evals version written
    problems_ref: str
    model: str
    metrics: dict[str, float]
    overlap: dict[str, Any]
    problems: int
    search: dict[str, dict[str, int]] = field(default_factory=dict)  # tree strategy -> tokens and nodes it used
    tree: str | None = None  # the version of the searches' nodes (``tree`` rows, parent: the evals version)
    clean: dict[str, Any] = field(default_factory=dict)  # {"problems": k, "metrics": {...}} without the overlap
    outcomes: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # metric -> problem -> 0/1 (what metrics average)
    shards: dict[str, int] = field(default_factory=dict)  # sampling shards generated now and taken from the ledger


def _procedural(on: str) -> bool:
    """``procedural`` or ``procedural_code``, with or without ``:options``."""
    return on.partition(":")[0] in ("procedural", "procedural_code")


def _problems(wh, on: str, name: str, preset: str = "plain") -> tuple[str, list[ProblemRecord]]:
    """``on``: a problems version in the warehouse, or a source (``procedural:n=…,seed=…``, a file)."""
    from pydantic import ValidationError

    from starmill.warehouse.sources import SourceSpec, ensure_problems
    from starmill.warehouse.versions import NAME_RE

    head = on.split("@")[0]
    if NAME_RE.fullmatch(head) and wh.versions(head):
        ref = wh.resolve(on)
        manifest = wh.manifest(ref)
        if manifest.table != "problems":
            raise EvalError(f"{ref} holds '{manifest.table}' rows: evaluate on a problems version or a source")
        return str(ref), [ProblemRecord.from_row(r) for r in wh.read(ref).to_pylist()]
    if _procedural(on):
        kind, options = on.partition(":")[0], {}
        for part in filter(None, on.partition(":")[2].split(",")):
            key, sep, value = part.partition("=")
            if not sep or key not in ("n", "seed", "difficulty"):
                raise EvalError(f"bad procedural source {on!r}: use {kind}:n=N,seed=S,difficulty=D")
            options[key] = value
        try:
            spec = SourceSpec(uri=kind, split="test", procedural=options)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise EvalError(f"bad procedural source {on!r}: {(err['loc'] or ('source',))[-1]}: {err['msg']}") from None
    else:
        spec = SourceSpec(uri=on, split="test", preset=preset)
    return ensure_problems(wh, spec, name, need_problems=True)


def _verifiers(settings: EvalSettings, on: str | None) -> list | None:
    """``--verifier``, else the verifiers the source ``on`` declares (``humaneval``: code; a problems version,
    ``on`` None: none); None: the answer checker."""
    from starmill.build import build_verifier, build_verifiers
    from starmill.warehouse.sources import SourceSpec

    if settings.verifier:
        try:
            return [
                build_verifier(
                    settings.verifier, **({"workers": settings.workers} if settings.verifier == "code" else {})
                )
            ]
        except (ValueError, TypeError, StarmillError) as exc:
            raise EvalError(f"--verifier {settings.verifier}: {exc}") from None
    if on is None or (_procedural(on) and not on.startswith("procedural_code")):
        return None
    try:
        uri = on.partition(":")[0] if _procedural(on) else on
        return build_verifiers(SourceSpec(uri=uri, split="test", preset=settings.preset), settings.workers)
    except (ValueError, StarmillError):
        return None


def ledger_key(
    teacher: dict[str, Any],
    model: str,
    revision: str | None,
    problems: list[ProblemRecord],
    settings: EvalSettings,
    mode: str,
) -> str:
    """The ledger an eval's ``mode`` samples into: the model's identity, the problems (ids and questions:
    a request's key names only the id), the mode and what it samples with. The same eval run again, after
    an interruption or not, finds its finished shards there."""
    from starmill.schemas import content_hash

    n, temperature = _mode_sampling(settings, mode)
    problems_fingerprint = content_hash([(p.problem_id, p.question) for p in problems])
    return (
        "eval-"
        + content_hash(
            "eval",
            {**teacher, "model": model, "revision": revision},
            problems_fingerprint,
            mode,
            settings.template,
            n,
            temperature,
            settings.max_tokens,
            settings.seed,
        )[:16]
    )


def _mode_sampling(settings: EvalSettings, mode: str) -> tuple[int, float]:
    return (1, 0.0) if mode == "greedy" else (settings.n, settings.temperature)


def _samples(
    wh, teacher: dict[str, Any], model: str, revision, problems, settings: EvalSettings, mode: str, shards: Counter
) -> list[SampleRecord]:
    """The mode's samples, planned as the run's rationale stage plans them and generated as the run
    generates: shards through the ledger (finished ones taken from it), side by side on an engine that
    takes calls so; in the shards' order. Counts the shards ``generated`` and ``from_ledger``."""
    from tqdm.auto import tqdm

    from starmill.generators import stopping
    from starmill.generators.base import SamplingParams
    from starmill.generators.sampling import plan_shards
    from starmill.generators.strategies import PlanContext, get_strategy
    from starmill.warehouse.ledger import Ledger
    from starmill.warehouse.shards import DONE, STOPPED, RetryPolicy, ShardJob, map_in_process, shards_in_flight

    n, temperature = _mode_sampling(settings, mode)
    strategy = get_strategy(
        "independent", template=settings.template, n=n
    )  # the run's rationale stage, as eval asks it
    params = SamplingParams(n=n, temperature=temperature, max_tokens=settings.max_tokens)
    requests = strategy.plan(problems, PlanContext(0, params, settings.seed, model, revision))
    key = ledger_key(teacher, model, revision, problems, settings, mode)
    jobs = [ShardJob(wh.root, key, teacher, shard) for shard in plan_shards(requests, settings.shard_size, strategy)]
    ledger, out, failed = Ledger(wh.root, key), [], []
    window = shards_in_flight(teacher, settings.shard_size, n)
    results = iter(map_in_process(RetryPolicy(), window)(jobs))
    try:
        for job, result in tqdm(zip(jobs, results), total=len(jobs), desc=f"eval {mode}", unit="shard"):
            if result.status == STOPPED:
                raise stopping.Stopped()
            if result.status != DONE:
                failed.append(result)
                continue
            shards["from_ledger" if result.from_ledger else "generated"] += 1
            out += ledger.load(job.shard.key)
    finally:  # now: the shards in flight end before eval does
        getattr(results, "close", lambda: None)()
    if failed:
        raise EvalError(
            f"{len(failed)} of {len(jobs)} {mode} shard(s) failed after their retries (first: "
            f"{failed[0].error}); nothing was written. Run the same command again: the finished "
            "shards come from the ledger, only the others are generated"
        )
    return out


def _scorer(settings: EvalSettings):
    """The scorer the strategies rank by or search with (None when none needs one): a name, or a reward
    model's folder (``--scorer PATH``); a bad one is an EvalError."""
    from starmill.build import build_scorer
    from starmill.evaluation.metrics import EVAL_STRATEGIES
    from starmill.generators.strategies import tree_strategies

    unknown = [s for s in settings.strategies if s not in EVAL_STRATEGIES]
    if unknown:
        raise EvalError(f"unknown strategy {unknown[0]!r} (known: {', '.join(EVAL_STRATEGIES)})")
    if settings.strategies and settings.n < 1:
        raise EvalError("--strategy chooses among sampled answers: give -n 1 or more")
    if not any("best_of_n" in s or s in tree_strategies() for s in settings.strategies):
        return None
    try:
        return build_scorer(*_scorer_spec(settings.scorer))
    except ValueError as exc:
        raise EvalError(str(exc)) from None


def _scorer_spec(scorer: str) -> tuple[str, dict[str, Any]]:
    """``--scorer``: a scorer's name, or the folder of a reward model starmill trained (its training
    manifest's task says orm or prm)."""
    from pathlib import Path

    from starmill.filters.scorers.reward_models import TRAINING_MANIFEST, training_manifest

    if not Path(scorer).expanduser().is_dir():
        if "/" in scorer or scorer.startswith("."):
            raise EvalError(f"--scorer {scorer!r}: no such folder (give a scorer name or a reward model's folder)")
        return scorer, {}
    manifest = training_manifest(str(Path(scorer).expanduser()))
    task = manifest.get("task", manifest.get("kind"))
    if task not in ("orm", "prm"):
        why = f"was trained with --task {task}" if task else f"has no {TRAINING_MANIFEST} with a task"
        raise EvalError(
            f"--scorer {scorer}: {why}, so it is no reward model starmill trained; train one with "
            "`starmill train SAMPLES --task orm|prm`, or give a scorer name"
        )
    return task, {"model": str(Path(scorer).expanduser())}


def evaluate(
    wh,
    model: str,
    on: str,
    settings: EvalSettings | None = None,
    problems_name: str = "eval_problems",
    name: str = "evals",
) -> EvalReport:
    from starmill.evaluation.metrics import accuracy, per_problem
    from starmill.evaluation.overlap import find_overlap
    from starmill.evaluation.search import run_search
    from starmill.filters.answers import CHECKER_VERSION, check_answer
    from starmill.filters.code.normalize import normalized_program
    from starmill.filters.grading import grade
    from starmill.generators.registry import backend_for, check_teacher, model_identity
    from starmill.generators.strategies import tree_strategies
    from starmill.warehouse.versions import NAME_RE

    settings = settings or EvalSettings()
    scorer = _scorer(settings)
    teacher = {
        "backend": settings.backend,
        "model": model,
        "revision": None,
        "options": settings.options,
        "base_url": settings.base_url,
    }
    check_teacher(teacher, where="eval")  # before any problem is read or version written
    problems_ref, problems = _problems(wh, on, problems_name, settings.preset)
    if not problems:
        raise EvalError(f"{problems_ref} holds no problems")
    model_id, revision = model_identity(teacher)
    backend = backend_for(teacher)
    by_id = {p.problem_id: p for p in problems}
    modes = (["greedy"] if settings.greedy else []) + (["sampled"] if settings.n > 0 else [])
    rows: list[EvalRecord] = []
    greedy: dict[str, bool] = {}
    sampled: dict[str, list[tuple[str | None, bool]]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    shards: Counter = Counter({"generated": 0, "from_ledger": 0})
    head = on.split("@")[0]
    verifiers = _verifiers(settings, None if NAME_RE.fullmatch(head) and wh.versions(head) else on)
    for mode in modes:
        graded = grade(
            _samples(wh, teacher, model_id, revision, problems, settings, mode, shards),
            by_id,
            workers=settings.workers,
            progress=True,
            verifiers=verifiers,
        )
        for s in graded:
            if mode == "greedy":
                greedy[s.problem_id] = s.correct
            else:
                sampled[s.problem_id].append((s.extracted_answer, s.correct))
                if scorer is not None:
                    scores[s.problem_id].append(scorer.score(by_id[s.problem_id], s).value)
            rows.append(
                EvalRecord.of_sample(
                    s,
                    mode=mode,
                    model=model_id,
                    revision=revision,
                    gold_answer=by_id[s.problem_id].gold_answer,
                    temperature=0.0 if mode == "greedy" else settings.temperature,
                )
            )

    def equivalent(a: str, b: str) -> bool:
        if code:  # programs agree when they normalize alike (maj@k over code)
            return normalized_program(a) is not None and normalized_program(a) == normalized_program(b)
        return check_answer(a, b, pred_is_answer=True).correct

    code = bool(verifiers) and verifiers[0].name == "code"

    scored = {
        strategy: {
            p: [(a, c, v) for (a, c), v in zip(rows, scores.get(p, [0.0] * len(rows)))] for p, rows in sampled.items()
        }
        for strategy in settings.strategies
        if strategy not in tree_strategies()
    }
    metrics = accuracy(greedy, dict(sampled), equivalent, scored)
    outcomes = per_problem(greedy, dict(sampled), equivalent, scored)
    used, tree = {}, []
    for strategy in [s for s in settings.strategies if s in tree_strategies()]:  # a search of budget N = n paths
        outcomes[f"{strategy}@{settings.n}"] = {}
        found, metrics[f"{strategy}@{settings.n}"], used[strategy] = run_search(
            strategy,
            backend,
            model_id,
            revision,
            problems,
            settings,
            scorer,
            equivalent,
            tree,
            outcomes=outcomes[f"{strategy}@{settings.n}"],
        )
        rows += found
    seen, flagged = find_overlap(wh, model, problems)
    clean = {"problems": len(problems) - len(flagged), "metrics": metrics}
    if flagged:  # the same metrics on the problems the model never trained on (tree searches: all problems only)

        def keep(rows: dict) -> dict:
            return {p: v for p, v in rows.items() if p not in flagged}

        clean["metrics"] = (
            accuracy(keep(greedy), keep(dict(sampled)), equivalent, {s: keep(r) for s, r in scored.items()})
            if clean["problems"]
            else {}
        )
    info = backend.info()
    summary = EvalSummary(
        metrics=metrics,
        overlap=seen,
        clean=clean,
        eval_on=problems_ref,
        strategies=list(settings.strategies),
        search=used,
        scorer=None if scorer is None else {"name": scorer.name, "version": scorer.version},
        template=settings.template,
        checker={"name": "starmill", "version": CHECKER_VERSION}
        if not verifiers
        else {"name": verifiers[0].name, "version": verifiers[0].version},
    )
    writer = wh.writer(
        name,
        "evals",
        parents=[problems_ref, *seen["trained_on"]],
        models=[
            {
                "model": model_id,
                "revision": revision,
                "backend": settings.backend,
                "engine": info.engine,
                "engine_version": info.engine_version,
            }
        ],
        sampling={
            "n": settings.n,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "seed": settings.seed,
        },
        extra=summary.to_manifest(),
    )
    with writer:
        writer.write(rows)
        writer.count("problems", len(problems))
        writer.count("rows", len(rows))
    ref = f"{name}@v{writer.version}"
    tree_ref = None
    if tree:  # every node the searches expanded; their selected paths are this version's beam/dvts/mcts rows
        from starmill.warehouse.publish import publish_tree

        tree_ref = publish_tree(wh, f"{name}_tree", ref, tree, counts={"nodes": len(tree)}, extra={"search": used})
    return EvalReport(
        ref,
        problems_ref,
        model_id,
        metrics,
        seen,
        len(problems),
        used,
        tree_ref,
        clean=clean,
        outcomes=outcomes,
        shards=dict(shards),
    )
