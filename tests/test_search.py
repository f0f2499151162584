"""Search against verifiers: the ``steps`` scorer, the ``bad_step`` filter, the selection strategies
(majority, best_of_n, weighted_best_of_n) with exact reasons and chosen samples, adaptive budgets
through the loop and the ledger, and ``STRATEGY@k`` in evaluation."""

import json
from collections import Counter
from dataclasses import replace

import pytest

from starmill.config import ConfigError, parse_config
from starmill.evaluation.metrics import accuracy, strategy_correct
from starmill.filters.quality import BadStep
from starmill.filters.scorers import Score, StepsScorer, score_of, score_samples
from starmill.filters.selection import BestOfN, Majority, WeightedBestOfN, cluster_answers
from starmill.generators.base import Completion, GenerationError
from tests.helpers import problem, sample
from tests.test_loop import config, serve


def chosen(samples):
    return [(s.sample_index, s.kept, s.drop_reason) for s in sorted(samples, key=lambda s: s.sample_index)]


def scored(s, value):
    return replace(s, scores=[{"scorer": "steps", "version": "1", "value": value, "steps": []}])


# --- the steps scorer ---------------------------------------------------------------------------


@pytest.mark.parametrize("aggregate, value", [("min", 0.0), ("last", 1.0), ("product", 0.0), ("mean", 0.5)])
def test_steps_scorer_gives_per_step_values_and_aggregates(aggregate, value):
    p = problem("Compute 6 + 13 - 4.", "15")
    s = sample(p.problem_id, "6 + 13 = 20\n20 - 5 = 15\nThe answer is 15.")
    assert StepsScorer(aggregate).score(p, s) == Score(value, (0.0, 1.0))


def test_no_checkable_claim_scores_one_with_no_steps_and_rows_are_stored():
    p = problem()
    plain, wrong = (
        sample(p.problem_id, "It is five.\nThe answer is 5.", index=0),
        sample(p.problem_id, "6 + 13 = 6. The answer is 6.", index=1),
    )
    assert StepsScorer().score(p, plain) == Score(1.0, ())
    out = score_samples(
        [plain, replace(wrong, scores=[{"scorer": "steps", "version": "0", "value": 9.0, "steps": None}])],
        {p.problem_id: p},
        [StepsScorer()],
    )
    assert out[0].scores == [{"scorer": "steps", "version": "1", "value": 1.0, "steps": []}]
    assert out[1].scores == [{"scorer": "steps", "version": "1", "value": 0.0, "steps": [0.0]}]  # replaced
    assert score_of(out[1], "steps") == 0.0 and score_of(out[1], "orm") is None


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("orm", {}, "scorer 'orm' needs model: a folder made by `starmill train --task orm`"),
        ("prm", {}, "scorer 'prm' needs model: a folder made by `starmill train --task prm`"),
        (
            "orm",
            {"model": "generators/demo_teacher"},
            "scorer 'orm': generators/demo_teacher is not a sequence-classification model",
        ),
        ("llm_judge", {}, "scorer 'llm_judge' needs model"),
        ("nope", {}, "unknown scorer 'nope' (known: llm_judge, orm, prm, steps)"),
        ("steps", {"aggregate": "max"}, "scorer 'steps': aggregate 'max' is not one of min, last, product, mean"),
        ("steps", {"delimiter": "\n"}, "scorer 'steps': "),
    ],
)
def test_scorer_errors_are_one_clear_value_error(name, options, message):
    from starmill.build import build_scorer  # the judge's scorer too

    with pytest.raises(ValueError) as err:
        build_scorer(name, options)
    assert str(err.value).startswith(message)


# --- the bad_step filter ------------------------------------------------------------------------


def test_bad_step_drops_a_right_answer_reached_by_a_wrong_step():
    from starmill.build import selection

    p = problem("Compute 6 + 0.", "6")
    assert BadStep().reason(sample(p.problem_id, "6 + 13 = 6. The answer is 6."), p) == "bad_step"
    assert BadStep().reason(sample(p.problem_id, "6 + 0 = 6. The answer is 6."), p) is None
    assert BadStep().reason(sample(p.problem_id, "half of 6 + 4 = 7. The answer is 6."), p) is None  # words: unchecked
    cfg = parse_config({})
    out = selection(cfg.selection).apply(
        [
            sample(p.problem_id, "6 + 13 = 6. The answer is 6.", index=0),
            sample(p.problem_id, "6 + 0 = 6. The answer is 6.", index=1),
        ],
        {p.problem_id: p},
        stats := Counter(),
    )
    assert chosen(out) == [(0, False, "bad_step"), (1, True, None)]
    assert stats["bad_step.dropped_bad_step"] == 1 and stats["bad_step.kept"] == 1


def test_bad_step_is_on_by_default_and_off_when_left_out_of_the_filters():
    assert "bad_step" in [f.name for f in parse_config({}).selection.filters]
    cfg = parse_config({"selection": {"filters": ["truncated"]}})
    assert [f.name for f in cfg.selection.filters] == ["truncated"]


# --- selection strategies -----------------------------------------------------------------------


def test_answers_cluster_by_checker_equivalence():
    assert cluster_answers(["1/2", None, "0.5", "3", "", "\\frac{1}{2}"]) == [[0, 2, 5], [3]]


def test_majority_keeps_the_largest_cluster_and_gives_every_other_sample_its_reason():
    p = problem("Compute 1 / 2.", "0.5")
    samples = [
        sample(p.problem_id, "It is 1/2.\nThe answer is 1/2.", index=0, extracted="1/2"),
        sample(p.problem_id, "Half.\nThe answer is 3.", index=1, correct=False, extracted="3"),
        sample(p.problem_id, "One over two.\nThe answer is 0.5.", index=2, extracted="0.5"),
        sample(p.problem_id, "One over two.\nThe answer is 0.5.", index=3, extracted="0.5"),
        sample(p.problem_id, "A half, written as a decimal.\nThe answer is 0.50.", index=4, extracted="0.50"),
    ]
    assert chosen(Majority(k=2).select(samples)) == [
        (0, True, None),
        (1, False, "wrong_answer"),
        (2, True, None),
        (3, False, "duplicate"),
        (4, False, "over_k"),
    ]


def test_a_wrong_majority_keeps_nothing():
    p = problem("Compute 2 + 3.", "5")
    samples = [
        sample(p.problem_id, "The answer is 6.", index=0, correct=False, extracted="6"),
        sample(p.problem_id, "Two and three. The answer is 5.", index=1, extracted="5"),
        sample(p.problem_id, "The answer is 6!", index=2, correct=False, extracted="6"),
    ]
    assert chosen(Majority(k=2).select(samples)) == [
        (0, False, "wrong_answer"),
        (1, False, "not_majority"),
        (2, False, "wrong_answer"),
    ]


def test_best_of_n_keeps_the_top_k_correct_by_score_ties_by_order():
    p = problem()
    samples = [
        scored(sample(p.problem_id, f"Way {i}.\nThe answer is 5.", index=i, extracted="5"), v)
        for i, v in enumerate([0.2, 0.9, 0.5, 0.9])
    ]
    samples.append(scored(sample(p.problem_id, "Way 4.\nThe answer is 7.", index=4, correct=False, extracted="7"), 1.0))
    assert chosen(BestOfN(k=2).select(samples)) == [
        (0, False, "lower_score"),
        (1, True, None),
        (2, False, "lower_score"),
        (3, True, None),
        (4, False, "wrong_answer"),
    ]
    with pytest.raises(ValueError, match="has no 'orm' score"):
        BestOfN(k=2, scorer="orm").select(samples)


def test_weighted_best_of_n_sums_scores_over_equivalent_answers():
    p = problem("Compute 1 / 2.", "0.5")
    samples = [
        scored(sample(p.problem_id, "A.\nThe answer is 3.", index=0, correct=False, extracted="3"), 0.9),
        scored(sample(p.problem_id, "B.\nThe answer is 1/2.", index=1, extracted="1/2"), 0.4),
        scored(sample(p.problem_id, "C.\nThe answer is 0.5.", index=2, extracted="0.5"), 0.6),
        scored(sample(p.problem_id, "D.\nThe answer is 0.5!", index=3, extracted="0.5"), 0.1),
    ]
    # "3" has 0.9, the half 0.4 + 0.6 + 0.1 = 1.1: the half wins; its best two are kept, best score first
    assert chosen(WeightedBestOfN(k=2).select(samples)) == [
        (0, False, "wrong_answer"),
        (1, True, None),
        (2, True, None),
        (3, False, "over_k"),
    ]
    heavy = [replace(samples[0], scores=[{**samples[0].scores[0], "value": 2.0}]), *samples[1:]]
    assert chosen(WeightedBestOfN(k=2).select(heavy)) == [
        (0, False, "wrong_answer"),
        (1, False, "not_best_answer"),
        (2, False, "not_best_answer"),
        (3, False, "not_best_answer"),
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"selection": {"strategy": "best_of_n"}, "scorers": []}, "selection.scorer 'steps' is not in scorers: (none)"),
        ({"selection": {"strategy": "vote"}}, "selection.strategy: Input should be 'reject', 'majority'"),
        ({"scorers": ["orm"]}, "scorers: scorer 'orm' needs model: a folder made by `starmill train --task orm`"),
        ({"scorers": ["steps", "steps"]}, "scorers: a scorer is listed twice: steps, steps"),
        ({"sampling": {"until_verified": 1}}, "sampling: until_verified and max_samples go together"),
        ({"sampling": {"until_verified": 0, "max_samples": 4}}, "sampling.until_verified: Input should be greater"),
        ({"sampling": {"n": 4, "until_verified": 1, "max_samples": 2}}, "sampling: max_samples (2) is below n (4)"),
        ({"sampling": {"until_verified": 3, "max_samples": 8}}, "sampling.until_verified (3) is above selection.k (2)"),
        (
            {"sampling": {"until_verified": 1, "max_samples": 8}, "selection": {"strategy": "majority"}},
            "sampling.until_verified selects round by round",
        ),
    ],
)
def test_bad_search_config_is_one_error(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value)


# --- through the loop ---------------------------------------------------------------------------

QUESTIONS = {"Compute 2 + 3.": "5", "Compute 6 + 0.": "6", "Compute 8 + 8.": "16"}


def voting(question, hint, index):
    """2 + 3: right twice, then a wrong majority; 6 + 0: a bad step first; 8 + 8: always right."""
    if question == "Compute 2 + 3.":
        text = [
            "2 + 3 = 5.\nThe answer is 5.",
            "Two and three: 2 + 3 = 5, so five.\nThe answer is 5.",
            "I guess 7.\nThe answer is 7.",
            "Maybe 7.\nThe answer is 7.",
            "7 it is.\nThe answer is 7.",
        ][index]
    elif question == "Compute 6 + 0.":
        text = [
            "6 + 13 = 6.\nThe answer is 6.",
            "6 + 0 = 6.\nThe answer is 6.",
            "Nothing added: 6.\nThe answer is 6.",
            "I guess 7.\nThe answer is 7.",
            "Six.\nThe answer is 6.",
        ][index]
    else:
        text = f"Way {index}: 8 + 8 = 16.\nThe answer is 16."
    return Completion(text, "stop", 5, len(text.split()))


def test_run_stores_scores_and_drops_bad_steps(tmp_path):
    from starmill.warehouse import Warehouse

    cfg = config(tmp_path, QUESTIONS, sampling={"n": 5, "seed": 1}, rationalization={"enabled": False})
    serve(cfg, voting)
    from starmill.pipeline import run_star

    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    samples = Warehouse(tmp_path / "wh").read(summary["samples"]).to_pylist()
    assert all([r["scorer"] for r in s["scores"]] == ["steps"] for s in samples)
    bad = [s for s in samples if s["completion"].startswith("6 + 13 = 6")]
    assert bad[0]["drop_reason"] == "bad_step" and bad[0]["scores"][0]["steps"] == [0.0]
    assert summary["drops"]["bad_step"] == 1


def test_majority_strategy_in_a_run(tmp_path):
    from starmill.pipeline import run_star

    cfg = config(
        tmp_path,
        QUESTIONS,
        sampling={"n": 5, "seed": 1},
        rationalization={"enabled": False},
        selection={"k": 2, "strategy": "majority"},
    )
    serve(cfg, voting)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    # 2 + 3: 7 is the majority, so its two right samples are not_majority; 6 + 0 keeps two; 8 + 8 two
    assert summary["counts"]["problems_solved"] == 2 and summary["counts"]["kept"] == 4
    assert summary["drops"]["not_majority"] == 2 and summary["drops"]["wrong_answer"] == 4


def adaptive(tmp_path, until_verified=2, **extra):
    questions = {"Compute 1 + 1.": "2", "Compute 2 + 2.": "4", "Compute 3 + 3.": "6"}
    return config(
        tmp_path,
        questions,
        rationalization={"enabled": False},
        runner={"shard_size": 8, "retries": 0},
        sampling={"n": 2, "seed": 1, "until_verified": until_verified, "max_samples": 6},
        **extra,
    )


def rounds_respond(asked):
    """1 + 1 is easy (right at once), 2 + 2 is right one time in three, 3 + 3 never; every text differs."""

    def respond(question, hint, index):
        asked[question] += 1
        n = asked[question]
        right = {"Compute 1 + 1.": True, "Compute 2 + 2.": n % 3 == 0, "Compute 3 + 3.": False}[question]
        a = int(question.split()[1])
        value = 2 * a if right else 2 * a + 1
        text = f"Attempt {n}: {a} + {a} = {value}.\nThe answer is {value}."
        return Completion(text, "stop", 5, len(text.split()))

    return respond


def test_until_verified_samples_in_rounds_until_k_or_the_budget(tmp_path):
    from starmill.pipeline import run_star
    from starmill.warehouse import Warehouse

    cfg = adaptive(tmp_path)
    asked = Counter()
    backend = serve(cfg, rounds_respond(asked))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    # 1 + 1: 2 right in round 0 (2 samples); 2 + 2: right at its 3rd and 6th (6); 3 + 3: budget spent (6)
    assert asked == {"Compute 1 + 1.": 2, "Compute 2 + 2.": 6, "Compute 3 + 3.": 6} and backend.calls == 3
    report = Warehouse(tmp_path / "wh").manifest(summary["sft"]).report
    assert report.samples_spent == {
        "total": 14,
        "mean": 4.6667,
        "min": 2,
        "max": 6,
        "problems_by_samples": {"2": 1, "6": 2},
    }
    assert summary["counts"]["kept"] == 4 and summary["counts"]["problems_solved"] == 2
    assert report.pass_at_k["1"] == round((1 + 2 / 6 + 0) / 3, 4)  # over every round's samples
    samples = Warehouse(tmp_path / "wh").read(summary["samples"]).to_pylist()
    assert len({s["sample_id"] for s in samples}) == 14  # rounds have seeds of their own


def test_until_verified_never_keeps_more_than_k_over_rounds(tmp_path):
    from starmill.pipeline import run_star

    cfg = adaptive(tmp_path, until_verified=3, selection={"k": 3})

    def same_texts(question, hint, index):
        value = 2 * int(question.split()[1])
        return Completion(f"Way {index}: it is {value}.\nThe answer is {value}.", "stop", 5, 5)

    serve(cfg, same_texts)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    # the same two texts every round: round 1's are duplicates of round 0's, so each problem spends 6
    assert summary["counts"]["kept"] == 6 and summary["drops"]["duplicate"] == 12
    assert summary["report"]["samples_spent"]["total"] == 18


def test_until_verified_resumes_from_the_ledger_after_a_failed_round(tmp_path):
    from starmill.pipeline import PartialRun, run_star

    cfg = adaptive(tmp_path)
    asked = Counter()
    respond = rounds_respond(asked)

    def failing(question, hint, index):
        if sum(asked.values()) >= 6:  # round 1 fails
            raise GenerationError("engine died")
        return respond(question, hint, index)

    serve(cfg, failing)
    with pytest.raises(PartialRun):
        run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert sum(asked.values()) == 6  # round 0: three problems, two samples each
    backend = serve(cfg, respond)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert backend.calls == 2  # rounds 1 and 2 only: round 0 came from the ledger
    assert summary["report"]["samples_spent"]["total"] == 14 and summary["counts"]["kept"] == 4


def test_until_verified_budgets_are_per_stage_when_an_iteration_resamples_all(tmp_path):
    from starmill.pipeline import run_star

    cfg = adaptive(tmp_path, until_verified=1, iterations={"count": 2, "resample": "all"})
    asked = Counter()
    serve(cfg, rounds_respond(asked))
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    # iteration 0 as before but stopping at one kept; iteration 1 samples every problem again, afresh
    assert [it["attempted"] for it in summary["iterations"]] == [3, 3]
    assert asked["Compute 1 + 1."] == 4 and asked["Compute 3 + 3."] == 12


# --- evaluation ---------------------------------------------------------------------------------


def _same(a, b):
    return a == b


def test_strategy_correct_follows_each_definition():
    answers = [("5", True, 0.4), ("3", False, 0.9), ("5", True, 0.6), ("4", False, 0.95)]
    assert strategy_correct("majority", answers, _same) is True
    assert strategy_correct("best_of_n", answers, _same) is False  # 0.95 is the wrong 4
    assert strategy_correct("weighted_best_of_n", answers, _same) is True  # 5: 1.0 beats 0.95
    assert strategy_correct("best_of_n", [("5", True, 0.5), ("4", False, 0.5)], _same) is True  # tie: first
    with pytest.raises(ValueError, match="unknown strategy 'beam'"):
        strategy_correct("beam", answers, _same)
    metrics = accuracy({}, {"a": [(a, c) for a, c, _ in answers]}, _same, {"best_of_n": {"a": answers}})
    assert (metrics["best_of_n@1"], metrics["best_of_n@2"], metrics["best_of_n@4"]) == (1.0, 0.0, 0.0)


def test_eval_cli_reports_strategy_at_k(tmp_path, capsys):
    from tests.helpers import run_cli
    from tests.test_eval import TEACHER

    code, out, err = run_cli(
        capsys,
        "eval",
        TEACHER,
        "--on",
        "procedural:n=8,seed=321,difficulty=1",
        "-n",
        "4",
        "--strategy",
        "majority",
        "--strategy",
        "best_of_n",
        "--strategy",
        "weighted_best_of_n",
        "--scorer",
        "steps",
        "--no-greedy",
        "--json",
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 0, err
    m = json.loads(out)["metrics"]
    assert {f"{s}@{k}" for s in ("majority", "best_of_n", "weighted_best_of_n") for k in (1, 2, 4)} <= set(m)
    assert m["majority@4"] == m["maj@4"] and m["best_of_n@1"] == m["maj@1"]  # one sample: nothing to choose
    code, out, err = run_cli(
        capsys,
        "eval",
        TEACHER,
        "--on",
        "procedural:n=2,seed=1",
        "-n",
        "2",
        "--strategy",
        "best_of_n",
        "--scorer",
        TEACHER,
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 1 and err.startswith(f"Error: --scorer {TEACHER}: has no starmill_training.json with a task")
