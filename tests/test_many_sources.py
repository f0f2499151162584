"""A run over many sources (``sources:``): one problems version, each problem graded by its own source's
verifiers, and per-source lineage (share, verifiers, counts, a redacted path) in manifests and the card."""

import json
import re

import pytest

from starmill.config import ConfigError, parse_config
from starmill.generators import registry
from starmill.generators.base import Completion
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import run_star
from starmill.warehouse import Warehouse
from starmill.warehouse.sources.many import taken
from tests.fixtures_export import read_card

ARITH = {f"Compute {a} + {a}.": str(2 * a) for a in range(1, 7)}
CAPITALS = {"Capital of France?": "Paris", "Capital of Peru?": "Lima", "Capital of Chad?": "N'Djamena"}


def write(path, rows):
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows.items()))
    return str(path)


def respond(question, hint, index):
    """Arithmetic answered as decimals (math: correct, exact: wrong); capitals by name (exact: correct)."""
    answer = f"{float(ARITH[question]):.1f}" if question in ARITH else CAPITALS[question]
    return Completion(f"Thinking it through.\nThe answer is {answer}.", "stop", 5, 6)


@pytest.fixture
def config(tmp_path):
    return parse_config(
        {
            "sources": [
                {"uri": write(tmp_path / "arith.jsonl", ARITH), "weight": 0.5, "license": "mit"},
                {
                    "uri": write(tmp_path / "capitals.jsonl", CAPITALS),
                    "name": "capitals",
                    "limit": 2,
                    "verifiers": ["exact"],
                    "license": "cc0-1.0",
                },
            ],
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "sampling": {"n": 2, "seed": 1},
            "selection": {"k": 1},
            "rationalization": {"enabled": False},
            "runner": {"shard_size": 3, "retries": 0},
        }
    )


def test_a_run_over_two_sources_grades_each_with_its_verifiers(config, tmp_path, capsys):
    registry.use_backend(config.teacher.model_dump(mode="json"), StubBackend(respond=respond))
    summary = run_star(config, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    problems = wh.read(summary["problems"]).to_pylist()
    arith = [p for p in problems if p["source"] == "arith"]
    expected = sum(taken(p, 0.5) for p in [p["problem_id"] for p in arith])
    assert len(arith) == expected and 0 < len(arith) < 6  # the weight took some, not all
    capitals = [p["question"] for p in problems if p["source"] == "capitals"]
    assert capitals == ["Capital of France?", "Capital of Peru?"]  # limit 2: the first two rows
    samples = wh.read(summary["samples"]).to_pylist()
    by_source = {p["problem_id"]: p["source"] for p in problems}
    checkers = {(by_source[s["problem_id"]], s["verdicts"][0]["checker"], s["correct"]) for s in samples}
    assert checkers == {("arith", "starmill", True), ("capitals", "exact", True)}  # math: the checker
    sft = wh.manifest(summary["sft"])
    assert sft.counts["kept"] == len(arith) + 2

    again = run_star(config, str(tmp_path / "wh"), progress=False)  # same sources: problems reused, nothing new
    assert (again["problems"], again["sft"], again.get("unchanged")) == (summary["problems"], summary["sft"], True)
    lineage = {s.name: s.model_dump() for s in sft.sources}
    assert lineage["arith"]["counts"] == {
        "read": 6,
        "problems": len(arith),
        "rejects": 0,
        "left_out_by_weight": 6 - len(arith),
    }
    assert lineage["capitals"]["counts"] == {"read": 2, "problems": 2, "rejects": 0, "left_out_by_weight": 0}
    arith_share = lineage["arith"]["weight"], lineage["arith"]["limit"], lineage["arith"]["verifiers"]
    assert arith_share == (0.5, None, ["math"])
    assert (lineage["capitals"]["weight"], lineage["capitals"]["limit"]) == (None, 2)
    assert lineage["capitals"]["verifiers"] == ["exact"] and lineage["capitals"]["uri"] == "<local>/capitals.jsonl"
    assert str(tmp_path) not in json.dumps(lineage) and "source" not in sft.config and sft.config["sources"]
    n = len(arith)
    assert sft.report.by_source == {
        "arith": {"generated": 2 * n, "correct": 2 * n, "kept": n, "problems_solved": n},
        "capitals": {"generated": 4, "correct": 4, "kept": 2, "problems_solved": 2},
    }

    from tests.helpers import run_cli

    code, out, err = run_cli(
        capsys, "export", summary["sft"], "--to", str(tmp_path / "out"), "-w", str(tmp_path / "wh")
    )
    assert (code, err) == (0, ""), out
    meta, body = read_card(tmp_path / "out")
    assert "| arith | `<local>/arith.jsonl` |" in body
    assert f"| weight 0.5 | math | `6` | `{len(arith)}` | `0` | `{6 - len(arith)}` |" in body
    assert "| limit 2 | exact | `2` | `2` | `0` | `0` |" in body
    assert f"| arith | {2 * n} | {2 * n} | {n} | {n} |" in body and "| capitals | 4 | 4 | 2 | 2 |" in body
    assert sorted(meta["license"]) == ["cc0-1.0", "mit"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"source": {"uri": "procedural"}, "sources": [{"uri": "procedural"}]}, "give source (one) or sources"),
        ({"sources": [{"uri": "procedural"}, {"uri": "procedural"}]}, "two sources are named 'procedural'"),
        ({"sources": [{"uri": "procedural", "weight": 0.5, "limit": 3}]}, "a weight or a limit, not both"),
        ({"sources": [{"uri": "procedural", "weight": 0}]}, "sources.0.weight: Input should be greater than 0"),
    ],
)
def test_bad_sources_are_refused_when_the_config_loads(data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(data)


def test_a_missing_source_file_is_one_error_line_before_anything_runs(tmp_path, capsys):
    from tests.helpers import run_cli

    config = tmp_path / "run.yaml"
    config.write_text(
        json.dumps(
            {
                "sources": [
                    {"uri": write(tmp_path / "a.jsonl", ARITH)},
                    {"uri": str(tmp_path / "missing.jsonl"), "name": "missing"},
                ]
            }
        )
    )
    code, out, err = run_cli(capsys, "run", str(config), "-w", str(tmp_path / "wh"))
    assert code == 1 and err.startswith("Error: source file ") and "missing.jsonl" in err and "not found" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "wh" / "problems").exists()
