"""The examples the README and the docs point at (``examples/``): every config loads and validates, every
file source reads with no rejects, and every ``examples/…`` path the READMEs and the docs pages name exists."""

import re
from pathlib import Path

import pytest

from tests.helpers import run_cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def test_there_are_examples():
    # GSM8K-style file, MATH-style, an OpenAI-compatible server, vLLM on GPUs, a hosted teacher's Batch API,
    # code, and the STaR loop with training
    assert {p.name for p in CONFIGS} >= {
        "my-run.yaml",
        "gsm8k-file.yaml",
        "math-file.yaml",
        "gsm8k-openai.yaml",
        "vllm-offline.yaml",
        "hosted-batch.yaml",
        "humaneval-star.yaml",
        "star-loop.yaml",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_each_example_config_loads_and_its_source_reads(path, monkeypatch, tmp_path):
    from starmill.config import load_config
    from starmill.warehouse.sources import iter_problems

    monkeypatch.chdir(REPO)  # configs name their files relative to the repository root
    cfg = load_config(str(path))
    if cfg.source.uri not in ("procedural", "reasoning_gym", "humaneval"):
        records, _ = iter_problems(cfg.source)
        records = list(records)
        assert records and all(type(r).__name__ == "ProblemRecord" for r in records), path.name


def test_the_small_eval_file_reads_as_gsm8k_with_no_rejects(tmp_path, capsys):
    code, stdout, stderr = run_cli(
        capsys,
        "ingest",
        str(EXAMPLES / "gsm8k_test.jsonl"),
        "--preset",
        "gsm8k",
        "--split",
        "test",
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 0, stderr
    assert stdout.startswith("problems@v1: 12 problems, 0 rejects (read 12)")


def test_every_examples_path_the_readmes_name_exists():
    named = set()
    for readme in (REPO / "README.md", EXAMPLES / "README.md", *sorted((REPO / "docs").rglob("*.md"))):
        named |= set(re.findall(r"examples/[\w.\-/]+\w", readme.read_text()))
    assert named, "the README names no example"
    assert sorted(p for p in named if not (REPO / p).exists()) == []
