"""Row groups bounded by bytes as well as rows (issue 25: long rows at scale)."""

import pyarrow.parquet as pq

from starmill.schemas import SampleRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.health import verify

LONG = 100_000  # characters per completion: R1-size and more


def _sample(i: int, chars: int) -> SampleRecord:
    return SampleRecord(
        sample_id=f"s{i:06d}",
        problem_id=f"p{i // 8:05d}",
        stage="rationale",
        iteration=0,
        sample_index=i % 8,
        template_id="cot",
        template_hash="h",
        prompt=[{"role": "user", "content": "q"}],
        completion=(f"{i:06d} " + "step " * chars)[:chars],
        reasoning=None,
        answer_text=None,
        extracted_answer="1",
        finish_reason="stop",
        prompt_tokens=1,
        completion_tokens=chars // 4,
        model="m",
        model_revision=None,
        engine="e",
        engine_version=None,
        sampling="{}",
        seed=i,
    )


def _groups(wh, name):
    return [pq.ParquetFile(path).metadata for path in wh.files(wh.resolve(name))]


def test_long_records_wait_in_memory_for_one_row_group_of_bytes_at_most(tmp_path):
    wh = Warehouse(tmp_path)
    budget = 1 << 20
    waiting = []
    with wh.writer("s", "samples", row_group_bytes=budget) as writer:
        for i in range(40):
            writer.write([_sample(i, LONG)])
            waiting.append(len(writer.tables["samples"].pending))
    assert max(waiting) <= budget // LONG + 1  # not 16,384 rows' worth (1.6 GB of text here)
    (meta,) = _groups(wh, "s")
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    assert sum(sizes) == 40 and meta.num_row_groups >= 4 and max(sizes) <= budget // LONG + 1
    table = wh.read("s")
    assert table.column("sample_id").to_pylist() == [f"s{i:06d}" for i in range(40)]
    assert table.column("completion").to_pylist()[7] == _sample(7, LONG).completion
    assert all(r.ok for r in verify(wh))


def test_one_long_arrow_table_is_cut_into_row_groups_by_bytes(tmp_path):
    wh = Warehouse(tmp_path)
    table = SampleRecord.to_table([_sample(i, LONG) for i in range(30)])
    with wh.writer("s", "samples", row_group_bytes=1 << 20) as writer:
        writer.write(table)
    (meta,) = _groups(wh, "s")
    assert meta.num_row_groups >= 3 and max(meta.row_group(g).num_rows for g in range(meta.num_row_groups)) <= 11
    assert wh.read("s").column("completion").equals(table.column("completion"))


def test_small_arrow_writes_are_gathered_into_full_row_groups(tmp_path):
    wh = Warehouse(tmp_path)
    table = SampleRecord.to_table([_sample(i, 50) for i in range(1000)])
    with wh.writer("s", "samples", row_group_rows=250, rows_per_file=600) as writer:
        for start in range(0, 1000, 10):  # 100 writes of 10 rows, as a caller batching per shard might
            writer.write(table.slice(start, 10))
    metas = _groups(wh, "s")
    assert [[m.row_group(g).num_rows for g in range(m.num_row_groups)] for m in metas] == [[250, 250, 100], [250, 150]]
    assert wh.read("s").column("sample_id").equals(table.column("sample_id"))


def test_records_and_arrow_keep_their_order_when_mixed(tmp_path):
    wh = Warehouse(tmp_path)
    records = [_sample(i, 20) for i in range(30)]
    with wh.writer("s", "samples", row_group_rows=7) as writer:
        writer.write(records[:5])
        writer.write(SampleRecord.to_table(records[5:18]))
        writer.write(records[18:])
    assert wh.read("s").column("sample_id").to_pylist() == [r.sample_id for r in records]
