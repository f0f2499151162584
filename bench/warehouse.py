"""Warehouse benchmark: write N sample rows (~1.5 KB of text each) as one version through our
writer and through raw ``pyarrow.parquet`` in the same run, then a group-by through ``starmill sql``'s
code path. Each part runs in its own process so peak RSS is measured per part.

    .venv/bin/python bench/warehouse.py            # 1,000,000 rows (about 1.5 GB of text)
    .venv/bin/python bench/warehouse.py --rows 100000

Targets: our write at least half raw pyarrow's MB/s, peak RSS under 1 GB, the query under 1 s.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH = 16_384  # rows per generated batch and per Parquet row group
POOL = 4_096  # distinct rationale texts the rows draw from


def batches(rows: int, seed: int = 0):
    """The same stream of ``samples`` batches for every part (synthetic, ~1.5 KB completions)."""
    import numpy as np
    import pyarrow as pa

    from schemas import SampleRecord

    rng = np.random.default_rng(seed)
    words = np.array("the of to and a in is it that we add so then total step answer each more left".split())
    pool = [" ".join(rng.choice(words, 300)) for _ in range(POOL)]
    schema = SampleRecord.arrow_schema()
    stages = pa.array(["rationale", "rationalization"])
    verdicts = ["correct", "wrong", "unparseable_pred"]
    done = 0
    while done < rows:
        n = min(BATCH, rows - done)
        idx = rng.integers(0, POOL, n)
        ids = pa.array([f"{done + i:032x}" for i in range(n)])
        verdict = rng.integers(0, 3, n)
        cols = {
            "sample_id": ids, "problem_id": pa.array([f"{(done + i) // 8:032x}" for i in range(n)]),
            "stage": stages.take(pa.array((verdict == 2).astype("int64"))),
            "iteration": pa.array(np.zeros(n, "int32")), "sample_index": pa.array((np.arange(n) % 8).astype("int32")),
            "template_id": pa.array(["cot"] * n), "template_hash": pa.array(["abc123"] * n),
            "prompt": pa.array([[{"role": "user", "content": "Compute 12 + 30 - 7. Let's think step by step."}]] * n,
                               schema.field("prompt").type),
            "completion": pa.array([pool[i] for i in idx]),
            "reasoning": pa.nulls(n, pa.string()), "answer_text": pa.nulls(n, pa.string()),
            "extracted_answer": pa.array(rng.integers(0, 200, n).astype(str)),
            "finish_reason": pa.array(["stop"] * n),
            "prompt_tokens": pa.array(np.full(n, 40, "int32")),
            "completion_tokens": pa.array(rng.integers(50, 400, n).astype("int32")),
            "model": pa.array(["demo"] * n), "model_revision": pa.array(["r1"] * n),
            "engine": pa.array(["vllm"] * n), "engine_version": pa.array(["0.32.0"] * n),
            "sampling": pa.array(['{"temperature": 0.7}'] * n), "seed": pa.array(np.arange(n, dtype="int64")),
            "verdicts": pa.array([[{"checker": "starmill", "checker_version": "1", "verdict": verdicts[v],
                                    "rule": "rational", "pred": "1", "gold": "1", "seconds": 0.0}] for v in verdict],
                                 schema.field("verdicts").type),
            "correct": pa.array(verdict == 0), "kept": pa.array(verdict == 0),
            "drop_reason": pa.array([None if v == 0 else "wrong_answer" for v in verdict]),
        }
        yield pa.RecordBatch.from_pydict(cols, schema=schema)
        done += n


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_generate_only(rows: int, root: str) -> dict:
    start, data = time.perf_counter(), 0
    for batch in batches(rows):
        data += batch.nbytes
    return {"seconds": time.perf_counter() - start, "bytes": data}


def part_raw(rows: int, root: str, compression: str = "zstd") -> dict:
    import pyarrow.parquet as pq

    from schemas import SampleRecord

    path = Path(root) / f"raw-{compression}.parquet"
    spent, data = 0.0, 0  # time inside the writer only: generating the data is not counted
    t = time.perf_counter()
    writer = pq.ParquetWriter(path, SampleRecord.arrow_schema(), compression=compression)
    spent += time.perf_counter() - t
    for batch in batches(rows):
        t = time.perf_counter()
        writer.write_batch(batch, row_group_size=BATCH)
        spent += time.perf_counter() - t
        data += batch.nbytes
    t = time.perf_counter()
    writer.close()
    spent += time.perf_counter() - t
    return {"seconds": spent, "bytes": data, "file_bytes": path.stat().st_size}


def part_ours(rows: int, root: str) -> dict:
    from warehouse import Warehouse

    wh = Warehouse(Path(root) / "wh")
    spent, data = 0.0, 0  # time inside the writer only: generating the data is not counted
    t = time.perf_counter()
    writer = wh.writer("bench", "samples", row_group_rows=BATCH)
    spent += time.perf_counter() - t
    for batch in batches(rows):
        t = time.perf_counter()
        writer.write(batch)
        spent += time.perf_counter() - t
        data += batch.nbytes
    t = time.perf_counter()
    writer.commit()
    spent += time.perf_counter() - t
    manifest = wh.manifest("bench")
    return {"seconds": spent, "bytes": data,
            "file_bytes": sum(f.bytes for f in manifest.files), "rows": manifest.rows}


def part_query(rows: int, root: str) -> dict:
    from warehouse import Warehouse
    from warehouse.sql import connect, query

    sql = ("SELECT stage, kept, count(*) AS n, avg(completion_tokens) AS tokens, "
           "count(DISTINCT problem_id) AS problems FROM bench GROUP BY ALL ORDER BY ALL")
    start = time.perf_counter()
    con = connect(Warehouse(Path(root) / "wh"))
    opened = time.perf_counter() - start
    times = []
    for _ in range(3):
        t = time.perf_counter()
        result = query(con, sql)
        times.append(time.perf_counter() - t)
    return {"open_seconds": opened, "first": times[0], "best": min(times), "groups": result.num_rows,
            "rows": sum(result.column("n").to_pylist())}


PARTS = {"generate": part_generate_only, "raw": part_raw, "raw-snappy": lambda r, d: part_raw(r, d, "snappy"),
         "ours": part_ours, "query": part_query}


def run_part(name: str, rows: int, root: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--part", name, "--rows", str(rows), "--root", root],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"part {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--part", choices=sorted(PARTS))
    parser.add_argument("--root")
    args = parser.parse_args()
    if args.part:
        result = PARTS[args.part](args.rows, args.root)
        result["peak_rss_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    root = tempfile.mkdtemp(prefix="starmill-bench-")
    try:
        gen = run_part("generate", args.rows, root)
        raw = run_part("raw", args.rows, root)
        snappy = run_part("raw-snappy", args.rows, root)
        ours = run_part("ours", args.rows, root)
        q = run_part("query", args.rows, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mb = gen["bytes"] / 1e6
    print(f"rows: {args.rows:,}  in-memory Arrow data: {mb:,.0f} MB  (generating it: {gen['seconds']:.1f} s, not counted)")
    for label, r in (("raw pyarrow (zstd)", raw), ("raw pyarrow (snappy)", snappy), ("starmill writer (zstd)", ours)):
        print(f"{label:<24} {mb / r['seconds']:8.1f} MB/s  {r['seconds']:7.1f} s  file {r['file_bytes'] / 1e6:7.1f} MB"
              f"  peak RSS {r['peak_rss_mb']:6.0f} MB")
    print(f"write speed ours / raw (same codec): {raw['seconds'] / ours['seconds']:.2f}  (target >= 0.5)")
    print(f"peak RSS of our writer: {ours['peak_rss_mb']:.0f} MB  (target < 1024 MB)")
    print(f"group-by over {q['rows']:,} rows via starmill sql: first {q['first'] * 1000:.0f} ms, best "
          f"{q['best'] * 1000:.0f} ms, opening the warehouse {q['open_seconds'] * 1000:.0f} ms  (target < 1000 ms)")


if __name__ == "__main__":
    main()
