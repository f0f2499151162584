"""Teacher generation through an OpenAI-compatible server: `vllm serve`, SGLang, or a hosted API.

Messages go to ``/chat/completions``, text to ``/completions``. Requests run concurrently: a fixed pool
of ``max_concurrency`` workers on one aiohttp session, bodies in and out through orjson, on uvloop's
event loop where it is installed (together as fast as a raw aiohttp client, bench/openai_client.py).
The pool, its session and its event loop (a thread of their own) are the backend's, shared by every
``generate`` call: shards generating side by side fill one in-flight window, so the server never
waits at a shard boundary for the slowest request (bench/idle_engine.py).
429, 5xx, timeouts, dropped connections and unparseable bodies are retried with exponential backoff
and jitter, honouring ``Retry-After``; a request waiting for its retry keeps its worker. Each server has a
``RateLimit`` (``generators.ratelimit``): ``rpm``/``tpm`` budgets, and a pause while its
``x-ratelimit-remaining-*`` headers say a budget is spent or a 429's ``Retry-After`` runs. Given several
base URLs (one server per node: data-parallel generation), each request goes to the server with the
fewest requests in flight; a server that fails to answer is set aside for a while and its requests
retried on the others at once.

Failure policy: when a request still fails after its retries, or the server answers something that
is not a completion, ``generate`` cancels the rest of the batch and raises ``GenerationError``. A
batch never comes back with rows missing or quietly marked as failed; callers retry the batch.

The API key is read from the environment at each call and sent only as the Authorization header; it
is kept out of ``EngineInfo``, results, logs and error messages (server text is redacted), and
errors are raised outside any ``except`` block so no chained HTTP exception carries the headers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import email.utils
import inspect
import json
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import aiohttp
import httpx  # only for the one-off synchronous probe
import orjson
import yarl
from tqdm.auto import tqdm

try:
    import uvloop
except ImportError:  # not built for Windows: asyncio's own loop
    uvloop = None

from starmill.generators import stopping
from starmill.generators.base import (
    Completion,
    EngineInfo,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    RequestRefused,
    SettingsError,
)
from starmill.generators.ratelimit import RateLimit, request_tokens

log = logging.getLogger(__name__)
T = TypeVar("T")
_ENGINE_LOCK = threading.Lock()  # one event-loop thread per backend, made once

RETRY_STATUS = frozenset({408, 409, 425, 429})  # plus every 5xx
N_REJECTED_STATUS = frozenset({400, 422})  # how servers refuse n > 1
REQUEST_REFUSED_STATUS = frozenset({400, 413, 422})  # a refusal of the request itself (e.g. over the context)
RETRY_AFTER_MAX = 600.0  # seconds: a longer Retry-After is taken as this
PROBE_TIMEOUT = 5.0  # seconds for each GET that identifies a vLLM server
SET_ASIDE_SECONDS = 10.0  # a server that failed is skipped this long while another one is up


class OpenAIBackend:
    """The ``Backend`` over an OpenAI-compatible HTTP API at ``base_url`` (e.g. ``http://host:8000/v1``)."""

    concurrent_calls = True  # generate calls from many threads share one window (no lock per engine)

    @classmethod
    def in_flight(cls, options: dict[str, Any], shard_size: int, n: int) -> tuple[int, int]:
        """(requests the backend keeps in flight, requests one shard sends), from its options, nothing
        loaded: ``max_concurrency`` per server; a problem is one request with ``n`` choices, or ``n``
        requests with ``use_n: false``."""
        defaults = inspect.signature(cls).parameters
        slots = int(options.get("max_concurrency", defaults["max_concurrency"].default))
        servers = max(len(options.get("base_urls") or ()), 1)
        use_n = options.get("use_n", defaults["use_n"].default)
        return slots * servers, shard_size * (1 if use_n else n)

    def __init__(
        self,
        model: str,
        base_url: str | Sequence[str] | None = None,
        *,
        base_urls: Sequence[str] | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        timeout: float = 60.0,
        max_retries: int = 5,
        use_n: bool = True,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        revision: str | None = None,
        progress: bool = True,
        extra_body: dict[str, Any] | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        if max_concurrency < 1:
            raise SettingsError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if timeout <= 0:
            raise SettingsError(f"timeout must be > 0 seconds, got {timeout}")
        if max_retries < 0:
            raise SettingsError(f"max_retries must be >= 0, got {max_retries}")
        urls = [base_url] if isinstance(base_url, str) else list(base_url or ())
        urls += [u for u in base_urls or () if u not in urls]
        if not urls:
            raise SettingsError("the openai backend needs base_url (or options.base_urls: a list of servers)")
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise SettingsError(f"base_url must start with http:// or https://, got {url!r}")
        self.model = model
        split = [split_credentials(u.rstrip("/")) for u in urls]
        self.base_urls = [u for u, _ in split]  # without credentials: these reach messages and lineage
        self._basic_auths = [auth for _, auth in split]
        self.base_url, self._basic_auth = split[0]
        self._set_aside: dict[int, float] = {}  # server index -> monotonic time it may be used again
        # per server: a budget is per endpoint (rate_window: the provider's minute; shorter in tests)
        self.limits = [RateLimit(rpm, tpm, window=rate_window) for _ in self.base_urls]
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.revision = revision
        self.progress = progress
        self.extra_body = dict(extra_body or {})
        self.n_supported: bool | None = None if use_n else False  # None: not known yet
        self._server_version: str | None = None  # "vllm 0.32.0" for a vLLM server
        self.served_model: str | None = None  # the model name the server reports in its answers
        self._probed = False

    def __repr__(self) -> str:
        urls = self.base_url if len(self.base_urls) == 1 else self.base_urls
        return f"OpenAIBackend(model={self.model!r}, base_url={urls!r})"

    # -- Backend -----------------------------------------------------------------------------

    def info(self) -> EngineInfo:
        self._probe()
        return EngineInfo(
            engine="openai",
            engine_version=self._server_version,
            model=self.model,
            model_revision=self.revision or self.served_model,
            dtype=None,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Sync, and safe from several threads at once: every call's requests join one queue served
        by at most ``max_concurrency`` requests in flight, on the backend's own event-loop thread, so
        one shard's requests start as soon as another's free a slot instead of after its slowest."""
        if not requests:
            return []
        info = self.info()
        future = self._engine().submit(requests, info)
        try:
            return future.result()
        finally:
            future.cancel()  # Ctrl-C in this thread: the call's requests stop too (a no-op once done)

    def close(self) -> None:
        """Stop the event-loop thread and its connection pool (a later ``generate`` starts them again)."""
        engine, self._shared = getattr(self, "_shared", None), None
        if engine is not None:
            engine.close()

    def _engine(self) -> _Engine:
        with _ENGINE_LOCK:
            engine = getattr(self, "_shared", None)
            if engine is None or engine.pid != os.getpid():  # a forked worker starts its own
                engine = self._shared = _Engine(self)
            return engine

    # -- async core ----------------------------------------------------------------------------

    async def agenerate(
        self, requests: Sequence[GenerationRequest], info: EngineInfo | None = None
    ) -> list[GenerationResult]:
        """On the caller's event loop, with a connection pool of this call's own."""
        info = info or EngineInfo("openai", self._server_version, self.model, self.revision, None)
        pool = _Pool(self, new_session(self))
        try:
            return await pool.generate(requests, info)
        finally:
            await pool.close()

    def _probe(self) -> None:
        """Once: is this vLLM? Its ``/v1/models`` entries are ``owned_by: vllm``; then ``/version``
        names the engine, and requests may ask for per-sample token ids. Anything else is a generic
        server. A server that is down is probed again on the next call."""
        if self._probed:
            return
        key = os.environ.get(self.api_key_env)
        timeout = min(PROBE_TIMEOUT, self.timeout)
        for i, base in enumerate(self.base_urls):  # the first server that answers speaks for all
            try:
                models = httpx.get(f"{base}/models", headers=self._auth_headers(key, i), timeout=timeout)
                owners = (
                    {m.get("owned_by") for m in models.json().get("data", [])} if models.status_code == 200 else set()
                )
                version = None
                if "vllm" in owners:
                    answer = httpx.get(f"{base.removesuffix('/v1')}/version", timeout=timeout)
                    version = answer.json().get("version") if answer.status_code == 200 else None
            except httpx.HTTPError:
                continue
            except (ValueError, AttributeError, TypeError):  # not JSON, or not the shape we know
                version, owners = None, set()
            break
        else:
            return
        self._probed = True
        if "vllm" in owners:
            self._server_version = f"vllm {version}" if isinstance(version, str) else "vllm"

    def _auth_headers(self, key: str | None, server: int = 0) -> dict[str, str]:
        """The API key as a bearer token; without one, credentials the server's base_url carried (basic auth)."""
        if key:
            return {"Authorization": f"Bearer {key}"}
        auth = self._basic_auths[server]
        return {"Authorization": auth.value} if auth else {}

    def _pick(self, in_flight: list[int], avoid: int | None) -> int:
        """The server for the next attempt: fewest in flight among those not set aside (and not the one
        that just failed, when there is another); all set aside, the least loaded of all."""
        now = time.monotonic()
        every = range(len(self.base_urls))
        up = [i for i in every if self._set_aside.get(i, 0.0) <= now]
        choices = [i for i in up if i != avoid] or up or [i for i in every if i != avoid] or list(every)
        return min(choices, key=lambda i: in_flight[i])

    def _another_up(self, failed: int) -> bool:
        now = time.monotonic()
        return any(i != failed and self._set_aside.get(i, 0.0) <= now for i in range(len(self.base_urls)))

    @property
    def is_vllm(self) -> bool:
        return bool(self._server_version and self._server_version.startswith("vllm"))

    def redact(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        return text.replace(key, "***") if key else text


def run_private(work: Coroutine[Any, Any, T]) -> T:
    """``work`` on an event loop of its own: uvloop's where installed, which spends ~10 us less per
    request than asyncio's (bench/openai_client.py)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop if uvloop else None) as runner:
        return runner.run(work)


def new_session(b: OpenAIBackend) -> aiohttp.ClientSession:
    """One connection pool for the backend's servers (made on the loop that will use it)."""
    # aiohttp, not httpx: at 16-256 requests in flight httpx's pool was 10-50x slower than a raw
    # aiohttp client against the same server (bench/openai_client.py)
    several = len(b.base_urls) > 1
    connector = aiohttp.TCPConnector(
        limit=b.max_concurrency * len(b.base_urls), limit_per_host=b.max_concurrency if several else 0
    )
    # aiohttp's own timer, not asyncio.timeout: the latter costs three getpid() syscalls a request
    # (asyncio.get_running_loop on Python 3.11); both cover connecting, sending and reading the body
    return aiohttp.ClientSession(
        headers={"Content-Type": "application/json"},  # bodies go as bytes
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=b.timeout),
    )


class _Engine:
    """The backend's event loop, in a daemon thread of its own, and the one ``_Pool`` that every
    ``generate`` call of the process shares."""

    def __init__(self, backend: OpenAIBackend) -> None:
        self.b, self.pid, self.pool = backend, os.getpid(), None
        self.loop = uvloop.new_event_loop() if uvloop else asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="starmill-openai", daemon=True)
        self.thread.start()
        atexit.register(self.close)  # its connections closed before the interpreter goes

    def submit(self, requests: Sequence[GenerationRequest], info: EngineInfo) -> Future[list[GenerationResult]]:
        return asyncio.run_coroutine_threadsafe(self._generate(requests, info), self.loop)

    async def _generate(self, requests: Sequence[GenerationRequest], info: EngineInfo) -> list[GenerationResult]:
        if self.pool is None:  # aiohttp makes its session inside the loop that runs it
            self.pool = _Pool(self.b, new_session(self.b))
        return await self.pool.generate(requests, info)

    def close(self) -> None:
        atexit.unregister(self.close)
        if self.loop.is_closed() or os.getpid() != self.pid:
            return
        if self.pool is not None and self.thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.pool.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class _Pool:
    """One in-flight window shared by calls: at most ``max_concurrency`` workers take jobs from one
    queue that every call's requests join, as a fast raw client does (no task or semaphore per
    request). A job is a whole request (its ``n`` samples in one POST) or one sample of it, once the
    server is known to refuse ``n``. A call that fails or is cancelled drops its queued jobs and
    cancels its running ones; the other calls go on."""

    def __init__(self, backend: OpenAIBackend, client: aiohttp.ClientSession) -> None:
        self.b, self.client = backend, client
        self.jobs: deque[tuple[_Call, int, int, int]] = deque()
        self.workers: dict[asyncio.Task, _Call | None] = {}  # worker -> the call whose job it runs
        self.in_flight = [0] * len(backend.base_urls)  # per server, for least-outstanding balancing
        self.urls = {
            path: [yarl.URL(f"{base}/{path}") for base in backend.base_urls]  # parsed once, not per POST
            for path in ("chat/completions", "completions")
        }
        self.calls = 0  # in progress: one progress bar spans a stretch of calls
        self.meter: _Meter | None = None
        self.closing = False

    async def generate(self, requests: Sequence[GenerationRequest], info: EngineInfo) -> list[GenerationResult]:
        key = os.environ.get(self.b.api_key_env)  # read at each call
        headers = [self.b._auth_headers(key, i) or None for i in range(len(self.b.base_urls))]
        if self.meter is None:
            self.meter = _Meter(0, self.b.progress, self.b.model)
        self.calls += 1
        try:
            samples = await stopping.unless_stopped(_Call(self, requests, headers).run())  # a stop drops the call
        finally:
            self.calls -= 1
            if not self.calls:
                self.meter.close()
                self.meter = None
        return [
            GenerationResult(request_id=r.request_id, completions=c, engine=info) for r, c in zip(requests, samples)
        ]

    def queue(self, jobs: list[tuple[_Call, int, int, int]], front: bool = False) -> None:
        if front:
            self.jobs.extendleft(reversed(jobs))
        else:
            self.jobs.extend(jobs)
        for _ in range(min(self.b.max_concurrency - len(self.workers), len(self.jobs))):
            self.workers[asyncio.create_task(self._work())] = None

    async def _work(self) -> None:
        me = asyncio.current_task()
        try:
            while self.jobs:
                call, index, first, count = self.jobs.popleft()
                if call.finished.done():  # a failed or cancelled call: its jobs are dropped
                    continue
                self.workers[me] = call
                try:
                    await call._job(index, first, count)
                except Exception as exc:  # the call fails with its first error; the pool goes on
                    call.ended(exc)
                else:
                    call.ended()
                self.workers[me] = None
        finally:
            del self.workers[me]
            if self.jobs and not self.closing:  # a worker cancelled with its call: another takes its place
                self.queue([])

    def drop(self, call: _Call) -> None:
        """Cancel the workers running ``call``'s jobs (its queued jobs are skipped as they come up)."""
        for worker, running in list(self.workers.items()):
            if running is call:
                worker.cancel()

    async def close(self) -> None:
        self.closing = True
        workers = list(self.workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await self.client.close()


class _Call:
    """One ``generate`` call's requests on the pool, and their samples as they come back."""

    def __init__(self, pool: _Pool, requests: Sequence[GenerationRequest], headers: list[dict | None]) -> None:
        self.pool, self.b, self.requests, self.headers = pool, pool.b, requests, headers
        self.client, self.in_flight, self.urls = pool.client, pool.in_flight, pool.urls
        self.several = len(self.b.base_urls) > 1
        self.samples: list[list[Any]] = [[None] * r.sampling.n for r in requests]
        self.pending = 0  # jobs queued or running
        # done when the last job ends, or failed with the first error (made on the running loop)
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(self) -> list[list[Completion]]:
        """Every request's samples, in order; the first error cancels the call's other jobs and is raised."""
        if not self.requests:
            return []
        if self.pool.meter is not None:
            self.pool.meter.grow(sum(r.sampling.n for r in self.requests))
        self.pending = len(self.requests)
        self.pool.queue([(self, i, 0, r.sampling.n) for i, r in enumerate(self.requests)])
        try:
            await self.finished  # cancelled (a stop), the future is cancelled too: the jobs left are skipped
        finally:
            self.pool.drop(self)
        missing = [r.request_id for r, s in zip(self.requests, self.samples) if any(c is None for c in s)]
        if missing:  # cannot happen unless a job was lost: never hand back a short batch
            raise GenerationError(f"requests {missing[:5]} came back without all their samples")
        return self.samples

    def ended(self, exc: Exception | None = None) -> None:
        self.pending -= 1
        if self.finished.done():
            return
        if exc is not None:
            self.finished.set_exception(exc)
        elif not self.pending:
            self.finished.set_result(None)

    def _split(self, index: int, first: int, count: int) -> None:
        """Samples ``first .. first+count-1`` of a request as one job each, ahead of the queue."""
        self.pending += count
        self.pool.queue([(self, index, i, 1) for i in range(first, first + count)], front=True)

    def _keep(self, index: int, first: int, completions: list[Completion]) -> None:
        self.samples[index][first : first + len(completions)] = completions
        if self.pool.meter is not None:
            self.pool.meter.add(completions)

    async def _job(self, index: int, first: int, count: int) -> None:
        request = self.requests[index]
        seed = request.sampling.seed
        if count > 1 and self.b.n_supported is False:
            self._split(index, first + 1, count - 1)
            count = 1
        if count == 1:  # sample i of a request gets seed + i
            _, body = await self.post(request, n=1, seed=None if seed is None else seed + first)
            self._keep(index, first, parse_response(request, body)[:1])
            return
        status, body = await self.post(request, n=count, seed=seed, allow_n_reject=True)
        if status in N_REJECTED_STATUS:
            # Either n > 1 is refused or the request is bad: the first sample alone tells which.
            _, body = await self.post(request, n=1, seed=seed)
            self._keep(index, 0, parse_response(request, body)[:1])
            if self.b.n_supported is not False:
                log.info("%s refused n=%d; sending one request per sample", self.b.base_url, count)
            self.b.n_supported = False
            self._split(index, 1, count - 1)
            return
        completions = parse_response(request, body)[:count]
        self._keep(index, 0, completions)
        if len(completions) < count:  # the server ignored n
            self.b.n_supported = False
            self._split(index, len(completions), count - len(completions))
        else:
            self.b.n_supported = True

    async def post(
        self, request: GenerationRequest, *, n: int, seed: int | None, allow_n_reject: bool = False
    ) -> tuple[int, Any]:
        """POST with retries; returns (status, parsed JSON). Raises ``GenerationError`` when it gives up.
        A request waiting for its retry keeps its worker: back-pressure on a server that is struggling."""
        b, several = self.b, self.several
        urls = self.urls["chat/completions" if request.messages is not None else "completions"]
        data = encode_json(build_payload(b, request, n=n, seed=seed))  # once, for every attempt
        tokens = request_tokens(request, n)  # what a tokens-per-minute budget counts for it
        problem = ""
        server: int | None = None
        for attempt in range(b.max_retries + 1):
            retry_after: float | None = None
            fatal: str | None = None
            server = b._pick(self.in_flight, avoid=server) if several else 0
            url = urls[server]
            headers = self.headers[server]
            limit = b.limits[server]
            sent = await limit.acquire(tokens)
            self.in_flight[server] += 1
            try:
                async with self.client.post(url, data=data, headers=headers) as response:  # the session's timeout
                    raw = await response.read()
                    status = response.status
                    limit.observe(response.headers)
                    retry_header = response.headers.get("retry-after") if status != 200 else None
            except TimeoutError:  # asyncio's and aiohttp's timeouts are both TimeoutError
                problem = f"no answer within {b.timeout:g}s"
            except aiohttp.ClientConnectorError as exc:
                problem = f"cannot connect: {exc}"
            except aiohttp.ClientError as exc:
                problem = f"{type(exc).__name__}: {str(exc) or 'connection failed'}"
            else:
                if status in N_REJECTED_STATUS and allow_n_reject:
                    return status, None
                if status == 200:
                    try:
                        body = orjson.loads(raw)
                        limit.settle(sent, used_tokens(body))
                        if isinstance(body, dict) and isinstance(body.get("model"), str):
                            self.b.served_model = body["model"]  # what answered, as the server names it
                        return status, body
                    except ValueError:
                        problem = f"malformed JSON in the answer: {raw[:200]!r}"
                elif status in RETRY_STATUS or status >= 500:
                    problem = f"HTTP {status}: {server_message(raw)}"
                    retry_after = parse_retry_after(retry_header)
                    if retry_after is not None:  # the server's wait holds for every request to it
                        limit.pause(retry_after)
                else:
                    fatal = describe_refusal(b, status, raw)
            finally:
                self.in_flight[server] -= 1
            if fatal is not None:
                message = b.redact(f"request {request.request_id}: {url}: {fatal}")
                if status in REQUEST_REFUSED_STATUS:  # this request's fault (too long, bad content), not the server's
                    raise RequestRefused(message, request_id=request.request_id, reason="refused")
                raise SettingsError(message)  # 401, 403, 404: the same request fails the same way
            if attempt == b.max_retries:
                break
            # jitter on a Retry-After too, so that the waiting workers do not all come back at once
            delay = (
                retry_after + random.uniform(0, min(1.0, retry_after / 10))
                if retry_after is not None
                else backoff(b, attempt)
            )
            if several:
                b._set_aside[server] = time.monotonic() + max(SET_ASIDE_SECONDS, retry_after or 0.0)
                if b._another_up(server):
                    delay = 0.0  # another server takes it now; this one is set aside
            log.warning(
                "request %s: %s; retry %d/%d in %.2fs",
                request.request_id,
                b.redact(problem),
                attempt + 1,
                b.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
        raise GenerationError(
            b.redact(f"request {request.request_id}: {url} failed after {b.max_retries + 1} attempts: {problem}")
        )


class Hidden:
    """A credential that never shows in a repr, vars() dump or log line."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Hidden(***)"


def split_credentials(url: str) -> tuple[str, Hidden | None]:
    """``http://user:key@host/v1`` -> (``http://host/v1``, a basic-auth header value); the URL kept
    on the backend (and so in messages and lineage) never holds the credentials."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urlunsplit(parts._replace(netloc=netloc)), Hidden(f"Basic {token}")


def build_payload(b: OpenAIBackend, request: GenerationRequest, *, n: int, seed: int | None) -> dict:
    s = request.sampling
    payload: dict[str, Any] = {
        "model": b.model,
        "n": n,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
    }
    if request.messages is not None:
        payload["messages"] = [dict(m) for m in request.messages]
        if request.prefix:  # the answer so far, continued by the server (vLLM's chat extension)
            if not b.is_vllm:
                raise SettingsError(
                    f"request {request.request_id}: continuing a partial answer needs a "
                    "vLLM-compatible server (continue_final_message); this server is not vLLM"
                )
            payload["messages"].append({"role": "assistant", "content": request.prefix})
            payload["continue_final_message"], payload["add_generation_prompt"] = True, False
        if s.logprobs is not None:
            payload["logprobs"], payload["top_logprobs"] = True, s.logprobs
    else:
        payload["prompt"] = request.rendered()
        if s.logprobs is not None:
            payload["logprobs"] = s.logprobs
    if s.stop:
        payload["stop"] = list(s.stop)
    if seed is not None:
        payload["seed"] = seed
    if s.top_k != -1:
        payload["top_k"] = s.top_k  # not OpenAI's API; vLLM and SGLang accept it
    if b.is_vllm:
        payload["return_token_ids"] = True  # exact per-sample token counts when n > 1
    payload.update(b.extra_body)
    return payload


def encode_json(payload: dict) -> bytes:
    """orjson (10x the stdlib's speed on these bodies); what it refuses (an int over 64 bits, a key
    that is not a string) goes through the stdlib, as before."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload).encode()


def parse_response(request: GenerationRequest, body: Any) -> list[Completion]:
    """Completions from a chat or text completion body; a body of another shape is an error."""
    try:
        choices = body["choices"]
        if len(choices) > 1:
            choices = sorted(choices, key=lambda c: c.get("index", 0))
        usage = body.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        parsed = [parse_choice(c) for c in choices]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if not parsed:
            problem = "no choices"
        else:
            counts = token_counts(parsed, usage.get("completion_tokens"))
            return [
                Completion(
                    text=text,
                    finish_reason=reason,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=count,
                    reasoning=reasoning,
                    logprobs=logprobs,
                    token_ids=ids,
                )
                for (text, reason, reasoning, logprobs, ids), count in zip(parsed, counts)
            ]
    raise GenerationError(
        f"request {request.request_id}: the server's answer is not a completion ({problem}): {json.dumps(body)[:300]}"
    )


def parse_choice(choice: dict) -> tuple[str, str, str | None, list | None, tuple[int, ...] | None]:
    """(text, finish_reason, reasoning, logprobs, token ids or None) of one choice; vLLM sends the ids
    when asked (``return_token_ids``)."""
    message = choice.get("message")
    if message is not None:  # chat
        text = message.get("content") or ""
        # DeepSeek's API and older vLLM say reasoning_content; vLLM >= 0.10 says reasoning.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        logprobs = chat_logprobs(choice.get("logprobs"))
    else:
        text = choice["text"]
        reasoning = None
        logprobs = text_logprobs(choice.get("logprobs"))
    if not isinstance(text, str):
        raise TypeError(f"completion text is {type(text).__name__}")
    reason = choice.get("finish_reason")
    if reason in (None, "abort"):  # unfinished or aborted by the server
        reason = "error"
    ids = choice.get("token_ids")
    return text, reason, reasoning, logprobs, tuple(int(i) for i in ids) if ids is not None else None


def chat_logprobs(block: dict | None) -> list[dict[str, float]] | None:
    """Per token: the top-k plus the sampled token, keyed by text. Servers send no token ids here
    and partial UTF-8 tokens share a text (vLLM sends "" for them), so a different token whose text
    is already a key gets ``<text>#2``, ``#3``… rather than being lost."""
    if not block or block.get("content") is None:
        return None
    return [_keyed([*(p.get("top_logprobs") or ()), p]) for p in block["content"]]


def _keyed(items: list[dict]) -> dict[str, float]:
    top: dict[str, float] = {}
    seen: set[tuple] = set()
    for item in items:
        ident = (item["token"], tuple(item.get("bytes") or ()), item["logprob"])
        if ident in seen:
            continue  # the sampled token, already among the top-k
        seen.add(ident)
        key, copy = item["token"], 1
        while key in top:
            copy += 1
            key = f"{item['token']}#{copy}"
        top[key] = float(item["logprob"])
    return top


def text_logprobs(block: dict | None) -> list[dict[str, float]] | None:
    if not block or block.get("tokens") is None:
        return None
    out = []
    for i, token in enumerate(block["tokens"]):
        top = {t: float(lp) for t, lp in ((block.get("top_logprobs") or [])[i] or {}).items()}
        sampled = (block.get("token_logprobs") or [])[i]
        if sampled is not None:
            top.setdefault(token, float(sampled))
        out.append(top)
    return out


def token_counts(parsed: list[tuple], total: Any) -> list[int]:
    """Each choice's own count when the server gives one (its token ids or logprobs); else the usage
    total, split over the choices by text length when there are several (an estimate that keeps the
    exact total)."""
    own = [len(p[4]) if p[4] is not None else len(p[3]) if p[3] is not None else None for p in parsed]
    if None not in own:
        return own  # type: ignore[return-value]
    total = int(total or 0)
    if len(parsed) == 1:
        return [total]
    lengths = [len(p[0]) + len(p[2] or "") for p in parsed]
    if not any(lengths):
        lengths = [1] * len(parsed)
    shares = [total * length / sum(lengths) for length in lengths]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1  # largest remainders first
    return counts


def used_tokens(body: Any) -> int | None:
    """Total tokens an answer's usage reports (None when it reports none)."""
    try:
        usage = body.get("usage") or {}
        total = usage.get("total_tokens")
        if total is None and "completion_tokens" in usage:
            total = int(usage.get("prompt_tokens") or 0) + int(usage["completion_tokens"] or 0)
        return int(total) if total is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def server_message(raw: bytes) -> str:
    """The error text a server put in its body (OpenAI, vLLM and FastAPI shapes), shortened."""
    try:
        body = json.loads(raw)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message") or error.get("detail") or error if isinstance(error, dict) else error
        text = message if isinstance(message, str) else json.dumps(message)
    except ValueError:
        text = raw.decode("utf-8", "replace")
    return " ".join(text.split())[:500]


def describe_refusal(b: OpenAIBackend, status: int, raw: bytes) -> str:
    message = server_message(raw)
    if status in (401, 403):
        return f"HTTP {status}, authentication failed: {message} (the key is read from ${b.api_key_env})"
    if status == 404:
        return f"HTTP 404: {message} (check base_url and that the server serves model {b.model!r})"
    return f"HTTP {status}: {message}"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def backoff(b: OpenAIBackend, attempt: int) -> float:
    """Exponential, capped, with jitter over the upper half so that clients spread out."""
    delay = min(b.backoff_max, b.backoff_base * 2**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


class _Meter:
    """A tqdm bar over samples with the completion tokens/s so far, redrawn at most every
    ``REFRESH`` seconds so that its cost stays flat however fast answers come."""

    REFRESH = 0.1  # seconds

    def __init__(self, total: int, enabled: bool, model: str) -> None:
        self.bar = tqdm(total=total, unit="sample", desc=f"openai {model}", disable=not enabled)
        self.enabled = enabled
        self.samples = self.shown = self.tokens = 0
        self.start = self.due = time.perf_counter()

    def grow(self, samples: int) -> None:
        """A call joins: its samples count towards the bar."""
        if self.enabled:
            self.bar.total = (self.bar.total or 0) + samples

    def add(self, completions: list[Completion]) -> None:
        if not self.enabled:
            return
        self.samples += len(completions)
        self.tokens += sum(c.completion_tokens for c in completions)
        now = time.perf_counter()
        if now >= self.due:
            self._show(now)

    def _show(self, now: float) -> None:
        self.due = now + self.REFRESH
        self.bar.set_postfix_str(f"{self.tokens / max(now - self.start, 1e-9):.0f} tok/s", refresh=False)
        self.bar.update(self.samples - self.shown)
        self.shown = self.samples

    def close(self) -> None:
        if self.enabled and self.shown < self.samples:
            self._show(time.perf_counter())
        self.bar.close()
