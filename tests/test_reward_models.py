"""Reward models: `starmill train --task orm|prm` for a few real steps on the demo teacher, the ``orm``,
``prm`` and ``llm_judge`` scorers on what they trained (per-step values, partial paths, aggregation,
batching, pickling), ``eval --scorer PATH``, and one clear error for each bad input."""

import json
import math
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from starmill.filters.scorers import AGGREGATES, ScorerError, aggregate, get_scorer, score_samples
from starmill.training import TrainError, TrainSettings
from starmill.training.reward import train_reward
from starmill.warehouse import Warehouse
from tests.fixtures_engines import Reply, chat_body
from tests.helpers import problem, run_cli, sample

TEACHER = str(Path(__file__).resolve().parent.parent / "generators" / "demo_teacher")
FAST = TrainSettings(max_steps=3, batch_size=4, max_length=128, lr=1e-3)
PRM_SCHEMA = pa.schema(
    [  # the agreed ``prm`` table (schemas/prm.py), written here as plain rows
        ("prm_id", pa.string()),
        ("sample_id", pa.string()),
        ("problem_id", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("steps", pa.list_(pa.string())),
        ("labels", pa.list_(pa.bool_())),
        ("soft_labels", pa.list_(pa.float64())),
        ("rollouts", pa.int32()),
        ("delimiter", pa.string()),
        ("gold_answer", pa.string()),
        ("model", pa.string()),
        ("completer_version", pa.string()),
    ]
)


def rationale(a: int, b: int, slip: int = 0) -> str:
    """The demo teacher's style: one line per step, then the answer; ``slip`` puts an error in step 1."""
    return f"{a} + {b} = {a + b + slip}\n{a + b + slip} - 2 = {a + b + slip - 2}\nThe answer is {a + b + slip - 2}."


def samples_for(n: int):
    problems, rows = {}, []
    for i in range(n):
        a, b = 3 + i, 10 + 2 * i
        p = problem(f"Compute {a} + {b} - 2.", str(a + b - 2))
        problems[p.problem_id] = p
        for j, (slip, ok) in enumerate([(0, True), (1, False), (0, True), (3, False)]):
            s = sample(p.problem_id, rationale(a, b, slip), index=j, correct=ok)
            rows.append(replace(s, prompt=[{"role": "user", "content": p.question}], sample_id=f"s{i}-{j}"))
    return problems, rows


def prm_table(rows) -> pa.Table:
    """Step labels as Math-Shepherd's hard estimation would give them here: good until the slip."""
    out = []
    for s in rows:
        steps = s.completion.split("\n")
        labels = [s.correct] * len(steps)
        out.append(
            {
                "prm_id": f"prm-{s.sample_id}",
                "sample_id": s.sample_id,
                "problem_id": s.problem_id,
                "prompt": s.prompt,
                "steps": steps,
                "labels": labels,
                "soft_labels": [float(x) for x in labels],
                "rollouts": 4,
                "delimiter": "\n",
                "gold_answer": "x",
                "model": TEACHER,
                "completer_version": "",
            }
        )
    return pa.Table.from_pylist(out, schema=PRM_SCHEMA)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A samples version (right and wrong rationales), a prm version, and an ORM and a PRM trained 3 steps."""
    root = tmp_path_factory.mktemp("reward")
    wh = Warehouse(str(root / "wh"))
    problems, rows = samples_for(6)
    with wh.writer("samples", "samples") as writer:
        writer.write(rows)
    with wh.writer("prm", "prm", parents=["samples@v1"]) as writer:
        writer.write(prm_table(rows))
    orm = train_reward(wh, "samples", "orm", TEACHER, root / "orm", FAST, progress=False)
    prm = train_reward(wh, "prm@v1", "prm", TEACHER, root / "prm", FAST, progress=False)
    return {"wh": wh, "root": root, "problems": problems, "rows": rows, "orm": orm, "prm": prm}


def test_orm_and_prm_training_manifests(trained):
    for task, result, ref in (("orm", trained["orm"], "samples@v1"), ("prm", trained["prm"], "prm@v1")):
        m = json.loads((result.output / "starmill_training.json").read_text())
        assert m == result.manifest and m["task"] == m["kind"] == task and m["data"] == [ref]
        assert m["steps"] == 3 and [p["step"] for p in m["loss_curve"]] == [1, 2, 3]
        assert all(math.isfinite(p["loss"]) for p in m["loss_curve"]) and m["base_model"] == TEACHER
        assert (result.output / "loss.png").read_bytes()[:4] == b"\x89PNG"
        assert not result.output.with_name(result.output.name + ".partial").exists()
        assert m["weights"].startswith("sha256:") and m["starmill_version"]
    orm, prm = trained["orm"].manifest, trained["prm"].manifest
    assert orm["rows"] == 6 * 4  # 2 right x 2 wrong per problem, capped at pairs_per_problem=4
    assert "accuracy" in orm["loss_curve"][0]  # RewardTrainer's pairwise accuracy
    assert (prm["step_tag"], prm["delimiter"], prm["rows"]) == ("~", "\n", 24) and orm["step_tag"] is None
    assert prm["labels"] == "hard" and orm["labels"] is None
    config = json.loads((trained["prm"].output / "config.json").read_text())
    assert config["architectures"] == ["LlamaForTokenClassification"] and config["id2label"]["1"] == "good"


def test_the_prm_loss_is_cross_entropy_against_the_target_p_good():
    import torch

    from starmill.training.reward import soft_tag_loss

    torch.manual_seed(0)
    logits = torch.randn(2, 5, 2, requires_grad=True)
    hard = torch.tensor([[-100, 1, -100, 0, 1], [0, -100, -100, -100, 1]], dtype=torch.float32)
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 2), hard.long().reshape(-1), ignore_index=-100)
    assert torch.allclose(soft_tag_loss({"logits": logits}, hard), expected)  # 0/1 targets: the usual loss
    assert torch.allclose(soft_tag_loss({"logits": logits}, hard, num_items_in_batch=10), expected * 5 / 10)
    soft = torch.full((1, 1), 0.25)
    at = torch.tensor([[[0.0, 0.0]]], requires_grad=True)
    soft_tag_loss({"logits": at}, soft).backward()
    assert at.grad.abs().max() > 0.1  # P(good) = 0.5 is not the target 0.25: it moves
    best = torch.tensor([[[0.0, math.log(0.25 / 0.75)]]], requires_grad=True)
    soft_tag_loss({"logits": best}, soft).backward()
    assert best.grad.abs().max() < 1e-6  # P(good) = 0.25 is the minimum


def test_a_prm_learns_soft_labels(trained, tmp_path):
    """Soft labels (the share of rollouts that reached the gold) reach the loss: from the same seed and
    rows, the first step's loss differs from the hard labels' one; out-of-range values are refused."""
    wh, rows = trained["wh"], trained["rows"]
    table = prm_table(rows)
    soft = [[0.25 if good else 0.0 for good in labels] for labels in table.column("labels").to_pylist()]
    with wh.writer("prm_soft", "prm", parents=["samples@v1"]) as writer:
        writer.write(
            table.set_column(
                table.schema.get_field_index("soft_labels"), "soft_labels", pa.array(soft, pa.list_(pa.float64()))
            )
        )
    settings = FAST.model_copy(update={"prm_labels": "soft"})
    learnt = train_reward(wh, "prm_soft", "prm", TEACHER, tmp_path / "soft", settings, progress=False)
    assert learnt.manifest["labels"] == "soft" and learnt.manifest["settings"]["prm_labels"] == "soft"
    hard = train_reward(wh, "prm_soft", "prm", TEACHER, tmp_path / "hard", FAST, progress=False)
    first = lambda result: result.manifest["loss_curve"][0]["loss"]  # noqa: E731
    assert first(hard) == pytest.approx(first(trained["prm"]))  # same seed, same hard labels
    assert abs(first(learnt) - first(hard)) > 1e-3
    bad = [[1.5] * len(labels) for labels in soft]
    with wh.writer("prm_bad", "prm", parents=["samples@v1"]) as writer:
        writer.write(
            table.set_column(
                table.schema.get_field_index("soft_labels"), "soft_labels", pa.array(bad, pa.list_(pa.float64()))
            )
        )
    with pytest.raises(TrainError, match=r"prm_bad@v1: a row has soft_labels outside \[0, 1\]"):
        train_reward(wh, "prm_bad", "prm", TEACHER, tmp_path / "bad", settings, progress=False)
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()


def test_orm_training_is_seeded_and_pairs_are_capped(trained, tmp_path):
    again = train_reward(trained["wh"], "samples", "orm", TEACHER, tmp_path / "a", FAST, progress=False)
    assert again.manifest["weights"] == trained["orm"].manifest["weights"]
    fewer = train_reward(
        trained["wh"],
        "samples",
        "orm",
        TEACHER,
        tmp_path / "b",
        FAST.model_copy(update={"pairs_per_problem": 1, "max_steps": 1}),
        progress=False,
    )
    assert fewer.manifest["rows"] == 6


def test_train_cli_task_orm_records_the_model(trained, tmp_path, capsys):
    out = tmp_path / "orm_cli"
    code, stdout, stderr = run_cli(
        capsys,
        "train",
        "samples",
        "--task",
        "orm",
        "--base",
        TEACHER,
        "--output",
        str(out),
        "--max-steps",
        "2",
        "-w",
        trained["wh"].root,
        "--set",
        "train.batch_size=4",
        "--set",
        "train.max_length=128",
        "--json",
    )
    assert code == 0, stderr
    shown = json.loads(stdout)  # the load report of the new head went to stderr, not into the JSON
    assert shown["task"] == "orm" and shown["steps"] == 2 and shown["recorded"].startswith("models@v")
    code, stdout, _ = run_cli(
        capsys, "sql", "-w", trained["wh"].root, "--format", "json", "SELECT kind, steps FROM models"
    )
    assert {"kind": "orm", "steps": 2} in json.loads(stdout)


def test_orm_scorer_scores_samples_in_batches(trained):
    scorer = get_scorer("orm", {"model": str(trained["orm"].output), "batch_size": 3})
    rows, problems = trained["rows"][:8], trained["problems"]
    scored = score_samples(rows, problems, [scorer])
    values = [s.scores[-1]["value"] for s in scored]
    assert all(0.0 < v < 1.0 for v in values) and len(set(values)) > 1
    assert scored[0].scores[-1]["scorer"] == "orm" and scored[0].scores[-1]["steps"] is None
    assert scored[0].scores[-1]["version"] == "1+" + trained["orm"].manifest["weights"][7:23]
    one = get_scorer("orm", {"model": str(trained["orm"].output), "batch_size": 1})
    assert [one.score(problems[s.problem_id], s).value for s in rows] == pytest.approx(values, abs=1e-5)  # padding
    assert pickle.loads(pickle.dumps(scorer)).score(problems[rows[0].problem_id], rows[0]).value == pytest.approx(
        values[0]
    )  # a scorer travels to a worker as its options; the model loads there


@pytest.mark.slow
def test_orm_scorer_on_vllms_pooling_runner_gives_the_transformers_values(trained):
    """engine: vllm (a real vllm.LLM, runner pooling, on the trained ORM) scores what transformers does."""
    from starmill.filters.scorers import reward_vllm

    rows, problems = trained["rows"], trained["problems"]
    items = [(problems[s.problem_id], s) for s in rows]
    on_hf = get_scorer("orm", {"model": str(trained["orm"].output)})
    on_vllm = get_scorer(
        "orm", {"model": str(trained["orm"].output), "engine": "vllm", "engine_options": {"enforce_eager": True}}
    )
    assert pickle.loads(pickle.dumps(on_vllm)).engine == "vllm"  # options only: it travels to workers
    try:
        expected = [s.value for s in on_hf.score_many(items)]
        found = [s.value for s in on_vllm.score_many(items)]
        assert on_vllm.score_texts([], []) == []
    finally:
        reward_vllm.close_engines()
    assert len(set(round(v, 4) for v in expected)) > 1  # the samples get different rewards: a real comparison
    assert found == pytest.approx(expected, abs=5e-3)  # vLLM's CPU kernels: ~1e-3 apart


@pytest.mark.parametrize(
    "options,message",
    [
        ({"engine": "onnx"}, "engine 'onnx' is not one of transformers, vllm"),
        (
            {"engine_options": {"enforce_eager": True}},
            "engine_options is a mapping of vllm.LLM settings, for engine: vllm",
        ),
        ({"engine": "vllm", "engine_options": "fast"}, "engine_options is a mapping"),
    ],
)
def test_bad_orm_engine_options_are_one_error(trained, options, message):
    with pytest.raises(ScorerError, match=message):
        get_scorer("orm", {"model": str(trained["orm"].output), **options})


def test_prm_scorer_gives_one_value_per_step_and_scores_partial_paths(trained):
    scorer = get_scorer("prm", {"model": str(trained["prm"].output)})
    assert (scorer.step_tag, scorer.delimiter) == ("~", "\n")  # read from the training manifest
    full = trained["rows"][1].completion
    prompt = trained["rows"][1].prompt
    partial = "\n".join(full.split("\n")[:2])
    whole, cut, one = scorer.score_texts([prompt] * 3, [full, partial, full.split("\n")[0]])
    assert len(whole.steps) == 3 and len(cut.steps) == 2 and len(one.steps) == 1
    assert cut.steps == pytest.approx(whole.steps[:2], abs=1e-5) and one.steps[0] == pytest.approx(whole.steps[0])
    assert all(0.0 < v < 1.0 for v in whole.steps) and whole.value == min(whole.steps)
    p = trained["problems"][trained["rows"][1].problem_id]
    assert scorer.score(p, trained["rows"][1]).steps == pytest.approx(whole.steps, abs=1e-5)
    for how in AGGREGATES:
        found = get_scorer("prm", {"model": str(trained["prm"].output), "aggregate": how}).score_texts(
            [prompt], [full]
        )[0]
        assert found.value == pytest.approx(aggregate(found.steps, how)) and found.steps == pytest.approx(whole.steps)
    blank = scorer.score_texts([prompt], ["7 + 1 = 8\n\n\nThe answer is 8."])[0]
    assert len(blank.steps) == 2  # blank lines are no steps


def test_a_scorer_loads_its_model_lazily_and_once(trained, monkeypatch):
    from starmill.filters.scorers import reward_models

    calls = []
    real = reward_models._load
    monkeypatch.setattr(reward_models, "_load", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(reward_models, "_LOADED", {})
    scorer = get_scorer("orm", {"model": str(trained["orm"].output)})
    assert calls == []  # built (as config validation builds it): nothing loaded
    scorer.score_texts(["Compute 2 + 3."], ["2 + 3 = 5\nThe answer is 5."])
    get_scorer("orm", {"model": str(trained["orm"].output)}).score_texts(["q"], ["The answer is 5."])
    assert len(calls) == 1


def test_eval_scorer_path_picks_orm_or_prm(trained, tmp_path):
    from starmill.evaluation.run import EvalError, EvalSettings, _scorer

    def built(path):
        return _scorer(EvalSettings(strategies=("best_of_n",), n=4, scorer=str(path)))

    assert built(trained["orm"].output).name == "orm" and built(trained["prm"].output).name == "prm"
    assert built(trained["prm"].output).model == str(trained["prm"].output)
    assert built("steps").name == "steps"
    sft = tmp_path / "sft_model"
    sft.mkdir()
    (sft / "starmill_training.json").write_text(json.dumps({"kind": "sft"}))
    with pytest.raises(EvalError, match=r"was trained with --task sft, so it is no reward model"):
        built(sft)
    with pytest.raises(EvalError, match=r"has no starmill_training.json"):
        built(TEACHER)
    with pytest.raises(EvalError, match=r"no such folder"):
        built(tmp_path / "missing")


def test_config_scorers_take_reward_models(trained):
    from starmill.build import build_scorers
    from starmill.config import ConfigError, parse_config

    cfg = parse_config(
        {
            "scorers": [
                "steps",
                {"name": "orm", "model": str(trained["orm"].output)},
                {"name": "prm", "model": str(trained["prm"].output), "aggregate": "last"},
            ],
            "selection": {"strategy": "best_of_n", "scorer": "orm"},
        }
    )
    assert [s.name for s in build_scorers(cfg.scorers)] == ["steps", "orm", "prm"]
    with pytest.raises(ConfigError, match=r"is not a sequence-classification model .*LlamaForCausalLM"):
        parse_config({"scorers": [{"name": "orm", "model": TEACHER}]})


@pytest.mark.parametrize(
    "name, options, message",
    [
        (
            "orm",
            {"model": TEACHER},
            "is not a sequence-classification model (its config's architectures are "
            "LlamaForCausalLM: no classifier head); train one with `starmill train SAMPLES "
            "--task orm",
        ),
        ("prm", {"model": TEACHER}, "is not a token-classification model"),
        ("orm", {}, "scorer 'orm' needs model"),
        ("orm", {"model": "x", "batch_size": 0}, "batch_size must be 1 or more"),
        ("prm", {"model": "PRM", "delimiter": ""}, "scorer 'prm': delimiter is empty"),
        ("prm", {"model": "PRM", "aggregate": "max"}, "scorer 'prm': aggregate 'max' is not one of min, last"),
        (
            "prm",
            {"model": "ORM"},
            "is not a token-classification model (its config's architectures are LlamaForSequenceClassification",
        ),
        ("orm", {"model": "PRM"}, "is not a sequence-classification model"),
        ("prm", {"model": "PRM", "step_tag": "ab"}, "step tag 'ab' is 2 tokens"),
    ],
)
def test_bad_scorer_input_is_one_clear_error(trained, name, options, message):
    options = {k: str(trained[v.lower()].output) if v in ("ORM", "PRM") else v for k, v in options.items()}
    with pytest.raises(ScorerError) as err:
        scorer = get_scorer(name, options)
        scorer.score_texts(["q"], ["1 + 1 = 2\nThe answer is 2."])  # a bad step tag shows at first use
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_prm_without_a_step_tag_is_refused(trained, tmp_path):
    bare = tmp_path / "bare_prm"
    shutil.copytree(trained["prm"].output, bare)
    (bare / "starmill_training.json").unlink()
    with pytest.raises(ScorerError, match=r"no step tag for .*give step_tag"):
        get_scorer("prm", {"model": str(bare)})
    assert len(get_scorer("prm", {"model": str(bare), "step_tag": "~"}).score_texts(["q"], ["a\nb"])[0].steps) == 2


def test_bad_training_input_is_one_error_line(trained, tmp_path, capsys):
    wh = trained["wh"]
    with pytest.raises(TrainError, match=r"holds 'samples' rows: --task prm trains on a 'prm' version"):
        train_reward(wh, "samples", "prm", TEACHER, tmp_path / "x", FAST)
    with pytest.raises(TrainError, match=r"holds 'prm' rows: --task orm trains on a 'samples' version"):
        train_reward(wh, "prm", "orm", TEACHER, tmp_path / "x", FAST)
    with pytest.raises(TrainError, match=r"--lora and --kd are for --task sft"):
        train_reward(wh, "samples", "orm", TEACHER, tmp_path / "x", FAST.model_copy(update={"method": "lora"}))
    with pytest.raises(TrainError, match=r"step tag 'ab' is 2 tokens"):
        train_reward(wh, "prm", "prm", TEACHER, tmp_path / "x", FAST.model_copy(update={"step_tag": "ab"}))
    right = [s for s in trained["rows"] if s.correct]
    with wh.writer("all_right", "samples") as writer:
        writer.write(right)
    capsys.readouterr()  # what the trainings above printed
    code, _, stderr = run_cli(
        capsys, "train", "all_right", "--task", "orm", "--base", TEACHER, "--output", str(tmp_path / "y"), "-w", wh.root
    )
    assert code == 1 and stderr.strip().count("\n") == 0, stderr
    assert stderr.startswith("Error: all_right@v1 has no problem with both a correct and a wrong sample")
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.partial").exists()
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_llm_judge_scorer_through_a_server_and_the_demo_teacher(scripted_server):
    from starmill.build import build_scorer  # the judge's scorer too

    def respond(seen):
        prompt = seen.body["messages"][-1]["content"]
        return Reply(body=chat_body(seen.body, ["VERDICT: CORRECT" if "is 5." in prompt else "VERDICT: INCORRECT"]))

    scripted_server.respond = respond
    judge = build_scorer(
        "llm_judge",
        {"model": "judge", "backend": "openai", "base_url": scripted_server.base_url, "options": {"progress": False}},
    )
    p = problem("Compute 2 + 3.", "5")
    found = score_samples(
        [sample(p.problem_id, "The answer is 5.", index=0), sample(p.problem_id, "The answer is 6.", index=1)],
        {p.problem_id: p},
        [judge],
    )
    assert [s.scores[0]["value"] for s in found] == [1.0, 0.0]
    assert found[0].scores[0]["version"].startswith("1+1+llm_judge:")
    real = build_scorer("llm_judge", {"model": TEACHER, "max_tokens": 16})
    assert real.score(p, sample(p.problem_id, "The answer is 5.")).value in (0.0, 1.0)  # a 3M model: any verdict
    with pytest.raises(ScorerError, match="scorer 'llm_judge' needs model"):
        build_scorer("llm_judge", {})


def test_a_run_stores_reward_model_scores_and_selects_by_them(trained, tmp_path):
    from starmill.pipeline import run_star
    from tests.test_loop import QUESTIONS, config, serve
    from tests.test_search import voting

    orm, prm = str(trained["orm"].output), str(trained["prm"].output)
    cfg = config(
        tmp_path,
        QUESTIONS,
        sampling={"n": 5, "seed": 1},
        rationalization={"enabled": False},
        scorers=["steps", {"name": "orm", "model": orm}, {"name": "prm", "model": prm}],
        selection={"k": 1, "strategy": "best_of_n", "scorer": "orm"},
    )
    serve(cfg, voting)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    samples = Warehouse(tmp_path / "wh").read(summary["samples"]).to_pylist()
    assert all([r["scorer"] for r in s["scores"]] == ["steps", "orm", "prm"] for s in samples)
    assert all(
        len(s["scores"][2]["steps"]) == len([x for x in s["completion"].split("\n") if x.strip()]) for s in samples
    )
    for problem_id in {s["problem_id"] for s in samples if s["kept"]}:
        mine = [s for s in samples if s["problem_id"] == problem_id and s["correct"]]
        kept = [s for s in mine if s["kept"]]
        assert len(kept) == 1 and kept[0]["scores"][1]["value"] == max(s["scores"][1]["value"] for s in mine)


def test_a_trained_prm_guides_beam_search_from_config_on_the_demo_teacher(trained, tmp_path):
    """`sampling.search.scorer: {name: prm, model: DIR}`: every node of the tree carries the PRM's value
    of its path (recomputed here from the tree rows), so the search was ranked by the trained model."""
    from starmill.config import parse_config
    from starmill.pipeline import run_star

    source = tmp_path / "problems.jsonl"
    source.write_text(
        "".join(
            json.dumps({"question": q, "answer": a}) + "\n"
            for q, a in {"Compute 12 + 30.": "42", "Compute 7 + 5.": "12"}.items()
        )
    )
    prm = str(trained["prm"].output)
    cfg = parse_config(
        {
            "source": {"uri": str(source)},
            "teacher": {"backend": "transformers", "model": TEACHER},
            "sampling": {
                "strategy": "beam",
                "seed": 3,
                "max_tokens": 24,
                "temperature": 1.0,
                "search": {"beam_width": 2, "expansions": 2, "max_depth": 3, "scorer": {"name": "prm", "model": prm}},
            },
            "rationalization": {"enabled": False},
            "runner": {"shard_size": 2, "retries": 0},
        }
    )
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    nodes = {n["node_id"]: n for n in wh.read(summary["tree"]).to_pylist()}
    prompts = {s["problem_id"]: s["prompt"] for s in wh.read(summary["samples"]).to_pylist()}
    assert len(nodes) >= 8 and {n["strategy"] for n in nodes.values()} == {"beam"}

    def path(node):  # a node's steps, from depth 1, joined with nothing
        return (path(nodes[node["parent_id"]]) if node["parent_id"] else "") + node["step"]

    scorer = get_scorer("prm", {"model": prm})
    ordered = list(nodes.values())
    expected = scorer.score_texts([prompts[n["problem_id"]] for n in ordered], [path(n) for n in ordered])
    assert [round(n["score"], 5) for n in ordered] == [round(e.value, 5) for e in expected]
    assert any(0.0 < n["score"] < 1.0 for n in ordered)  # a model's probabilities, not the step checker's 0/1
