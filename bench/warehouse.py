"""Warehouse benchmark: write N sample rows of ``--chars`` characters each through starmill's writer
(Arrow batches, and ``SampleRecord`` objects as the pipeline writes them) and through raw
``pyarrow.parquet.ParquetWriter`` on the same rows, interleaved over rounds; then ``starmill sql``
queries (count by verdict, a LIKE search, one problem's rows) and an SFT export to a folder. Every
part runs in its own process, so peak RSS (ru_maxrss) is per part. Rows are built from the tables'
Arrow schemas, so columns added later get nulls (or zeros) without touching this file.

    .venv/bin/python bench/warehouse.py                          # 20,000 R1-size rows (16k chars)
    .venv/bin/python bench/warehouse.py --rows 100000 --rounds 3
    .venv/bin/python bench/warehouse.py --rows 200000 --chars 1500  # short rows

Targets: our write at least 0.5x raw pyarrow's MB/s, writer peak RSS under 1 GB, queries under 1 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH_BYTES = 16 << 20  # text per generated batch (what a caller hands the writer at once)
MAX_BATCH = 16_384  # and at most this many rows
TEXT_MB = 32  # the rows are slices of one random-word text this long (so zstd can't dedupe them)
PER_PROBLEM = 8  # samples per problem
MISSING = "qwertyuiop"  # a word no row holds: the LIKE search scans every row


def _zero(t):
    import pyarrow as pa

    if pa.types.is_string(t):
        return ""
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return 0
    if pa.types.is_list(t):
        return []
    raise TypeError(f"no default for a required {t} column: give it in the bench")


def from_schema(schema, n: int, given: dict):
    """A batch of ``schema`` with the ``given`` columns; every other column null, or zero when required."""
    import pyarrow as pa

    unknown = set(given) - set(schema.names)
    if unknown:
        raise KeyError(f"not in the schema: {sorted(unknown)}")
    cols = []
    for f in schema:
        if f.name in given:
            cols.append(pa.array(given[f.name], f.type) if not isinstance(given[f.name], pa.Array) else given[f.name])
        elif f.nullable:
            cols.append(pa.nulls(n, f.type))
        else:
            cols.append(pa.array([_zero(f.type)] * n, f.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def batches(rows: int, chars: int, table: str = "samples", seed: int = 0):
    """The same stream of batches for every part: ``chars``-long completions, 8 samples per problem."""
    import numpy as np

    from starmill.schemas import TABLES

    rng = np.random.default_rng(seed)
    words = np.array(
        "the of to and a in is it that we add so then total step answer each more left wait "
        "check again multiply divide carry remainder hence therefore".split()
    )
    vocab = words.tolist()
    text = " ".join(
        " ".join([vocab[i] for i in rng.integers(0, len(vocab), 1 << 16).tolist()])
        for _ in range(TEXT_MB * 1024 * 1024 // 6 >> 16)
    )
    schema = TABLES[table].arrow_schema()
    per_batch = max(1, min(MAX_BATCH, BATCH_BYTES // max(chars, 1)))
    verdicts = np.array(["correct", "wrong", "unparseable_pred"])
    prompt = [{"role": "user", "content": "Compute 12 + 30 - 7. Let's think step by step."}]
    done = 0
    while done < rows:
        n = min(per_batch, rows - done)
        starts = rng.integers(0, len(text) - chars, n)
        verdict = rng.integers(0, 3, n)
        given = {
            "sample_id": [f"{done + i:032x}" for i in range(n)],
            "problem_id": [f"{(done + i) // PER_PROBLEM:032x}" for i in range(n)],
            "stage": np.where(verdict == 2, "rationalization", "rationale").tolist(),
            "iteration": np.zeros(n, "int32"),
            "prompt": [prompt] * n,
            "completion": [text[s : s + chars] for s in starts.tolist()],
            "model": ["demo"] * n,
        }
        if table == "samples":
            given.update(
                {
                    "sample_index": ((done + np.arange(n)) % PER_PROBLEM).astype("int32"),
                    "template_id": ["cot"] * n,
                    "template_hash": ["abc123"] * n,
                    "extracted_answer": rng.integers(0, 200, n).astype(str).tolist(),
                    "finish_reason": ["stop"] * n,
                    "prompt_tokens": np.full(n, 40, "int32"),
                    "completion_tokens": np.full(n, chars // 4, "int32"),
                    "engine": ["vllm"] * n,
                    "sampling": ['{"temperature": 0.7}'] * n,
                    "verdicts": [
                        [
                            {
                                "checker": "starmill",
                                "checker_version": "1",
                                "verdict": v,
                                "rule": "rational",
                                "pred": "1",
                                "gold": "1",
                                "seconds": 0.0,
                            }
                        ]
                        for v in verdicts[verdict].tolist()
                    ],
                    "correct": verdict == 0,
                    "kept": verdict == 0,
                    "drop_reason": [None if v == 0 else "wrong_answer" for v in verdict.tolist()],
                }
            )
        else:  # sft
            given.update(
                {
                    "source": ["bench"] * n,
                    "answer_text": ["35"] * n,
                    "final_answer": ["35"] * n,
                    "gold_answer": ["35"] * n,
                    "pass_rate": np.full(n, 0.5),
                }
            )
        yield from_schema(schema, n, given)
        done += n


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(write, rows: int, chars: int, as_records: bool = False, table: str = "samples") -> tuple[float, int]:
    """Seconds spent inside ``write`` only (generating the rows is not counted), and the text bytes."""
    from starmill.schemas import TABLES

    spent, data = 0.0, 0
    for batch in batches(rows, chars, table):
        data += batch.nbytes
        payload = [TABLES[table].from_row(r) for r in batch.to_pylist()] if as_records else batch
        del batch
        t = time.perf_counter()
        write(payload)
        spent += time.perf_counter() - t
    return spent, data


def part_generate(rows: int, chars: int, root: str) -> dict:
    """Generating the rows alone: the floor under every write part's peak RSS."""
    spent, data = _timed(lambda batch: None, rows, chars)
    return {"seconds": spent, "bytes": data}


def part_raw(rows: int, chars: int, root: str) -> dict:
    import pyarrow.parquet as pq

    from starmill.schemas import SampleRecord

    path = Path(root) / "raw.parquet"
    t = time.perf_counter()
    writer = pq.ParquetWriter(path, SampleRecord.arrow_schema(), compression="zstd")
    opened = time.perf_counter() - t
    spent, data = _timed(writer.write_batch, rows, chars)
    t = time.perf_counter()
    writer.close()
    spent += opened + time.perf_counter() - t
    return {
        "seconds": spent,
        "bytes": data,
        "file_bytes": path.stat().st_size,
        "row_groups": pq.ParquetFile(path).num_row_groups,
    }


def _ours(
    rows: int, chars: int, root: str, name: str, as_records: bool, table: str = "samples", keep: bool = False
) -> dict:
    import pyarrow.parquet as pq

    from starmill.warehouse import Warehouse

    wh = Warehouse(Path(root) / "wh")
    t = time.perf_counter()
    writer = wh.writer(name, table)
    opened = time.perf_counter() - t
    spent, data = _timed(writer.write, rows, chars, as_records, table)
    t = time.perf_counter()
    writer.commit()
    spent += opened + time.perf_counter() - t
    manifest = wh.manifest(name)
    groups = sum(pq.ParquetFile(wh.storage.path(manifest.data, f.path)).num_row_groups for f in manifest.files)
    if not keep:
        shutil.rmtree(wh.storage.path(name))
    return {
        "seconds": spent,
        "bytes": data,
        "file_bytes": sum(f.bytes for f in manifest.files),
        "rows": manifest.rows,
        "row_groups": groups,
    }


def part_ours(rows: int, chars: int, root: str) -> dict:
    return _ours(rows, chars, root, f"arrow{time.time_ns()}", as_records=False)


def part_records(rows: int, chars: int, root: str) -> dict:
    return _ours(rows, chars, root, f"records{time.time_ns()}", as_records=True)


def part_sft(rows: int, chars: int, root: str) -> dict:
    return _ours(rows, chars, root, "sft", as_records=False, table="sft", keep=True)


def part_samples(rows: int, chars: int, root: str) -> dict:
    return _ours(rows, chars, root, "samples", as_records=False, keep=True)


def part_query(rows: int, chars: int, root: str) -> dict:
    from starmill.warehouse import Warehouse
    from starmill.warehouse.sql import connect, query

    wh = Warehouse(Path(root) / "wh")
    name = "samples"
    queries = {
        "count by verdict": (
            f"SELECT verdicts[1].verdict AS verdict, count(*) AS n FROM {name} GROUP BY ALL ORDER BY ALL",
            None,
        ),
        "LIKE search": (f"SELECT count(*) AS n FROM {name} WHERE completion LIKE '%{MISSING}%'", None),
        "one problem's rows": (
            f"SELECT sample_id, length(completion) AS chars FROM {name} WHERE problem_id = $p",
            {"p": f"{rows // PER_PROBLEM // 2:032x}"},
        ),
    }
    start = time.perf_counter()
    con = connect(wh)
    out = {"open": time.perf_counter() - start}
    for label, (sql, params) in queries.items():
        times = []
        for _ in range(3):
            t = time.perf_counter()
            result = query(con, sql, params)
            times.append(time.perf_counter() - t)
        out[label] = {"first": times[0], "best": min(times), "result_rows": result.num_rows}
    return out


def part_export(rows: int, chars: int, root: str) -> dict:
    from starmill.warehouse import Warehouse
    from starmill.warehouse.export.build import export_to_folder
    from starmill.warehouse.export.model import ExportSettings

    wh = Warehouse(Path(root) / "wh")
    dest = Path(root) / f"export{time.time_ns()}"
    t = time.perf_counter()
    export, files = export_to_folder(wh, ExportSettings.make(ref="sft"), dest)
    seconds = time.perf_counter() - t
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    shutil.rmtree(dest)
    return {"seconds": seconds, "rows": export.rows, "files": len(files), "bytes": size}


PARTS = {
    "generate": part_generate,
    "raw": part_raw,
    "ours": part_ours,
    "records": part_records,
    "sft": part_sft,
    "samples": part_samples,
    "query": part_query,
    "export": part_export,
}


def run_part(name: str, rows: int, chars: int, root: str, script: str = __file__) -> dict:
    proc = subprocess.run(
        [sys.executable, script, "--part", name, "--rows", str(rows), "--chars", str(chars), "--root", root],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"part {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return fmt.format(statistics.median(values)) + " (" + fmt.format(min(values)) + "–" + fmt.format(max(values)) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chars", type=int, default=16_000, help="characters per completion")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved write rounds (order rotates)")
    parser.add_argument(
        "--compare-tree",
        help="also time the writer of another checkout (with this script in its "
        "bench/), e.g. `git archive HEAD~1 | tar -x -C /tmp/old`: before/after in one run",
    )
    parser.add_argument("--part", choices=sorted(PARTS))
    parser.add_argument("--root")
    args = parser.parse_args()
    if args.part:
        result = PARTS[args.part](args.rows, args.chars, args.root)
        result["peak_rss_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    root = tempfile.mkdtemp(prefix="starmill-bench-")
    writes: dict[str, list[dict]] = {"raw": [], "ours": [], "records": []}
    scripts = {name: __file__ for name in writes}
    if args.compare_tree:
        other = str(Path(args.compare_tree) / "bench" / "warehouse.py")
        scripts.update({"ours@other": other, "records@other": other})
        writes.update({"ours@other": [], "records@other": []})
    try:
        for r in range(args.rounds):
            k = r % len(writes)
            for name in list(writes)[k:] + list(writes)[:k]:
                writes[name].append(run_part(name.split("@")[0], args.rows, args.chars, root, scripts[name]))
            for f in Path(root).glob("raw.parquet"):
                f.unlink()
        gen = run_part("generate", args.rows, args.chars, root)
        sft = run_part("sft", args.rows, args.chars, root)
        run_part("samples", args.rows, args.chars, root)
        q = run_part("query", args.rows, args.chars, root)
        export = run_part("export", args.rows, args.chars, root)
        other_export = (
            run_part("export", args.rows, args.chars, root, scripts["ours@other"]) if args.compare_tree else None
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mb = writes["raw"][0]["bytes"] / 1e6
    print(f"rows: {args.rows:,} x {args.chars:,} chars; in-memory Arrow data {mb:,.0f} MB; {args.rounds} rounds")
    print("| write (zstd) | MB/s median (min–max) | vs raw, per round | peak RSS MB (max) | row groups | file MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    labels = {
        "raw": "raw `ParquetWriter.write_batch`",
        "ours": "starmill writer, Arrow batches",
        "records": "starmill writer, `SampleRecord`s",
        "ours@other": f"{args.compare_tree}: Arrow batches",
        "records@other": f"{args.compare_tree}: `SampleRecord`s",
    }
    for name in writes:
        label, runs = labels[name], writes[name]
        ratios = [raw["seconds"] / ours["seconds"] for raw, ours in zip(writes["raw"], runs)]
        print(
            f"| {label} | {spread([mb / r['seconds'] for r in runs], '{:.0f}')} | {spread(ratios)}x | "
            f"{max(r['peak_rss_mb'] for r in runs):.0f} | {runs[0]['row_groups']} | "
            f"{runs[0]['file_bytes'] / 1e6:.0f} |"
        )
    print(f"(generating the rows alone, not timed: peak RSS {gen['peak_rss_mb']:.0f} MB)")
    print(f"\n| `starmill sql` over {args.rows:,} rows | first ms | best of 3 ms | result rows |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| opening the warehouse (views) | {q['open'] * 1000:.0f} | | |")
    for label in ("count by verdict", "LIKE search", "one problem's rows"):
        r = q[label]
        print(f"| {label} | {r['first'] * 1000:.0f} | {r['best'] * 1000:.0f} | {r['result_rows']} |")
    print(f"(query process peak RSS {q['peak_rss_mb']:.0f} MB)")
    print(
        f"\nSFT export to a folder (messages format, {export['rows']:,} rows, {export['files']} files, "
        f"{export['bytes'] / 1e6:.0f} MB): {export['seconds']:.1f} s, peak RSS {export['peak_rss_mb']:.0f} MB "
        f"(writing the sft version: {sft['seconds']:.1f} s)"
    )
    if other_export:
        print(
            f"the same export by {args.compare_tree}: {other_export['seconds']:.1f} s, "
            f"peak RSS {other_export['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
