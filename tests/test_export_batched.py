"""Export formatting turns long rows into Python a batch at a time (issue 25: long rows at scale)."""

import pyarrow as pa
import pytest

from starmill.schemas import SftRecord
from starmill.warehouse.export import formats


def _table(n: int) -> pa.Table:
    records = [
        SftRecord(
            sample_id=f"s{i}",
            problem_id=f"p{i // 4}",
            source="t",
            stage="rationale",
            iteration=0,
            prompt=[{"role": "system", "content": "old"}, {"role": "user", "content": f"q{i}"}],
            completion=f"full {i} " * 50,
            reasoning=None if i % 3 else f" think {i} " * 40,
            answer_text=None if i % 5 else f"a{i}",
            final_answer=str(i),
            gold_answer=str(i),
            pseudo_label=False,
            pass_rate=0.5,
            model="m",
        )
        for i in range(n)
    ]
    table = SftRecord.to_table(records)
    return table.append_column("origin", pa.array(["d@v1"] * n))


@pytest.mark.parametrize("fmt", ["messages", "prompt-completion"])
def test_rows_are_formatted_a_batch_at_a_time_with_the_same_result(monkeypatch, fmt):
    table = _table(23)
    whole = formats.format_rows(table, fmt, "sys")  # FORMAT_ROWS is larger than the table
    seen = []
    real = formats._text_columns
    monkeypatch.setattr(formats, "_text_columns", lambda b, *a: seen.append(b.num_rows) or real(b, *a))
    monkeypatch.setattr(formats, "FORMAT_ROWS", 5)
    batched = formats.format_rows(table, fmt, "sys")
    assert seen == [5, 5, 5, 5, 3]
    assert batched.equals(whole)
    assert all(batched.column(c).num_chunks == 1 for c in batched.column_names[:2])  # same Parquet pages
    texts = [m[-1]["content"] for m in batched.column("messages" if fmt == "messages" else "completion").to_pylist()]
    assert formats.assistant_lengths(table) == [len(t) for t in texts]
    assert texts[1] == table.column("completion")[1].as_py()  # no reasoning: the completion as it is
    assert texts[0].startswith("<think>\nthink 0") and texts[0].endswith("</think>\n\na0")


def test_an_empty_table_formats_to_no_rows():
    assert formats.format_rows(_table(0), "messages").num_rows == 0
    assert formats.assistant_lengths(_table(0)) == []


def test_an_export_formats_and_writes_one_row_group_at_a_time(tmp_path, monkeypatch):
    """The rows are held once (unsorted); each row group is taken, formatted and written in turn, and
    the files are the bytes that formatting the whole sorted table at once gives."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.export import build
    from starmill.warehouse.export.folder import PARQUET
    from starmill.warehouse.export.model import ExportSettings

    wh = Warehouse(tmp_path / "wh")
    table = _table(23).drop_columns(["origin"])
    with wh.writer("sft", "sft", row_group_rows=5) as writer:
        writer.write(table.take(list(reversed(range(23)))))  # stored out of the exported order, in row groups
    monkeypatch.setitem(PARQUET, "row_group_size", 4)
    export = build.build_export(wh, ExportSettings.make(ref="sft", test_size=0.3, rows_per_file=9))
    assert export.source.num_rows == 23 and "messages" not in export.splits["train"].column_names
    assert export.source.column("completion").num_chunks > 1  # rows are taken chunk by chunk
    seen = []
    real = build.format_rows
    monkeypatch.setattr(build, "format_rows", lambda rows, *a: seen.append(rows.num_rows) or real(rows, *a))
    (tmp_path / "a").mkdir()
    files = build.write_export(export, tmp_path / "a")
    assert sum(seen) == 23 and max(seen) == 4

    whole = {s: real(export.source.take(keys.column(build.ROW)), "messages") for s, keys in export.splits.items()}
    order = [(r["problem_id"], r["sample_id"]) for r in whole["train"].select(["problem_id", "sample_id"]).to_pylist()]
    assert order == sorted(order)
    export.splits, export.source = whole, None
    (tmp_path / "b").mkdir()
    assert build.write_export(export, tmp_path / "b") == files
    data = [f for f in files if f.startswith("data/")]
    assert len(data) >= 3  # several files per split, several row groups per file
    for f in data:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
