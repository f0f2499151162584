"""Issue 22, the user's journey end to end: eval against a server and a GSM8K file, what a run says
when it keeps nothing or resumes, readable tables, one problem's attempts, shareable cards."""

import json

from tests.fixtures_engines import Reply, chat_body
from tests.helpers import run_cli

GSM8K = [
    {"question": "Tom has 70 apples and buys 2 more. How many apples does he have?", "answer": "70 + 2 = 72\n#### 72"},
    {"question": "A box holds 3 rows of 4 eggs. How many eggs are in the box?", "answer": "3 * 4 = 12\n#### 12"},
]


def _gsm8k_file(tmp_path):
    path = tmp_path / "gsm8k_test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in GSM8K))
    return path


def test_eval_reads_a_gsm8k_file_against_an_openai_server(tmp_path, capsys, scripted_server):
    from starmill.warehouse import Warehouse

    wh, path = str(tmp_path / "wh"), _gsm8k_file(tmp_path)
    scripted_server.respond = lambda seen: Reply(body=chat_body(seen.body, ["So the answer is 72."]))
    # without --preset the file is read as plain: no version, and the error says why
    code, _, stderr = run_cli(
        capsys,
        "eval",
        "m",
        "--backend",
        "openai",
        "--base-url",
        scripted_server.base_url,
        "--on",
        str(path),
        "-n",
        "0",
        "-w",
        wh,
    )
    assert code == 1 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"Error: {path} holds no problems: all 2 rows were rejected (unparseable_gold 2) "
        "(is it GSM8K or MATH? give --preset gsm8k or --preset math)"
    )
    assert not Warehouse(wh).versions("eval_problems")
    code, stdout, stderr = run_cli(
        capsys,
        "eval",
        "m",
        "--backend",
        "openai",
        "--base-url",
        scripted_server.base_url,
        "--on",
        str(path),
        "--preset",
        "gsm8k",
        "-n",
        "0",
        "--api-key-env",
        "MY_KEY",
        "--json",
        "-w",
        wh,
    )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["problems"] == "eval_problems@v1" and result["metrics"]["greedy_pass@1"] == 0.5
    assert len(scripted_server.posts()) == 2


def test_eval_openai_without_base_url_is_one_error_line(tmp_path, capsys):
    code, _, stderr = run_cli(
        capsys, "eval", "m", "--backend", "openai", "--on", "procedural:n=2", "-w", str(tmp_path / "wh")
    )
    assert code == 1 and stderr.strip() == "Error: eval: the openai backend needs base_url (the server's /v1 URL)"
    assert not (tmp_path / "wh" / "eval_problems").exists()


def _plain_flow(monkeypatch):
    """``starmill run`` with the flow swapped for the plain run (no Prefect server): the CLI's own output."""
    import starmill.flows.star
    from starmill.config import parse_config
    from starmill.flows import prefect_env
    from starmill.pipeline import run_star

    monkeypatch.setattr(prefect_env, "spawn_temporary_server", lambda: None)
    monkeypatch.setattr(
        starmill.flows.star,
        "star_flow",
        lambda config, warehouse, **kw: run_star(parse_config(config), warehouse, progress=False, **kw),
    )


def test_a_run_that_keeps_nothing_warns_and_a_resume_says_what_came_from_the_ledger(tmp_path, capsys, monkeypatch):
    import yaml

    _plain_flow(monkeypatch)
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"procedural": {"n": 4, "seed": 7, "difficulty": 1}},
                "sampling": {"n": 1, "max_tokens": 1, "seed": 3},  # one token: never an answer, nothing kept
                "rationalization": {"attempts": 1},
                "runner": {"shard_size": 2, "retries": 0},
            }
        )
    )
    wh = str(tmp_path / "wh")
    code, stdout, stderr = run_cli(capsys, "run", str(config), "-w", wh, "--json")
    assert code == 0, stderr
    assert stdout.endswith("}\n")  # a final newline
    summary = json.loads(stdout)
    assert summary["counts"]["kept"] == 0
    warning = (
        "the run kept 0 training rows: sft@v1 is empty (see the drop reasons; "
        'starmill sql "SELECT drop_reason, count(*) FROM samples GROUP BY 1")'
    )
    assert summary["warnings"] == [warning] and f"Warning: {warning}\n" in stderr
    assert summary["shards"]["from_ledger"] == 0 and summary["shards"]["generated"] > 0
    assert "Resumed" not in stderr
    code, stdout, stderr = run_cli(capsys, "run", str(config), "-w", wh, "--force")
    assert code == 0, stderr
    done = summary["shards"]["generated"]
    assert f"Resumed: {done} of {done} shard(s) came from the ledger, 0 generated now.\n" in stderr


def test_training_shows_progress_not_a_dict_per_step(make_sft_version, tmp_path, capsys):
    from tests.test_eval import TEACHER

    wh, ref = make_sft_version(problems=8)
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        ref,
        "--base",
        TEACHER,
        "--output",
        str(tmp_path / "m"),
        "--max-steps",
        "4",
        "--set",
        "train.logging_steps=1",
        "--set",
        "train.batch_size=2",
        "--json",
        "--no-record",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    assert stdout.endswith("}\n") and json.loads(stdout)["steps"] == 4
    assert "{'loss'" not in stderr and "'train_runtime'" not in stderr  # the trainer's dicts
    lines = [line for line in stderr.splitlines() if line.startswith("train: step ")]
    assert [line.split(" loss ")[0] for line in lines] == [f"train: step {i}/4" for i in (1, 2, 3, 4)]


def test_table_cells_wrap_with_real_newlines_and_csv_json_stay_exact():
    from starmill.cli.output import render

    text = "First line.\n" + "word " * 30 + "end"
    table = render(["id", "text"], [[1, text], [2, "short"]], "table")
    assert "\\n" not in table and "…" not in table
    assert "".join(table.replace(" ", "")).count("word") == 30  # every character shows
    lines = table.splitlines()
    assert lines[2].split(None, 1) == ["1", "First line."] and max(len(line) for line in lines) <= 4 + 60
    assert lines[-1].split() == ["2", "short"] and lines[-2] == ""  # a tall row is set off by a blank line
    assert render(["id", "text"], [[1, text]], "csv") == f'id,text\n1,"{text}"'
    assert json.loads(render(["id", "text"], [[1, text]], "json")) == [{"id": 1, "text": text}]


def test_show_problem_prints_every_attempt_with_its_hinted_prompt(tmp_path, capsys):
    from starmill.config import parse_config
    from starmill.pipeline import run_star
    from starmill.warehouse import Warehouse

    wh = str(tmp_path / "wh")
    summary = run_star(
        parse_config(
            {
                "source": {"procedural": {"n": 2, "seed": 7, "difficulty": 1}},
                "sampling": {"n": 1, "max_tokens": 1, "seed": 3},
                "rationalization": {"attempts": 1},
            }
        ),
        wh,
        progress=False,
    )
    rows = Warehouse(wh).read(summary["samples"]).to_pylist()
    hinted = next(r for r in rows if r["stage"] == "rationalization")
    pid = hinted["problem_id"]
    problem = next(p for p in Warehouse(wh).read(summary["problems"]).to_pylist() if p["problem_id"] == pid)
    code, stdout, stderr = run_cli(capsys, "show-problem", pid, "-w", wh)
    assert code == 0, stderr
    assert stdout.startswith(f"Problem {pid} (") and f"Gold: {problem['gold_answer']}" in stdout
    assert stdout.count("samples@v1  iteration 0") == sum(r["problem_id"] == pid for r in rows) == 2
    assert f"rationalization #0  dropped: {hinted['drop_reason']}" in stdout
    assert (
        "Hinted prompt (what the teacher saw):" in stdout
        and problem["gold_answer"] in stdout.split("Hinted prompt")[1].split("Training prompt")[0]
    )
    found = json.loads(run_cli(capsys, "show-problem", pid, "--json", "-w", wh)[1])
    assert [s["stage"] for s in found["samples"]] == ["rationale", "rationalization"]
    assert found["samples"][1]["hinted_prompt"][-1]["content"].count(problem["gold_answer"]) >= 1
    code, _, stderr = run_cli(capsys, "show-problem", "0" * 32, "-w", wh)
    assert code == 1 and stderr == f"Error: no problem {'0' * 32!r} in {Warehouse(wh).root}\n"


def test_eval_reports_the_clean_rest_beside_all_problems(make_sft_version, tmp_path, capsys):
    from tests.test_eval import TEACHER

    wh, ref = make_sft_version(problems=12)  # procedural difficulty 2, seed 0
    out = tmp_path / "m1"
    code, _, stderr = run_cli(
        capsys,
        "train",
        ref,
        "--base",
        TEACHER,
        "--output",
        str(out),
        "--max-steps",
        "1",
        "--set",
        "train.batch_size=4",
        "--no-record",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    on = ["--on", "procedural:n=20,seed=0,difficulty=2", "-n", "2", "--strategy", "majority"]
    code, stdout, stderr = run_cli(capsys, "eval", str(out), *on, "--json", "-w", wh.root)
    assert code == 0, stderr
    result = json.loads(stdout)
    flagged = set(result["overlap"]["problem_ids"])
    assert 0 < len(flagged) < 20 and result["clean"]["problems"] == 20 - len(flagged)
    code, rows, _ = run_cli(
        capsys, "sql", "-w", wh.root, "--format", "json", "SELECT problem_id, mode, correct FROM evals"
    )
    clean = [r for r in json.loads(rows) if r["problem_id"] not in flagged]
    greedy = [r["correct"] for r in clean if r["mode"] == "greedy"]
    sampled = [r["correct"] for r in clean if r["mode"] == "sampled"]
    assert result["clean"]["metrics"]["greedy_pass@1"] == round(sum(greedy) / len(greedy), 4)
    assert result["clean"]["metrics"]["pass@1"] == round(sum(sampled) / len(sampled), 4)
    assert set(result["clean"]["metrics"]) == set(result["metrics"])  # majority@2 too
    code, stdout, _ = run_cli(capsys, "eval", str(out), *on, "-w", wh.root)
    header = stdout.splitlines()[1].split()
    assert header == ["metric", "all", "20", "clean", str(20 - len(flagged))]


def test_the_plot_joins_only_a_model_to_the_one_it_was_trained_from():
    from starmill.evaluation.plot import series

    history = [
        {
            "model": "a",
            "base": None,
            "metrics": {"greedy_pass@1": 0.5, "pass@1": 0.4, "pass@4": 0.8, "maj@4": 0.6, "majority@4": 0.6},
        },
        {"model": "b", "base": None, "metrics": {"greedy_pass@1": 0.6, "pass@1": 0.5, "pass@4": 0.9}},
        {"model": "b-it1", "base": "b", "metrics": {"greedy_pass@1": 0.7, "pass@1": 0.6, "pass@4": 1.0, "beam@4": 0.7}},
    ]
    drawn = {s["metric"]: s for s in series(history)}
    assert list(drawn) == ["greedy_pass@1", "beam@4", "maj@4", "majority@4", "pass@1", "pass@4"]
    assert drawn["pass@4"]["points"] == [(0, 0.8), (1, 0.9), (2, 1.0)]
    assert drawn["pass@4"]["segments"] == [((1, 0.9), (2, 1.0))]  # a and b are unrelated: no line between them
    assert drawn["majority@4"]["points"] == [(0, 0.6)] and drawn["majority@4"]["segments"] == []


def test_an_export_names_no_local_path_and_records_the_served_model(tmp_path, capsys, scripted_server):
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    source = _gsm8k_file(tmp_path)
    served = "served-model-2026-01"

    def answer(seen):
        body = chat_body(seen.body, ["The answer is 72."] * seen.body.get("n", 1))
        return Reply(body={**body, "model": served})

    scripted_server.respond = answer
    url = scripted_server.base_url.replace("http://", "http://user:s3cret@")
    wh = str(tmp_path / "wh")
    summary = run_star(
        parse_config(
            {
                "source": {"uri": str(source), "preset": "gsm8k"},
                "teacher": {"backend": "openai", "model": "m", "base_url": url},
                "sampling": {"n": 2},
                "rationalization": {"attempts": 1},
            }
        ),
        wh,
        progress=False,
    )
    assert summary["counts"]["kept"] >= 1
    code, _, stderr = run_cli(capsys, "export", summary["sft"], "--to", str(tmp_path / "out"), "-w", wh)
    assert code == 0, stderr
    card = (tmp_path / "out" / "README.md").read_text()
    lineage = (tmp_path / "out" / "starmill_export.json").read_text()
    for text in (card, lineage):
        assert str(tmp_path) not in text and "s3cret" not in text
        assert "<local>/gsm8k_test.jsonl" in text
    from starmill.warehouse.lineage import file_fingerprint

    assert file_fingerprint(source) in card and file_fingerprint(source) in lineage
    host = scripted_server.base_url.split("//")[1].split("/")[0]
    assert f"model `m`, revision `{served}`, backend `openai`, server {host}" in card


def test_an_unchanged_source_and_config_publish_nothing_new(tmp_path, capsys, monkeypatch):
    import yaml

    from starmill.warehouse import Warehouse

    _plain_flow(monkeypatch)
    source = _gsm8k_file(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"uri": str(source), "preset": "gsm8k"},
                "sampling": {"n": 1, "max_tokens": 16},
                "rationalization": {"attempts": 1},
            }
        )
    )
    wh = str(tmp_path / "wh")
    assert run_cli(capsys, "run", str(config), "-w", wh)[0] == 0
    code, stdout, stderr = run_cli(capsys, "run", str(config), "-w", wh, "--json")
    assert code == 0, stderr
    assert (
        "Unchanged: the source and config are those of sft@v1 (from samples@v1); nothing new was published "
        "(--force publishes anyway).\n"
    ) in stderr
    assert json.loads(stdout)["unchanged"] is True and json.loads(stdout)["sft"] == "sft@v1"
    assert Warehouse(wh).versions("sft") == [1] and Warehouse(wh).versions("samples") == [1]
    code, _, stderr = run_cli(capsys, "run", str(config), "-w", wh, "--set", "sampling.max_tokens=17")
    assert code == 0 and "Unchanged" not in stderr and Warehouse(wh).versions("sft") == [1, 2]  # a new config
    source.write_text(source.read_text() + json.dumps({"question": "What is 5 + 5?", "answer": "#### 10"}) + "\n")
    code, _, stderr = run_cli(capsys, "run", str(config), "-w", wh)
    assert code == 0 and "Unchanged" not in stderr and Warehouse(wh).versions("sft") == [1, 2, 3]  # a new source
    code, _, stderr = run_cli(capsys, "run", str(config), "-w", wh, "--force")
    assert code == 0 and "Unchanged" not in stderr and Warehouse(wh).versions("sft") == [1, 2, 3, 4]


def test_train_from_an_export_folder_reports_the_validation_loss(make_sft_version, tmp_path, capsys):
    from tests.test_eval import TEACHER

    wh, ref = make_sft_version(problems=12)
    folder = tmp_path / "export"
    code, _, stderr = run_cli(capsys, "export", ref, "--to", str(folder), "--test-size", "0.25", "-w", wh.root)
    assert code == 0, stderr
    out = tmp_path / "m"
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        str(folder),
        "--base",
        TEACHER,
        "--output",
        str(out),
        "--max-steps",
        "2",
        "--set",
        "train.batch_size=2",
        "--no-record",
        "-w",
        wh.root,
    )
    assert code == 0, stderr
    manifest = json.loads((out / "starmill_training.json").read_text())
    import pyarrow.parquet as pq

    train = sum(pq.read_table(p).num_rows for p in (folder / "data").glob("train-*.parquet"))
    test = sum(pq.read_table(p).num_rows for p in (folder / "data").glob("test-*.parquet"))
    assert manifest["rows"] == train and manifest["validation_rows"] == test > 0
    assert manifest["data"] == [str(folder)] and manifest["validation_loss"] > 0
    assert f"  validation loss {manifest['validation_loss']:.4f} on the export's test split ({test} rows)" in stdout
    from starmill.evaluation.overlap import overlap
    from starmill.generators.procedural import generate_problems

    trained = {r["problem_id"] for p in (folder / "data").glob("train-*.parquet") for r in pq.read_table(p).to_pylist()}
    found = overlap(wh, str(out), list(generate_problems(12, seed=0, difficulty=2)))
    assert found["trained_on"] == [str(folder)] and not found["unreadable"]
    assert trained <= set(found["problem_ids"])  # what it trained on counts as seen (by id)


def test_a_stop_hides_prefects_crash_lines_and_nothing_else():
    import logging

    from starmill.flows.prefect_env import _not_a_stop_crash
    from starmill.generators import stopping

    def record(message):
        return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, message, None, None)

    crash = record("Crash detected! Execution was interrupted by an unexpected exception: CancelledError")
    other = record("a real error")
    assert _not_a_stop_crash(crash) and _not_a_stop_crash(other)  # no stop: every line shows
    stopping.request()
    try:
        assert not _not_a_stop_crash(crash) and _not_a_stop_crash(other)
        assert not _not_a_stop_crash(record("Finished in state Crashed('Execution was interrupted')"))
    finally:
        stopping.reset()


def test_flow_logs_reach_prefect_at_info_and_the_run_names_its_flow_run(prefect_server, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PREFECT_HOME": str(tmp_path / "prefect")}
    for key in ("PREFECT_LOGGING_LEVEL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "PREFECT_LOGGING_EXTRA_LOGGERS"):
        env.pop(key, None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "starmill.cli",
            "run",
            "--set",
            "source.procedural.n=2",
            "--set",
            "sampling.n=1",
            "--set",
            "sampling.max_tokens=8",
            "--json",
            "-w",
            str(tmp_path / "wh"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    url = json.loads(done.stdout)["flow_run_url"]
    assert url.startswith(prefect_server.removesuffix("/api")) and f"Prefect flow run: {url}\n" in done.stderr
    assert "| INFO" not in done.stderr  # the console shows warnings and errors only
    flow_run_id = url.rstrip("/").rsplit("/", 1)[-1]
    logs = httpx.post(
        f"{prefect_server}/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
    ).json()
    info = [entry["message"] for entry in logs if entry["level"] == 20]
    assert any(message.startswith("flow run: ") for message in info)  # starmill's own logger
    assert any("Finished in state Completed" in message for message in info)  # Prefect's flow run logger


def test_preference_exports_name_no_local_path(tmp_path, capsys):
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    wh = str(tmp_path / "wh")
    summary = run_star(
        parse_config(
            {
                "source": {"procedural": {"n": 8, "seed": 7, "difficulty": 1}},
                "sampling": {"n": 4, "max_tokens": 64, "seed": 3},
            }
        ),
        wh,
        progress=False,
    )
    evals = _gsm8k_file(tmp_path)
    code, _, stderr = run_cli(
        capsys,
        "export",
        summary["samples"],
        "--format",
        "dpo",
        "--to",
        str(tmp_path / "dpo"),
        "--decontaminate",
        str(evals),
        "-w",
        wh,
    )
    assert code == 0, stderr
    card, lineage = ((tmp_path / "dpo" / name).read_text() for name in ("README.md", "starmill_export.json"))
    assert str(tmp_path) not in card and str(tmp_path) not in lineage
    assert "<local>/gsm8k_test.jsonl" in lineage
