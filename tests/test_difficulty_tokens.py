"""A problem's difficulty is its pass rate and the teacher's mean completion tokens on it: sft rows store
both (``teacher_tokens``), ``selection.order: easy_to_hard`` breaks pass-rate ties by fewer tokens, and an
export keeps that order in its folder (``--order``), saying so in the card with the tokens per pass-rate bin."""

import json

import pyarrow.parquet as pq
import pytest

from starmill.config import parse_config
from starmill.generators import registry
from starmill.generators.base import Completion
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import run_star
from starmill.warehouse import Warehouse
from starmill.warehouse.export import ExportSettings, export_to_folder

GOLD = {"Compute 1 + 1.": "2", "Compute 2 + 2.": "4", "Compute 3 + 3.": "6"}
LONG = (
    "First I write down both numbers, then I line up their digits, carry nothing because the sum stays small, "
    "check each column twice over, and finally read off the total"
)


def scripted(question, hint, index):
    gold = GOLD[question]
    if question == "Compute 2 + 2.":  # always right, at length
        text = f"{LONG} (way {index}): {gold}.\nThe answer is {gold}."
    elif question == "Compute 3 + 3." and index == 1:  # right half the time
        text = f"Maybe {40 + index}.\nThe answer is {40 + index}."
    else:
        text = f"Way {index}: {gold}.\nThe answer is {gold}."
    return Completion(text, "stop", 5, len(text.split()))


def run(tmp_path, **selection):
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "problems.jsonl"
    source.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in GOLD.items()))
    cfg = parse_config(
        {
            "source": {"uri": str(source)},
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "sampling": {"n": 2, "seed": 1},
            "selection": {"k": 2, **selection},
            "rationalization": {"attempts": 1},
            "runner": {"shard_size": 2, "retries": 0},
        }
    )
    registry.use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(respond=scripted))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    return wh, summary["sft"]


def words(question, index):
    return len(scripted(question, None, index).text.split())


def expected_tokens():
    return {q: (words(q, 0) + words(q, 1)) / 2 for q in GOLD}


def test_sft_rows_store_the_teachers_mean_tokens_and_easy_to_hard_breaks_ties_by_them(tmp_path):
    wh, ref = run(tmp_path, order="easy_to_hard")
    rows = wh.read(ref).to_pylist()
    question = {r["problem_id"]: r["prompt"][-1]["content"] for r in rows}
    tokens = expected_tokens()
    for r in rows:
        q = next(q for q in GOLD if q in question[r["problem_id"]])
        assert r["teacher_tokens"] == pytest.approx(tokens[q])
    order = [next(q for q in GOLD if q in question[r["problem_id"]]) for r in rows]
    assert order == ["Compute 1 + 1.", "Compute 1 + 1.", "Compute 2 + 2.", "Compute 2 + 2.", "Compute 3 + 3."]
    # the tie at pass rate 1.0 is broken by tokens, not by id (2 + 2's id sorts first)
    ids = {next(q for q in GOLD if q in question[p]): p for p in question}
    assert ids["Compute 2 + 2."] < ids["Compute 1 + 1."]


def test_an_export_keeps_the_easy_to_hard_order_and_shows_tokens_per_pass_rate(tmp_path):
    wh, ref = run(tmp_path, order="easy_to_hard")
    stored = [r["sample_id"] for r in wh.read(ref).to_pylist()]
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ref), tmp_path / "out")
    written = pq.read_table(next((tmp_path / "out" / "data").glob("train-*.parquet"))).column("sample_id")
    assert written.to_pylist() == stored and export.order == "easy_to_hard"
    card = (tmp_path / "out" / "README.md").read_text()
    assert "Rows are listed easy to hard (`--order easy_to_hard`, or the version's `selection.order`)" in card
    tokens = expected_tokens()
    both = (tokens["Compute 1 + 1."] + tokens["Compute 2 + 2."]) / 2
    assert "| pass rate | problems | teacher tokens (mean) |" in card
    assert f"| 0.9-1.0 | 2 | {round(both, 1):g} |" in card
    assert f"| 0.5-0.6 | 1 | {round(tokens['Compute 3 + 3.'], 1):g} |" in card and "| 0.0-0.1 | 0 | — |" in card
    lineage = json.loads((tmp_path / "out" / "starmill_export.json").read_text())
    assert lineage["difficulty"]["order"] == "easy_to_hard"
    assert lineage["difficulty"]["teacher_tokens_by_pass_rate"]["0.9-1.0"] == round(both, 1)
    # --order problem lists them by problem id, and the card says so
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ref, order="problem"), tmp_path / "by-id")
    ids = pq.read_table(next((tmp_path / "by-id" / "data").glob("train-*.parquet"))).column("problem_id").to_pylist()
    assert ids == sorted(ids) and ids != [r["problem_id"] for r in wh.read(ref).to_pylist()]
    assert "Rows are listed by problem id (`--order problem`)." in (tmp_path / "by-id" / "README.md").read_text()
    assert "--order problem" in export.command


def test_a_selected_version_exports_easy_to_hard_when_asked_in_each_split(tmp_path):
    wh, ref = run(tmp_path)
    rows = wh.read(ref).to_pylist()
    key = {r["sample_id"]: (-r["pass_rate"], r["teacher_tokens"], r["problem_id"], r["sample_id"]) for r in rows}
    export, _ = export_to_folder(
        wh, ExportSettings.make(ref=ref, order="easy_to_hard", test_size=0.4), tmp_path / "out"
    )
    assert set(export.splits) == {"train", "test"}
    for split in export.splits:
        got = pq.read_table(next((tmp_path / "out" / "data").glob(f"{split}-*.parquet"))).column("sample_id")
        assert got.to_pylist() == sorted(got.to_pylist(), key=key.get)


def test_an_older_version_without_teacher_tokens_exports_with_a_dash(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=6)
    older = make_sft_version(name="older", problems=6, seed=1)[1]
    [path] = wh.files(wh.resolve(older), "sft")  # as sft schema 2 wrote it: no teacher_tokens column
    pq.write_table(pq.read_table(path).drop_columns(["teacher_tokens"]), path)
    assert "teacher_tokens" not in wh.read(older).column_names
    export, _ = export_to_folder(wh, ExportSettings.make(ref=older), tmp_path / "old")
    assert "| 0.9-1.0 |" in (tmp_path / "old" / "README.md").read_text()
    assert set(
        json.loads((tmp_path / "old" / "starmill_export.json").read_text())["difficulty"][
            "teacher_tokens_by_pass_rate"
        ].values()
    ) == {None}
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ref, mix=[f"{older}:1"], format="raw"), tmp_path / "mix")
    assert export.rows == wh.read(ref).num_rows + wh.read(older).num_rows


def test_order_is_for_sft_exports(tmp_path, capsys):
    from starmill.cli import main

    assert (
        main(
            [
                "export",
                "x",
                "--to",
                str(tmp_path / "o"),
                "--format",
                "dpo",
                "--order",
                "easy_to_hard",
                "-w",
                str(tmp_path / "wh"),
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.strip() == "Error: --order applies to sft exports, not --format dpo"


def test_a_dpo_card_shows_the_teachers_tokens_per_pass_rate(tmp_path):
    from dataclasses import replace

    from starmill.warehouse.export.preference import export_preference
    from tests.test_export_preference import PLAN, _sample

    wh = Warehouse(str(tmp_path / "wh"))
    samples = [_sample(p, i, *s) for p, plan in PLAN.items() for i, s in enumerate(plan)]
    samples = [
        replace(s, completion_tokens=10 * (i + 1)) if s.problem_id == "p0" else s for i, s in enumerate(samples)
    ]  # p0: 10, 20, 30, 40 tokens
    with wh.writer("samples", "samples", config={}) as writer:
        writer.write(samples)
    export_preference(wh, "samples", str(tmp_path / "o"), "dpo")
    card = (tmp_path / "o" / "README.md").read_text()
    assert "| pass rate | problems | teacher tokens (mean) |" in card
    assert "| 0.5-0.6 | 1 | 25 |" in card  # p0: pass rate 2/4, (10 + 20 + 30 + 40) / 4 tokens
    assert "| 0.2-0.3 | 0 | — |" in card
