"""The STaR outer loop in plain code (no Prefect): each iteration samples every training problem with
the newest model, trains the next one from the base on that iteration's kept rows, evaluates it on
held-out problems; early stopping; a rerun resumes from the ledger, the model folders and their evals;
iterations.command (the escape hatch for custom trainers) makes the next model too."""

import json
import sys
from pathlib import Path

from starmill.config import parse_config
from starmill.pipeline import run_star

HELD_OUT = "procedural:n=12,seed=999,difficulty=1"


def config(**iterations):
    return parse_config(
        {
            "source": {"procedural": {"n": 24, "seed": 3, "difficulty": 1}},
            "sampling": {"n": 2, "max_tokens": 48},
            "iterations": {
                "count": 2,
                "train": {"max_steps": 2, "batch_size": 8, "lr": 1e-5, "max_length": 192},
                "eval": {"source": HELD_OUT, "n": 2},
                "early_stop": False,
                **iterations,
            },
        }
    )


def test_two_iterations_train_evaluate_and_resume(tmp_path):
    from starmill.warehouse import Warehouse

    wh = str(tmp_path / "wh")
    summary = run_star(config(), wh, progress=False)
    first, second = summary["iterations"]
    assert first["attempted"] == second["attempted"] == 24  # every problem, every iteration (the paper)
    assert first["heldout"]["greedy_pass@1"] is not None and second["heldout"] is not None
    assert first["train_rows"] is None and second["train_steps"] == round(2 * 1.2**0)
    w = Warehouse(wh)
    kept_it0 = sum(1 for r in w.read("sft").to_pylist() if r["iteration"] == 0)
    assert second["train_rows"] == kept_it0  # M1 learned from iteration 0's kept rows only
    assert second["model"].endswith("model-it1") and Path(second["model"], "starmill_training.json").exists()
    report = w.manifest("sft").report
    final = report.final_model
    assert final["iteration"] == 2 and final["train_steps"] == round(2 * 1.2) and final["heldout"]
    assert w.versions("evals") == [1, 2, 3]  # M0, M1, M2
    best, metric = report.best_model, report.best_model["metric"]
    values = [first["heldout"][metric], second["heldout"][metric], final["heldout"][metric]]
    expected = values.index(max(values))  # the earliest of equals
    assert (best["iteration"], best["value"]) == (expected, values[expected]) and summary["best_model"] == best
    assert best["model"] == [first["model"], second["model"], final["model"]][expected]
    assert [r["kind"] for r in w.read("models").to_pylist()] == ["sft", "sft"]
    model_time = Path(second["model"], "model.safetensors").stat().st_mtime_ns

    # the rerun reads each model's evaluation back from its folder: written here by hand, M1 is best and
    # M2 falls back below it (M(K) is not always the best model)
    workdir = Path(second["model"]).parent
    for path, value in [
        (workdir / "m0-heldout.json", 0.5),
        (Path(second["model"], "heldout.json"), 0.75),
        (Path(final["model"], "heldout.json"), 0.625),
    ]:
        path.write_text(json.dumps({**json.loads(path.read_text()), "greedy_pass@1": value}))
    again = run_star(config(), wh, progress=False, force=True)  # a rerun: ledger, model folders and evals are reused
    assert w.versions("evals") == [1, 2, 3]
    assert Path(second["model"], "model.safetensors").stat().st_mtime_ns == model_time
    assert [i["heldout"]["greedy_pass@1"] for i in again["iterations"]] == [0.5, 0.75]
    assert [i["heldout"]["pass@1"] for i in again["iterations"]] == [
        first["heldout"]["pass@1"],
        second["heldout"]["pass@1"],
    ]
    assert again["best_model"] == {
        "iteration": 1,
        "model": second["model"],
        "metric": "greedy_pass@1",
        "value": 0.75,
        "evals": second["evals"],
    }


def test_best_model_is_the_best_heldout_metric_the_earliest_of_equals(tmp_path):
    """The plain rule, on metrics written by hand: a later model can win, an earlier one can win over
    M(K), a tie keeps the earlier model, M0 is the configured model itself."""
    from types import SimpleNamespace

    from starmill.pipeline.training_step import TrainedModel

    step = TrainedModel(SimpleNamespace(config=config()), tmp_path)
    base = {"model": "starmill/demo-teacher"}
    assert step.best_model(base) is None  # nothing evaluated
    step.heldout = {
        0: {"greedy_pass@1": 0.25, "evals": "evals@v1"},
        1: {"greedy_pass@1": 0.5, "evals": "evals@v2"},
        2: {"greedy_pass@1": 0.375, "evals": "evals@v3"},
    }
    assert step.best_model(base) == {
        "iteration": 1,
        "model": str(tmp_path / "model-it1"),
        "metric": "greedy_pass@1",
        "value": 0.5,
        "evals": "evals@v2",
    }
    step.heldout[3] = {"greedy_pass@1": 0.5, "evals": "evals@v4"}
    assert step.best_model(base)["iteration"] == 1  # a tie: the earlier model
    step.heldout[4] = {"greedy_pass@1": 0.625, "evals": "evals@v5"}
    assert step.best_model(base)["model"] == str(tmp_path / "model-it4")
    step.heldout = {0: {"greedy_pass@1": 0.5, "evals": "evals@v1"}, 1: {"greedy_pass@1": 0.125, "evals": "evals@v2"}}
    assert step.best_model(base) == {
        "iteration": 0,
        "model": "starmill/demo-teacher",
        "metric": "greedy_pass@1",
        "value": 0.5,
        "evals": "evals@v1",
    }


def test_early_stop_when_heldout_accuracy_stops_rising(tmp_path):
    # lr 5e-3 on a handful of rows undoes the demo teacher: M1 is worse than M0 on the held-out set
    cfg = config(early_stop=True, train={"max_steps": 3, "batch_size": 8, "lr": 5e-3, "max_length": 192})
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    [only] = summary["iterations"]
    from starmill.warehouse import Warehouse

    report = Warehouse(str(tmp_path / "wh")).manifest("sft").report
    assert report.stopped_early == 1 and report.final_model is None
    assert only["heldout"]["greedy_pass@1"] > 0
    assert report.best_model["iteration"] == 0 and report.best_model["model"] == only["model"]  # M0 stays best


def test_iterations_command_makes_the_next_model(tmp_path):
    """The escape hatch: a shell command gets {sft} (the rows kept so far) and writes {output}."""
    script = tmp_path / "trainer.py"
    script.write_text(
        "import shutil, sys, pyarrow.parquet as pq\n"
        "rows = pq.read_table(sys.argv[1]).num_rows\n"
        f"shutil.copytree({str(Path(__file__).resolve().parent.parent / 'generators' / 'demo_teacher')!r}, sys.argv[2])\n"
        "open(sys.argv[2] + '/rows.txt', 'w').write(str(rows))\n"
    )
    cfg = parse_config(
        {
            "source": {"procedural": {"n": 12, "seed": 4, "difficulty": 2}},
            "sampling": {"n": 2, "max_tokens": 48},
            "iterations": {"count": 2, "command": f"{sys.executable} {script} {{sft}} {{output}}"},
        }
    )
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    if len(summary["iterations"]) == 2:  # everything solved in iteration 0 ends the loop early
        model = Path(summary["iterations"][1]["model"])
        assert model.name == "model-it1" and int((model / "rows.txt").read_text()) > 0
    else:
        assert (
            summary["iterations"][0]["solved_by_rationale"] + summary["iterations"][0]["solved_by_rationalization"]
            == 12
        )
