"""From problems to generation shards and back to sample records.

A shard is a fixed list of requests (one per problem, asking for n completions) whose key is the
content hash of its requests; the ledger stores finished shards under that key. Seeds derive from
the run's base seed and the request, so a rerun asks exactly the same questions. A shard carries the
strategy that planned it (``generators.strategies``), which runs it: one pass by default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from starmill.generators.base import (
    Backend,
    Completion,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    Message,
    RequestRefused,
    SamplingParams,
)
from starmill.schemas import ProblemRecord, SampleRecord, content_hash
from starmill.schemas.samples import Stage, sample_id

log = logging.getLogger(__name__)
Generate = Callable[[Sequence[GenerationRequest]], list[GenerationResult]]  # one engine call


@dataclass(frozen=True)
class PlannedRequest:
    key: str  # content hash of everything that determines the answer
    problem_id: str
    stage: Stage
    iteration: int
    messages: tuple[Message, ...]  # what the teacher sees (with the hint for rationalizations)
    training_prompt: tuple[Message, ...]  # what is stored for training (never with a hint)
    template_id: str
    template_hash: str
    sampling: SamplingParams
    model: str  # as configured (an alias, a path or a Hub id)
    model_revision: str | None

    def request(self) -> GenerationRequest:
        return GenerationRequest(request_id=self.key, messages=list(self.messages), sampling=self.sampling)


class ShardRunner(Protocol):
    """What runs a shard's requests: a generation strategy (``generators.strategies``)."""

    def run(
        self, requests: Sequence[PlannedRequest], generate: Generate, info: Callable[[], EngineInfo]
    ) -> list[SampleRecord]: ...


@dataclass(frozen=True)
class Shard:
    key: str
    stage: Stage
    iteration: int
    index: int
    requests: tuple[PlannedRequest, ...]
    strategy: ShardRunner | None = None  # the strategy that planned it runs it; None: one pass

    @property
    def problem_ids(self) -> list[str]:
        return [r.problem_id for r in self.requests]


def request_seed(base_seed: int, problem_id: str, stage: str, iteration: int) -> int:
    return int(content_hash("seed", base_seed, problem_id, stage, iteration)[:8], 16) % (2**31 - 1)


def plan_requests(
    problems: Sequence[ProblemRecord],
    *,
    stage: str,
    iteration: int,
    template_id: str,
    training_template_id: str,
    sampling: SamplingParams,
    base_seed: int,
    model: str,
    model_revision: str | None,
    hints: Mapping[str, str] | None = None,
) -> list[PlannedRequest]:
    """One request per problem. A template with a ``{hint}`` shows the gold answer (or the problem's
    entry of ``hints``: code shows a reference or test feedback, never the tests) to the teacher only:
    the sample is stored with the plain prompt of ``training_template_id``."""
    from starmill.generators.prompts import get_template

    template, plain = get_template(template_id), get_template(training_template_id)
    stage = Stage(stage)
    planned = []
    for p in problems:
        seed = request_seed(base_seed, p.problem_id, stage.value, iteration)
        params = replace(sampling, stop=tuple(sampling.stop), seed=seed)
        hint = (hints.get(p.problem_id) if hints is not None else p.gold_answer) if template.takes_hint else None
        messages = tuple(template.render(p.question, hint=hint))
        training = tuple(plain.render(p.question)) if template.takes_hint else messages
        extra = () if hint is None or hint == p.gold_answer else (content_hash("hint", hint),)  # a new hint asks anew
        key = content_hash(
            "request",
            p.problem_id,
            stage.value,
            iteration,
            template.id,
            template.hash,
            model,
            model_revision,
            params.as_dict(),
            *extra,
        )
        planned.append(
            PlannedRequest(
                key,
                p.problem_id,
                stage,
                iteration,
                messages,
                training,
                plain.id if template.takes_hint else template.id,
                template.hash,
                params,
                model,
                model_revision,
            )
        )
    return planned


def plan_shards(
    requests: Sequence[PlannedRequest], shard_size: int, strategy: ShardRunner | None = None
) -> list[Shard]:
    shards = []
    for index, start in enumerate(range(0, len(requests), shard_size)):
        chunk = tuple(requests[start : start + shard_size])
        key = content_hash("shard", [r.key for r in chunk])
        runner = strategy.for_shard(chunk) if hasattr(strategy, "for_shard") else strategy  # type: ignore[union-attr]
        shards.append(Shard(key, chunk[0].stage, chunk[0].iteration, index, chunk, runner))
    return shards


def skip_refused(
    generate: Generate, requests: Sequence[GenerationRequest]
) -> tuple[dict[str, GenerationResult], dict[str, RequestRefused]]:
    """One engine call for ``requests``: results by request id, and the ``RequestRefused`` of each
    request the engine refused (a prompt over the context, …): that request is dropped and the batch
    runs again without it, so it never fails its neighbours."""
    pending, refused = list(requests), {}
    while pending:
        try:
            return {r.request_id: r for r in generate(pending)}, refused
        except RequestRefused as exc:
            if exc.request_id not in {r.request_id for r in pending}:
                raise
            refused[exc.request_id] = exc
            pending = [r for r in pending if r.request_id != exc.request_id]
    return {}, refused


def generate_each(generate: Generate, requests: Sequence[PlannedRequest]):
    """``skip_refused`` for planned requests, each refusal logged. When a server refused every request
    (an HTTP 4xx), the settings are at fault, not one prompt: raise."""
    results, refused = skip_refused(generate, [r.request() for r in requests])
    for exc in refused.values():
        log.warning("%s; recorded as a %s sample, the rest of the shard goes on", exc, exc.reason)
    if refused and len(refused) == len(requests) and all(exc.reason == "refused" for exc in refused.values()):
        raise next(iter(refused.values()))
    return results, refused


def sample_requests(
    requests: Sequence[PlannedRequest], generate: Generate, info: Callable[[], EngineInfo]
) -> list[SampleRecord]:
    """One pass: every completion of every request becomes an (ungraded) sample record; a request the
    engine refused becomes one empty sample dropped with the reason (e.g. ``context_overflow``)."""
    by_key, refused = generate_each(generate, requests)
    samples = []
    for request in requests:
        if request.key in refused:
            samples.append(
                to_sample(request, 0, Completion("", "error", 0, 0), info(), drop_reason=refused[request.key].reason)
            )
            continue
        result = by_key[request.key]
        samples += [
            to_sample(request, index, completion, result.engine) for index, completion in enumerate(result.completions)
        ]
    return samples


def run_shard(backend: Backend, shard: Shard, generate: Generate | None = None) -> list[SampleRecord]:
    """Generate one shard with its strategy; ``generate`` (default: ``backend.generate``) is how each
    engine call is made, e.g. under a lock."""
    run = shard.strategy.run if shard.strategy is not None else sample_requests
    return run(shard.requests, generate or backend.generate, backend.info)


def to_sample(
    request: PlannedRequest, index: int, completion: Completion, info: EngineInfo, *, drop_reason: str | None = None
) -> SampleRecord:
    """A completion as a sample record, its output split into reasoning and answer."""
    from starmill.generators.parsing import split_output

    parts = split_output(completion.text, reasoning=completion.reasoning) if drop_reason is None else None
    sampling = request.sampling.as_dict()
    return SampleRecord(
        sample_id=sample_id(
            request.problem_id,
            request.stage.value,
            request.template_id,
            request.template_hash,
            request.model,
            request.model_revision,
            sampling,
            request.sampling.seed,
            index,
        ),
        problem_id=request.problem_id,
        stage=request.stage.value,
        iteration=request.iteration,
        sample_index=index,
        template_id=request.template_id,
        template_hash=request.template_hash,
        prompt=[dict(m) for m in request.training_prompt],
        completion=completion.text,
        reasoning=parts.reasoning if parts else None,
        answer_text=parts.answer if parts else None,
        extracted_answer=None,
        finish_reason=completion.finish_reason,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        model=request.model,
        model_revision=request.model_revision,
        engine=info.engine,
        engine_version=info.engine_version,
        sampling=json.dumps(sampling, sort_keys=True),
        seed=request.sampling.seed,
        drop_reason=drop_reason,
        **_logprob_fields(request, completion),
    )


def _logprob_fields(request: PlannedRequest, completion: Completion) -> dict:
    """The completion's tokens and top-k, stored only when the request asked for logprobs."""
    if request.sampling.logprobs is None or completion.top_ids is None or completion.token_ids is None:
        return {}
    return {
        "token_ids": list(completion.token_ids),
        "topk_ids": [list(x) for x in completion.top_ids],
        "topk_logprobs": [list(x) for x in completion.top_logprobs or ()],
    }
