"""The STaR loop as plain code: ``run_star`` with the in-process mapper and a stub backend, no
Prefect. Stages, solved counts, the report in the manifest, failure policy, strategies that loop."""

import json

import pytest

from starmill.config import parse_config
from starmill.generators import registry
from starmill.generators.base import Completion, GenerationError, SettingsError
from starmill.generators.stub_backend import StubBackend
from starmill.pipeline import PartialRun, RetryPolicy, run_star
from starmill.schemas.samples import Stage
from starmill.warehouse import Warehouse
from starmill.warehouse.shards import FAILED, ShardJob, run_job


def config(tmp_path, questions, **extra):
    """A run over ``questions`` ({question: gold}) written as a JSONL source, one shard per 2 problems."""
    source = tmp_path / "problems.jsonl"
    source.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in questions.items()))
    data = {
        "source": {"uri": str(source)},
        "teacher": {"model": f"stub-{tmp_path.name}"},
        "sampling": {"n": 3, "seed": 1},
        "selection": {"k": 2},
        "rationalization": {"attempts": 2},
        "runner": {"shard_size": 2, "retries": 0},
        **extra,
    }
    return parse_config(data)


def serve(cfg, respond):
    backend = StubBackend(respond=respond)
    registry.use_backend(cfg.teacher.model_dump(mode="json"), backend)
    return backend


QUESTIONS = {"Compute 2 + 3.": "5", "Compute 9 - 4.": "5", "Compute 6 + 1.": "7", "Compute 8 + 8.": "16"}


def scripted(question, hint, index):
    """2 + 3: always right; 9 - 4: wrong, right with the hint; 6 + 1: wrong, and its hinted answers
    lean on the hint; 8 + 8: wrong whatever happens."""
    if question == "Compute 2 + 3.":
        text = f"{['Two', 'Adding three to two', 'Counting up from two by three'][index]} gives 5.\nThe answer is 5."
    elif hint and question == "Compute 9 - 4.":
        text = ["Nine minus four: 9 - 4 = 5.", "Counting down four from nine, 9 - 4 = 5."][index] + "\nThe answer is 5."
    elif hint and question == "Compute 6 + 1.":
        text = "The hint says 7, so 6 + 1 = 7.\nThe answer is 7."
    else:
        text = f"I think it is {40 + index}.\nThe answer is {40 + index}."
    return Completion(text, "stop", 5, len(text.split()))


def test_the_loop_runs_in_process_and_reports(tmp_path):
    cfg = config(tmp_path, QUESTIONS)
    serve(cfg, scripted)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    [it] = summary["iterations"]
    assert (it["attempted"], it["solved_by_rationale"], it["rationalization_attempted"]) == (4, 1, 3)
    assert it["solved_by_rationalization"] == 1  # 6 + 1 leaned on the hint: dropped, not solved
    assert summary["counts"]["problems_solved"] == 2 and summary["counts"]["kept"] == 4
    assert summary["drops"]["hint_leak"] == 2 and summary["drops"]["over_k"] == 1
    wh = Warehouse(tmp_path / "wh")
    sft = wh.read(summary["sft"]).to_pylist()
    assert sorted((r["stage"], r["final_answer"]) for r in sft) == [
        ("rationale", "5"),
        ("rationale", "5"),
        ("rationalization", "5"),
        ("rationalization", "5"),
    ]
    assert {r["pass_rate"] for r in sft if r["stage"] == "rationale"} == {1.0}
    report = wh.manifest(summary["sft"]).report
    assert report.pass_at_k == {"1": 0.25, "2": 0.25, "3": 0.25}
    assert report.pass_rate_histogram["0.0-0.1"] == 3 and report.pass_rate_histogram["0.9-1.0"] == 1
    assert report.filter_stats["hint_leak.dropped_hint_leak"] == 2 and report.rationalized_share == 0.5
    assert [p["id"] for p in report.prompts] == ["cot_zero_shot", "star_rationalization"]
    samples = wh.read(summary["samples"]).to_pylist()
    assert {s["stage"] for s in samples} == {Stage.RATIONALE.value, Stage.RATIONALIZATION.value}
    assert all(s["drop_reason"] for s in samples if not s["kept"])


def test_no_rationalization_attempted_when_it_is_off(tmp_path):
    cfg = config(tmp_path, QUESTIONS, rationalization={"enabled": False})
    serve(cfg, scripted)
    [it] = run_star(cfg, str(tmp_path / "wh"), progress=False)["iterations"]
    assert (it["rationalization_attempted"], it["solved_by_rationalization"]) == (0, 0)


def test_a_later_iteration_gets_what_is_still_unsolved_from_the_next_model(tmp_path):
    cfg = config(
        tmp_path,
        QUESTIONS,
        rationalization={"enabled": False},
        iterations={"count": 2, "models": [f"stub-next-{tmp_path.name}"]},
    )
    serve(cfg, scripted)
    better = cfg.teacher.model_dump(mode="json") | {"model": f"stub-next-{tmp_path.name}", "revision": None}
    registry.use_backend(better, StubBackend(accuracy=1.0))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    first, second = summary["iterations"]
    assert (first["attempted"], first["solved_by_rationale"]) == (4, 1)
    assert (second["model"], second["attempted"], second["solved_by_rationale"]) == (better["model"], 3, 3)
    models = Warehouse(tmp_path / "wh").manifest(summary["sft"]).models
    assert [(m["iteration"], m["model"], m["engine"]) for m in models] == [
        (0, cfg.teacher.model, "stub"),
        (1, better["model"], "stub"),
    ]


def test_server_reasoning_counts_for_duplicates_and_length(tmp_path):
    """A server's reasoning_content is not in ``completion``: three rationales ending in the same
    answer are three distinct samples, and a long rationale is too long."""
    reasons = [
        "Two plus three: count 3, 4, 5.",
        "Start at three, add two more to reach five.",
        "2 + 3 = 5 because five is two more than three. " * 30,
    ]

    def respond(question, hint, index):
        return Completion("The answer is 5.", "stop", 5, 8, reasoning=reasons[index])

    cfg = config(
        tmp_path,
        {"Compute 2 + 3.": "5"},
        selection={"k": 3, "filters": ["truncated", {"name": "length", "max_chars": 500}]},
    )
    serve(cfg, respond)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    samples = sorted(Warehouse(tmp_path / "wh").read(summary["samples"]).to_pylist(), key=lambda s: s["sample_index"])
    assert [(s["kept"], s["drop_reason"]) for s in samples] == [(True, None), (True, None), (False, "too_long")]
    assert [s["completion"] for s in samples] == ["The answer is 5."] * 3 and samples[0]["reasoning"] == reasons[0]


def broken(error):
    def respond(question, hint, index):
        if "9 - 4" in question:
            raise error
        return scripted(question, hint, index)

    return respond


def test_failed_shards_publish_nothing_unless_partial_is_allowed(tmp_path):
    cfg = config(tmp_path, QUESTIONS)
    serve(cfg, broken(GenerationError("server down")))
    with pytest.raises(PartialRun, match=r"1 shard\(s\) failed .*GenerationError: server down.*--allow-partial"):
        run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    assert wh.versions("samples") == [] and wh.versions("sft") == []
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False, allow_partial=True)
    assert summary["partial"] and summary["failed_shards"][0]["problems"] == 2
    [it] = summary["iterations"]
    assert it["rationalization_attempted"] == 2  # 6 + 1 and 8 + 8: 9 - 4 and its shard-mate 2 + 3 failed
    assert wh.manifest(summary["sft"]).partial


@pytest.mark.parametrize(
    "error,calls", [(GenerationError("server down"), 3), (SettingsError("no such model"), 1), (TypeError("a bug"), 1)]
)
def test_deterministic_errors_are_not_retried(tmp_path, error, calls):
    from starmill.generators.base import SamplingParams
    from starmill.generators.sampling import plan_shards
    from starmill.generators.strategies import PlanContext, get_strategy
    from tests.helpers import problem

    cfg = config(tmp_path, QUESTIONS)
    backend = serve(cfg, broken(error))
    strategy = get_strategy("independent", template="cot_zero_shot", n=1)
    [shard] = plan_shards(
        strategy.plan([problem("Compute 9 - 4.")], PlanContext(0, SamplingParams(), 0, "m", None)), 4, strategy
    )
    job = ShardJob(str(tmp_path / "wh"), "run", cfg.teacher.model_dump(mode="json"), shard)
    waits = []
    result = run_job(job, RetryPolicy(retries=2, delay=0.5), sleep=waits.append)
    assert (result.status, backend.calls, waits) == (FAILED, calls, [0.5, 1.0][: calls - 1])
    assert result.error.startswith(type(error).__name__)


def test_a_strategy_may_loop_and_takes_the_lock_per_call(tmp_path, monkeypatch):
    """A strategy that asks the engine twice per shard (a stand-in for beam search): the engine's lock is
    held during each call and free between them."""
    from starmill.generators import strategies
    from starmill.generators.sampling import sample_requests

    cfg_teacher = {}

    class TwoRounds(strategies.IndependentSamples):
        name = "two_rounds_test"
        between = []

        def run(self, requests, generate, info):
            first = sample_requests(requests, generate, info)
            TwoRounds.between.append(registry.backend_lock(cfg_teacher["t"]).locked())
            return first[: len(first) // 2] + sample_requests(requests, generate, info)[len(first) // 2 :]

    monkeypatch.setitem(strategies.STRATEGIES.classes, TwoRounds.name, TwoRounds)

    cfg = config(
        tmp_path,
        QUESTIONS,
        sampling={"n": 2, "seed": 1, "strategy": "two_rounds_test"},
        rationalization={"enabled": False},
    )
    cfg_teacher["t"] = cfg.teacher.model_dump(mode="json")
    locked_during = []

    def respond(question, hint, index):
        locked_during.append(registry.backend_lock(cfg_teacher["t"]).locked())
        return scripted(question, hint, index)

    backend = serve(cfg, respond)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert backend.calls == 4 and TwoRounds.between == [False, False] and all(locked_during)
    assert summary["counts"]["generated.rationale"] == 8


def test_done_shards_come_back_from_the_ledger(tmp_path):
    cfg = config(tmp_path, QUESTIONS)
    backend = serve(cfg, scripted)
    first = run_star(cfg, str(tmp_path / "wh"), progress=False)
    calls = backend.calls
    again = run_star(cfg, str(tmp_path / "wh"), progress=False, force=True)  # unchanged: publishes only when forced
    assert backend.calls == calls and again["counts"] == first["counts"]
    wh = Warehouse(tmp_path / "wh")
    assert wh.read(again["sft"]).equals(wh.read(first["sft"]))


def test_show_reads_the_report(tmp_path, capsys):
    from tests.helpers import run_cli

    cfg = config(tmp_path, QUESTIONS)
    serve(cfg, scripted)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    code, out, _ = run_cli(capsys, "show", summary["sft"], "-w", str(tmp_path / "wh"))
    assert code == 0
    assert "  pass@k:    pass@1 0.250, pass@2 0.250, pass@3 0.250\n" in out
    assert "  iterations: 0: 1 + 1 of 4 solved\n" in out and "  checker:   starmill " in out
    code, out, _ = run_cli(capsys, "show", summary["sft"], "-w", str(tmp_path / "wh"), "--json")
    info = json.loads(out)
    assert info["report"]["k"] == 2 and "report" not in info["manifest"]


def test_the_loop_never_imports_prefect(tmp_path):
    """The plain loop in a fresh process: a whole run, and Prefect is not among the modules loaded."""
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys
from starmill.generators.registry import use_backend
from starmill.generators.stub_backend import StubBackend
from starmill.config import parse_config
from starmill.pipeline import run_star
cfg = parse_config({{"source": {{"procedural": {{"n": 8}}}}, "teacher": {{"model": "stub"}}}})
use_backend(cfg.teacher.model_dump(mode="json"), StubBackend())
summary = run_star(cfg, {str(tmp_path / "wh")!r}, progress=False)
print(summary["sft"], sorted(m for m in sys.modules if m.split(".")[0] == "prefect"))
"""
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["sft@v1", "[]"]
