"""Export decontamination catches paraphrases: n-grams plus MinHash near-duplicates against evaluation
sets, every dropped row listed in ``contaminated.jsonl`` with the evaluation id it matched and a score."""

import json

from click.testing import CliRunner

from starmill.cli import cli
from starmill.warehouse.export import ExportSettings, export_to_folder
from starmill.warehouse.export.near_duplicates import NearIndex
from tests.fixtures_export import question_of


def test_near_index_needs_the_numbers_and_weighs_rare_words():
    index = NearIndex(threshold=0.6)
    for text in (
        "Gus has 61 books. A friend gives Gus 97 more. How many books does Gus have now?",
        "Eli has 45 cards. Eli finds 22 more. How many cards does Eli have now?",
        "Compute 50 - 23.",
    ):
        index.add(text)
    found = index.best("How many books does Gus own now? Gus owns 61 books. A friend hands Gus 97 more.")
    assert found is not None and found[0] == 0 and found[1] >= 0.6
    assert index.best("Gus has 61 books. A friend gives Gus 98 more. How many books does Gus have now?") is None
    assert index.best("Calculate 50 - 23. Let's think step by step.")[0] == 2
    assert index.best("Calculate 50 + 23.") is None  # the operator differs


def _paraphrase(question: str) -> str:
    """Word swaps and the question first, numbers kept."""
    facts, _, ask = question.rpartition(". ")
    swapped = facts.replace(" has ", " owns ").replace(" gives ", " hands ").replace(" more", " additional")
    return f"{ask} Note: {swapped}."


def test_export_lists_copies_and_paraphrases_with_their_eval_ids(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=24, seed=0)
    rows = wh.read(ref).to_pylist()
    questions = sorted({question_of(r) for r in rows if " has " in question_of(r) and "friend" in question_of(r)})
    copied, paraphrased = questions[0], questions[1]
    evals = tmp_path / "evals.jsonl"
    evals.write_text(
        json.dumps({"id": "E-copy", "question": copied})
        + "\n"
        + json.dumps({"id": "E-para", "question": _paraphrase(paraphrased)})
        + "\n"
    )
    export_to_folder(wh, ExportSettings.make(ref=ref, decontaminate=[str(evals)]), tmp_path / "out")
    listed = [json.loads(x) for x in (tmp_path / "out" / "contaminated.jsonl").read_text().splitlines()]
    expect = {r["sample_id"]: question_of(r) for r in rows if question_of(r) in (copied, paraphrased)}
    assert sorted(r["sample_id"] for r in listed) == sorted(expect)
    for r in listed:
        assert r["eval_set"] == "evals" and r["origin"] == ref and 0 < r["score"] <= 1
        assert (r["eval_id"], r["method"]) == (
            ("E-copy", "ngram") if expect[r["sample_id"]] == copied else ("E-para", "minhash")
        )
    lineage = json.loads((tmp_path / "out" / "starmill_export.json").read_text())
    assert lineage["decontamination"]["eval_sets"][0]["by_method"] == {
        "minhash": sum(q == paraphrased for q in expect.values()),
        "ngram": sum(q == copied for q in expect.values()),
    }
    assert "contaminated.jsonl" in (tmp_path / "out" / "README.md").read_text()
    # n-grams alone miss the paraphrase
    export_to_folder(wh, ExportSettings.make(ref=ref, decontaminate=[str(evals)], near_duplicates=0), tmp_path / "o2")
    alone = [json.loads(x) for x in (tmp_path / "o2" / "contaminated.jsonl").read_text().splitlines()]
    assert {r["eval_id"] for r in alone} == {"E-copy"}


def test_cli_threshold_bounds(make_sft_version, tmp_path, capsys):
    from starmill.cli import main

    wh, ref = make_sft_version(problems=8)
    evals = tmp_path / "e.jsonl"
    evals.write_text(json.dumps({"question": "x y z"}) + "\n")
    assert (
        main(
            [
                "export",
                ref,
                "--to",
                str(tmp_path / "o"),
                "--decontaminate",
                str(evals),
                "--near-duplicates",
                "1.5",
                "-w",
                wh.root,
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.strip() == "Error: --near-duplicates must be from 0 to 1, got 1.5"


def test_preference_export_lists_contaminated_samples(tmp_path):
    from starmill.warehouse import Warehouse
    from tests.test_export_preference import PLAN, _sample

    wh = Warehouse(str(tmp_path / "wh"))
    with wh.writer("samples", "samples", config={}) as writer:
        writer.write([_sample(p, i, *s) for p, plan in PLAN.items() for i, s in enumerate(plan)])
    evals = tmp_path / "e.jsonl"
    evals.write_text(json.dumps({"id": "E0", "question": "Work out 2 + 1 for problem p0."}) + "\n")
    out = CliRunner().invoke(
        cli,
        [
            "export",
            "samples",
            "--format",
            "dpo",
            "--to",
            str(tmp_path / "o"),
            "--decontaminate",
            str(evals),
            "-w",
            wh.root,
        ],
    )
    assert out.exit_code == 0, out.output
    listed = [json.loads(x) for x in (tmp_path / "o" / "contaminated.jsonl").read_text().splitlines()]
    assert [(r["sample_id"], r["eval_id"], r["method"]) for r in listed] == [("p0-s0", "E0", "minhash")]
    rows = json.loads((tmp_path / "o" / "starmill_export.json").read_text())
    assert rows["counts"]["contaminated"] == 1 and rows["counts"]["pairs"] == 2


def test_ingest_rejects_copies_and_paraphrases_with_the_eval_id(warehouse_root, tmp_path, capsys):
    from starmill.cli import main
    from starmill.generators.procedural import generate_problems
    from starmill.warehouse import Warehouse

    problems = [p.question for p in generate_problems(20, seed=4, difficulty=2)]
    copied, paraphrased = problems[3], next(q for q in problems[4:] if " has " in q and "friend" in q)
    evals = tmp_path / "evals.jsonl"
    evals.write_text(
        json.dumps({"id": "E-copy", "question": copied})
        + "\n"
        + json.dumps({"id": "E-para", "question": _paraphrase(paraphrased)})
        + "\n"
    )
    assert (
        main(["ingest", "procedural", "-n", "20", "--seed", "4", "--difficulty", "2", "--decontaminate", str(evals)])
        == 0
    )
    assert "contaminated:evals" in capsys.readouterr().out
    wh = Warehouse(str(warehouse_root))
    kept = wh.read("problems").column("question").to_pylist()
    assert copied not in kept and paraphrased not in kept and len(kept) == 18
    rejects = wh.read("problems", "rejects").to_pylist()
    details = sorted(r["detail"] for r in rejects if r["reason"] == "contaminated:evals")
    assert len(details) == 2 and details[0].startswith("matches evaluation problem E-copy of evals (ngram")
    assert details[1].startswith("matches evaluation problem E-para of evals (minhash")
    assert wh.manifest(wh.resolve("problems")).config["decontamination"]["eval_sets"][0]["name"] == "evals"
