"""One request the engine refuses (a prompt over the model's context) never fails its neighbours: it
becomes one empty sample dropped with the reason, the rest of the shard is generated as usual."""

import pytest

from starmill.generators.base import EngineInfo, GenerationError, GenerationResult, RequestRefused, SamplingParams
from starmill.generators.sampling import plan_requests, plan_shards, run_shard
from tests.helpers import problem

LONG = "Compute 12 + 7. " * 200  # ~3,200 characters: under ingest's bound, over the demo's 512 tokens


def shard_of(problems, n=2):
    requests = plan_requests(
        problems,
        stage="rationale",
        iteration=0,
        template_id="cot_zero_shot",
        training_template_id="cot_zero_shot",
        sampling=SamplingParams(n=n, max_tokens=8),
        base_seed=0,
        model="demo",
        model_revision=None,
    )
    return plan_shards(requests, shard_size=len(requests))[0]


def test_context_overflow_is_one_dropped_sample_and_neighbours_are_generated(hf_backend):
    good = [problem("Compute 2 + 3.", "5"), problem("Compute 9 - 4.", "5")]
    long = problem(LONG, "19")
    samples = run_shard(hf_backend, shard_of([good[0], long, good[1]]))
    by_problem = {p.problem_id: [s for s in samples if s.problem_id == p.problem_id] for p in [*good, long]}
    refused = by_problem[long.problem_id]
    assert [(s.completion, s.finish_reason, s.drop_reason, s.kept, s.sample_index) for s in refused] == [
        ("", "error", "context_overflow", False, 0)
    ]
    assert refused[0].engine == "transformers"
    for p in good:
        assert len(by_problem[p.problem_id]) == 2 and all(s.drop_reason is None for s in by_problem[p.problem_id])
    # the neighbours got exactly what a shard without the long problem gets
    alone = run_shard(hf_backend, shard_of(good))
    assert [s.completion for s in samples if s.problem_id != long.problem_id] == [s.completion for s in alone]


def test_the_drop_reason_survives_grading_and_selection(hf_backend):
    from starmill.filters.grading import grade
    from starmill.filters.selection import mark_incorrect, select

    long = problem(LONG, "19")
    samples = run_shard(hf_backend, shard_of([long]))
    final = select(mark_incorrect(grade(samples, {long.problem_id: long})), 2, 0.9)
    assert [(s.drop_reason, s.kept) for s in final] == [("context_overflow", False)]


class FakeBackend:
    """Refuses the requests whose prompt holds ``bad``; ``reason`` is what it reports."""

    def __init__(self, bad="LONG", reason="context_overflow", error=None):
        self.bad, self.reason, self.error, self.calls = bad, reason, error, []

    def info(self):
        return EngineInfo("fake", "1", "demo", None, None)

    def generate(self, requests):
        self.calls.append(len(requests))
        if self.error is not None:
            raise self.error
        from starmill.generators.base import Completion

        for r in requests:
            if self.bad in r.messages[-1]["content"]:
                raise RequestRefused(f"request {r.request_id}: no", request_id=r.request_id, reason=self.reason)
        return [
            GenerationResult(r.request_id, [Completion("The answer is 5.", "stop", 3, 4)] * r.sampling.n, self.info())
            for r in requests
        ]


def test_each_refused_request_is_dropped_and_the_batch_runs_again():
    problems = [problem("Compute 2 + 3."), problem("LONG 1"), problem("LONG 2"), problem("Compute 1 + 4.")]
    backend = FakeBackend()
    samples = run_shard(backend, shard_of(problems))
    assert backend.calls == [4, 3, 2]
    assert [(s.drop_reason, s.completion) for s in samples] == [
        (None, "The answer is 5."),
        (None, "The answer is 5."),
        ("context_overflow", ""),
        ("context_overflow", ""),
        (None, "The answer is 5."),
        (None, "The answer is 5."),
    ]


def test_every_request_refused_by_a_server_fails_the_shard():
    """A server that answers 400 to every request objects to the settings, not to one prompt."""
    with pytest.raises(RequestRefused, match="no"):
        run_shard(
            FakeBackend(bad="Compute", reason="refused"),
            shard_of([problem("Compute 2 + 3."), problem("Compute 1 + 4.")]),
        )
    samples = run_shard(
        FakeBackend(bad="LONG", reason="refused"), shard_of([problem("Compute 2 + 3."), problem("LONG")])
    )
    assert [s.drop_reason for s in samples] == [None, None, "refused"]


def test_an_engine_failure_still_fails_the_shard():
    with pytest.raises(GenerationError, match="server down"):
        run_shard(FakeBackend(error=GenerationError("server down")), shard_of([problem()]))
