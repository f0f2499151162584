"""From problems to generation shards and back to sample records.

A shard is a fixed list of requests (one per problem and stage, asking for n completions) whose key
is the content hash of its requests; the ledger stores finished shards under that key. Seeds derive
from the run's base seed and the request, so a rerun asks exactly the same questions.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Sequence

from generators.base import (
    Backend, Completion, EngineInfo, GenerationRequest, Message, RequestRefused, SamplingParams,
)
from schemas import ProblemRecord, SampleRecord, content_hash
from schemas.samples import sample_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedRequest:
    key: str  # content hash of everything that determines the answer
    problem_id: str
    stage: str  # "rationale" | "rationalization"
    iteration: int
    messages: tuple[Message, ...]  # what the teacher sees (with the hint for rationalizations)
    training_prompt: tuple[Message, ...]  # what is stored for training (never with a hint)
    template_id: str
    template_hash: str
    sampling: SamplingParams
    model: str  # as configured (an alias, a path or a Hub id)
    model_revision: str | None


@dataclass(frozen=True)
class Shard:
    key: str
    stage: str
    iteration: int
    index: int
    requests: tuple[PlannedRequest, ...]

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
) -> list[PlannedRequest]:
    """One request per problem; rationalizations show the gold answer as a hint to the teacher only."""
    from generators.prompts import get_template

    template, plain = get_template(template_id), get_template(training_template_id)
    planned = []
    for p in problems:
        hint = p.gold_answer if stage == "rationalization" else None
        seed = request_seed(base_seed, p.problem_id, stage, iteration)
        params = SamplingParams(**{**sampling.as_dict(), "stop": tuple(sampling.stop), "seed": seed})
        messages = tuple(template.render(p.question, hint=hint))
        training = tuple(plain.render(p.question)) if stage == "rationalization" else messages
        key = content_hash("request", p.problem_id, stage, iteration, template.id, template.hash,
                           model, model_revision, params.as_dict())
        planned.append(PlannedRequest(key, p.problem_id, stage, iteration, messages, training,
                                      plain.id if stage == "rationalization" else template.id,
                                      template.hash, params, model, model_revision))
    return planned


def plan_shards(requests: Sequence[PlannedRequest], shard_size: int) -> list[Shard]:
    shards = []
    for index, start in enumerate(range(0, len(requests), shard_size)):
        chunk = tuple(requests[start : start + shard_size])
        key = content_hash("shard", [r.key for r in chunk])
        shards.append(Shard(key, chunk[0].stage, chunk[0].iteration, index, chunk))
    return shards


def generate_each(backend: Backend, requests: Sequence[PlannedRequest]):
    """Results by request key, and the ``RequestRefused`` of each request the engine refused: a refused
    request is dropped and the batch runs again without it, so it never fails its neighbours. When a
    server refused every request (an HTTP 4xx), the settings are at fault, not one prompt: raise."""
    pending, refused = list(requests), {}
    while pending:
        try:
            results = backend.generate([GenerationRequest(request_id=r.key, messages=list(r.messages),
                                                          sampling=r.sampling) for r in pending])
        except RequestRefused as exc:
            if exc.request_id not in {r.key for r in pending}:
                raise
            log.warning("%s; recorded as a %s sample, the rest of the shard goes on", exc, exc.reason)
            refused[exc.request_id] = exc
            pending = [r for r in pending if r.key != exc.request_id]
            continue
        return {r.request_id: r for r in results}, refused
    if all(exc.reason == "refused" for exc in refused.values()):
        raise next(iter(refused.values()))
    return {}, refused


def run_shard(backend: Backend, shard: Shard) -> list[SampleRecord]:
    """Generate one shard and turn every completion into an (ungraded) sample record; a request the
    engine refused becomes one empty sample dropped with the reason (e.g. ``context_overflow``)."""
    from generators.parsing import split_output

    by_key, refused = generate_each(backend, shard.requests)
    samples = []
    for request in shard.requests:
        if request.key in refused:
            samples.append(_sample(request, 0, Completion("", "error", 0, 0), backend.info(),
                                   drop_reason=refused[request.key].reason))
            continue
        result = by_key[request.key]
        for index, completion in enumerate(result.completions):
            parts = split_output(completion.text, reasoning=completion.reasoning)
            samples.append(_sample(request, index, completion, result.engine, reasoning=parts.reasoning,
                                   answer_text=parts.answer))
    return samples


def _sample(request: PlannedRequest, index: int, completion: Completion, info: EngineInfo, *,
            reasoning: str | None = None, answer_text: str | None = None,
            drop_reason: str | None = None) -> SampleRecord:
    sampling = request.sampling.as_dict()
    return SampleRecord(
        sample_id=sample_id(request.problem_id, request.stage, request.template_id, request.template_hash,
                            request.model, request.model_revision, sampling, request.sampling.seed, index),
        problem_id=request.problem_id, stage=request.stage, iteration=request.iteration,
        sample_index=index, template_id=request.template_id, template_hash=request.template_hash,
        prompt=[dict(m) for m in request.training_prompt], completion=completion.text,
        reasoning=reasoning, answer_text=answer_text, extracted_answer=None,
        finish_reason=completion.finish_reason, prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens, model=request.model,
        model_revision=request.model_revision, engine=info.engine, engine_version=info.engine_version,
        sampling=json.dumps(sampling, sort_keys=True), seed=request.sampling.seed, drop_reason=drop_reason,
    )
