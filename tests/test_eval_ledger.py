"""`starmill eval` samples through the run's shards and ledger: an eval stopped or failed after some
shards keeps them, and the same eval again asks the engine only for the rest and writes what an
uninterrupted eval writes. Its manifest section is typed (``EvalSummary``) and old sections still read."""

import pytest

from starmill.evaluation import EvalError, EvalSettings, evaluate
from starmill.evaluation.run import ledger_key
from starmill.generators import registry, stopping
from starmill.generators.stub_backend import StubBackend
from starmill.schemas.evals import EvalSummary
from starmill.warehouse import Warehouse
from starmill.warehouse.ledger import Ledger

ON = "procedural:n=8,seed=3,difficulty=1"
SETTINGS = EvalSettings(n=2, shard_size=2, max_tokens=32)  # 4 greedy and 4 sampled shards of 2 problems


class Broken(Exception):
    retryable = False  # the engine is gone: not worth the retries' waits in a test


class Scripted:
    """The stub teacher, recording what each call asked; after ``fail_after`` calls it fails or stops."""

    def __init__(self, model: str, fail_after: int | None = None, how: str = "error"):
        self.inner, self.fail_after, self.how = StubBackend(model, accuracy=0.5), fail_after, how
        self.asked: list[list[str]] = []

    def info(self):
        return self.inner.info()

    def close(self) -> None:
        pass

    def generate(self, requests):
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            if self.how == "stop":
                stopping.request()
                raise stopping.Stopped()
            raise Broken("the engine went away")
        self.asked.append([r.request_id for r in requests])
        return self.inner.generate(requests)


def _teacher(model: str) -> dict:
    return {"backend": "transformers", "model": model, "revision": None, "options": {}, "base_url": None}


def _serve(model: str, backend: Scripted) -> Scripted:
    registry.use_backend(_teacher(model), backend)
    return backend


def _section(wh: Warehouse, ref: str) -> dict:
    return EvalSummary.from_manifest(wh.manifest(ref)).model_dump()


@pytest.mark.parametrize("how, fail_after", [("error", 3), ("stop", 6)])
def test_interrupted_eval_resumes_from_the_ledger(tmp_path, how, fail_after):
    model = f"stub-eval-{tmp_path.name}"
    whole = _serve(model, Scripted(model))
    done = Warehouse(tmp_path / "whole")
    expected = evaluate(done, model, ON, SETTINGS)
    assert len(whole.asked) == 8 and expected.shards == {"generated": 8, "from_ledger": 0}

    wh = Warehouse(tmp_path / "wh")
    _serve(model, Scripted(model, fail_after, how))
    try:
        with pytest.raises(
            stopping.Stopped if how == "stop" else EvalError,
            match=None if how == "stop" else r"1 of 4 (greedy|sampled) shard\(s\) failed",
        ):
            evaluate(wh, model, ON, SETTINGS)
    finally:
        stopping.reset()
    assert wh.versions("evals") == []  # nothing published
    problems = [p for p in wh.read("eval_problems@v1").to_pylist()]
    from starmill.schemas import ProblemRecord

    records = [ProblemRecord.from_row(p) for p in problems]
    keys = {mode: ledger_key(_teacher(model), model, None, records, SETTINGS, mode) for mode in ("greedy", "sampled")}
    kept = sum(Ledger(wh.root, key).shard_count() for key in keys.values())
    assert kept == fail_after  # every shard finished before the failure is in the ledger

    again = _serve(model, Scripted(model))
    report = evaluate(wh, model, ON, SETTINGS)
    assert report.shards == {"generated": 8 - fail_after, "from_ledger": fail_after}
    assert len(again.asked) == 8 - fail_after  # only the shards the ledger lacked
    first = {r for call in whole.asked[:fail_after] for r in call}
    assert not first & {r for call in again.asked for r in call}  # no finished request asked again
    assert report.metrics == expected.metrics and report.outcomes == expected.outcomes
    assert wh.read(report.ref).to_pylist() == done.read(expected.ref).to_pylist()
    assert _section(wh, report.ref) == _section(done, expected.ref)

    third = _serve(model, Scripted(model))
    assert evaluate(wh, model, ON, SETTINGS).shards == {"generated": 0, "from_ledger": 8} and third.asked == []


def test_eval_ledger_key_names_what_the_answers_depend_on():
    from starmill.schemas import ProblemRecord

    problem = ProblemRecord(problem_id="p1", source="s", split="test", question="1 + 2?", gold_answer="3")
    key = ledger_key(_teacher("m"), "m", None, [problem], SETTINGS, "sampled")
    assert key == ledger_key(_teacher("m"), "m", None, [problem], SETTINGS, "sampled")
    assert key != ledger_key(_teacher("m"), "m", "rev2", [problem], SETTINGS, "sampled")
    assert key != ledger_key(_teacher("m"), "m", None, [problem], SETTINGS, "greedy")
    edited = ProblemRecord(problem_id="p1", source="s", split="test", question="1 + 4?", gold_answer="5")
    assert key != ledger_key(_teacher("m"), "m", None, [edited], SETTINGS, "sampled")  # same id, new question
    greedy = ledger_key(_teacher("m"), "m", None, [problem], SETTINGS, "greedy")
    other_n = EvalSettings(n=4, shard_size=2, max_tokens=32)
    assert greedy == ledger_key(_teacher("m"), "m", None, [problem], other_n, "greedy")  # greedy ignores -n
    assert key != ledger_key(_teacher("m"), "m", None, [problem], other_n, "sampled")


def test_eval_summary_is_typed_and_old_sections_still_read(tmp_path):
    from starmill.evaluation.plot import eval_history

    model = f"stub-eval-{tmp_path.name}"
    _serve(model, Scripted(model))
    wh = Warehouse(tmp_path / "wh")
    report = evaluate(wh, model, ON, SETTINGS)
    manifest = wh.manifest(report.ref)
    summary = EvalSummary.from_manifest(manifest)
    assert summary.metrics == report.metrics and summary.eval_on == "eval_problems@v1"
    assert summary.overlap.trained_on == [] and summary.clean.problems == 8 and summary.clean.metrics == report.metrics
    assert summary.checker.name == "starmill" and summary.template == "cot_zero_shot" and summary.scorer is None
    extra = manifest.model_extra
    assert extra["metrics"] == report.metrics and extra["clean"] == report.clean  # the same keys on disk as before
    assert EvalSummary.model_validate(summary.to_manifest()) == summary
    assert EvalSummary.from_manifest(manifest.model_dump(mode="json")) == summary  # a manifest's JSON dict too

    old = {
        "metrics": {"greedy_pass@1": 0.5, "pass@1": 0.25},
        "eval_on": "eval_problems@v1",
        "overlap": {"trained_on": [], "by_id": 0, "by_ngram": 0, "problem_ids": []},
    }  # an early evals manifest
    read = EvalSummary.from_manifest(old)
    assert read.metrics == old["metrics"] and read.clean is None and read.strategies == [] and read.checker is None
    assert EvalSummary.from_manifest({"table": "samples"}) is None
    with wh.writer("evals", "evals", parents=["eval_problems@v1"], models=[{"model": "old"}], extra=old) as writer:
        writer.write([])
    history = eval_history(wh, on="eval_problems@v1")
    assert [h["metrics"] for h in history] == [report.metrics, old["metrics"]]


def test_eval_cli_says_which_shards_came_from_the_ledger(tmp_path, capsys):
    import json

    from tests.helpers import run_cli

    model = f"stub-eval-{tmp_path.name}"
    _serve(model, Scripted(model))
    argv = ["eval", model, "--on", ON, "-n", "2", "--max-tokens", "32", "-w", str(tmp_path / "wh")]
    code, stdout, stderr = run_cli(capsys, *argv, "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["shards"] == {"generated": 2, "from_ledger": 0}  # 8 problems: one shard per mode
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 0, stderr
    assert "Sampling shards: 2 from the ledger, 0 generated\n" in stdout


def test_ctrl_c_to_starmill_eval_keeps_the_finished_shards(tmp_path, capsys):
    import os
    import signal
    import time

    from tests.helpers import run_cli

    class Interrupted(Scripted):  # Ctrl-C while the third shard is being generated
        def generate(self, requests):
            results = super().generate(requests)
            if len(self.asked) == 3:
                os.kill(os.getpid(), signal.SIGINT)
                deadline = time.monotonic() + 10
                while not stopping.requested() and time.monotonic() < deadline:
                    time.sleep(0.01)
            return results

    model = f"stub-eval-{tmp_path.name}"
    argv = ["eval", model, "--on", ON, "-n", "2", "--max-tokens", "32", "-w", str(tmp_path / "wh")]
    _serve(model, Interrupted(model))
    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as stop:
            run_cli(capsys, *argv, "--shard-size", "2")
    finally:
        signal.signal(signal.SIGINT, previous)
        stopping.reset()
    assert stop.value.code == 130
    assert "the finished shards are in the ledger" in capsys.readouterr().err
    assert Warehouse(tmp_path / "wh").versions("evals") == []
    again = _serve(model, Scripted(model))
    code, stdout, stderr = run_cli(capsys, *argv, "--shard-size", "2")
    assert code == 0, stderr
    assert "Sampling shards: 3 from the ledger, 5 generated\n" in stdout and len(again.asked) == 5
