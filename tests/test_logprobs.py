"""Teacher logprobs end to end: the engines give token ids and top-k (best first), `sampling.logprobs`
stores them in samples and sft (nothing when off), the export keeps them, and `starmill train --kd topk`
distils from them without a teacher at training time."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from starmill.config import parse_config
from starmill.generators.base import GenerationRequest, SamplingParams
from starmill.pipeline import run_star
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent / "generators"
QUESTION = [{"role": "user", "content": "What is 12 + 7?"}]


def _check_completion(c, k):
    assert c.token_ids and len(c.top_ids) == len(c.top_logprobs) == len(c.token_ids) == c.completion_tokens
    for ids, values in zip(c.top_ids, c.top_logprobs):
        assert len(ids) == len(values) == k and list(values) == sorted(values, reverse=True)
        assert all(v <= 0 for v in values)


def test_transformers_gives_token_ids_and_topk():
    from starmill.generators.transformers_backend import TransformersBackend

    backend = TransformersBackend(str(ROOT / "demo_teacher"))
    [result] = backend.generate(
        [
            GenerationRequest(
                "q", messages=QUESTION, sampling=SamplingParams(n=2, temperature=0.0, max_tokens=16, logprobs=3)
            )
        ]
    )
    for c in result.completions:
        _check_completion(c, 3)
        assert c.top_ids[0][0] == c.token_ids[0]  # greedy: the first token is the top-1


@pytest.mark.slow
def test_vllm_gives_token_ids_and_topk(vllm_backend):
    [result] = vllm_backend.generate(
        [
            GenerationRequest(
                "q", messages=QUESTION, sampling=SamplingParams(n=2, temperature=1.0, max_tokens=16, logprobs=3, seed=1)
            )
        ]
    )
    for c in result.completions:
        _check_completion(c, 3)


def _config(n, logprobs=None):
    sampling = {"n": 2, "max_tokens": 48, **({"logprobs": logprobs} if logprobs else {})}
    return parse_config({"source": {"procedural": {"n": n, "seed": 5, "difficulty": 1}}, "sampling": sampling})


def test_logprobs_are_stored_only_when_asked_and_round_trip_to_the_export_and_kd(tmp_path, capsys):
    from starmill.warehouse import Warehouse

    wh = str(tmp_path / "wh")
    run_star(_config(12), wh, progress=False)
    w = Warehouse(wh)
    assert all(r["token_ids"] is None and r["topk_ids"] is None for r in w.read("samples").to_pylist())
    run_star(_config(12, logprobs=4), wh, progress=False)
    samples = [r for r in w.read("samples").to_pylist() if r["finish_reason"] != "error"]
    assert samples and all(len(r["token_ids"]) == r["completion_tokens"] == len(r["topk_ids"]) for r in samples)
    assert all(len(top) == 4 for r in samples for top in r["topk_ids"])
    sft = w.read("sft").to_pylist()
    by_id = {r["sample_id"]: r for r in samples}
    assert sft and all(r["token_ids"] == by_id[r["sample_id"]]["token_ids"] for r in sft)

    out = tmp_path / "export"
    code, _, stderr = run_cli(capsys, "export", "sft", "--to", str(out), "--format", "prompt-completion", "-w", wh)
    assert code == 0, stderr
    exported = pq.read_table(next(out.rglob("train*.parquet"))).to_pylist()
    assert all(len(r["teacher_topk_ids"]) == len(r["teacher_token_ids"]) for r in exported)

    model = tmp_path / "student"
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        "sft",
        "--base",
        str(ROOT / "demo_student"),
        "--output",
        str(model),
        "--kd",
        "topk",
        "--max-steps",
        "2",
        "--set",
        "train.batch_size=4",
        "--json",
        "-w",
        wh,
    )
    assert code == 0, stderr
    manifest = json.loads((model / "starmill_training.json").read_text())
    assert manifest["kind"] == "kd" and manifest["settings"]["teacher"] is None  # distilled from stored top-k
