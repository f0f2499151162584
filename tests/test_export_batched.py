"""Export formatting turns long rows into Python a batch at a time (issue 25: long rows at scale)."""
import pyarrow as pa
import pytest

from schemas import SftRecord
from warehouse.export import formats


def _table(n: int) -> pa.Table:
    records = [SftRecord(
        sample_id=f"s{i}", problem_id=f"p{i // 4}", source="t", stage="rationale", iteration=0,
        prompt=[{"role": "system", "content": "old"}, {"role": "user", "content": f"q{i}"}],
        completion=f"full {i} " * 50, reasoning=None if i % 3 else f" think {i} " * 40,
        answer_text=None if i % 5 else f"a{i}", final_answer=str(i), gold_answer=str(i), pseudo_label=False,
        pass_rate=0.5, model="m") for i in range(n)]
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
