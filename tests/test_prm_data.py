"""`starmill prm-data`: Math-Shepherd step labels by Monte Carlo rollouts on the demo teacher, the `prm`
version's lineage, the stepwise export read back, and one clear error for each bad input."""

import json

import pyarrow.parquet as pq
import pytest

from starmill.generators.prompts import get_template
from starmill.schemas import ProblemRecord, SampleRecord
from tests.helpers import run_cli

DEMO = "starmill/demo-teacher"
QUESTION = "Compute 9 + 8."
# rationale -> soft labels; the step results decide the answer from every prefix: the demo teacher's
# next line copies the last result ("The answer is N."), and a prefix that states an answer keeps it
KNOWN = {
    "9 + 8 = 17\nThe answer is 17.": [1.0, 1.0],
    "9 + 8 = 18\nThe answer is 18.": [0.0, 0.0],
    "9 + 8 = 17\nThe answer is 18.": [1.0, 0.0],  # right step, wrong final answer
    "The answer is 17.": [1.0],  # no delimiter: one step
    "The answer is 18.\n9 + 8 = 17": [0.0, 0.0],  # a wrong answer stated stays the answer
}


def _sample(problem, index, completion, correct):
    prompt = get_template("cot_zero_shot").render(problem.question)
    return SampleRecord(
        sample_id=f"s{index}",
        problem_id=problem.problem_id,
        stage="rationale",
        iteration=0,
        sample_index=index,
        template_id="cot_zero_shot",
        template_hash="h",
        prompt=prompt,
        completion=completion,
        reasoning=None,
        answer_text=completion,
        extracted_answer=None,
        finish_reason="stop",
        prompt_tokens=5,
        completion_tokens=5,
        model=DEMO,
        model_revision=None,
        engine="transformers",
        engine_version=None,
        sampling="{}",
        seed=index,
        correct=correct,
    )


def _warehouse(root, texts=tuple(KNOWN), models=({"model": DEMO, "backend": "transformers"},), extra=()):
    from starmill.warehouse import Warehouse

    wh = Warehouse(str(root))
    problem = ProblemRecord.make("t", QUESTION, "17")
    no_gold = ProblemRecord.make("t", "Compute 1 + 1.", "")
    with wh.writer("problems", "problems") as writer:
        writer.write([problem, no_gold])
    samples = [_sample(problem, i, t, t.endswith("17.")) for i, t in enumerate(texts)]
    samples += [_sample(no_gold, 100 + i, t, False) for i, t in enumerate(extra)]
    with wh.writer("samples", "samples", parents=["problems@v1"], models=list(models)) as writer:
        writer.write(samples)
    return wh


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    from starmill.prm.data import PrmSettings, label_steps

    wh = _warehouse(tmp_path_factory.mktemp("prm") / "wh", extra=("1 + 1 = 2\nThe answer is 2.",))
    report = label_steps(wh, "samples", PrmSettings(rollouts=4, temperature=0.7, seed=0), progress=False)
    return wh, report


def test_labels_where_the_answer_is_known_from_every_prefix(labelled):
    wh, report = labelled
    rows = {r["sample_id"]: r for r in wh.read(report.ref).to_pylist()}
    texts = list(KNOWN)
    assert set(rows) == {f"s{i}" for i in range(len(texts))}
    for i, text in enumerate(texts):
        row = rows[f"s{i}"]
        assert row["steps"] == text.split("\n")
        assert row["soft_labels"] == KNOWN[text], text
        assert row["labels"] == [v > 0 for v in KNOWN[text]]
        assert row["gold_answer"] == "17" and row["rollouts"] == 4 and row["delimiter"] == "\n"
        assert row["prompt"][-1]["content"].startswith(QUESTION)  # the training prompt, no hint
    # only prefixes without a stated answer are rolled out (the first step of the first three), and the
    # two rationales that open with "9 + 8 = 17" share that prefix's rollouts
    assert report.rollouts == 2 * 4 and report.steps == 9 and report.rows == 5
    assert report.skipped == {"no_gold_answer": 1}


def test_lineage_and_sql(labelled, capsys):
    wh, report = labelled
    manifest = wh.manifest(report.ref)
    assert manifest.table == "prm" and manifest.parents == ["samples@v1", "problems@v1"]
    prm = manifest.model_extra["prm"]
    assert {k: prm[k] for k in ("model", "rollouts", "temperature", "seed", "delimiter", "max_tokens")} == {
        "model": DEMO,
        "rollouts": 4,
        "temperature": 0.7,
        "seed": 0,
        "delimiter": "\n",
        "max_tokens": 96,
    }
    assert prm["revision"] and manifest.models[0]["engine"] == "transformers"
    assert manifest.counts == {"rows": 5, "steps": 9, "rollouts": 8} and manifest.drops == {"no_gold_answer": 1}
    row = wh.read(report.ref).to_pylist()[0]
    assert row["model"] == DEMO and row["completer_version"] == prm["revision"]
    code, out, err = run_cli(
        capsys, "sql", "SELECT avg(len(steps)) AS n, sum(len(labels)) AS l FROM prm", "--format", "json", "-w", wh.root
    )
    assert code == 0, err
    assert json.loads(out) == [{"n": 9 / 5, "l": 9}]


def test_a_rerun_gives_the_same_rows(labelled, tmp_path):
    from starmill.prm.data import PrmSettings, label_steps

    wh, report = labelled
    again = label_steps(
        wh, "samples@v1", PrmSettings(rollouts=4, temperature=0.7, seed=0), name="prm_again", progress=False
    )
    first = sorted(wh.read(report.ref).to_pylist(), key=lambda r: r["sample_id"])
    assert sorted(wh.read(again.ref).to_pylist(), key=lambda r: r["sample_id"]) == first


class ScriptedCompleter:
    """Continues every prefix with R scripted texts, recording each request it is sent."""

    def __init__(self, texts, fail_at=None):
        from starmill.generators.base import EngineInfo

        self.texts, self.requests, self.calls, self.fail_at = texts, [], 0, fail_at
        self._info = EngineInfo("scripted", "1", "scripted", "rev1", None)

    def info(self):
        return self._info

    def close(self):
        pass

    def generate(self, requests):
        from starmill.generators.base import Completion, GenerationError, GenerationResult

        self.calls += 1
        if self.calls == self.fail_at:
            raise GenerationError("the engine died")
        self.requests += requests
        return [
            GenerationResult(
                r.request_id,
                [Completion(self.texts[i % len(self.texts)], "stop", 1, 1) for i in range(r.sampling.n)],
                self._info,
            )
            for r in requests
        ]


def test_soft_labels_are_the_share_of_rollouts_that_reach_the_gold(tmp_path):
    from starmill.generators.registry import release, use_backend
    from starmill.prm.data import PrmSettings, label_steps

    teacher = {"backend": "transformers", "model": "scripted-completer", "revision": None, "options": {}}
    completer = ScriptedCompleter(["The answer is 17.", "The answer is 3.", "no answer", "The answer is 17.0"])
    use_backend(teacher, completer)
    try:
        wh = _warehouse(tmp_path / "wh", texts=["9 + 8 = 17 | 17 - 0 = 17 | The answer is 17."])
        report = label_steps(
            wh, "samples", PrmSettings(rollouts=8, model="scripted-completer", delimiter=" | "), progress=False
        )
    finally:
        release(teacher)
    row = wh.read(report.ref).to_pylist()[0]
    assert row["steps"] == ["9 + 8 = 17", "17 - 0 = 17", "The answer is 17."]
    assert row["soft_labels"] == [0.5, 0.5, 1.0] and row["labels"] == [True, True, True]
    assert row["completer_version"] == "rev1" and row["delimiter"] == " | "
    assert [r.prefix for r in completer.requests] == ["9 + 8 = 17 | ", "9 + 8 = 17 | 17 - 0 = 17 | "]
    assert {r.sampling.n for r in completer.requests} == {8}
    seeds = [r.sampling.seed for r in completer.requests]
    assert len(set(seeds)) == 2  # derived from each prefix's content


def test_hard_label_is_any_rollout_reaching_the_gold(tmp_path):
    from starmill.generators.registry import release, use_backend
    from starmill.prm.data import PrmSettings, label_steps

    teacher = {"backend": "transformers", "model": "scripted-never", "revision": None, "options": {}}
    use_backend(teacher, ScriptedCompleter(["The answer is 16."] * 3 + ["The answer is 17."]))
    try:
        wh = _warehouse(tmp_path / "wh", texts=["9 + 8 = 16\nThe answer is 16."])
        report = label_steps(wh, "samples", PrmSettings(rollouts=4, model="scripted-never"), progress=False)
    finally:
        release(teacher)
    row = wh.read(report.ref).to_pylist()[0]
    assert row["soft_labels"] == [0.25, 0.0] and row["labels"] == [True, False]


def test_a_killed_run_resumes_from_its_finished_shards(tmp_path, monkeypatch):
    from starmill.generators.base import GenerationError
    from starmill.generators.registry import release, use_backend
    from starmill.prm import data as prm_data
    from starmill.prm.data import PrmSettings, label_steps

    monkeypatch.setattr(prm_data, "SHARD", 1)  # one step prefix per engine call
    teacher = {"backend": "transformers", "model": "scripted-resume", "revision": None, "options": {}}
    texts = ["9 + 8 = 17\n17 - 1 = 16\n16 + 1 = 17\nThe answer is 17.", "9 + 8 = 18\nThe answer is 18."]
    settings = PrmSettings(rollouts=2, model="scripted-resume")
    wh = _warehouse(tmp_path / "wh", texts=texts)
    try:
        use_backend(teacher, ScriptedCompleter(["The answer is 17.", "The answer is 5."], fail_at=3))
        with pytest.raises(GenerationError):
            label_steps(wh, "samples", settings, progress=False)
        assert wh.versions("prm") == []
        again = ScriptedCompleter(["The answer is 17.", "The answer is 5."])
        use_backend(teacher, again)
        report = label_steps(wh, "samples", settings, progress=False)
        clean = _warehouse(tmp_path / "clean", texts=texts)
        use_backend(teacher, ScriptedCompleter(["The answer is 17.", "The answer is 5."]))
        expected = label_steps(clean, "samples", settings, progress=False)
    finally:
        release(teacher)
    assert again.calls == 2  # four prefixes: two finished before the kill, the third failed
    assert wh.read(report.ref).to_pylist() == clean.read(expected.ref).to_pylist()
    assert not (tmp_path / "wh" / "_runs").exists() or not any((tmp_path / "wh" / "_runs").iterdir())


def test_only_correct_and_limit(tmp_path, capsys):
    wh = _warehouse(tmp_path / "wh", texts=["The answer is 17.", "The answer is 18.", "The answer is 17."])
    code, out, err = run_cli(
        capsys, "prm-data", "samples", "--rollouts", "2", "--only", "correct", "--limit", "1", "--json", "-w", wh.root
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 1 and report["skipped"] == {"not_correct": 1, "over_limit": 1}
    assert report["rollouts"] == 0  # a one-step rationale states its answer: no rollout needed


def test_export_stepwise_round_trip(labelled, tmp_path, capsys):
    import datasets

    wh, report = labelled
    dest = tmp_path / "out"
    code, out, err = run_cli(capsys, "export", report.ref, "--format", "stepwise", "--to", str(dest), "-w", wh.root)
    assert code == 0, err
    assert f"Exported {report.ref} (stepwise): train 5 rows" in out
    table = pq.read_table(dest / "data" / "train-00000-of-00001.parquet")
    assert table.column_names[:3] == ["prompt", "completions", "labels"]
    stored = {r["sample_id"]: r for r in wh.read(report.ref).to_pylist()}
    for row in table.to_pylist():
        prm = stored[row["sample_id"]]
        assert row["prompt"] == prm["prompt"][-1]["content"]
        assert row["completions"] == prm["steps"] and row["labels"] == prm["labels"]
        assert row["soft_labels"] == prm["soft_labels"]
    lineage = json.loads((dest / "starmill_export.json").read_text())
    assert lineage["ref"] == report.ref and lineage["manifest"]["table"] == "prm"
    ds = datasets.load_dataset(str(dest), cache_dir=str(tmp_path / "hf-cache"))
    assert ds["train"].num_rows == 5 and ds["train"].features["labels"].feature.dtype == "bool"


def test_bad_input_is_one_error_line(labelled, tmp_path, capsys):
    wh, report = labelled
    from starmill.warehouse import Warehouse

    with Warehouse(wh.root).writer("empty", "samples", parents=["problems@v1"]) as writer:
        writer.write([])
    cases = [
        (["prm-data", "samples", "--rollouts", "0"], "--rollouts must be from 1 to 1024, got 0"),
        (["prm-data", "samples", "--rollouts", "1000000000"], "--rollouts must be from 1 to 1024, got 1000000000"),
        (["prm-data", "samples", "--max-tokens", "0"], "--max-tokens must be from 1 to 1,000,000, got 0"),
        (["prm-data", "samples", "--max-tokens", "1000000001"], "--max-tokens must be from 1 to 1,000,000"),
        (["prm-data", "samples", "--limit", "0"], "--limit must be at least 1"),
        (["prm-data", "samples", "--delimiter", ""], "the step delimiter is empty"),
        (["prm-data", "samples", "--temperature", "0", "--rollouts", "4"], "every rollout is the same"),
        (["prm-data", "problems"], "holds 'problems' rows: prm-data labels a samples version"),
        (["prm-data", "empty"], "empty@v1 holds no samples"),
        (["prm-data", "missing"], "no dataset 'missing'"),
        (["prm-data", "samples", "--model", str(tmp_path / "no-such-model")], "does not exist"),
        (["prm-data", "samples", "--name", "Bad-Name"], "bad dataset name"),
        (["prm-data", "samples", "--name", "problems"], "dataset 'problems' holds 'problems' rows, not 'prm'"),
        (
            ["export", "samples", "--format", "stepwise", "--to", str(tmp_path / "x")],
            "--format stepwise takes a 'prm' version",
        ),
    ]
    for args, message in cases:
        code, out, err = run_cli(capsys, *args, "-w", wh.root)
        assert code == 1, (args, out, err)
        assert err.startswith("Error: ") and message in err and err.count("\n") == 1, (args, err)
    assert not (tmp_path / "x").exists()
    assert wh.versions("prm") == [1]  # nothing was written by a failed call


def test_a_recorded_model_that_is_gone_is_one_error(tmp_path, capsys):
    wh = _warehouse(tmp_path / "wh", models=[{"model": str(tmp_path / "gone"), "backend": "transformers"}])
    code, out, err = run_cli(capsys, "prm-data", "samples", "-w", wh.root)
    assert code == 1 and err.startswith("Error: ") and "does not exist" in err and err.count("\n") == 1, err
