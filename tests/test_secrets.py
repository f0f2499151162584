"""Secrets never reach what starmill writes or prints: one redaction (``schemas.redact``) over URL
credentials, secret-named keys and parameters, and secret-shaped values; a real run with credentials
in its config, command line and environment leaves no trace of them in the warehouse, Prefect's
database, the export folder or the output."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from starmill.schemas.redact import (
    MARK,
    is_secret_name,
    redact,
    redact_argv,
    redact_log_records,
    redact_text,
    redacted_error,
)
from tests.helpers import run_cli

REPO = Path(__file__).resolve().parent.parent

SECRET_TEXTS = [  # (text, the secret inside it)
    ("http://user:sk-SECRET123@127.0.0.1:9/v1", "sk-SECRET123"),
    ("http://user:hunter2@host/v1", "hunter2"),
    ("https://ghtoken42@github.com/org/repo.git", "ghtoken42"),
    ("s3://AKID:s3cr3t/value@bucket/path", "s3cr3t"),
    ("https://host/v1?api_key=abc123&model=x", "abc123"),
    ("https://host/v1?model=x&token=tok987", "tok987"),
    ("https://host/v1?key=AIzaSyAbCdEfGhIjKlMnOpQrStUvWxYz0123456", "AIzaSy"),
    ("https://bucket.s3.amazonaws.com/f?X-Amz-Signature=deadbeef99", "deadbeef99"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
    ("curl -H 'Bearer zzzzzzzzzzzz9'", "zzzzzzzzzzzz9"),
    ("OPENAI_API_KEY=sk-live-0123456789abcdef", "sk-live-0123456789abcdef"),
    ("export HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz"),
    ("--set teacher.options.api_key=plainvalue42", "plainvalue42"),
    ('{"password": "correct horse"}', "correct"),
    ("{'client_secret': 'cs-0000-1111'}", "cs-0000-1111"),
    ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("found AKIAIOSFODNN7EXAMPLE in the env", "AKIAIOSFODNN7EXAMPLE"),
    ("ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked", "ghp_0123456789"),
    ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "eyJhbGciOiJIUzI1NiJ9"),
    ("error: sk-ant-api03-AAAAAAAAAAAAAAAA refused", "sk-ant-api03"),
]

PLAIN_TEXTS = [  # nothing here is a secret: left exactly as it is
    "http://127.0.0.1:8000/v1",
    "hf://datasets/openai/gsm8k",
    "max_tokens=64 prompt_tokens: 12 completion_tokens=30",
    "run_key=0123abcd sort_keys=true key_id=3",
    "Solve this basic arithmetic problem. Answer: 5",
    "Compute 12 + 7. Think step by step, then give the answer.",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "starmill run config.yaml --set sampling.n=8 -w ./wh",
    "the tokenizer pads with pad_token=<pad>",
    "git@github.com:org/repo.git",
    "scikit-learn and task-abcdefghijk are names",
]


@pytest.mark.parametrize("text,secret", SECRET_TEXTS)
def test_secret_shapes_are_redacted(text, secret):
    out = redact_text(text)
    assert secret not in out and MARK in out
    assert redact_text(out) == out  # idempotent: redacting twice changes nothing more


@pytest.mark.parametrize("text", PLAIN_TEXTS)
def test_plain_text_is_left_alone(text):
    assert redact_text(text) == text


def test_url_keeps_everything_but_the_credentials():
    assert redact_text("http://user:sk-SECRET123@127.0.0.1:9/v1") == "http://<redacted>@127.0.0.1:9/v1"
    assert redact_text("https://h/x?a=1&api_key=abc&b=2") == "https://h/x?a=1&api_key=<redacted>&b=2"


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "OPENAI_API_KEY",
        "X-Api-Key",
        "hf_token",
        "token",
        "access_token",
        "password",
        "db_passwd",
        "client_secret",
        "Authorization",
        "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY",
        "credentials",
        "private_key",
        "key",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "prompt_tokens",
        "tokens",
        "tokenizer",
        "pad_token",
        "eos_token",
        "run_key",
        "sort_keys",
        "key_id",
        "keyword",
        "monkey",
        "author",
        "base_url",
        "model",
        "shard",
    ],
)
def test_names_that_are_not_secrets(name):
    assert not is_secret_name(name)


def test_redact_walks_configs_and_keeps_their_shape():
    config = {
        "teacher": {
            "backend": "openai",
            "base_url": "http://u:pw123@h/v1",
            "options": {
                "api_key": "plain-key-1",
                "max_tokens": 64,
                "headers": {"Authorization": "x y"},
                "api_keys": ["k1", "k2"],
                "token": None,
                "extra_body": {"hf_token": ""},
            },
        },
        "run_key": "abcd",
        "sampling": {"n": 4, "seed": 0},
        "tags": ("a", "sk-0123456789abc"),
    }
    out = redact(config)
    assert out["teacher"]["base_url"] == "http://<redacted>@h/v1"
    assert out["teacher"]["options"] == {
        "api_key": MARK,
        "max_tokens": 64,
        "headers": {"Authorization": MARK},
        "api_keys": [MARK, MARK],
        "token": None,
        "extra_body": {"hf_token": ""},
    }
    assert out["run_key"] == "abcd" and out["sampling"] == {"n": 4, "seed": 0}
    assert out["tags"] == ("a", MARK)
    assert config["teacher"]["options"]["api_key"] == "plain-key-1"  # a copy: the input is untouched


def test_redact_handles_pydantic_models():
    from starmill.warehouse.manifest import SourceEntry

    entry = SourceEntry.model_validate({"name": "s", "uri": "https://u:tok55@h/data.jsonl"})
    out = redact(entry)
    assert isinstance(out, SourceEntry) and "tok55" not in out.model_dump_json()


def test_command_lines_lose_option_values_named_secret():
    argv = [
        "starmill",
        "run",
        "c.yaml",
        "--api-key",
        "abc",
        "--token=def",
        "--hf-token",
        "ghi",
        "--set",
        "teacher.base_url=http://u:pw@h/v1",
        "-w",
        "wh",
    ]
    assert redact_argv(argv) == [
        "starmill",
        "run",
        "c.yaml",
        "--api-key",
        MARK,
        "--token=<redacted>",
        "--hf-token",
        MARK,
        "--set",
        "teacher.base_url=http://<redacted>@h/v1",
        "-w",
        "wh",
    ]


def test_lineage_command_line_is_redacted(monkeypatch):
    from starmill.warehouse import lineage

    monkeypatch.setattr(sys, "argv", ["/x/bin/starmill", "run", "--set", "teacher.options.api_key=zz-top-secret"])
    assert lineage.command_line() == "starmill run --set 'teacher.options.api_key=<redacted>'"


def test_errors_keep_their_type_with_the_message_redacted():
    from starmill.generators.base import GenerationError

    exc = GenerationError("http://u:pw999@h/v1/chat/completions: cannot connect")
    assert redacted_error(exc) is exc and "pw999" not in str(exc) and isinstance(exc, GenerationError)
    clean = ValueError("nothing here")
    assert redacted_error(clean) is clean and str(clean) == "nothing here"
    odd = OSError(2, "No such file: http://u:pw999@h/x")  # its message does not come from args alone
    replaced = redacted_error(odd)
    assert "pw999" not in str(replaced)


def test_log_records_are_redacted_whatever_the_handler(caplog):
    previous = logging.getLogRecordFactory()
    try:
        redact_log_records()
        redact_log_records()  # installing twice wraps once
        log = logging.getLogger("starmill.test")
        with caplog.at_level(logging.INFO, logger="starmill.test"):
            log.info("calling %s", "http://u:pw777@h/v1")
            try:
                raise RuntimeError("token=abc777")
            except RuntimeError:
                log.exception("failed")
        text = caplog.text
        assert "pw777" not in text and "abc777" not in text and "http://<redacted>@h/v1" in text
    finally:
        logging.setLogRecordFactory(previous)


def test_an_old_unredacted_manifest_is_redacted_on_export(make_sft_version, monkeypatch, tmp_path):
    """A version written before redaction existed (simulated: the writer's redaction turned off) still
    exports without its secrets, in the card and in ``starmill_export.json``."""
    from starmill.warehouse import lineage
    from starmill.warehouse.export.build import ExportSettings, export_to_folder

    monkeypatch.setattr(lineage, "redact", lambda value: value)
    wh, ref = make_sft_version(
        teacher_options={"api_key": "sk-should-never-be-shown", "base_url": "http://u:pw-old-5551@h/v1"}
    )
    assert "pw-old-5551" in (Path(wh.root) / ref.replace("@", "/") / "manifest.json").read_text()
    folder = tmp_path / "out"
    export_to_folder(wh, ExportSettings.make(ref=ref), folder)
    leaks = [
        p
        for p in folder.rglob("*")
        if p.is_file() and (b"pw-old-5551" in p.read_bytes() or b"sk-should-never-be-shown" in p.read_bytes())
    ]
    assert leaks == []
    assert (
        json.loads((folder / "starmill_export.json").read_text())["parts"][0]["manifest"]["config"]["teacher"][
            "options"
        ]["api_key"]
        == MARK
    )


SECRETS = [b"sk-SECRET123", b"hf_ENVSECRET4567890123456", b"plainconfigsecret42", b"envsecret-in-url-31"]


def _leaks(folder: Path) -> list[str]:
    """Files under ``folder`` whose bytes hold any of the secrets (Parquet, SQLite and its WAL included)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}: {s.decode()}" for s in SECRETS if s in data]
    return found


@pytest.mark.slow
def test_a_run_and_its_export_leak_no_secret(tmp_path, capsys):
    """``starmill run`` with credentials in ``teacher.base_url``, a secret-named config value set on the
    command line and a token in the environment (its shards fail: nothing listens on port 9; partial
    results allowed), then
    ``starmill export``: the secrets are in no file and in no output."""
    wh, home = tmp_path / "wh", tmp_path / "prefect"
    wh.mkdir()
    home.mkdir()
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"procedural": {"n": 4, "seed": 7, "difficulty": 1}},
                "sampling": {"n": 2, "max_tokens": 16, "seed": 3},
                "teacher": {
                    "backend": "openai",
                    "model": "x",
                    "base_url": "http://user:sk-SECRET123@127.0.0.1:9/v1",
                    "options": {"max_retries": 0, "timeout": 2, "extra_body": {}},
                },
                "runner": {"shard_size": 4, "max_workers": 1, "retries": 0},
            }
        )
    )
    env = {
        **os.environ,
        "STARMILL_WAREHOUSE": str(wh),
        "PREFECT_HOME": str(home),
        "HF_TOKEN": "hf_ENVSECRET4567890123456",
        "STARMILL_TEST_URL": "http://u:envsecret-in-url-31@h/",
    }
    env.pop("PREFECT_API_URL", None)
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "starmill.cli",
                "run",
                str(config),
                "--allow-partial",
                "--set",
                "teacher.options.extra_body.api_token=plainconfigsecret42",
            ],
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=stderr,
            timeout=300,
        )
    assert proc.returncode == 0, err.read_text()[-3000:]
    # the backend keeps credentials out of its URL (basic auth), so errors name the bare URL
    assert "FAILED shard" in out.read_text() and "http://127.0.0.1:9/v1/chat/completions" in out.read_text()
    manifest = json.loads((wh / "sft" / "v1" / "manifest.json").read_text())
    assert manifest["config"]["teacher"]["options"]["extra_body"]["api_token"] == MARK
    assert "api_token=<redacted>" in manifest["command"]

    code, export_out, export_err = run_cli(capsys, "export", "sft", "--to", str(tmp_path / "export"), "-w", str(wh))
    assert code == 0, export_err
    assert (tmp_path / "export" / "starmill_export.json").exists()
    for folder in (wh, home, tmp_path / "export"):
        assert _leaks(folder) == [], folder
    printed = out.read_bytes() + err.read_bytes() + (export_out + export_err).encode()
    assert [s for s in SECRETS if s in printed] == []
