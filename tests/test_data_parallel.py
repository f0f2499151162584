"""Data-parallel generation: one OpenAI backend over several servers (one per node), balanced by
requests in flight, a server that is down routed around."""

import time

import pytest

from starmill.generators import registry
from starmill.generators.base import GenerationError, GenerationRequest, SamplingParams
from starmill.generators.openai_backend import OpenAIBackend
from tests.fixtures_engines import Reply, ScriptedServer, chat_body

FAST = dict(backoff_base=0.01, backoff_max=0.05, progress=False)


def ask(i: int, n: int = 1) -> GenerationRequest:
    return GenerationRequest(
        f"q{i}", messages=[{"role": "user", "content": f"{i}+1?"}], sampling=SamplingParams(n=n, seed=i, max_tokens=8)
    )


@pytest.fixture
def two_servers():
    servers = [ScriptedServer(), ScriptedServer()]
    for server in servers:  # slow enough that requests overlap
        server.respond = lambda seen: Reply(body=chat_body(seen.body), delay=0.05)
    yield servers
    for server in servers:
        server.close()


def test_requests_spread_over_every_server(two_servers):
    a, b = two_servers
    backend = OpenAIBackend("m", [a.base_url, b.base_url], max_concurrency=4, **FAST)
    results = backend.generate([ask(i) for i in range(16)])
    assert [r.request_id for r in results] == [f"q{i}" for i in range(16)]
    assert len(a.posts()) + len(b.posts()) == 16
    assert len(a.posts()) >= 6 and len(b.posts()) >= 6  # least in flight: close to half each
    assert a.max_in_flight + b.max_in_flight <= 4  # max_concurrency is for the backend, not per server


def test_a_dead_server_is_routed_around(two_servers, dead_url):
    live = two_servers[0]
    backend = OpenAIBackend("m", [dead_url, live.base_url], max_concurrency=4, max_retries=2, **FAST)
    start = time.monotonic()
    results = backend.generate([ask(i) for i in range(12)])
    assert all(len(r.completions) == 1 for r in results) and len(live.posts()) == 12
    assert time.monotonic() - start < 5  # retried on the live one at once, no backoff
    backend.generate([ask(i) for i in range(12, 16)])  # the dead one is set aside: straight to the live one
    assert len(live.posts()) == 16


def test_a_server_answering_503_hands_its_requests_to_the_other(two_servers):
    sick, well = two_servers
    sick.respond = lambda seen: Reply(503, {"error": {"message": "overloaded"}})
    results = OpenAIBackend("m", base_urls=[sick.base_url, well.base_url], max_retries=1, **FAST).generate(
        [ask(i, n=2) for i in range(6)]
    )
    assert sum(len(r.completions) for r in results) == 12 and len(well.posts()) == 6


def test_every_server_down_is_still_an_error(dead_url):
    from tests.fixtures_engines import free_port

    other = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(GenerationError, match="failed after 3 attempts"):
        OpenAIBackend("m", [dead_url, other], max_retries=2, **FAST).generate([ask(0)])


def test_teacher_options_base_urls_reach_the_backend(two_servers, monkeypatch):
    a, b = two_servers
    teacher = {
        "backend": "openai",
        "model": "m",
        "base_url": None,
        "options": {
            "base_urls": [a.base_url, "http://user:s3cret@" + b.base_url.removeprefix("http://")],
            "progress": False,
        },
    }
    backend = registry.backend_for(teacher)
    try:
        assert backend.base_urls == [a.base_url, b.base_url] and "s3cret" not in repr(backend)
        backend.generate([ask(i) for i in range(8)])
        assert a.posts() and b.posts()
        assert all("Authorization" not in s.headers for s in a.posts())  # each server gets its own credentials
        assert all(s.headers["Authorization"].startswith("Basic ") for s in b.posts())
    finally:
        registry.release(teacher)


def test_no_base_url_at_all_is_a_settings_error():
    from starmill.generators.base import SettingsError

    with pytest.raises(SettingsError, match="needs base_url"):
        OpenAIBackend("m", None)


# -- one engine per worker process -------------------------------------------------------------


@pytest.mark.slow
def test_two_dask_workers_load_one_engine_each_under_the_limit(prefect_server, tmp_path):
    """runner.kind dask with 2 worker processes: each loads its own demo teacher (transformers) and
    generates its shards, occupying a slot of the global limit (2: both engines at once)."""
    import datetime

    import httpx

    from tests.test_schedule_and_scale import env_for, run_cli, tiny_config
    from tests.test_work_pool import client_env, prefect

    prefect(["gcl", "create", "engines", "--limit", "2"], client_env(prefect_server, tmp_path))
    since = datetime.datetime.now(datetime.UTC).isoformat()
    summary = run_cli(
        ["run", str(tiny_config(tmp_path, kind="dask", max_workers=2, concurrency_limit="engines")), "--json"],
        {
            **env_for(prefect_server, tmp_path / "wh"),
            "PREFECT_LOGGING_EXTRA_LOGGERS": "starmill.generators",
            "PREFECT_LOGGING_ROOT_LEVEL": "INFO",
            "DASK_TEMPORARY_DIRECTORY": str(tmp_path / "dask-tmp"),
        },
    )
    assert summary["counts"]["generated.rationale"] == 12
    logs = httpx.post(
        f"{prefect_server}/logs/filter", json={"logs": {"timestamp": {"after_": since}}, "limit": 200}, timeout=10
    ).json()
    loaded = [entry for entry in logs if entry["message"].startswith("teacher engine transformers")]
    pids = {entry["message"].split(" in process ")[1].split()[0] for entry in loaded}
    assert len(pids) == 2 and all(entry["task_run_id"] for entry in loaded), [e["message"] for e in loaded]
