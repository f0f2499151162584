"""A run config's ``decontamination:`` section: evaluation sets kept out of the run's problems at ingest
(each dropped problem a reject and a row of ``problems_contaminated``), near-duplicates between a run's
sources dropped and listed, and the same sets applied when the run's versions are exported."""

import json

import pytest

from starmill.config import ConfigError, parse_config
from starmill.generators.procedural import generate_problems
from starmill.pipeline.run import prepare
from starmill.warehouse import Warehouse
from starmill.warehouse.export import ExportSettings, export_to_folder
from tests.fixtures_export import question_of
from tests.test_decontamination import _paraphrase

PROBLEMS = [p for p in generate_problems(20, seed=4, difficulty=2)]


def evals_file(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def copied_and_paraphrased():
    stories = [p.question for p in PROBLEMS if " has " in p.question]
    return stories[0], stories[1]


def test_a_run_ingests_its_problems_decontaminated_and_lists_the_dropped_ones(tmp_path):
    copied, paraphrased = copied_and_paraphrased()
    evals = evals_file(
        tmp_path / "evals.jsonl",
        [{"id": "E-copy", "question": copied}, {"id": "E-para", "question": _paraphrase(paraphrased)}],
    )
    raw = {
        "source": {"uri": "procedural", "procedural": {"n": 20, "seed": 4, "difficulty": 2}},
        "decontamination": {"eval_sets": [evals], "ngram": 8, "near_duplicates": 0.6, "num_perm": 64},
    }
    run = prepare(parse_config(raw), str(tmp_path / "wh"))
    wh = run.wh
    questions = {p.question for p in run.problems.values()}
    assert copied not in questions and paraphrased not in questions and len(questions) == 18
    listed = sorted(wh.read(run.problems_ref, "contaminated").to_pylist(), key=lambda r: r["matched_id"])
    assert [(r["question"], r["against"], r["matched_set"], r["matched_id"], r["method"]) for r in listed] == [
        (copied, "eval_set", "evals", "E-copy", "ngram"),
        (paraphrased, "eval_set", "evals", "E-para", "minhash"),
    ]
    assert listed[1]["score"] >= 0.6
    rejects = wh.read(run.problems_ref, "rejects").to_pylist()
    assert sorted(r["reason"] for r in rejects) == ["contaminated:evals", "contaminated:evals"]
    record = wh.manifest(run.problems_ref).config["decontamination"]
    assert (record["ngram"], record["near_duplicate_threshold"], record["num_perm"]) == (8, 0.6, 64)
    # the same settings and sets: the same version; a changed evaluation set: a new one
    assert prepare(parse_config(raw), str(tmp_path / "wh")).problems_ref == run.problems_ref
    evals_file(tmp_path / "evals.jsonl", [{"id": "E-copy", "question": copied}])
    again = prepare(parse_config(raw), str(tmp_path / "wh"))
    assert again.problems_ref != run.problems_ref and len(again.problems) == 19
    # the section off: the source's every problem
    assert len(prepare(parse_config({"source": raw["source"]}), str(tmp_path / "wh")).problems) == 20


def test_near_duplicates_across_sources_are_dropped_from_the_later_source_and_listed(tmp_path):
    first = [p for p in PROBLEMS[:6]]
    story = next(p for p in first if " has " in p.question)
    rows = [
        {"question": "  " + story.question.upper() + " ", "answer": story.gold_answer},  # a copy, recased
        {"question": _paraphrase(story.question), "answer": story.gold_answer},  # reworded
        {"question": "Compute 999 + 1.", "answer": "1000"},
    ]  # new
    (tmp_path / "more.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {
        "sources": [
            {"uri": "procedural", "procedural": {"n": 6, "seed": 4, "difficulty": 2}},
            {"uri": str(tmp_path / "more.jsonl"), "name": "more"},
        ],
        "decontamination": {"across_sources": 0.6},
    }
    run = prepare(parse_config(raw), str(tmp_path / "wh"))
    kept = [p for p in run.problems.values() if p.source == "more"]
    assert [p.question for p in kept] == ["Compute 999 + 1."]
    assert len([p for p in run.problems.values() if p.source == "procedural"]) == 6
    listed = run.wh.read(run.problems_ref, "contaminated").to_pylist()
    assert [(r["source"], r["against"], r["matched_set"], r["matched_id"], r["method"]) for r in listed] == [
        ("more", "source", "procedural", story.problem_id, "minhash")
    ] * 2
    assert listed[0]["score"] == 1.0 and 0.6 <= listed[1]["score"] < 1.0
    manifest = run.wh.manifest(run.problems_ref)
    assert manifest.drops == {"near_duplicate_across_sources": 2}
    assert manifest.sources[1].counts == {"read": 3, "problems": 1, "rejects": 2, "left_out_by_weight": 0}
    # at the default threshold (0.9) the reworded one is a different problem
    strict = prepare(parse_config({**raw, "decontamination": {}}), str(tmp_path / "wh2"))
    assert sorted(p.question for p in strict.problems.values() if p.source == "more") == sorted(
        [rows[1]["question"], "Compute 999 + 1."]
    )
    # off
    off = prepare(parse_config({**raw, "decontamination": {"across_sources": 0}}), str(tmp_path / "wh3"))
    assert len([p for p in off.problems.values() if p.source == "more"]) == 3


@pytest.mark.parametrize(
    "section, message",
    [
        ({"num_perm": 63}, "multiple of 2"),
        ({"near_duplicates": 1.5}, "less than or equal to 1"),
        ({"eval_set": ["x"]}, "decontamination.eval_set: unknown key"),
    ],
)
def test_bad_decontamination_settings_are_config_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"decontamination": section})


def test_a_missing_eval_set_fails_the_run_before_ingest(tmp_path):
    from starmill.schemas.errors import StarmillError

    raw = {"decontamination": {"eval_sets": [str(tmp_path / "nope.jsonl")]}}
    with pytest.raises(StarmillError, match="decontamination: evaluation set .*nope.jsonl.* not found"):
        prepare(parse_config(raw), str(tmp_path / "wh"))
    assert not Warehouse(str(tmp_path / "wh")).versions("problems")


def _with_run_section(wh, ref, section):
    """A copy of an sft version whose run config holds ``decontamination:`` (as a run writes it)."""
    manifest = wh.manifest(ref)
    with wh.writer(
        "sft",
        "sft",
        config={**manifest.config, "decontamination": section},
        parents=manifest.parents,
        sources=[s.model_dump() for s in manifest.sources],
        models=manifest.models,
        sampling=manifest.sampling,
        extra={"report": manifest.report.model_dump(mode="json")},
    ) as writer:
        writer.write(wh.read(ref))
    return f"sft@v{writer.version}"


def test_an_export_applies_the_run_configs_eval_sets_and_says_so(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=24, seed=0)
    rows = wh.read(ref).to_pylist()
    target = sorted({question_of(r) for r in rows if " has " in question_of(r)})[0]
    evals = evals_file(tmp_path / "evals.jsonl", [{"id": "E1", "question": target}])
    ours = _with_run_section(
        wh,
        ref,
        {
            "eval_sets": [evals],
            "ngram": 8,
            "near_duplicates": 0.6,
            "num_perm": 128,
            "across_sources": 0.9,
            "at_export": "apply",
        },
    )
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ours), tmp_path / "out")
    dropped = sum(question_of(r) == target for r in rows)
    assert dropped and export.rows == len(rows) - dropped
    listed = [json.loads(x) for x in (tmp_path / "out" / "contaminated.jsonl").read_text().splitlines()]
    assert len(listed) == dropped and {x["eval_id"] for x in listed} == {"E1"}
    lineage = json.loads((tmp_path / "out" / "starmill_export.json").read_text())
    assert lineage["decontamination"]["from_run_config"] == ours
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"from the `decontamination:` section of `{ours}`'s run config" in card
    assert "--decontaminate" not in lineage["command"]
    # turned off, or the export's own sets instead
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ours, run_decontamination=False), tmp_path / "off")
    assert export.rows == len(rows) and not (tmp_path / "off" / "contaminated.jsonl").exists()
    assert "--no-run-decontamination" in json.loads((tmp_path / "off" / "starmill_export.json").read_text())["command"]
    other = evals_file(tmp_path / "other.jsonl", [{"id": "X", "question": "Nothing like any problem here at all."}])
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ours, decontaminate=[other]), tmp_path / "own")
    assert export.rows == len(rows) and export.settings.decontamination_from is None
    # at_export: off keeps the sets for ingest only
    quiet = _with_run_section(wh, ref, {"eval_sets": [evals], "at_export": "off"})
    assert export_to_folder(wh, ExportSettings.make(ref=quiet), tmp_path / "quiet")[0].rows == len(rows)


def test_a_run_configs_missing_eval_set_names_the_version_at_export(make_sft_version, tmp_path):
    from starmill.warehouse.export import ExportError

    wh, ref = make_sft_version(problems=6)
    ours = _with_run_section(wh, ref, {"eval_sets": [str(tmp_path / "gone.jsonl")]})
    with pytest.raises(ExportError, match=rf"named by {ours}'s run config.*--no-run-decontamination"):
        export_to_folder(wh, ExportSettings.make(ref=ours), tmp_path / "out")


def test_a_preference_export_applies_the_run_configs_eval_sets(tmp_path):
    from starmill.warehouse.export.preference import export_preference
    from tests.test_export_preference import PLAN, _sample

    wh = Warehouse(str(tmp_path / "wh"))
    evals = evals_file(tmp_path / "e.jsonl", [{"id": "E0", "question": "Work out 2 + 1 for problem p0."}])
    with wh.writer("samples", "samples", config={"decontamination": {"eval_sets": [evals]}}) as writer:
        writer.write([_sample(p, i, *s) for p, plan in PLAN.items() for i, s in enumerate(plan)])
    found, _, _ = export_preference(wh, "samples", str(tmp_path / "o"), "dpo")
    assert [(r["sample_id"], r["eval_id"]) for r in found.contaminated] == [("p0-s0", "E0")]
    assert found.decontamination["from_run_config"] == "samples@v1"
    off, _, _ = export_preference(wh, "samples", str(tmp_path / "off"), "dpo", run_decontamination=False)
    assert off.contaminated == [] and not (tmp_path / "off" / "contaminated.jsonl").exists()


def test_export_cli_turns_the_run_configs_sets_off(make_sft_version, tmp_path, capsys):
    from starmill.cli import main

    wh, ref = make_sft_version(problems=6)
    ours = _with_run_section(wh, ref, {"eval_sets": [str(tmp_path / "gone.jsonl")]})
    assert main(["export", ours, "--to", str(tmp_path / "a"), "-w", wh.root]) == 1
    assert f"named by {ours}'s run config" in capsys.readouterr().err
    assert main(["export", ours, "--to", str(tmp_path / "b"), "--no-run-decontamination", "-w", wh.root]) == 0


def test_between_sources_the_numbers_count_and_either_side_may_carry_extra_words():
    from starmill.warehouse.export.near_duplicates import NearIndex

    index = NearIndex(threshold=0.9)
    for text in ("Compute 12 + 12.", "Here is a task for you. Compute 20 - 13.", "Compute 30 - 7."):
        index.add(text)
    assert index.best("Compute 1 + 12.") is not None  # against an evaluation set: all its numbers are there
    assert index.best("Compute 1 + 12.", both_ways=True) is None  # as problems: 12 twice is not 1 and 12
    assert index.best("Compute 20 - 13.", both_ways=True)[0] == 1  # the earlier one had a preamble
    assert index.best("Compute 20 - 13.") is None  # one way, the preamble's words are missing
    assert index.best("Solve this: compute 30 - 7.", both_ways=True)[0] == 2


def test_a_runs_export_card_says_what_its_ingest_dropped(tmp_path):
    from starmill.generators import registry
    from starmill.generators.base import Completion
    from starmill.generators.stub_backend import StubBackend
    from starmill.pipeline import run_star

    gold = {p.question: p.gold_answer for p in PROBLEMS[:8]}
    copied = next(q for q in gold if " has " in q)
    evals = evals_file(tmp_path / "evals.jsonl", [{"id": "E1", "question": copied}])
    cfg = parse_config(
        {
            "source": {"uri": "procedural", "procedural": {"n": 8, "seed": 4, "difficulty": 2}},
            "decontamination": {"eval_sets": [evals]},
            "teacher": {"model": f"stub-{tmp_path.name}"},
            "sampling": {"n": 1, "seed": 1},
            "selection": {"k": 1},
            "rationalization": {"enabled": False},
            "runner": {"shard_size": 4, "retries": 0},
        }
    )
    answer = lambda question, hint, index: Completion(f"So.\nThe answer is {gold[question]}.", "stop", 5, 6)  # noqa
    registry.use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(respond=answer))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    assert wh.read(summary["problems"]).num_rows == 7
    export, _ = export_to_folder(wh, ExportSettings.make(ref=summary["sft"]), tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert (
        f"At ingest, `{summary['sft']}`'s problems (`{summary['problems']}`) were screened by its run config's "
        "`decontamination:` section; dropped: `contaminated:evals` 1"
    ) in card
    assert export.settings.decontamination_from == summary["sft"] and export.rows == 7
    lineage = json.loads((tmp_path / "out" / "starmill_export.json").read_text())
    assert lineage["parts"][0]["screened_at_ingest"] == {
        "ref": summary["problems"],
        "drops": {"contaminated:evals": 1},
        "listed": 1,
    }
