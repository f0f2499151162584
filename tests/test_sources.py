"""Problem sources: every format, presets, and bad rows recorded as rejects with a reason."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from starmill.schemas import ProblemRecord, RejectRecord
from starmill.warehouse import Warehouse
from starmill.warehouse.sources import SourceError, SourceSpec, ingest, iter_problems

DATA = Path(__file__).parent / "data" / "sources"


def split(spec):
    records, entry = iter_problems(spec)
    records = list(records)
    return (
        [r for r in records if isinstance(r, ProblemRecord)],
        [r for r in records if isinstance(r, RejectRecord)],
        entry,
    )


def test_gsm8k_preset_extracts_the_final_answer():
    problems, rejects, entry = split(SourceSpec(uri=str(DATA / "gsm8k_good.jsonl"), preset="gsm8k"))
    assert [p.gold_answer for p in problems] == ["72", "10", "1000"]
    assert problems[0].gold_solution.endswith("#### 72")
    assert problems[0].source == "gsm8k_good" and problems[0].split == "train"
    assert rejects == []
    assert entry.fingerprint.startswith("sha256:")


def test_broken_jsonl_rejects_every_bad_row_with_its_reason():
    problems, rejects, _ = split(SourceSpec(uri=str(DATA / "gsm8k_broken.jsonl"), preset="gsm8k"))
    assert [p.gold_answer for p in problems] == ["72", "10"]
    assert [(r.row_index, r.reason) for r in rejects] == [
        (2, "bad_json"),
        (3, "undecodable"),
        (4, "missing_answer"),
        (5, "missing_question"),
        (6, "wrong_type"),
        (7, "duplicate"),
        (8, "unparseable_gold"),
        (9, "not_an_object"),
    ]
    assert "\\xff" in rejects[1].raw  # the bad bytes stay visible
    lines = [line for line in (DATA / "gsm8k_broken.jsonl").read_bytes().splitlines() if line.strip()]
    assert len(problems) + len(rejects) == len(lines)  # nothing vanished


def test_math_preset_takes_the_boxed_answer_and_metadata():
    problems, rejects, _ = split(SourceSpec(uri=str(DATA / "math.jsonl"), preset="math"))
    assert [p.gold_answer for p in problems] == ["\\frac{3}{4}", "2"]
    assert json.loads(problems[0].metadata) == {"level": "Level 1", "type": "Prealgebra"}
    assert [(r.row_index, r.reason) for r in rejects] == [(3, "unparseable_gold")]


def test_csv_with_bad_rows():
    problems, rejects, _ = split(SourceSpec(uri=str(DATA / "plain.csv")))
    assert [(p.question, p.gold_answer) for p in problems] == [
        ("What is 6 times 7?", "42"),
        ("Half of 9?", "4.5"),
        ("Multi-line\nquestion: 1+1?", "2"),
    ]
    assert [r.reason for r in rejects] == ["malformed_row", "undecodable", "missing_question"]


def test_parquet_with_custom_fields_and_types(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"q": ["1+1?", "2+2?", None], "a": [2, 4, 5], "lvl": ["a", "b", "c"]}), path)
    spec = SourceSpec(uri=str(path), question_field="q", answer_field="a", metadata_fields=["lvl"], name="mine")
    problems, rejects, _ = split(spec)
    assert [(p.question, p.gold_answer, p.source) for p in problems] == [("1+1?", "2", "mine"), ("2+2?", "4", "mine")]
    assert json.loads(problems[1].metadata) == {"lvl": "b"}
    assert [(r.row_index, r.reason) for r in rejects] == [(2, "missing_question")]


def test_datasets_folder_keeps_splits(tmp_path):
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "ds"
    DatasetDict(
        {
            "train": Dataset.from_list([{"question": "a?", "answer": "1"}, {"question": "b?", "answer": "2"}]),
            "test": Dataset.from_list([{"question": "c?", "answer": "3"}]),
        }
    ).save_to_disk(str(folder))
    problems, rejects, entry = split(SourceSpec(uri=str(folder)))
    assert sorted((p.question, p.split) for p in problems) == [("a?", "train"), ("b?", "train"), ("c?", "test")]
    assert rejects == [] and entry.fingerprint.startswith("sha256:")


def test_not_a_datasets_folder(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(SourceError, match="save_to_disk"):
        iter_problems(SourceSpec(uri=str(tmp_path / "junk")))


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the Hub is unreachable here; this is the offline path
    with pytest.raises(SourceError, match="could not load 'openai/gsm8k' from the Hugging Face Hub"):
        iter_problems(SourceSpec(uri="hf://openai/gsm8k", preset="gsm8k", hub_config="main"))


def test_missing_source_and_unknown_type(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        iter_problems(SourceSpec(uri=str(tmp_path / "missing.jsonl")))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(SourceError, match="unknown file type"):
        iter_problems(SourceSpec(uri=str(tmp_path / "x.txt")))


def test_limit_reads_at_most_n_rows():
    problems, rejects, _ = split(SourceSpec(uri=str(DATA / "gsm8k_broken.jsonl"), preset="gsm8k", limit=3))
    assert len(problems) + len(rejects) == 3


def test_procedural_is_seeded_and_distinct():
    spec = SourceSpec(procedural={"n": 50, "seed": 3, "difficulty": 3})
    first, _, _ = split(spec)
    again, _, _ = split(spec)
    other, _, _ = split(SourceSpec(procedural={"n": 50, "seed": 4, "difficulty": 3}))
    assert [p.problem_id for p in first] == [p.problem_id for p in again]
    assert len({p.problem_id for p in first}) == 50
    assert [p.problem_id for p in first] != [p.problem_id for p in other]


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4, 5])
def test_procedural_answers_are_exact(difficulty):
    """Recompute every answer from the solution's own steps."""
    problems, _, _ = split(SourceSpec(procedural={"n": 100, "seed": 1, "difficulty": difficulty}))
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a // b}
    for p in problems:
        lines = p.gold_solution.splitlines()
        value = None
        for line in lines[:-1]:
            left, right = line.split(" = ")
            a, op, b = left.split(" ")
            assert value is None or int(a) == value
            value = ops[op](int(a), int(b))
            if op == "/":
                assert int(a) % int(b) == 0
            assert value == int(right) and value >= 0
        assert lines[-1] == f"The answer is {value}." and p.gold_answer == str(value)


def test_ingest_writes_problems_and_rejects(tmp_path):
    wh = Warehouse(tmp_path)
    manifest = ingest(wh, SourceSpec(uri=str(DATA / "gsm8k_broken.jsonl"), preset="gsm8k", license="mit"), "gsm8k")
    assert manifest.tables == {"problems": 2, "rejects": 8}
    assert manifest.counts == {"read": 10, "problems": 2, "rejects": 8}
    assert manifest.drops["bad_json"] == 1 and sum(manifest.drops.values()) == 8
    assert manifest.sources[0].license == "mit"
    assert wh.read("gsm8k", "rejects").num_rows == 8


def test_rows_without_answers_are_kept_when_answers_are_optional(tmp_path):
    path = tmp_path / "open.jsonl"
    path.write_text(
        '{"question": "How many?", "answer": ""}\n{"question": "And now?"}\n{"question": "x", "answer": "3"}\n'
    )
    problems, rejects, _ = split(SourceSpec(uri=str(path), require_answer=False))
    assert [(p.question, p.gold_answer) for p in problems] == [("How many?", ""), ("And now?", ""), ("x", "3")]
    assert rejects == []
    _, rejects, _ = split(SourceSpec(uri=str(path)))
    assert [r.reason for r in rejects] == ["missing_answer", "missing_answer"]


def test_a_hub_source_is_fingerprinted_so_a_rerun_reuses_its_version(tmp_path, monkeypatch):
    """The Hub is not reachable here: ``load_hub`` stands in with datasets built in memory, whose
    fingerprint plays the part of the cache folder's (it names the dataset's commit)."""
    import datasets

    from starmill.warehouse.sources import ensure_problems, readers

    rows = {"question": ["What is 2 + 3?", "What is 4 + 4?"], "answer": ["5", "8"]}
    commit = {"fp": "aaaa"}

    def load_hub(dataset_id, config, split, revision):
        ds = datasets.Dataset.from_dict(rows)
        ds._fingerprint = f"{dataset_id}-{commit['fp']}"
        return ds

    monkeypatch.setattr(readers, "load_hub", load_hub)
    wh = Warehouse(str(tmp_path / "wh"))
    spec = SourceSpec(uri="hf://someone/sums")
    first, _ = ensure_problems(wh, spec)
    assert wh.manifest(first).sources[0].fingerprint == "hf:someone/sums-aaaa"
    assert ensure_problems(wh, spec)[0] == first  # same data: the same version, no new one
    commit["fp"] = "bbbb"  # a new commit of the dataset
    assert ensure_problems(wh, spec)[0] != first
    pinned = SourceSpec(uri="hf://someone/sums", revision="0123456789abcdef0123456789abcdef01234567")
    ref, _ = ensure_problems(wh, pinned)
    assert wh.manifest(ref).sources[0].fingerprint == "hf-revision:0123456789abcdef0123456789abcdef01234567"
    assert ensure_problems(wh, pinned)[0] == ref
