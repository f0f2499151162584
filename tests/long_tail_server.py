"""A long-tailed OpenAI-compatible server on 127.0.0.1, for the idle-engine tests and
bench/idle_engine.py. Each chat completion takes a time drawn from a lognormal (median ``median``
seconds, ``sigma`` 1.0: the slowest of 16 requests ~6x the median, p99 ~10x), fixed by the request's
seed so that every client sees the same lengths, and its answer is as long (``TOKENS_PER_SECOND``).
It records how many requests it has in flight at every change (``stats()``), so a test can see
whether the client ever let it idle while work remained.

    with LongTailServer(median=0.05) as server:   # its own process; server.url is the /v1 base URL
        ...
        timeline = server.stats()["timeline"]     # [(seconds, requests in flight), ...]
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import random
import socket
import time

TOKENS_PER_SECOND = 400  # how fast the simulated engine writes one answer
CAP = 20.0  # no request takes longer than CAP x the median


def delay_of(seed: int | None, median: float, sigma: float) -> float:
    """The seconds a request with ``seed`` takes: the same for every client."""
    return min(median * math.exp(random.Random(seed or 0).gauss(0.0, sigma)), CAP * median)


def _serve(port: int, median: float, sigma: float) -> None:
    from aiohttp import web

    state = {"in_flight": 0, "timeline": [], "served": 0, "seeds": []}
    start = time.monotonic()

    def mark(step: int) -> None:
        state["in_flight"] += step
        state["timeline"].append((time.monotonic() - start, state["in_flight"]))

    async def chat(request):
        body = json.loads(await request.read())
        seed, n = body.get("seed"), int(body.get("n") or 1)
        delay = delay_of(seed, median, sigma)
        mark(+1)
        try:
            await asyncio.sleep(delay)
        finally:
            mark(-1)
        state["served"] += 1
        state["seeds"].append(seed)
        tokens = max(int(delay * TOKENS_PER_SECOND), 1)
        text = "Let me think. " * (tokens // 4) + "The answer is 4."
        choices = [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"} for i in range(n)
        ]
        answer = {
            "id": "x",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": choices,
            "usage": {"prompt_tokens": 20, "completion_tokens": tokens * n, "total_tokens": 20 + tokens * n},
        }
        return web.Response(body=json.dumps(answer).encode(), content_type="application/json")

    async def models(request):
        return web.json_response({"data": [{"id": "m", "owned_by": "long-tail"}]})

    async def stats(request):
        return web.json_response({k: state[k] for k in ("timeline", "served", "seeds")})

    async def reset(request):
        state.update(timeline=[], served=0, seeds=[])
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", stats)
    app.router.add_post("/stats/reset", reset)
    # handler_cancellation: a request the client dropped stops counting as in flight, as in vLLM
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024, handler_cancellation=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LongTailServer:
    def __init__(self, median: float = 0.05, sigma: float = 1.0) -> None:
        self.median, self.sigma, self.port = median, sigma, free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(self.port, median, sigma), daemon=True
        )

    def __enter__(self) -> LongTailServer:
        import httpx

        self.process.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"the long-tail server did not answer at {self.url}")

    def __exit__(self, *exc) -> None:
        self.close()

    def stats(self) -> dict:
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=30).json()

    def drained(self, timeout: float = 5.0) -> bool:
        """Whether nothing is in flight, waiting up to ``timeout`` seconds for dropped requests to go."""
        deadline = time.time() + timeout
        while True:
            timeline = self.stats()["timeline"]
            if not timeline or timeline[-1][1] == 0:
                return True
            if time.time() > deadline:
                return False
            time.sleep(0.05)

    def reset(self) -> None:
        import httpx

        httpx.post(f"http://127.0.0.1:{self.port}/stats/reset", timeout=10)

    def close(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)


def busy(timeline: list, slots: int) -> dict:
    """How busy the server was while work remained (from its first request to the last one's
    arrival): ``utilisation`` (mean requests in flight / ``slots``) and ``longest_idle`` (the longest
    stretch, in seconds, with at most one request in flight)."""
    starts = [i for i in range(len(timeline)) if i == 0 or timeline[i][1] > timeline[i - 1][1]]
    if not starts:
        return {"utilisation": 0.0, "longest_idle": 0.0, "seconds": 0.0}
    first, last = timeline[0][0], timeline[starts[-1]][0]
    area, idle, longest = 0.0, None, 0.0
    for (t, count), (t_next, _) in zip(timeline, timeline[1:]):
        if t >= last:
            break
        span = min(t_next, last) - t
        area += count * span
        if count <= 1:
            idle = t if idle is None else idle
            longest = max(longest, min(t_next, last) - idle)
        else:
            idle = None
    seconds = last - first
    return {"utilisation": area / (slots * seconds) if seconds else 1.0, "longest_idle": longest, "seconds": seconds}
