"""Viewer latency: every page of `starmill view` over a warehouse with a 1M-row samples version.

Builds (once, with the warehouse's own writer) problems@v1, samples@v1 (ROWS samples, 8 per problem,
kept and dropped with reasons, verdicts, step scores), samples@v2 (the same run with 2% of the rows
replaced and 1% regraded, for /diff) and sft@v1 (the kept rows), then serves them with the viewer on
127.0.0.1 and requests each page REPEAT times after one warm-up request: first, median and p90
latency (whole HTTP requests, HTML included). The baseline is the page's main query run on a fresh
DuckDB connection over the same Parquet files, outside the viewer, in the same run.

    .venv/bin/python bench/viewer.py                         # 1,000,000 rows
    .venv/bin/python bench/viewer.py --rows 100000 --repeat 5
    .venv/bin/python bench/viewer.py --keep /tmp/viewer-bench  # reuse the warehouse next time

Goal: every page under 300 ms median.
"""

from __future__ import annotations

import argparse
import binascii
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starmill.filters.answers.verdict import CHECKER_VERSION  # noqa: E402

BATCH = 65_536  # rows per written batch
PER_PROBLEM = 8  # samples per problem
POOL = 2_048  # distinct rationale texts
REASONS = ["wrong_answer", "duplicate", "near_duplicate", "over_k", "bad_step", "truncated", "too_long"]
VERDICTS = ["correct", "wrong", "unparseable_pred", "timeout"]


def _ids(rng, n: int) -> list[str]:
    raw = rng.bytes(16 * n)
    return [binascii.hexlify(raw[16 * i : 16 * i + 16]).decode() for i in range(n)]


def _texts(rng) -> list[str]:
    words = "the of to and a we add so then total step answer each more left apples".split()
    out = []
    for i in range(POOL):
        a, b = int(rng.integers(2, 99)), int(rng.integers(2, 99))
        body = " ".join(rng.choice(words, int(rng.integers(30, 90))))
        extra = ""
        if i % 7 == 0:
            extra = f"\n```python\nprint({a} + {b})\n```"
        elif i % 5 == 0:
            extra = f"\nSo $\\frac{{{a}}}{{{b}}} + 1$ is not it."
        out.append(f"{body}\n{a} + {b} = {a + b}{extra}\nThe answer is {a + b}.")
    return out


def build(root: str, rows: int, seed: int = 0) -> dict[str, str]:
    """The bench warehouse; the refs it wrote."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from starmill.schemas import ProblemRecord, SampleRecord, SftRecord
    from starmill.warehouse import Warehouse

    rng = np.random.default_rng(seed)
    wh = Warehouse(root)
    problems = max(1, rows // PER_PROBLEM)
    pids = _ids(rng, problems)
    golds = rng.integers(0, 200, problems).astype(str)
    with wh.writer("problems", "problems", sources=[{"name": "bench", "uri": "bench"}]) as w:
        for start in range(0, problems, BATCH):
            end = min(problems, start + BATCH)
            w.write(
                pa.table(
                    {
                        "problem_id": pids[start:end],
                        "source": ["bench"] * (end - start),
                        "split": ["train"] * (end - start),
                        "question": [
                            f"Problem {i}: compute {g} the long way."
                            for i, g in zip(range(start, end), golds[start:end])
                        ],
                        "gold_answer": golds[start:end],
                        "gold_solution": [None] * (end - start),
                        "metadata": ["{}"] * (end - start),
                    },
                    schema=ProblemRecord.arrow_schema(),
                )
            )
        w.count("problems", problems)
    texts = _texts(rng)
    schema = SampleRecord.arrow_schema()
    ids = _ids(rng, rows)
    replaced = _ids(rng, rows // 50)  # samples@v2: 2% of the rows are other samples
    kept_total = 0

    def batches(version: int):
        nonlocal kept_total
        local = np.random.default_rng(seed + 1)  # the same rows for both versions, but what v2 changes
        for start in range(0, rows, BATCH):
            n = min(BATCH, rows - start)
            index = np.arange(start, start + n)
            verdict = local.choice(len(VERDICTS), n, p=[0.55, 0.35, 0.08, 0.02])
            if version == 2:  # a regrade: 1% of the verdicts change
                flip = local.random(n) < 0.01
                verdict = np.where(flip, (verdict + 1) % len(VERDICTS), verdict)
            else:
                local.random(n)
            correct = verdict == 0
            keep = correct & (index % PER_PROBLEM < 2)
            reason = np.where(correct, local.integers(1, len(REASONS), n), 0)
            sample_ids = [ids[i] for i in index]
            if version == 2:
                for j in np.flatnonzero(index % 50 == 7):
                    sample_ids[j] = replaced[index[j] // 50]
            text = local.integers(0, POOL, n)
            kept_total += int(keep.sum()) if version == 1 else 0
            yield pa.RecordBatch.from_pydict(
                {
                    "sample_id": sample_ids,
                    "problem_id": [pids[i // PER_PROBLEM] for i in index],
                    "stage": np.where(index % PER_PROBLEM < 6, "rationale", "rationalization").tolist(),
                    "iteration": np.zeros(n, "int32"),
                    "sample_index": (index % PER_PROBLEM).astype("int32"),
                    "template_id": ["cot_zero_shot"] * n,
                    "template_hash": ["00e75a6b195f4c4e"] * n,
                    "prompt": [[{"role": "user", "content": "Compute it.\nLet's think step by step."}]] * n,
                    "completion": [texts[t] for t in text],
                    "reasoning": [None] * n,
                    "answer_text": [None] * n,
                    "extracted_answer": local.integers(0, 200, n).astype(str).tolist(),
                    "finish_reason": ["stop"] * n,
                    "prompt_tokens": np.full(n, 40, "int32"),
                    "completion_tokens": local.integers(20, 200, n).astype("int32"),
                    "model": ["bench-teacher"] * n,
                    "model_revision": ["r1"] * n,
                    "engine": ["vllm"] * n,
                    "engine_version": ["0.32.0"] * n,
                    "sampling": ['{"temperature": 0.7}'] * n,
                    "seed": index.astype("int64"),
                    "verdicts": [
                        [
                            {
                                "checker": "starmill",
                                "checker_version": CHECKER_VERSION,
                                "verdict": VERDICTS[v],
                                "rule": "rational",
                                "pred": "1",
                                "gold": "1",
                                "seconds": 0.0,
                                "form": None,
                                "detail": None,
                            }
                        ]
                        for v in verdict
                    ],
                    "correct": correct,
                    "kept": keep,
                    "drop_reason": [None if k else REASONS[r] for k, r in zip(keep, reason)],
                    "scores": [[{"scorer": "steps", "version": "1", "value": 1.0, "steps": [1.0]}]] * n,
                    "token_ids": [None] * n,
                    "topk_ids": [None] * n,
                    "topk_logprobs": [None] * n,
                },
                schema=schema,
            )

    refs = {"problems": "problems@v1"}
    for version in (1, 2):
        with wh.writer("samples", "samples", parents=["problems@v1"]) as w:
            for batch in batches(version):
                w.write(batch)
                for reason, count in zip(
                    *np.unique(
                        np.array(batch.column("drop_reason").to_pylist(), dtype=object)[
                            ~np.array(batch.column("kept"))
                        ],
                        return_counts=True,
                    )
                ):
                    w.drop(str(reason), int(count))
            w.count("generated", rows)
        refs[f"samples{version}"] = f"samples@v{w.version}"
    sft_schema = SftRecord.arrow_schema()
    with wh.writer("sft", "sft", parents=[refs["samples1"], "problems@v1"]) as w:
        for batch in wh.dataset(refs["samples1"]).to_batches(filter=pc.field("kept")):
            n = batch.num_rows
            w.write(
                pa.RecordBatch.from_pydict(
                    {
                        "sample_id": batch.column("sample_id"),
                        "problem_id": batch.column("problem_id"),
                        "source": ["bench"] * n,
                        "stage": batch.column("stage"),
                        "iteration": batch.column("iteration"),
                        "prompt": batch.column("prompt"),
                        "completion": batch.column("completion"),
                        "reasoning": batch.column("reasoning"),
                        "answer_text": batch.column("answer_text"),
                        "final_answer": batch.column("extracted_answer"),
                        "gold_answer": batch.column("extracted_answer"),
                        "pseudo_label": [False] * n,
                        "pass_rate": [0.5] * n,
                        "model": batch.column("model"),
                        "token_ids": [None] * n,
                        "topk_ids": [None] * n,
                        "topk_logprobs": [None] * n,
                    },
                    schema=sft_schema,
                )
            )
        w.count("kept", kept_total)
    refs["sft"] = f"sft@v{w.version}"
    return refs


def pages(root: str, refs: dict[str, str]) -> dict[str, str]:
    """Page name -> path, for the refs of ``build``."""
    import duckdb

    from starmill.warehouse import Warehouse

    wh = Warehouse(root)
    files = [f"'{p}'" for p in wh.files(wh.resolve(refs["samples1"]))]
    con = duckdb.connect()
    problem = con.execute(
        f"SELECT problem_id FROM read_parquet([{', '.join(files)}]) LIMIT 1 OFFSET 400000"
    ).fetchone()[0]
    s1, s2 = refs["samples1"].replace("@", "/"), refs["samples2"]
    return {
        "index": "/",
        "dataset": "/datasets/samples",
        "version": f"/datasets/{s1}",
        "rows page 200": f"/datasets/{s1}?page=200",
        "filter verdict+reason": f"/datasets/{s1}?verdict=correct&reason=over_k",
        "filter source": f"/datasets/{s1}?source=bench&stage=rationalization",
        "text search": f"/datasets/{s1}?q=apples+apples",
        "text search (rare)": f"/datasets/{s1}?q=" + urllib.parse.quote("print(97 + 98)"),
        "sft version": "/datasets/sft",
        "problem": f"/problems/{problem}",
        "diff": "/diff?" + urllib.parse.urlencode({"a": refs["samples1"], "b": s2}),
    }


def baseline(root: str, refs: dict[str, str], repeat: int) -> dict[str, float]:
    """The main queries on a fresh DuckDB connection over the same files (median ms)."""
    import duckdb

    from starmill.warehouse import Warehouse

    wh = Warehouse(root)
    files = "[" + ", ".join(f"'{p}'" for p in wh.files(wh.resolve(refs["samples1"]))) + "]"
    con = duckdb.connect()
    problem = con.execute(f"SELECT problem_id FROM read_parquet({files}) LIMIT 1 OFFSET 400000").fetchone()[0]
    queries = {
        "rows page (raw)": f"SELECT sample_id, problem_id, stage, kept, drop_reason, left(completion, 200) "
        f"FROM read_parquet({files}) LIMIT 50 OFFSET 10000",
        "problem samples (raw)": f"SELECT * FROM read_parquet({files}) WHERE problem_id = '{problem}'",
    }
    out = {}
    for name, sql in queries.items():
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = statistics.median(times)
    return out


def measure(base: str, path: str, repeat: int) -> tuple[float, list[float], int]:
    times, status = [], 0
    for _ in range(repeat + 1):
        start = time.perf_counter()
        with urllib.request.urlopen(base + path) as response:
            response.read()
            status = response.status
        times.append((time.perf_counter() - start) * 1000)
    return times[0], times[1:], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", help="build the warehouse here (reused when it is there)")
    args = parser.parse_args()

    from starmill.viewer.server import make_server

    root = args.keep or tempfile.mkdtemp(prefix="viewer-bench-")
    refs = {"problems": "problems@v1", "samples1": "samples@v1", "samples2": "samples@v2", "sft": "sft@v1"}
    if not (Path(root) / "sft").exists():
        start = time.perf_counter()
        refs = build(root, args.rows)
        print(f"built {args.rows:,} samples rows ×2 versions in {time.perf_counter() - start:.0f} s under {root}")
    start = time.perf_counter()
    server = make_server(root, port=0)
    print(f"viewer ready in {(time.perf_counter() - start) * 1000:.0f} ms")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"{'page':<24}{'status':>7}{'first ms':>10}{'median ms':>11}{'p90 ms':>9}")
    for name, path in pages(root, refs).items():
        first, times, status = measure(base, path, args.repeat)
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
        print(f"{name:<24}{status:>7}{first:>10.0f}{statistics.median(times):>11.0f}{p90:>9.0f}")
    server.shutdown()
    for name, ms in baseline(root, refs, args.repeat).items():
        print(f"baseline {name:<28}{ms:>8.0f} ms median (fresh DuckDB, no viewer)")


if __name__ == "__main__":
    main()
