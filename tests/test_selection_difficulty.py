"""``selection.difficulty`` and ``selection.order``: a run keeps the problems whose pass rate lies in the
band (the others' kept samples dropped as ``too_easy`` / ``too_hard``, counted in the report) and
publishes its sft rows easy to hard; a bad band is a config error."""

import json

import pytest

from starmill.config import ConfigError, parse_config
from starmill.generators import registry
from starmill.generators.base import Completion
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import run_star
from starmill.warehouse import Warehouse

# question -> which of the 3 first-stage samples are right (the hinted ones always are)
RIGHT = {"Compute 8 + 8.": (), "Compute 2 + 3.": (0, 1, 2), "Compute 1 + 1.": (0,), "Compute 4 + 4.": (0, 1)}
GOLD = {"Compute 8 + 8.": "16", "Compute 2 + 3.": "5", "Compute 1 + 1.": "2", "Compute 4 + 4.": "8"}
WAYS = ["Adding them", "Counting up", "Summing the two numbers"]


def scripted(question, hint, index):
    if hint:
        text = f"Adding eight twice, {question[8:-1]} = {GOLD[question]}.\nThe answer is {GOLD[question]}."
    elif index in RIGHT[question]:
        text = f"{WAYS[index]} of {question[8:-1]} gives {GOLD[question]}.\nThe answer is {GOLD[question]}."
    else:
        text = f"I think it is {40 + index}.\nThe answer is {40 + index}."
    return Completion(text, "stop", 5, len(text.split()))


def run(tmp_path, **selection):
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "problems.jsonl"
    source.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in GOLD.items()))
    cfg = parse_config(
        {
            "source": {"uri": str(source)},
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "sampling": {"n": 3, "seed": 1},
            "selection": {"k": 3, **selection},
            "rationalization": {"attempts": 1},
            "runner": {"shard_size": 2, "retries": 0},
        }
    )
    registry.use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(respond=scripted))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    return summary, wh.read(summary["sft"]).to_pylist(), wh.read(summary["samples"]).to_pylist(), wh


def test_without_a_band_every_pass_rate_is_kept(tmp_path):
    summary, sft, _, _ = run(tmp_path)
    rates = {r["problem_id"]: r["pass_rate"] for r in sft}
    assert sorted(rates.values()) == [0.0, pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0]
    assert "too_easy" not in summary["drops"] and "too_hard" not in summary["drops"]


def test_the_band_drops_the_too_easy_and_too_hard_with_their_reason(tmp_path):
    summary, sft, samples, wh = run(tmp_path, difficulty={"min_pass_rate": 0.5, "max_pass_rate": 0.9})
    assert [round(r["pass_rate"], 3) for r in sft] == [0.667, 0.667]  # 4 + 4's two right samples
    assert summary["drops"]["too_easy"] == 3 and summary["drops"]["too_hard"] == 1
    easy = {s["problem_id"] for s in samples if s["drop_reason"] == "too_easy"}
    hard = {s["problem_id"] for s in samples if s["drop_reason"] == "too_hard"}
    assert len(easy) == 1 and len(hard) == 1 and not any(s["kept"] for s in samples if s["problem_id"] in easy | hard)
    # outside the band, whatever they get: 8 + 8 (never solved) is not rationalized, nor are the others
    assert {s["stage"] for s in samples} == {"rationale"}
    assert summary["counts"]["problems_too_easy"] == 1 and summary["counts"]["problems_too_hard"] == 2
    stats = wh.manifest(summary["sft"]).report.filter_stats
    assert stats["difficulty.dropped_too_easy"] == 3 and stats["difficulty.dropped_too_hard"] == 1
    assert stats["difficulty.kept"] == 2


def test_easy_to_hard_orders_the_rows_by_pass_rate_descending(tmp_path):
    _, selected, _, _ = run(tmp_path / "selected")
    _, sft, _, _ = run(tmp_path / "easy", order="easy_to_hard")
    rows = [(r["problem_id"], r["stage"], r["completion"]) for r in sft]
    as_selected = [(r["problem_id"], r["stage"], r["completion"]) for r in selected]
    rate = {r["problem_id"]: r["pass_rate"] for r in selected}
    assert rows == sorted(as_selected, key=lambda r: (-rate[r[0]], r[0])) and rows != as_selected
    assert [r["pass_rate"] for r in sft][0] == 1.0 and [r["pass_rate"] for r in sft][-1] == 0.0


@pytest.mark.parametrize(
    "band, words",
    [
        ({"min_pass_rate": 0.9, "max_pass_rate": 0.1}, "is above max_pass_rate"),
        ({"max_pass_rate": 1.5}, "less than or equal to 1"),
        ({"min": 0.1}, "min"),
    ],
)
def test_a_bad_band_is_a_config_error(band, words):
    with pytest.raises(ConfigError, match=words):
        parse_config({"selection": {"difficulty": band}})
    with pytest.raises(ConfigError, match="easy_to_hard"):
        parse_config({"selection": {"order": "hard_to_easy"}})


def test_the_export_card_names_the_band_and_the_order(tmp_path):
    from click.testing import CliRunner

    from starmill.cli import cli

    summary, _, _, wh = run(tmp_path, difficulty={"min_pass_rate": 0.5, "max_pass_rate": 0.9}, order="easy_to_hard")
    out = CliRunner().invoke(cli, ["export", summary["sft"], "--to", str(tmp_path / "out"), "-w", wh.root])
    assert out.exit_code == 0, out.output
    card = (tmp_path / "out" / "README.md").read_text()
    assert (
        f"`{summary['sft']}`'s run kept problems whose pass rate is from 0.5 to 0.9 (`selection.difficulty`); "
        "the others' samples were dropped as `too_easy` or `too_hard`."
    ) in card
    assert f"`{summary['sft']}`'s rows are stored easy to hard (`selection.order: easy_to_hard`)." in card
    assert "Pass rates of the 1 exported problems, with the teacher's mean completion tokens" in card
    assert "| 0.6-0.7 | 1 |" in card and "Rows are listed easy to hard" in card


def test_regrade_reselect_keeps_the_runs_band(tmp_path, capsys):
    from starmill.schemas import ProblemRecord
    from tests.helpers import run_cli
    from tests.test_regrade import _sample

    wh = Warehouse(str(tmp_path / "wh"))
    hexed = ProblemRecord.make("t", "What is 0x1000 + 0x854 in hex?", "0x1854")
    with wh.writer("problems", "problems") as writer:
        writer.write([hexed])
    samples = [
        _sample(hexed, 0, "The answer is 0x1855.", "correct", True),  # wrong once regraded
        _sample(hexed, 1, "The answer is 6228.", "wrong", False),  # right once regraded (0x1854)
        _sample(hexed, 2, "The answer is 0x1854.", "correct", True),
    ]
    config = {"selection": {"difficulty": {"min_pass_rate": 0.0, "max_pass_rate": 0.5}}}
    with wh.writer("samples", "samples", parents=["problems@v1"], config=config) as writer:
        writer.write(samples)
    code, stdout, stderr = run_cli(capsys, "regrade", "samples@v1", "--reselect", "--json", "-w", wh.root)
    assert code == 0, stderr
    reselected = json.loads(stdout)["reselected"]
    # pass rate 2/3 > 0.5: both right samples are too easy
    assert reselected["drops_after"] == {"too_easy": 2, "wrong_answer": 1} and reselected["rows_after"] == 0
    assert wh.read(reselected["sft"]).num_rows == 0
