"""Teacher generation through OpenAI's Batch API: half the price, answers within the completion window.

One ``generate`` call is one batch: its requests written as JSONL (``custom_id`` = the request's place
and id), uploaded (``POST /files``, purpose ``batch``), submitted (``POST /batches``), polled
(``GET /batches/{id}``), and its output and error files downloaded and mapped back by ``custom_id``.
Lines that failed for a reason worth retrying (429, 5xx, a batch that expired or was cancelled before
reaching them) go into a follow-up batch, at most ``max_retries`` times; a refusal of the request
itself (another 4xx) fails the call naming the request. A call never comes back with rows missing.

Resumable: the uploaded file's id and the batch's id are recorded in ``state`` (the run's ledger in a
flow, ``state_dir`` otherwise) under the hash of the call's requests as soon as the server gives
them, so a rerun after a crash polls the batch it made instead of paying for another; the batch also
carries that hash in its metadata, so a crash between creating it and recording it is found again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from starmill.generators import stopping
from starmill.generators.base import (
    EngineInfo,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    RequestRefused,
    SettingsError,
)
from starmill.generators.openai_backend import (
    RETRY_STATUS,
    build_payload,
    parse_response,
    parse_retry_after,
    server_message,
    split_credentials,
)
from starmill.generators.strategies.replay import call_key

log = logging.getLogger(__name__)
DONE = frozenset({"completed", "expired", "cancelled"})  # over: what it answered is in its output file
FAILED = frozenset({"failed"})  # the input was refused as a whole
CHAT, TEXT = "/v1/chat/completions", "/v1/completions"


class BatchState(Protocol):
    """Where a batch's ids are kept between runs: the ledger (``warehouse.ledger.Ledger``) or a folder."""

    def load_batch(self, key: str) -> dict | None: ...

    def record_batch(self, key: str, data: dict) -> None: ...


class FolderState:
    """Batch ids as JSON files in a local folder (``state_dir``), written whole (temporary file, rename)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()

    def load_batch(self, key: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{key}.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def record_batch(self, key: str, data: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".{key}.json.part"
        part.write_text(json.dumps(data, sort_keys=True))
        os.replace(part, self.folder / f"{key}.json")


class MemoryState:
    """Batch ids for this process only (no state_dir, no ledger): a crash loses them."""

    def __init__(self) -> None:
        self.data: dict[str, dict] = {}

    def load_batch(self, key: str) -> dict | None:
        return self.data.get(key)

    def record_batch(self, key: str, data: dict) -> None:
        self.data[key] = dict(data)


class OpenAIBatchBackend:
    """The ``Backend`` over the Batch API at ``base_url`` (``https://api.openai.com/v1``)."""

    keeps_batches = True  # generate takes the run's ledger as state (generators.registry callers)
    concurrent_calls = True  # each call has its own client: shards' batches run side by side

    @classmethod
    def in_flight(cls, options: dict[str, Any], shard_size: int, n: int) -> None:
        """No window of our own: each shard is one batch the provider queues, so every shard of a stage
        is submitted at once (up to ``warehouse.shards.MAX_SHARDS_IN_FLIGHT``) rather than one batch
        waiting for the last to come back."""
        return None

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        poll_interval: float = 30.0,
        completion_window: str = "24h",
        timeout: float = 60.0,
        max_retries: int = 3,
        revision: str | None = None,
        state_dir: str | None = None,
        extra_body: dict[str, Any] | None = None,
        progress: bool = True,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"base_url must start with http:// or https://, got {base_url!r}")
        if poll_interval <= 0 or timeout <= 0:
            raise SettingsError("poll_interval and timeout must be > 0 seconds")
        if max_retries < 0:
            raise SettingsError(f"max_retries must be >= 0, got {max_retries}")
        self.model, self.revision = model, revision
        self.base_url, self._basic_auth = split_credentials(base_url.rstrip("/"))
        self.api_key_env, self.poll_interval, self.timeout = api_key_env, poll_interval, timeout
        self.completion_window, self.max_retries = completion_window, max_retries
        self.extra_body = dict(extra_body or {})
        self.state: BatchState = FolderState(state_dir) if state_dir else MemoryState()
        self.is_vllm = False  # build_payload asks: the Batch API is OpenAI's, no vLLM extensions

    def __repr__(self) -> str:
        return f"OpenAIBatchBackend(model={self.model!r}, base_url={self.base_url!r})"

    def info(self) -> EngineInfo:
        return EngineInfo(
            engine="openai-batch", engine_version=None, model=self.model, model_revision=self.revision, dtype=None
        )

    def close(self) -> None:
        """Nothing held between calls."""

    def generate(
        self, requests: Sequence[GenerationRequest], state: BatchState | None = None
    ) -> list[GenerationResult]:
        if not requests:
            return []
        headers = (
            {"Authorization": f"Bearer {key}"}
            if (key := os.environ.get(self.api_key_env))
            else {"Authorization": self._basic_auth.value}
            if self._basic_auth
            else {}
        )
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            api = _Api(self, client)
            todo = list(range(len(requests)))
            answers: dict[int, list] = {}
            for _round in range(self.max_retries + 1):
                batch = [requests[i] for i in todo]
                done, retry = self._one_batch(api, batch, state or self.state)
                answers.update({todo[j]: c for j, c in done.items()})
                todo = [todo[j] for j in retry]
                if not todo:
                    break
                log.warning(
                    "batch: %d request(s) to send again (%s)",
                    len(todo),
                    "; ".join(sorted({why for why in retry.values()}))[:300],
                )
            else:
                raise GenerationError(
                    self.redact(
                        f"requests {[requests[i].request_id for i in todo][:5]} still failed "
                        f"after {self.max_retries + 1} batches: {next(iter(retry.values()))}"
                    )
                )
        info = self.info()
        return [GenerationResult(r.request_id, answers[i], info) for i, r in enumerate(requests)]

    def _one_batch(
        self, api: _Api, requests: list[GenerationRequest], state: BatchState
    ) -> tuple[dict[int, list], dict[int, str]]:
        """One batch of ``requests`` (made, or found again), waited for: the completions of each
        answered request, and why each of the others should be sent again."""
        key = call_key(requests) + "-" + call_key_suffix(self)
        record = dict(state.load_batch(key) or {})
        if record.get("batch_id"):
            log.info("batch %s of this call was made before: polling it", record["batch_id"])
        else:
            record = self._submit(api, requests, key, record, state)
        batch = self._wait(api, record["batch_id"])
        if batch.get("status") in FAILED:
            state.record_batch(key, {})  # forget it: the shard's retry makes a new one
            errors = (batch.get("errors") or {}).get("data") or []
            raise SettingsError(
                self.redact(
                    f"batch {record['batch_id']} failed: " + "; ".join(str(e.get("message")) for e in errors[:3])
                )
            )
        lines = [*api.lines(batch.get("output_file_id")), *api.lines(batch.get("error_file_id"))]
        done, retry = self._map(requests, lines)
        for j in range(len(requests)):
            if j not in done and j not in retry:
                retry[j] = f"not answered (batch {batch.get('status')})"
        return done, retry

    def _submit(self, api: _Api, requests: list[GenerationRequest], key: str, record: dict, state: BatchState) -> dict:
        # uploaded before: a crash may have come between creating the batch and recording it
        found = api.find(key) if record.get("input_file_id") else None
        if found:
            record["batch_id"] = found
            state.record_batch(key, record)
            return record
        if not record.get("input_file_id"):
            record["input_file_id"] = api.upload(self.jsonl(requests))
            state.record_batch(key, record)
        endpoint = CHAT if requests[0].messages is not None else TEXT
        record["batch_id"] = api.create(record["input_file_id"], endpoint, key)
        state.record_batch(key, record)
        log.info("batch %s created: %d requests", record["batch_id"], len(requests))
        return record

    def jsonl(self, requests: Sequence[GenerationRequest]) -> bytes:
        kinds = {r.messages is not None for r in requests}
        if len(kinds) > 1:
            raise SettingsError("one batch holds one endpoint: chat and text requests can't be mixed")
        lines = []
        for j, request in enumerate(requests):
            body = build_payload(self, request, n=request.sampling.n, seed=request.sampling.seed)
            body.pop("top_k", None)  # not OpenAI's API
            url = CHAT if request.messages is not None else TEXT
            lines.append(json.dumps({"custom_id": custom_id(j, request), "method": "POST", "url": url, "body": body}))
        return ("\n".join(lines) + "\n").encode()

    def _map(self, requests: list[GenerationRequest], lines: list[dict]) -> tuple[dict[int, list], dict[int, str]]:
        ids = {custom_id(j, r): j for j, r in enumerate(requests)}
        done: dict[int, list] = {}
        retry: dict[int, str] = {}
        for line in lines:
            j = ids.get(line.get("custom_id"))
            if j is None:
                continue  # not ours (cannot happen with our own file): never mapped onto a request
            request, response = requests[j], line.get("response") or {}
            status, body = response.get("status_code"), response.get("body")
            if status == 200 and isinstance(body, dict):
                completions = parse_response(request, body)
                if len(completions) < request.sampling.n:
                    raise GenerationError(
                        f"request {request.request_id}: the batch answered {len(completions)} of "
                        f"{request.sampling.n} samples"
                    )
                done[j] = completions[: request.sampling.n]
                retry.pop(j, None)
                continue
            if j in done:
                continue
            message = server_message(json.dumps(body or line.get("error") or {}).encode())
            if status is None or status in RETRY_STATUS or status >= 500:
                retry[j] = f"HTTP {status}: {message}" if status else message
            else:
                raise RequestRefused(
                    self.redact(f"request {request.request_id}: the batch answered HTTP {status}: {message}"),
                    request_id=request.request_id,
                    reason="refused",
                )
        return done, retry

    def _wait(self, api: _Api, batch_id: str) -> dict:
        while True:
            batch = api.get(f"/batches/{batch_id}")
            status = batch.get("status")
            if status in DONE or status in FAILED:
                return batch
            counts = batch.get("request_counts") or {}
            log.info("batch %s %s: %s of %s done", batch_id, status, counts.get("completed"), counts.get("total"))
            end = time.monotonic() + self.poll_interval
            while (left := end - time.monotonic()) > 0:  # a stop is seen within a second
                stopping.check()
                time.sleep(min(left, 1.0))

    def redact(self, text: str) -> str:
        key = os.environ.get(self.api_key_env)
        return text.replace(key, "***") if key else text


def custom_id(index: int, request: GenerationRequest) -> str:
    return f"{index}:{request.request_id}"


def call_key_suffix(b: OpenAIBatchBackend) -> str:
    """The same requests to another model or provider are another batch."""
    import hashlib

    return hashlib.sha256(f"{b.model}\n{b.base_url}".encode()).hexdigest()[:12]


class _Api:
    """The Batch API's calls, each retried on 429, 5xx and dropped connections."""

    def __init__(self, b: OpenAIBatchBackend, client: httpx.Client) -> None:
        self.b, self.client = b, client

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        problem = ""
        for attempt in range(self.b.max_retries + 2):
            stopping.check()
            wait = min(30.0, 0.5 * 2**attempt)
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return response
                problem = f"HTTP {response.status_code}: {server_message(response.content)}"
                if response.status_code not in RETRY_STATUS and response.status_code < 500:
                    break
                wait = parse_retry_after(response.headers.get("retry-after")) or wait
            time.sleep(wait)
        else:
            raise GenerationError(self.b.redact(f"{method} {self.b.base_url}{path}: {problem}"))
        raise SettingsError(self.b.redact(f"{method} {self.b.base_url}{path}: {problem}"))

    def get(self, path: str, **params: Any) -> dict:
        return self.call("GET", path, params=params or None).json()

    def upload(self, data: bytes) -> str:
        answer = self.call(
            "POST",
            "/files",
            data={"purpose": "batch"},
            files={"file": ("starmill-batch.jsonl", data, "application/jsonl")},
        ).json()
        return answer["id"]

    def create(self, file_id: str, endpoint: str, key: str) -> str:
        body = {
            "input_file_id": file_id,
            "endpoint": endpoint,
            "completion_window": self.b.completion_window,
            "metadata": {"starmill_call": key},
        }
        return self.call("POST", "/batches", json=body).json()["id"]

    def find(self, key: str) -> str | None:
        """A live or finished batch of this call made earlier (its metadata names the call)."""
        try:
            listing = self.get("/batches", limit=100)
        except SettingsError:  # a server without the listing: nothing to find
            return None
        for batch in listing.get("data") or []:
            if (batch.get("metadata") or {}).get("starmill_call") == key and batch.get("status") not in FAILED:
                return batch["id"]
        return None

    def lines(self, file_id: str | None) -> list[dict]:
        if not file_id:
            return []
        text = self.call("GET", f"/files/{file_id}/content").text
        return [json.loads(line) for line in text.splitlines() if line.strip()]
