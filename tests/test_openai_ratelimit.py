"""Rate limits of a hosted teacher: rpm/tpm budgets, Retry-After and x-ratelimit-* headers, against a
local server that counts what it saw (the provider itself is unreachable here)."""

import asyncio

import pytest

from starmill.generators.base import GenerationRequest, SamplingParams, SettingsError
from starmill.generators.openai_backend import OpenAIBackend
from starmill.generators.ratelimit import RateLimit, parse_duration, request_tokens
from starmill.generators.registry import check_teacher
from tests.fixtures_engines import Reply, chat_body

FAST = dict(backoff_base=0.01, backoff_max=0.05, progress=False)


def ask(i: int, max_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest(
        f"q{i}",
        messages=[{"role": "user", "content": f"question {i}"}],
        sampling=SamplingParams(n=1, max_tokens=max_tokens, seed=i),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def most_in_any_window(times: list[float], width: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + width) for i, t in enumerate(times))


def test_every_prompt_answered_once_within_the_rpm_budget_through_429s(scripted_server):
    answered: dict[str, int] = {}

    def respond(seen):
        question = seen.body["messages"][0]["content"]
        answered[question] = answered.get(question, 0) + 1
        return Reply(body=chat_body(seen.body, [f"answer to {question}"]))

    scripted_server.queue = [Reply(429, {"error": {"message": "rate limited"}}, headers={"Retry-After": "0.2"})] * 3
    scripted_server.respond = respond
    rpm, window = 4, 0.5
    backend = OpenAIBackend(
        "m", scripted_server.base_url, max_concurrency=8, max_retries=10, rpm=rpm, rate_window=window, **FAST
    )
    results = backend.generate([ask(i) for i in range(12)])
    assert [r.completions[0].text for r in results] == [f"answer to question {i}" for i in range(12)]
    assert answered == {f"question {i}": 1 for i in range(12)}  # none lost, none answered twice
    posts = scripted_server.posts()
    assert len(posts) == 12 + 3  # the three 429s were retried, nothing more
    # counted by the server, with slack for transit: in half the window never more than the budget
    # (without the limit all 8 workers' first requests arrive together)
    assert most_in_any_window([p.at for p in posts], window / 2) <= rpm


def test_without_a_budget_the_same_requests_burst(scripted_server):
    """The check above can fail: the server does see bursts over the budget when none is set."""
    backend = OpenAIBackend("m", scripted_server.base_url, max_concurrency=8, **FAST)
    backend.generate([ask(i) for i in range(24)])  # more than enough for a burst on a busy machine
    assert most_in_any_window([p.at for p in scripted_server.posts()], 0.25) > 4


def test_rpm_waits_for_the_oldest_request_to_leave_the_window():
    clock = Clock()
    limit = RateLimit(rpm=2, window=60, clock=clock)
    asyncio.run(limit.acquire(1))
    clock.now += 10
    asyncio.run(limit.acquire(1))
    assert limit.wait(1) == pytest.approx(50)
    clock.now += 50
    assert limit.wait(1) == 0


def test_tpm_counts_max_tokens_then_the_usage_reported():
    clock = Clock()
    limit = RateLimit(tpm=100, window=60, clock=clock)
    first = asyncio.run(limit.acquire(60))
    assert limit.wait(60) == pytest.approx(60)  # 120 > 100 until the first leaves the window
    limit.settle(first, 15)  # the answer used less than max_tokens
    assert limit.wait(60) == 0
    assert RateLimit(tpm=100, clock=clock).wait(500) == 0  # one request over the budget still goes, alone


def test_server_counters_and_retry_after_pause_the_endpoint():
    clock = Clock()
    limit = RateLimit(clock=clock)
    limit.observe({"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "1s"})
    assert limit.wait(1) == 0
    limit.observe({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m30s"})
    assert limit.wait(1) == pytest.approx(90)
    limit.pause(120)
    assert limit.wait(1) == pytest.approx(120)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1s", 1),
        ("6m0s", 360),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("soon", None),
        ("", None),
        ("5x", None),
    ],
)
def test_reset_durations(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_the_backend_reads_the_servers_counters(scripted_server):
    scripted_server.respond = lambda seen: Reply(
        body=chat_body(seen.body), headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "7m"}
    )
    backend = OpenAIBackend("m", scripted_server.base_url, **FAST)
    backend.generate([ask(0)])
    assert backend.limits[0].wait(1) > 400  # paused until the server's reset


def test_tokens_counted_before_sending_include_every_samples_max_tokens():
    request = ask(0, max_tokens=100)
    assert request_tokens(request, 3) > 300


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rpm": 0}, "rpm must be a whole number >= 1, got 0"),
        ({"tpm": 1.5}, "tpm must be a whole number >= 1, got 1.5"),
    ],
)
def test_bad_budgets_are_refused(options, message):
    with pytest.raises(SettingsError, match=message):
        OpenAIBackend("m", "http://127.0.0.1:9/v1", **options)


def test_budgets_are_teacher_options():
    check_teacher(
        {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "options": {"rpm": 500, "tpm": 200000}}
    )


def test_a_429s_retry_after_pauses_every_request_to_that_server(scripted_server):
    from starmill.generators.base import GenerationError

    scripted_server.respond = lambda seen: Reply(
        429, {"error": {"message": "slow down"}}, headers={"Retry-After": "30"}
    )
    backend = OpenAIBackend("m", scripted_server.base_url, max_retries=0, **FAST)
    with pytest.raises(GenerationError, match="HTTP 429: slow down"):
        backend.generate([ask(0)])
    assert backend.limits[0].wait(1) > 20  # the next request to it, whichever, waits out the 30 s
