"""Hostile source rows become rejects with an exact reason, the other rows are kept; files that are
not what their name says, and missing local files, are one `Error:` line and write no version."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from starmill.schemas import ProblemRecord, RejectRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.sources import SourceError, SourceSpec, iter_problems
from tests.helpers import run_cli as run

GOOD = ['{"question": "What is 1 + 1?", "answer": "2"}', '{"question": "What is 2 + 2?", "answer": "4"}']


def split(spec):
    records = list(iter_problems(spec)[0])
    return (
        [r.question for r in records if isinstance(r, ProblemRecord)],
        [(r.row_index, r.reason) for r in records if isinstance(r, RejectRecord)],
    )


@pytest.mark.parametrize(
    "line,reason",
    [
        ('{"question": "\\ud83d what?", "answer": "1"}', "bad_unicode"),  # a lone surrogate
        ('{"question": "big?", "answer": %s}' % ("9" * 10_000), "number_too_long"),
        ('{"question": "deep?", "answer": "1", "x": %s%s}' % ("[" * 5000, "]" * 5000), "too_deep"),
        (
            '{"question": "deep?", "answer": "1", "x": %s%s}' % ("[" * 100, "]" * 100),
            "too_deep",
        ),  # parses, still too deep
        ('{"question": "%s", "answer": "1"}' % ("x" * 32_001), "too_long"),
        ('{"question": "q?", "answer": "%s"}' % ("1" * 32_001), "too_long"),
    ],
)
def test_hostile_jsonl_row_is_a_reject_and_neighbours_are_kept(tmp_path, line, reason):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([GOOD[0], line, GOOD[1]]) + "\n")
    assert split(SourceSpec(uri=str(path))) == (["What is 1 + 1?", "What is 2 + 2?"], [(2, reason)])


def test_hostile_rows_are_committed_as_rejects(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    bad = [
        '{"question": "\\ud83d", "answer": "1"}',
        '{"question": "n", "answer": %s}' % ("9" * 10_000),
        '{"question": "d", "answer": "1", "x": %s%s}' % ("[" * 5000, "]" * 5000),
    ]
    path.write_text("\n".join([GOOD[0], *bad, GOOD[1]]) + "\n")
    code, out, err = run(capsys, "ingest", str(path), "-w", str(tmp_path / "wh"), "--name", "t")
    assert (code, err) == (0, "") and out.startswith("t@v1: 2 problems, 3 rejects (read 5)")
    rejects = Warehouse(str(tmp_path / "wh")).read("t", "rejects").to_pylist()
    assert [(r["row_index"], r["reason"]) for r in rejects] == [
        (2, "bad_unicode"),
        (3, "number_too_long"),
        (4, "too_deep"),
    ]
    assert "\\ud83d" in rejects[0]["raw"]  # the bad character stays visible, escaped


def test_max_chars_is_configurable(tmp_path, capsys):
    path = tmp_path / "rows.jsonl"
    path.write_text(GOOD[0] + "\n" + '{"question": "%s", "answer": "1"}\n' % ("x" * 50))
    assert split(SourceSpec(uri=str(path), max_chars=20)) == (["What is 1 + 1?"], [(2, "too_long")])
    assert split(SourceSpec(uri=str(path)))[1] == []
    code, out, _ = run(capsys, "ingest", str(path), "-w", str(tmp_path / "wh"), "--max-chars", "20")
    assert code == 0 and "  rejected      1  too_long" in out.splitlines()


def test_csv_field_over_128_kib_is_a_reject(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('question,answer\nWhat is 1 + 1?,2\n"%s",1\nWhat is 2 + 2?,4\n' % ("a" * 140_000))
    assert split(SourceSpec(uri=str(path))) == (["What is 1 + 1?", "What is 2 + 2?"], [(3, "field_too_large")])


def test_json_list_rows(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(
        '[%s, {"question": "\\udc00", "answer": "1"}, {"question": "n", "answer": %s}, %s]'
        % (GOOD[0], "9" * 10_000, GOOD[1])
    )
    assert split(SourceSpec(uri=str(path))) == (
        ["What is 1 + 1?", "What is 2 + 2?"],
        [(1, "bad_unicode"), (2, "number_too_long")],
    )


def test_parquet_rows_are_checked_too(tmp_path):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"question": ["a?", "x" * 40_000, "b?"], "answer": ["1", "2", "3"]}), path)
    assert split(SourceSpec(uri=str(path))) == (["a?", "b?"], [(1, "too_long")])


@pytest.mark.parametrize(
    "suffix,message",
    [
        (".csv", "is not a UTF-8 CSV file (it holds binary data)"),
        (".jsonl", "is not a UTF-8 JSON Lines file (it holds binary data)"),
        (".json", "is not a UTF-8 JSON file (it holds binary data)"),
        (".parquet", "is not a readable Parquet file (Parquet magic bytes not found"),
    ],
)
def test_random_bytes_are_one_error_line_and_no_version(tmp_path, capsys, suffix, message):
    wh = tmp_path / "wh"
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(GOOD) + "\n")
    assert run(capsys, "ingest", str(good), "-w", str(wh), "--name", "t")[0] == 0
    path = tmp_path / f"random{suffix}"
    path.write_bytes(bytes(range(256)) * 4 + os.urandom(3000))
    code, out, err = run(capsys, "ingest", str(path), "-w", str(wh), "--name", "t")
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {path} {message}") and err.count("\n") == 1, err
    assert Warehouse(str(wh)).versions("t") == [1]  # nothing committed, the earlier version intact
    assert Warehouse(str(wh)).read("t").num_rows == 2


def test_one_bad_line_is_not_a_binary_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(GOOD[0].encode() + b"\n\xff\xfe{}\n" + GOOD[1].encode() + b"\n")
    assert split(SourceSpec(uri=str(path))) == (["What is 1 + 1?", "What is 2 + 2?"], [(2, "undecodable")])


@pytest.mark.parametrize("uri", ["./nope.jsonl", "data/x.parquet", "nope", "{tmp}/gone.csv", "~/nope-starmill.json"])
def test_missing_local_file_says_not_found_not_hub(tmp_path, capsys, monkeypatch, uri):
    monkeypatch.chdir(tmp_path)
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("asked the Hub"))
    uri = uri.replace("{tmp}", str(tmp_path))
    code, out, err = run(capsys, "ingest", uri, "-w", str(tmp_path / "wh"))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: source file {uri!r} not found (no such file or folder; for a Hub dataset write hf://OWNER/NAME)\n"
    )
    assert not (tmp_path / "wh").exists() or Warehouse(str(tmp_path / "wh")).datasets() == []


def test_hub_ids_still_go_to_the_hub(monkeypatch):
    from starmill.warehouse.sources.ingest import looks_local

    assert not looks_local("openai/gsm8k") and not looks_local("hf://data/x.parquet")
    assert not looks_local("AI-MO/NuminaMath-1.5")
    assert looks_local("data/x.parquet") and looks_local("./a/b") and looks_local("/a/b")


def test_not_a_regular_file():
    with pytest.raises(SourceError, match="^source '/dev/null' is not a regular file or folder$"):
        iter_problems(SourceSpec(uri="/dev/null"))


def test_raw_of_a_reject_is_valid_text(tmp_path):
    """The reject row itself must be writable: its raw text is UTF-8, its detail says why."""
    path = tmp_path / "rows.jsonl"
    path.write_text('{"question": "\\ud83d", "answer": "1", "n": %s}\n' % ("7" * 5000))
    record = list(iter_problems(SourceSpec(uri=str(path)))[0])[0]
    assert record.reason in ("bad_unicode", "number_too_long")
    record.raw.encode("utf-8")
    json.dumps(record.detail)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["-n", "-5"], "-n: Input should be greater than or equal to 0"),
        (["-n", "100000000000"], "-n: Input should be less than or equal to 10000000"),
        (["--limit", "0"], "--limit: Input should be greater than or equal to 1"),
    ],
)
def test_bad_ingest_options_are_one_error_line(tmp_path, capsys, argv, message):
    code, out, err = run(capsys, "ingest", "procedural", *argv, "-w", str(tmp_path / "wh"))
    assert (code, out, err) == (1, "", f"Error: {message}\n")
    assert not (tmp_path / "wh").exists()
