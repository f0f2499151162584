"""OpenAIBatchBackend against a local server that implements the Batch API's endpoints (files, batches,
file content). OpenAI itself is unreachable from these machines, so this fake is the only provider
the tests see; it follows the documented shapes (JSONL lines with custom_id, output and error files)."""

import email.parser
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from starmill.generators import load_backend
from starmill.generators.base import GenerationError, GenerationRequest, RequestRefused, SamplingParams, SettingsError
from starmill.generators.openai_batch import OpenAIBatchBackend
from starmill.generators.registry import check_teacher
from starmill.warehouse.ledger import Ledger
from tests.fixtures_engines import REPO, chat_body


class BatchServer:
    """The Batch API in memory. ``hold``: batches stay in_progress. ``fail_once``: questions whose first
    answer is a 500 in the error file. ``refuse``: questions answered 400. Output lines come back in
    reverse order (the API promises no order)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.uploads = 0
        self.hold = False
        self.fail_once: set[str] = set()
        self.refuse: set[str] = set()
        self.fail_batch = False
        self.answered: dict[str, int] = {}  # question -> 200 answers given
        self.gather = 0  # a batch finishes only once this many exist (or 3 s after it was made)
        self.most_open = 0  # the most batches submitted and not yet finished at one time
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def inputs(self, batch: dict) -> list[dict]:
        return [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines()]

    def _finish(self, batch: dict) -> None:
        if self.fail_batch:
            batch.update(status="failed", errors={"data": [{"message": "line 1: model not found"}]})
            return
        out, err = [], []
        for line in self.inputs(batch):
            question = line["body"]["messages"][-1]["content"]
            if question in self.fail_once:
                self.fail_once.discard(question)
                err.append(
                    {
                        "custom_id": line["custom_id"],
                        "response": {"status_code": 500, "body": {"error": {"message": "server had an error"}}},
                        "error": None,
                    }
                )
            elif question in self.refuse:
                err.append(
                    {
                        "custom_id": line["custom_id"],
                        "response": {"status_code": 400, "body": {"error": {"message": "bad content"}}},
                        "error": None,
                    }
                )
            else:
                self.answered[question] = self.answered.get(question, 0) + 1
                texts = [f"answer {i} to {question}" for i in range(line["body"]["n"])]
                out.append(
                    {
                        "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "body": chat_body(line["body"], texts)},
                        "error": None,
                    }
                )
        batch["status"] = "completed"
        for name, lines in (("output_file_id", out[::-1]), ("error_file_id", err)):
            if lines:
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                batch[name] = file_id

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.lock:
                    if self.path == "/v1/files":
                        message = email.parser.BytesParser().parsebytes(
                            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw
                        )
                        parts = {
                            p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                            for p in message.get_payload()
                        }
                        assert parts["purpose"] == b"batch"
                        file_id = f"file-{len(server.files)}"
                        server.files[file_id] = parts["file"]
                        server.uploads += 1
                        return self._send(200, {"id": file_id, "object": "file", "purpose": "batch"})
                    if self.path == "/v1/batches":
                        body = json.loads(raw)
                        batch_id = f"batch-{len(server.batches)}"
                        server.batches[batch_id] = {
                            "id": batch_id,
                            "object": "batch",
                            "status": "validating",
                            "endpoint": body["endpoint"],
                            "metadata": body.get("metadata"),
                            "input_file_id": body["input_file_id"],
                            "made": time.monotonic(),
                        }
                        still_open = [
                            b for b in server.batches.values() if b["status"] in ("validating", "in_progress")
                        ]
                        server.most_open = max(server.most_open, len(still_open))
                        return self._send(200, server.batches[batch_id])
                return self._send(404, {"error": {"message": "no such route"}})

            def do_GET(self):
                path = urlsplit(self.path).path
                with server.lock:
                    if path == "/v1/batches":
                        return self._send(200, {"object": "list", "data": list(server.batches.values())[::-1]})
                    if path.startswith("/v1/batches/"):
                        batch = server.batches.get(path.rsplit("/", 1)[1])
                        if batch is None:
                            return self._send(404, {"error": {"message": "no such batch"}})
                        if batch["status"] == "validating":
                            batch["status"] = "in_progress"
                        elif (
                            batch["status"] == "in_progress"
                            and not server.hold
                            and (len(server.batches) >= server.gather or time.monotonic() - batch["made"] > 3)
                        ):
                            server._finish(batch)
                        return self._send(200, batch)
                    if path.startswith("/v1/files/") and path.endswith("/content"):
                        return self._send(200, server.files[path.split("/")[3]])
                return self._send(404, {"error": {"message": "no such route"}})

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def batch_server():
    server = BatchServer()
    yield server
    server.close()


def ask(i: int, n: int = 2) -> GenerationRequest:
    return GenerationRequest(
        f"p{i}",
        messages=[{"role": "user", "content": f"question {i}"}],
        sampling=SamplingParams(n=n, seed=i, max_tokens=32),
    )


def backend(server: BatchServer, **options) -> OpenAIBatchBackend:
    return OpenAIBatchBackend("gpt-test", server.base_url, poll_interval=0.01, **options)


def test_results_map_back_by_custom_id(batch_server):
    requests = [ask(i) for i in range(6)]
    results = backend(batch_server).generate(requests)
    assert [r.request_id for r in results] == [f"p{i}" for i in range(6)]
    assert [[c.text for c in r.completions] for r in results] == [
        [f"answer 0 to question {i}", f"answer 1 to question {i}"] for i in range(6)
    ]
    assert all(c.prompt_tokens == 7 and c.completion_tokens == 3 for r in results for c in r.completions)
    [batch] = batch_server.batches.values()
    lines = batch_server.inputs(batch)
    assert [line["custom_id"] for line in lines] == [f"{i}:p{i}" for i in range(6)]
    assert batch["endpoint"] == lines[0]["url"] == "/v1/chat/completions"
    assert lines[0]["body"]["n"] == 2 and lines[0]["body"]["model"] == "gpt-test"
    assert results[0].engine.engine == "openai-batch"


def test_lines_in_the_error_file_go_in_a_second_batch_answered_once(batch_server):
    batch_server.fail_once = {"question 1", "question 4"}
    results = backend(batch_server).generate([ask(i) for i in range(6)])
    assert [r.completions[0].text for r in results] == [f"answer 0 to question {i}" for i in range(6)]
    assert batch_server.answered == {f"question {i}": 1 for i in range(6)}  # none lost, none paid twice
    first, second = batch_server.batches.values()
    assert [line["custom_id"] for line in batch_server.inputs(second)] == ["0:p1", "1:p4"]


def test_a_refused_line_names_its_request(batch_server):
    batch_server.refuse = {"question 2"}
    with pytest.raises(RequestRefused, match=r"request p2: the batch answered HTTP 400: bad content"):
        backend(batch_server).generate([ask(i) for i in range(3)])


def test_a_failed_batch_is_a_clear_error_and_forgotten(batch_server, tmp_path):
    batch_server.fail_batch = True
    with pytest.raises(SettingsError, match="batch batch-0 failed: line 1: model not found"):
        backend(batch_server, state_dir=str(tmp_path)).generate([ask(0)])
    batch_server.fail_batch = False
    backend(batch_server, state_dir=str(tmp_path)).generate([ask(0)])
    assert len(batch_server.batches) == 2  # the failed one is not polled again


KILLED = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.openai_batch import OpenAIBatchBackend
    requests = [GenerationRequest(f"p{i}", messages=[{"role": "user", "content": f"question {i}"}],
                                  sampling=SamplingParams(n=2, seed=i, max_tokens=32)) for i in range(5)]
    OpenAIBatchBackend("gpt-test", sys.argv[1], poll_interval=0.05, state_dir=sys.argv[2]).generate(requests)
""")


def test_kill_and_rerun_polls_the_same_batch(batch_server, tmp_path):
    batch_server.hold = True
    state = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, batch_server.base_url, str(state), str(REPO)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        for _ in range(600):  # wait (not a timing check) until the child has made its batch
            if batch_server.batches or child.poll() is not None:
                break
            time.sleep(0.1)
        assert len(batch_server.batches) == 1, f"the child made no batch (exit {child.poll()})"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    batch_server.hold = False
    results = backend(batch_server, state_dir=str(state)).generate([ask(i) for i in range(5)])
    assert [r.completions[1].text for r in results] == [f"answer 1 to question {i}" for i in range(5)]
    assert (len(batch_server.batches), batch_server.uploads) == (1, 1)


def test_a_batch_made_but_not_recorded_is_found_by_its_metadata(batch_server, tmp_path):
    backend(batch_server, state_dir=str(tmp_path)).generate([ask(0)])
    [record] = tmp_path.glob("*.json")
    record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items() if k != "batch_id"}))
    backend(batch_server, state_dir=str(tmp_path)).generate([ask(0)])
    assert len(batch_server.batches) == 1


def test_the_runs_ledger_keeps_the_batch_ids(batch_server, tmp_path):
    ledger = Ledger(tmp_path, "run-1")
    backend(batch_server).generate([ask(0), ask(1)], state=ledger)
    again = backend(batch_server).generate([ask(0), ask(1)], state=Ledger(tmp_path, "run-1"))
    assert len(batch_server.batches) == 1 and again[1].completions[0].text == "answer 0 to question 1"
    assert list((tmp_path / "_runs" / "run-1" / "batches").glob("*.json"))


def test_batch_true_is_the_batch_backend():
    teacher = {
        "backend": "openai",
        "model": "gpt-test",
        "base_url": "http://127.0.0.1:9/v1",
        "options": {"batch": True, "poll_interval": 60.0},
    }
    check_teacher(teacher)
    assert isinstance(
        load_backend("openai", "gpt-test", base_url="http://127.0.0.1:9/v1", batch=True), OpenAIBatchBackend
    )
    with pytest.raises(SettingsError, match="option batch of the openai backend must be true or false"):
        check_teacher({**teacher, "options": {"batch": "yes"}})
    with pytest.raises(SettingsError, match="has no option 'rpm'"):
        check_teacher({**teacher, "backend": "openai-batch", "options": {"rpm": 5}})


def test_an_unreachable_provider_is_a_clear_error(tmp_path):
    from tests.fixtures_engines import free_port

    quick = OpenAIBatchBackend("gpt-test", f"http://127.0.0.1:{free_port()}/v1", max_retries=0, timeout=2)
    with pytest.raises(GenerationError, match=r"POST http://127.0.0.1:\d+/v1/files: ConnectError"):
        quick.generate([ask(0)])


def test_a_run_in_batch_mode_records_its_batches_in_the_ledger_and_a_rerun_makes_none(batch_server, tmp_path):
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    config = parse_config(
        {
            "source": {"procedural": {"n": 4, "seed": 7, "difficulty": 1}},
            "teacher": {
                "backend": "openai-batch",
                "model": "gpt-test",
                "base_url": batch_server.base_url,
                "options": {"poll_interval": 0.01},
                "price": {"input_per_million": 1.0, "output_per_million": 2.0},
            },
            "sampling": {"n": 2, "max_tokens": 32, "seed": 1},
            "rationalization": {"attempts": 1},
            "runner": {"shard_size": 2, "retries": 0},
        }
    )
    wh = tmp_path / "wh"
    summary = run_star(config, str(wh), progress=False)
    made = len(batch_server.batches)
    # no answer is right ("answer 0 to question …"): 2 shards of rationales, then 2 of rationalizations
    assert made == 4 and summary["counts"]["generated"] == 4 * 2 + 4 * 1
    assert sum(batch_server.answered.values()) == 8  # one line per request, n samples each
    records = list(wh.glob("_runs/*/batches/*.json"))
    assert sorted(json.loads(r.read_text())["batch_id"] for r in records) == sorted(batch_server.batches)
    cost = summary["cost"]
    assert cost["batch"] is True and cost["usd"] == pytest.approx(
        (cost["prompt_tokens"] * 1 + cost["completion_tokens"] * 2) / 1e6 * 0.5
    )
    run_star(config, str(wh), progress=False)
    assert len(batch_server.batches) == made


def test_a_runs_shards_are_submitted_side_by_side_not_one_batch_after_another(batch_server, tmp_path):
    """Every shard of a stage is a batch the provider queues: all four are open at once, none waits for
    another to come back (one at a time, a run of S shards would take S completion windows)."""
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    batch_server.gather = 4  # no batch finishes before four exist (or 3 s): one at a time shows as 1
    config = parse_config(
        {
            "source": {"procedural": {"n": 8, "seed": 7, "difficulty": 1}},
            "teacher": {
                "backend": "openai",
                "model": "gpt-test",
                "base_url": batch_server.base_url,
                "options": {"batch": True, "poll_interval": 0.01},
            },
            "sampling": {"n": 1, "max_tokens": 32, "seed": 1},
            "rationalization": {"enabled": False},
            "runner": {"shard_size": 2, "retries": 0},
        }
    )
    summary = run_star(config, str(tmp_path / "wh"), progress=False)
    assert len(batch_server.batches) == 4 and summary["counts"]["generated"] == 8
    assert batch_server.most_open == 4
