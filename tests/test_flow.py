"""The STaR flow end to end on the demo teacher, under one Prefect harness; kill -9 and resume in a
subprocess; failing shards; partial publishing."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest
import yaml

from starmill.warehouse import Warehouse
from starmill.warehouse.sql import connect, query
from tests.helpers import without_timings

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def small_config(n=12, **extra):
    cfg = {
        "source": {"procedural": {"n": n, "seed": 7, "difficulty": 1}},
        "sampling": {"n": 4, "max_tokens": 64, "seed": 3},
        "selection": {"k": 2},
        "rationalization": {"attempts": 2},
        "runner": {"shard_size": 4, "max_workers": 2, "retries": 0},
    }
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def run_flow(config, root, **kwargs):
    from starmill.flows.star import star_flow

    return star_flow(config=config, warehouse=str(root), **kwargs)


@pytest.fixture(scope="module")
def demo_run(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("flow")
    return root, run_flow(small_config(), root)


def table(root, ref):
    return Warehouse(root).read(ref)


def test_flow_publishes_samples_and_sft_with_lineage(demo_run):
    root, summary = demo_run
    wh = Warehouse(root)
    samples, sft = table(root, summary["samples"]), table(root, summary["sft"])
    counts = summary["counts"]
    assert counts["generated.rationale"] == 12 * 4
    assert (
        samples.num_rows
        == counts["generated"]
        == counts["generated.rationale"] + counts.get("generated.rationalization", 0)
    )
    assert sft.num_rows == counts["kept"] == pc.sum(samples["kept"]).as_py()
    # every dropped sample says why, every kept one does not
    dropped = samples.filter(pc.invert(samples["kept"]))
    assert dropped["drop_reason"].null_count == 0
    assert samples.filter(samples["kept"])["drop_reason"].null_count == pc.sum(samples["kept"]).as_py()
    # at most k per problem, all of them correct
    per_problem = sft.group_by("problem_id").aggregate([("sample_id", "count")])
    assert max(per_problem["sample_id_count"].to_pylist()) <= 2
    assert all(pc.equal(samples.filter(samples["kept"])["correct"], True).to_pylist())
    # every sample carries a verdict from the checker
    assert all(len(v) == 1 and v[0]["checker"] == "starmill" for v in samples["verdicts"].to_pylist())
    manifest = wh.manifest(summary["sft"])
    assert manifest.parents == [summary["samples"], summary["problems"]]
    assert manifest.models[0]["model"] == "starmill/demo-teacher" and manifest.models[0]["revision"].startswith(
        "sha256:"
    )
    assert manifest.counts == counts and manifest.drops == summary["drops"]
    assert manifest.config["selection"]["k"] == 2 and manifest.sampling["n"] == 4
    report = manifest.report
    assert report.checker.version and report.verifiers == {"starmill": report.checker.version}
    assert (report.n, report.k, report.attempts, report.iteration_count) == (4, 2, 2, 1)
    assert report.pass_at_k == summary["pass_at_k"] and sum(report.pass_rate_histogram.values()) == 12
    assert wh.manifest(summary["samples"]).report == report
    assert 0 <= summary["pass_at_k"]["1"] <= summary["pass_at_k"]["4"] <= 1


def test_rationalizations_are_stored_without_the_hint(demo_run):
    root, summary = demo_run
    samples = table(root, summary["samples"]).to_pylist()
    plain = {s["problem_id"]: s["prompt"] for s in samples if s["stage"] == "rationale"}
    hinted = [s for s in samples if s["stage"] == "rationalization"]
    assert summary["iterations"][0]["rationalization_attempted"] > 0 and hinted
    for s in hinted:
        assert s["prompt"] == plain[s["problem_id"]]  # the hint-free prompt, exactly
        assert "hint" not in json.dumps(s["prompt"]).lower()
        if s["kept"]:
            assert s["correct"]


def test_sql_sees_the_run(demo_run):
    root, summary = demo_run
    con = connect(Warehouse(root))
    rows = query(con, "SELECT count(*) AS n FROM sft JOIN samples USING (sample_id) WHERE samples.kept").to_pylist()
    assert rows == [{"n": summary["counts"]["kept"]}]
    lineage = query(con, "SELECT dataset, parents->>0 AS parent FROM manifests WHERE dataset = 'sft'").to_pylist()
    assert lineage == [{"dataset": "sft", "parent": summary["samples"]}]


def test_rerun_takes_everything_from_the_ledger(demo_run, monkeypatch):
    root, summary = demo_run
    import starmill.generators.sampling

    def refuse(*args, **kwargs):
        raise AssertionError("a finished shard was generated again")

    monkeypatch.setattr(starmill.generators.sampling, "run_shard", refuse)
    again = run_flow(small_config(), root, force=True)  # unchanged: it publishes only when forced
    assert again["counts"] == summary["counts"]
    first, second = table(root, summary["sft"]), table(root, again["sft"])
    assert second.equals(first)
    assert again["sft"] != summary["sft"]  # a new immutable version, same content


def test_failing_shards_are_recorded_not_lost(prefect_harness, tmp_path):
    """Without allow_partial the flow fails and publishes nothing; with it, the versions are partial."""
    from starmill.pipeline import PartialRun
    from starmill.warehouse.ledger import Ledger

    config = small_config(
        n=4,
        teacher={
            "backend": "openai",
            "model": "x",
            "base_url": "http://127.0.0.1:9/v1",
            "options": {"max_retries": 0, "timeout": 2},
        },
        runner={"retries": 1, "retry_delay_seconds": 0},
    )
    with pytest.raises(PartialRun, match="1 shard\\(s\\) failed after their retries .* nothing was published"):
        run_flow(config, tmp_path)
    wh = Warehouse(tmp_path)
    assert wh.versions("samples") == [] and wh.versions("sft") == []
    [run_key] = [p.name for p in (tmp_path / "_runs").iterdir()]
    assert Ledger(tmp_path, run_key).failures()[0]["stage"] == "rationale"
    summary = run_flow(config, tmp_path, allow_partial=True)
    assert summary["partial"] is True
    assert len(summary["failed_shards"]) == 1 and summary["failed_shards"][0]["problems"] == 4
    assert "GenerationError" in summary["failed_shards"][0]["error"]
    manifest = Warehouse(tmp_path).manifest(summary["samples"])
    assert manifest.partial and manifest.report.failed_shards[0].stage == "rationale"


def test_the_deployed_flow_uses_the_configs_task_runner(prefect_harness, tmp_path, monkeypatch):
    """``prefect deploy`` runs prefect.yaml's entrypoint with its parameters: runner.kind and max_workers
    come from the config there, not from the flow's decoration."""
    from prefect.flows import load_flow_from_entrypoint

    import starmill.flows.runners

    seen = []
    real = starmill.flows.runners.task_runner

    def spy(runner, *args, **kwargs):
        seen.append((runner.kind, runner.max_workers))
        return real(runner, *args, **kwargs)

    monkeypatch.setattr(starmill.flows.runners, "task_runner", spy)  # before the entrypoint's module imports it
    deployment = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"][0]
    flow = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
    parameters = {
        **deployment["parameters"],
        "config": small_config(n=4, runner={"max_workers": 3}),
        "warehouse": str(tmp_path),
    }
    summary = flow(**parameters)
    assert seen == [("thread", 3)] and summary["counts"]["generated.rationale"] == 16


def _cli(args, root, **kwargs):
    """The CLI in a subprocess; progress bars go to a log file (a full pipe would block the run)."""
    env = {**os.environ, "STARMILL_WAREHOUSE": str(root), "PREFECT_HOME": str(root / ".prefect")}
    env.pop("PREFECT_API_URL", None)
    root.mkdir(parents=True, exist_ok=True)
    log = open(root / f"cli-{len(list(root.glob('cli-*.log')))}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "starmill.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        **kwargs,
    )


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(small_config(n=24, runner={"shard_size": 3, "max_workers": 1, "retries": 0})))
    killed = tmp_path / "killed"
    shards = killed / "_runs"
    proc = _cli(["run", str(config)], killed)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        done = list(shards.rglob("shards/*.parquet")) if shards.exists() else []
        if len(done) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in shards.rglob("shards/*.parquet")}
    assert len(before) >= 2
    wh = Warehouse(killed)
    assert wh.versions("samples") == [] and wh.versions("sft") == []  # nothing partial is visible

    partial = _cli(["run", str(config), "--publish-partial", "--json"], killed)
    out, _ = partial.communicate(timeout=300)
    assert partial.returncode == 0, out
    partial_summary = json.loads(out[out.index("{") :])
    assert partial_summary["partial"] is True and partial_summary["missing_shards"] > 0
    assert Warehouse(killed).manifest(partial_summary["sft"]).partial

    resumed = _cli(["run", str(config), "--json"], killed)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    after = {p.name: p.stat().st_mtime_ns for p in shards.rglob("shards/*.parquet")}
    assert all(after[name] == mtime for name, mtime in before.items())  # finished shards not redone

    clean = _cli(["run", str(config), "--json"], tmp_path / "clean")
    out_clean, _ = clean.communicate(timeout=300)
    assert clean.returncode == 0, out_clean
    a, b = json.loads(out[out.index("{") :]), json.loads(out_clean[out_clean.index("{") :])
    assert a["partial"] is False and a["counts"] == b["counts"]
    for name in ("samples", "sft"):
        left = without_timings(Warehouse(killed).read(a[name]).sort_by("sample_id"))
        right = without_timings(Warehouse(tmp_path / "clean").read(b[name]).sort_by("sample_id"))
        assert left == right, name


def test_iterations_run_again_on_the_unsolved(prefect_harness, tmp_path):
    config = small_config(
        n=10,
        rationalization={"enabled": False},
        iterations={"count": 2, "models": ["starmill/demo-teacher"]},
        sampling={"n": 2, "max_tokens": 64, "seed": 9, "temperature": 1.0},
    )
    summary = run_flow(config, tmp_path)
    first, *rest = summary["iterations"]
    samples = table(tmp_path, summary["samples"]).to_pylist()
    solved_first = {s["problem_id"] for s in samples if s["iteration"] == 0 and s["kept"]}  # a usable rationale
    assert first["attempted"] == 10 and first["solved_by_rationale"] == len(solved_first)
    if first["solved_by_rationale"] == 10:
        assert rest == []  # nothing left to try
    else:
        second = rest[0]
        assert second["attempted"] == 10 - len(solved_first)
        again = {s["problem_id"] for s in samples if s["iteration"] == 1}
        assert again and not again & solved_first


def test_self_consistency_labels_problems_without_gold(prefect_harness, tmp_path):
    source = tmp_path / "open.jsonl"
    source.write_text(
        "".join(json.dumps({"question": f"Compute {a} + {b}."}) + "\n" for a, b in ((3, 4), (10, 5), (7, 2), (12, 6)))
    )
    config = small_config(
        source={"uri": str(source), "require_answer": False},
        self_consistency={"enabled": True, "threshold": 0.5},
        sampling={"n": 4, "max_tokens": 64, "seed": 1, "temperature": 0.7},
    )
    summary = run_flow(config, tmp_path / "wh")
    sft = table(tmp_path / "wh", summary["sft"]).to_pylist()
    samples = table(tmp_path / "wh", summary["samples"]).to_pylist()
    assert summary["iterations"][0]["rationalization_attempted"] == 0  # no gold, no hint
    assert sft and all(r["pseudo_label"] for r in sft)
    for row in sft:
        answers = [s["extracted_answer"] for s in samples if s["problem_id"] == row["problem_id"]]
        assert answers.count(row["gold_answer"]) / len(answers) >= 0.5  # the majority answer
    assert summary["counts"]["pseudo_labeled"] == len(sft)


def test_a_flow_made_version_exports_for_distillation(demo_run, tmp_path):
    from datasets import load_dataset

    from starmill.warehouse.export import ExportSettings, export_to_folder

    root, summary = demo_run
    wh = Warehouse(root)
    export_to_folder(wh, ExportSettings.make(ref=summary["sft"], test_size=0.25, seed=0), tmp_path / "out")
    ds = load_dataset(str(tmp_path / "out"))
    rows = list(ds["train"]) + list(ds["test"])
    assert len(rows) == summary["counts"]["kept"]
    assert not {r["problem_id"] for r in ds["train"]} & {r["problem_id"] for r in ds["test"]}
    sft = {r["sample_id"]: r for r in wh.read(summary["sft"]).to_pylist()}
    for row in rows:
        user, assistant = row["messages"][-2], row["messages"][-1]
        assert user == sft[row["sample_id"]]["prompt"][-1] and "Hint" not in user["content"]
        assert assistant == {"role": "assistant", "content": sft[row["sample_id"]]["completion"]}
    card = (tmp_path / "out" / "README.md").read_text()
    assert summary["sft"] in card and f"| kept | {summary['counts']['kept']} |" in card.replace("`", "")


def test_a_run_with_failed_shards_exits_1_and_publishes_nothing(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            small_config(
                n=4,
                teacher={
                    "backend": "openai",
                    "model": "x",
                    "base_url": "http://127.0.0.1:9/v1",
                    "options": {"max_retries": 0, "timeout": 2},
                },
            )
        )
    )
    proc = _cli(["run", str(config), "--json"], tmp_path / "wh")
    out, _ = proc.communicate(timeout=300)
    err = (tmp_path / "wh" / "cli-0.log").read_text()
    assert proc.returncode == 1 and out == "", err[-3000:]
    assert "Error: 1 shard(s) failed after their retries" in err and "--allow-partial" in err
    assert Warehouse(tmp_path / "wh").versions("sft") == []
