"""OpenAIBackend against a real `vllm serve` on 127.0.0.1 and against scripted local servers."""

import asyncio
import logging
import time
import traceback
import uuid

import pytest

from starmill.generators.base import GenerationError, GenerationRequest, SamplingParams
from starmill.generators.openai_backend import OpenAIBackend, run_private
from tests.fixtures_engines import MAX_MODEL_LEN, Reply, chat_body, stop_point

QUESTION = [{"role": "user", "content": "What is 12 + 7?"}]
FAST = dict(backoff_base=0.01, backoff_max=0.05, progress=False)  # retries without waiting in tests


def ask(messages=QUESTION, request_id="q", **sampling) -> GenerationRequest:
    return GenerationRequest(request_id, messages=messages, sampling=SamplingParams(**sampling))


# -- a real vllm serve ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(vllm_server):
    return OpenAIBackend(vllm_server.model, vllm_server.base_url, progress=False)


@pytest.mark.slow
def test_identifies_vllm_server(served):
    import vllm

    info = served.info()
    assert (info.engine, info.model, info.engine_version) == ("openai", "demo-teacher", f"vllm {vllm.__version__}")


@pytest.mark.slow
def test_n_samples_in_one_request_with_exact_token_counts(served):
    [result] = served.generate([ask(n=3, seed=11, max_tokens=24, temperature=1.0, logprobs=2)])
    assert served.n_supported is True
    assert len(result.completions) == 3
    for c in result.completions:
        # vLLM's per-choice token ids and its logprobs count the same tokens
        assert c.completion_tokens == len(c.logprobs) > 0
        assert c.prompt_tokens > 0
        assert c.finish_reason in ("stop", "length")
        assert all(2 <= len(position) <= 3 for position in c.logprobs)
        assert all(lp <= 0 for position in c.logprobs for lp in position.values())


@pytest.mark.slow
def test_same_seed_same_samples_other_seed_other_samples(served):
    requests = [
        ask(n=2, seed=5, max_tokens=24, temperature=1.0),
        ask(request_id="r", n=2, seed=6, max_tokens=24, temperature=1.0),
    ]
    first, second = served.generate(requests), served.generate(requests)
    texts = lambda results: [[c.text for c in r.completions] for r in results]  # noqa: E731
    assert texts(first) == texts(second)
    assert texts(first)[0] != texts(first)[1]


@pytest.mark.slow
def test_server_matches_offline_engine_for_a_seed(served, vllm_backend):
    request = ask(n=2, seed=3, max_tokens=20, temperature=0.8)
    [online], [offline] = served.generate([request]), vllm_backend.generate([request])
    assert [(c.text, c.completion_tokens, c.prompt_tokens) for c in online.completions] == [
        (c.text, c.completion_tokens, c.prompt_tokens) for c in offline.completions
    ]


@pytest.mark.slow
def test_length_stop_and_text_prompts(served):
    sampling = dict(max_tokens=12, seed=1, temperature=1.0)
    [free] = served.generate([GenerationRequest("t", text="12 + 7 =", sampling=SamplingParams(logprobs=1, **sampling))])
    [c] = free.completions
    assert (c.finish_reason == "length") == (c.completion_tokens == 12)
    assert len(c.logprobs) == c.completion_tokens
    cut, expected = stop_point(c.text)
    [stopped] = served.generate(
        [GenerationRequest("t", text="12 + 7 =", sampling=SamplingParams(stop=(cut,), **sampling))]
    )
    assert (stopped.completions[0].finish_reason, stopped.completions[0].text) == ("stop", expected)


@pytest.mark.slow
def test_context_overflow_is_a_clear_error(served):
    with pytest.raises(GenerationError, match=r"request long: .*HTTP 400") as err:
        served.generate([GenerationRequest("long", text="1 + " * MAX_MODEL_LEN)])
    assert "context" in str(err.value).lower()


@pytest.mark.slow
def test_generate_inside_a_running_event_loop(served):
    async def inside():
        return served.generate([ask(max_tokens=4, seed=2)])

    [result] = asyncio.run(inside())
    assert result.request_id == "q" and len(result.completions) == 1


# -- scripted servers: failures and fallbacks ----------------------------------------------------


def test_a_vllm_server_is_recognised_and_asked_for_token_ids(scripted_server):
    scripted_server.get_replies["/v1/models"] = Reply(body={"data": [{"id": "m", "owned_by": "vllm"}]})
    scripted_server.get_replies["/version"] = Reply(body={"version": "9.9.9"})
    backend = OpenAIBackend("m", scripted_server.base_url, **FAST)
    backend.generate([ask(n=2)])
    assert backend.info().engine_version == "vllm 9.9.9"
    assert scripted_server.posts()[0].body["return_token_ids"] is True


def test_a_generic_server_gets_only_openai_fields(scripted_server):
    backend = OpenAIBackend("m", scripted_server.base_url, **FAST)
    backend.generate([ask(n=2, seed=3, stop=("\n",), logprobs=2)])
    assert backend.info().engine_version is None
    body = scripted_server.posts()[0].body
    assert set(body) == {
        "model",
        "messages",
        "n",
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "logprobs",
        "top_logprobs",
    }
    assert (body["n"], body["seed"], body["stop"], body["logprobs"], body["top_logprobs"]) == (2, 3, ["\n"], True, 2)


def test_server_down_is_a_clear_error_after_retries(dead_url):
    backend = OpenAIBackend("m", dead_url, max_retries=2, **FAST)
    with pytest.raises(GenerationError, match=r"request q: .* failed after 3 attempts: cannot connect"):
        backend.generate([ask()])


def test_500s_are_retried_until_success(scripted_server):
    scripted_server.queue = [Reply(500, {"error": {"message": "boom"}}), Reply(503, "busy")]
    [result] = OpenAIBackend("m", scripted_server.base_url, max_retries=3, **FAST).generate([ask()])
    assert len(scripted_server.posts()) == 3
    assert result.completions[0].text == "sample 0 seed None"


def test_500s_beyond_the_retries_fail_with_the_server_message(scripted_server):
    scripted_server.respond = lambda seen: Reply(500, {"error": {"message": "kaboom"}})
    with pytest.raises(GenerationError, match="failed after 2 attempts: HTTP 500: kaboom"):
        OpenAIBackend("m", scripted_server.base_url, max_retries=1, **FAST).generate([ask()])
    assert len(scripted_server.posts()) == 2


def test_429_waits_for_retry_after(scripted_server):
    scripted_server.queue = [Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"})]
    OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask()])
    first, second = scripted_server.posts()
    assert second.at - first.at >= 0.9  # backoff alone would be <= 0.05 s


def test_slow_answers_time_out_and_are_retried(scripted_server):
    scripted_server.queue = [Reply(delay=2.0, body=chat_body({"n": 1}, ["late"]))]
    [result] = OpenAIBackend("m", scripted_server.base_url, timeout=0.5, **FAST).generate([ask()])
    assert result.completions[0].text == "sample 0 seed None"
    assert len(scripted_server.posts()) == 2


def test_a_server_that_stays_slow_is_a_clear_error(scripted_server):
    scripted_server.respond = lambda seen: Reply(delay=2.0, body=chat_body(seen.body))
    with pytest.raises(GenerationError, match=r"failed after 2 attempts: no answer within 0.3s"):
        OpenAIBackend("m", scripted_server.base_url, timeout=0.3, max_retries=1, **FAST).generate([ask()])


def test_malformed_json_is_retried_then_a_clear_error(scripted_server):
    scripted_server.respond = lambda seen: Reply(200, b'{"choices": [{"mess')
    with pytest.raises(GenerationError, match="malformed JSON"):
        OpenAIBackend("m", scripted_server.base_url, max_retries=2, **FAST).generate([ask()])
    assert len(scripted_server.posts()) == 3


def test_json_that_is_not_a_completion_fails_at_once(scripted_server):
    scripted_server.respond = lambda seen: Reply(200, {"object": "list", "data": []})
    with pytest.raises(GenerationError, match="not a completion"):
        OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask()])
    assert len(scripted_server.posts()) == 1


def test_one_failed_request_fails_the_batch_no_rows_lost(scripted_server):
    def respond(seen):
        if seen.body["messages"][0]["content"] == "bad":
            return Reply(400, {"error": {"message": "nope"}})
        return Reply(body=chat_body(seen.body))

    scripted_server.respond = respond
    batch = [ask(request_id=f"ok{i}") for i in range(5)] + [ask([{"role": "user", "content": "bad"}], "bad")]
    with pytest.raises(GenerationError, match="request bad: .*HTTP 400: nope"):
        OpenAIBackend("m", scripted_server.base_url, **FAST).generate(batch)


def test_falls_back_to_one_request_per_sample_when_n_is_refused(scripted_server):
    def respond(seen):
        if seen.body["n"] > 1:
            return Reply(400, {"error": {"message": "n must be 1"}})
        return Reply(body=chat_body(seen.body))

    scripted_server.respond = respond
    backend = OpenAIBackend("m", scripted_server.base_url, **FAST)
    [result] = backend.generate([ask(n=3, seed=40)])
    assert [c.text for c in result.completions] == ["sample 0 seed 40", "sample 0 seed 41", "sample 0 seed 42"]
    assert backend.n_supported is False
    before = len(scripted_server.posts())
    backend.generate([ask(n=2, seed=1)])
    later = scripted_server.posts()[before:]
    assert [s.body["n"] for s in later] == [1, 1]  # no second refusal
    assert sorted(s.body["seed"] for s in later) == [1, 2]


def test_fills_up_when_the_server_returns_fewer_choices(scripted_server):
    scripted_server.respond = lambda seen: Reply(body=chat_body({**seen.body, "n": 1}))
    [result] = OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask(n=3, seed=7)])
    assert [c.text for c in result.completions] == ["sample 0 seed 7", "sample 0 seed 8", "sample 0 seed 9"]


def test_extra_choices_beyond_n_are_dropped(scripted_server):
    scripted_server.respond = lambda seen: Reply(body=chat_body({**seen.body, "n": seen.body["n"] + 2}))
    [result] = OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask(n=2, seed=4)])
    assert [c.text for c in result.completions] == ["sample 0 seed 4", "sample 1 seed 4"]


def test_use_n_false_sends_one_request_per_sample(scripted_server):
    OpenAIBackend("m", scripted_server.base_url, use_n=False, **FAST).generate([ask(n=4)])
    assert [s.body["n"] for s in scripted_server.posts()] == [1, 1, 1, 1]


def test_a_real_bad_request_with_n_is_not_mistaken_for_refused_n(scripted_server):
    scripted_server.respond = lambda seen: Reply(400, {"error": {"message": "maximum context length is 8"}})
    backend = OpenAIBackend("m", scripted_server.base_url, **FAST)
    with pytest.raises(GenerationError, match="maximum context length is 8"):
        backend.generate([ask(n=3)])
    assert len(scripted_server.posts()) == 2  # the n=3 request and one n=1 probe, then stop


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reads_separate_reasoning(scripted_server, field):
    scripted_server.respond = lambda seen: Reply(
        body=chat_body(seen.body, ["42"], reasoning_field=field, reasoning="6*7=42")
    )
    [result] = OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask()])
    assert (result.completions[0].text, result.completions[0].reasoning) == ("42", "6*7=42")


def test_usage_total_is_kept_when_the_server_gives_no_per_sample_counts(scripted_server):
    scripted_server.respond = lambda seen: Reply(body=chat_body(seen.body, ["a", "bbb", "cc"], tokens_each=5))
    [result] = OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask(n=3)])
    counts = [c.completion_tokens for c in result.completions]
    assert sum(counts) == 15 and counts[1] == max(counts)


def test_concurrency_is_bounded(scripted_server):
    scripted_server.respond = lambda seen: Reply(delay=0.2, body=chat_body(seen.body))
    results = OpenAIBackend("m", scripted_server.base_url, max_concurrency=3, **FAST).generate(
        [ask(request_id=str(i)) for i in range(10)]
    )
    assert [r.request_id for r in results] == [str(i) for i in range(10)]
    assert scripted_server.max_in_flight == 3


def test_samples_split_off_after_a_refused_n_fill_every_worker(scripted_server):
    def respond(seen):
        if seen.body["n"] > 1:
            return Reply(400, {"error": {"message": "n must be 1"}})
        return Reply(body=chat_body(seen.body), delay=0.2)

    scripted_server.respond = respond
    backend = OpenAIBackend("m", scripted_server.base_url, max_concurrency=3, **FAST)
    [result] = backend.generate([ask(n=7, seed=10)])
    assert [c.text for c in result.completions] == [f"sample 0 seed {10 + i}" for i in range(7)]
    assert scripted_server.max_in_flight == 3  # one request's samples run side by side, still bounded


def test_the_first_error_ends_the_batch_without_waiting_for_the_rest(scripted_server):
    def respond(seen):
        if seen.body["messages"][0]["content"] == "bad":
            return Reply(400, {"error": {"message": "nope"}})
        return Reply(body=chat_body(seen.body), delay=20.0)

    scripted_server.respond = respond
    batch = [ask(request_id=f"slow{i}") for i in range(3)] + [ask([{"role": "user", "content": "bad"}], "bad")]
    start = time.monotonic()
    with pytest.raises(GenerationError, match="request bad: .*HTTP 400: nope"):
        OpenAIBackend("m", scripted_server.base_url, max_concurrency=4, **FAST).generate(batch)
    assert time.monotonic() - start < 10.0  # the slow ones (20 s) were cancelled, not awaited


def test_bodies_are_json_even_where_orjson_gives_up(scripted_server):
    big = 2**70  # over 64 bits: orjson refuses it, the stdlib writes it
    backend = OpenAIBackend("m", scripted_server.base_url, extra_body={"tag": big, "note": "é"}, **FAST)
    backend.generate([ask(seed=1)])
    [seen] = scripted_server.posts()
    assert (seen.body["tag"], seen.body["note"], seen.body["seed"]) == (big, "é", 1)
    assert seen.headers["Content-Type"] == "application/json"


def test_generate_runs_on_uvloop_where_installed():
    uvloop = pytest.importorskip("uvloop")

    async def loop_type():
        return type(asyncio.get_running_loop())

    assert run_private(loop_type()) is uvloop.Loop


def test_an_empty_batch_needs_no_server():
    backend = OpenAIBackend("m", "http://127.0.0.1:1/v1", **FAST)
    assert backend.generate([]) == [] and asyncio.run(backend.agenerate([])) == []


def test_progress_bar_reports_tokens_per_second(scripted_server, capsys):
    OpenAIBackend("m", scripted_server.base_url, backoff_base=0.01).generate([ask(n=2)])
    assert "tok/s" in capsys.readouterr().err


def test_progress_bar_ends_on_every_sample_however_fast_they_come(scripted_server, capsys):
    OpenAIBackend("m", scripted_server.base_url, backoff_base=0.01).generate(
        [ask(request_id=str(i), n=2) for i in range(25)]
    )  # redraws are at most every 0.1 s
    assert "50/50" in capsys.readouterr().err.split("\r")[-1]


def test_api_key_is_sent_but_never_kept_logged_or_raised(scripted_server, monkeypatch, caplog, capsys):
    key = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("STARMILL_TEST_KEY", key)
    caplog.set_level(logging.DEBUG)
    scripted_server.queue = [Reply(500, {"error": {"message": "retry me"}})]
    backend = OpenAIBackend("m", scripted_server.base_url, api_key_env="STARMILL_TEST_KEY", backoff_base=0.01)
    results = backend.generate([ask(n=2, seed=1)])
    assert {s.headers["Authorization"] for s in scripted_server.posts()} == {f"Bearer {key}"}

    # a server that echoes the key back in its error
    scripted_server.respond = lambda seen: Reply(
        401, {"error": {"message": f"bad key {seen.headers['Authorization']}"}}
    )
    with pytest.raises(GenerationError, match=r"HTTP 401, authentication failed: bad key Bearer \*\*\*") as err:
        backend.generate([ask()])
    out = capsys.readouterr()
    exposed = [
        repr(results),
        repr(backend),
        repr(vars(backend)),
        repr(backend.info()),
        caplog.text,
        out.out,
        out.err,
        "".join(traceback.format_exception(err.value)),
        repr(err.value.args),
    ]
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert not [text for text in exposed if key in text]
    assert "retry me" in caplog.text  # the logs were captured, so the scan means something


def test_bad_settings_are_refused():
    with pytest.raises(GenerationError, match="max_concurrency"):
        OpenAIBackend("m", "http://127.0.0.1:1/v1", max_concurrency=0)
    with pytest.raises(GenerationError, match="base_url"):
        OpenAIBackend("m", "127.0.0.1:8000/v1")


def test_logprobs_keep_distinct_tokens_that_share_a_text(scripted_server):
    # vLLM sends "" with no bytes for partial UTF-8 tokens; the sampled one repeats a top entry
    sampled = {"token": "", "logprob": -1.5, "bytes": []}
    position = {
        **sampled,
        "top_logprobs": [
            sampled,
            {"token": "", "logprob": -0.5, "bytes": []},
            {"token": "7", "logprob": -2.0, "bytes": [55]},
        ],
    }

    def respond(seen):
        body = chat_body(seen.body, ["x"])
        body["choices"][0]["logprobs"] = {"content": [position]}
        return Reply(body=body)

    scripted_server.respond = respond
    [result] = OpenAIBackend("m", scripted_server.base_url, **FAST).generate([ask(logprobs=3)])
    assert result.completions[0].logprobs == [{"": -1.5, "#2": -0.5, "7": -2.0}]
    assert result.completions[0].completion_tokens == 1  # counted from the logprobs, not the usage total


def test_credentials_in_base_url_become_basic_auth_unless_a_key_is_set(scripted_server, monkeypatch, caplog):
    import base64

    secret = f"pw-{uuid.uuid4().hex}"
    url = scripted_server.base_url.replace("http://", f"http://user:{secret}@")
    monkeypatch.delenv("STARMILL_TEST_KEY", raising=False)
    backend = OpenAIBackend("m", url, api_key_env="STARMILL_TEST_KEY", **FAST)
    backend.generate([ask()])
    expected = "Basic " + base64.b64encode(f"user:{secret}".encode()).decode()
    assert {s.headers["Authorization"] for s in scripted_server.posts()} == {expected}
    assert secret not in backend.base_url and secret not in repr(vars(backend)) and secret not in caplog.text
    scripted_server.seen.clear()
    monkeypatch.setenv("STARMILL_TEST_KEY", "sk-key")  # aiohttp refuses URL auth next to a header: the key wins
    backend.generate([ask()])
    assert {s.headers["Authorization"] for s in scripted_server.posts()} == {"Bearer sk-key"}
