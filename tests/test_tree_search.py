"""Tree search against verifiers: beam, dvts and mcts over steps, guided by the ``steps`` scorer; one
engine call per depth level; the tree in the ledger and as the ``tree`` dataset; a killed search
resumes from its finished expansions; eval's search never sees the gold answer; budgets below 1."""

import json
from collections import Counter

import pytest

from starmill.adapters.search import FinalAnswer, GoldReward, PathScore
from starmill.build import tree_strategy
from starmill.config import ConfigError, SearchConfig, parse_config
from starmill.filters.scorers import get_scorer
from starmill.generators import registry
from starmill.generators.base import Completion, EngineInfo, GenerationError, GenerationResult, SamplingParams
from starmill.generators.strategies import PlanContext, get_strategy
from tests.helpers import problem, run_cli
from tests.test_loop import config

# A scripted teacher for "Compute 2 + 3 + 4.": each prefix has its candidate next lines, wrong ones first,
# so a search that ignored the scorer (first of equal scores wins) would take the wrong path.
NEXT = {
    "": ["2 + 3 = 6", "2 + 3 = 5"],
    "2 + 3 = 6\n": ["6 + 4 = 10"],
    "2 + 3 = 5\n": ["5 + 4 = 8", "5 + 4 = 9"],
    "2 + 3 = 6\n6 + 4 = 10\n": ["The answer is 10."],
    "2 + 3 = 5\n5 + 4 = 8\n": ["The answer is 8."],
    "2 + 3 = 5\n5 + 4 = 9\n": ["The answer is 9."],
}
RIGHT = "2 + 3 = 5\n5 + 4 = 9\nThe answer is 9."


class Scripted:
    """A backend that continues ``prefix`` by the script: one line with a stop string, else to the end."""

    def __init__(self, fail_after: int | None = None):
        self.calls, self.requests, self.fail_after = 0, 0, fail_after
        self._info = EngineInfo("scripted", "1", "scripted", None, None)

    def info(self):
        return self._info

    def close(self):
        pass

    def generate(self, requests):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise GenerationError("the engine died")
        self.calls += 1
        self.requests += len(requests)
        out = []
        for r in requests:
            completions = []
            for i in range(r.sampling.n):
                prefix, lines = r.prefix or "", []
                while prefix in NEXT:
                    options = NEXT[prefix]
                    lines.append(options[(i if not lines else 0) % len(options)])
                    if r.sampling.stop:
                        break
                    prefix += lines[-1] + "\n"
                text = "\n".join(lines)
                completions.append(Completion(text, "stop", 5, len(text.split())))
            out.append(GenerationResult(r.request_id, completions, self._info))
        return out


P = problem("Compute 2 + 3 + 4.", "9")
CONTEXT = PlanContext(0, SamplingParams(temperature=0.7, max_tokens=64), 0, "scripted", None)


def search(name, problems=(P,), scorer="steps", **budgets):
    strategy = tree_strategy(name, SearchConfig(), template="cot_zero_shot", scorer=get_scorer(scorer), **budgets)
    backend = Scripted()
    samples, nodes = strategy.search(strategy.plan(list(problems), CONTEXT), backend.generate, backend.info)
    return samples, nodes, backend


class Constant:
    """A scorer that finds every path as good: the search is then blind."""

    name, version = "constant", "1"

    def score_texts(self, prompts, texts):
        from starmill.filters.scorers import Score

        return [Score(1.0) for _ in texts]


# --- the strategies ---------------------------------------------------------------------------------


def test_beam_keeps_the_paths_the_step_checker_scores_best_one_call_per_depth():
    samples, nodes, backend = search("beam", beam_width=1, expansions=2)
    assert [s.completion for s in samples] == [RIGHT]
    assert backend.calls == 3  # depth 1 (root x B*M), depth 2, depth 3 (the answer)
    assert Counter(n.depth for n in nodes) == {1: 2, 2: 2, 3: 2}
    by_id = {n.node_id: n for n in nodes}
    [chosen] = [n for n in nodes if n.selected]
    assert chosen.sample_id == samples[0].sample_id and chosen.terminal and chosen.answer == "9"
    path = []
    node = chosen
    while node is not None:  # parent ids lead back to depth 1, whose parent is the root (no row)
        path.append(node.step)
        node = by_id.get(node.parent_id)
    assert "".join(reversed(path)) == RIGHT  # each step keeps the delimiter it ended on
    assert {n.step: n.score for n in nodes if n.depth == 1} == {"2 + 3 = 6\n": 0.0, "2 + 3 = 5\n": 1.0}
    # without a verifier the first candidate wins and the search walks the wrong path
    strategy = tree_strategy(
        "beam", SearchConfig(), template="cot_zero_shot", scorer=Constant(), beam_width=1, expansions=2
    )
    wrong = strategy.search(strategy.plan([P], CONTEXT), Scripted().generate, Scripted().info)[0]
    assert [s.completion for s in wrong] == ["2 + 3 = 6\n6 + 4 = 10\nThe answer is 10."]


def test_every_problem_of_a_shard_shares_each_depth_call():
    other = problem("Compute 2 + 3 + 4, please.", "9")
    samples, nodes, backend = search("beam", problems=(P, other), beam_width=2, expansions=1)
    assert backend.calls == 3 and backend.requests == 2 + 4 + 4  # roots, then 2 beams each, per depth
    assert {s.problem_id for s in samples} == {P.problem_id, other.problem_id}
    ends = {"2 + 3 = 6\n6 + 4 = 10\nThe answer is 10.", "2 + 3 = 5\n5 + 4 = 8\nThe answer is 8."}  # B=2 keeps both
    assert sorted(s.completion for s in samples) == sorted(ends) * 2 or {s.completion for s in samples} == ends


def test_a_search_is_keyed_by_its_settings_and_its_guide():
    def key(name="beam", scorer=None, **budgets):
        strategy = tree_strategy(
            name, SearchConfig(), template="cot_zero_shot", scorer=scorer or get_scorer("steps"), **budgets
        )
        return strategy.plan([P], CONTEXT)[0].key

    assert (
        key() == key()
        and len(
            {
                key(),
                key(beam_width=2),
                key(scorer=Constant()),
                key("dvts"),
                key(scorer=get_scorer("steps", {"aggregate": "mean"})),
            }
        )
        == 5
    )
    gold = tree_strategy("mcts", SearchConfig(), template="cot_zero_shot", scorer=Constant(), gold={P.problem_id: P})
    assert gold.plan([P], CONTEXT)[0].key != key("mcts", scorer=Constant())  # a gold reward is another search


def test_beams_are_distinct_paths(monkeypatch):
    monkeypatch.setitem(NEXT, "", ["2 + 3 = 5"])  # both root expansions write the same first step
    samples, nodes, backend = search("beam", beam_width=2, expansions=1)
    assert Counter(n.depth for n in nodes) == {1: 2, 2: 1, 3: 1}  # the copy is not expanded again
    assert backend.requests == 3 and [s.completion for s in samples] == ["2 + 3 = 5\n5 + 4 = 8\nThe answer is 8."]
    assert samples[0].prompt_tokens == 5 and samples[0].completion_tokens == len(samples[0].completion.split())


def test_dvts_runs_independent_subtrees_each_giving_one_path():
    samples, nodes, backend = search("dvts", subtrees=2, expansions=2)
    assert [s.completion for s in samples] == [RIGHT, RIGHT]
    assert Counter(n.subtree for n in nodes) == {0: 6, 1: 6} and backend.calls == 3
    assert len({n.node_id for n in nodes}) == len(nodes)  # subtrees have roots of their own


def test_mcts_backs_up_rewards_and_counts_visits():
    # 1: root -> "2 + 3 = 5" (scored best), rolled out to a wrong 8; 2-3: UCT tries "2 + 3 = 6", down to 10;
    # 4: back to "2 + 3 = 5", its best new child "5 + 4 = 9" rolls out to the right answer
    samples, nodes, backend = search("mcts", simulations=4, expansions=2)
    assert samples[0].completion == RIGHT  # best value first
    rollouts = [n for n in nodes if n.rollout]
    assert len(rollouts) == 3 and all(n.terminal and n.visits == 1 for n in rollouts)
    depth1 = {n.step.rstrip("\n"): n for n in nodes if n.depth == 1}
    assert sum(n.visits for n in depth1.values()) == 4  # every simulation went through one child of the root
    assert (depth1["2 + 3 = 5"].visits, depth1["2 + 3 = 5"].value) == (2, 0.5)
    assert (depth1["2 + 3 = 6"].visits, depth1["2 + 3 = 6"].value) == (2, 0.0)
    assert backend.calls == 2 + 2 + 1 + 2  # expand + rollout, except where the pick already ended


def test_mcts_progressive_widening_gives_visited_nodes_more_children_with_new_seeds():
    """widening α: a node with fewer step children than expansions × visits^α is expanded again, with
    new node ids, request ids and seeds (so a real engine samples other steps); α = 0 keeps M children."""
    seen = []

    class Recording(Scripted):
        def generate(self, requests):
            seen.extend((r.request_id, r.sampling.seed, r.prefix or "", r.sampling.n) for r in requests)
            return super().generate(requests)

    def run(**budgets):
        seen.clear()
        strategy = tree_strategy(
            "mcts",
            SearchConfig(),
            template="cot_zero_shot",
            scorer=get_scorer("steps"),
            simulations=6,
            expansions=1,
            **budgets,
        )
        samples, nodes = strategy.search(strategy.plan([P], CONTEXT), Recording().generate, Scripted().info)
        return strategy, nodes, list(seen)

    narrow, fixed, fixed_seen = run()
    wide, widened, wide_seen = run(widening=0.5)
    root_children = lambda nodes: [n for n in nodes if n.depth == 1 and not n.rollout]  # noqa: E731
    assert len(root_children(fixed)) == 1  # M = 1, never widened
    assert len(root_children(widened)) >= 3  # 1 × visits^0.5 grows past 1, then 2
    at_root = [(rid, seed) for rid, seed, prefix, n in wide_seen if prefix == "" and n == 1]
    assert len(at_root) == len(root_children(widened)) and len({seed for _, seed in at_root}) == len(at_root)
    assert len({rid for rid, _ in at_root}) == len(at_root)
    assert len({n.node_id for n in widened}) == len(widened)
    assert len(wide_seen) > len(fixed_seen)
    assert "widening" not in narrow.settings() and wide.settings()["widening"] == 0.5
    assert narrow.plan([P], CONTEXT)[0].key != wide.plan([P], CONTEXT)[0].key  # another search, another key


def test_mcts_reward_uses_the_gold_answer_only_when_given():
    strategy = tree_strategy(
        "mcts",
        SearchConfig(),
        template="cot_zero_shot",
        scorer=Constant(),
        gold={P.problem_id: P},
        simulations=2,
        expansions=1,
    )
    assert isinstance(strategy.reward, GoldReward)
    backend = Scripted()
    _, nodes = strategy.search(strategy.plan([P], CONTEXT), backend.generate, backend.info)
    ends = [n for n in nodes if n.terminal and n.visits]
    assert {n.answer: n.value for n in ends} == {"10": 0.0}  # constant score, but the wrong answer rewards 0
    assert tree_strategy("mcts", SearchConfig(), template="cot_zero_shot", scorer=Constant()).reward is None


def test_each_shard_carries_only_its_own_problems_gold_answers():
    import pickle

    from starmill.generators.sampling import plan_shards

    def shards(count):
        many = [problem(f"Compute {i} + 1.", str(i + 1)) for i in range(count)]
        strategy = tree_strategy(
            "mcts",
            SearchConfig(),
            template="cot_zero_shot",
            scorer=Constant(),
            gold={p.problem_id: p for p in many},
            simulations=1,
            expansions=1,
        )
        return strategy, plan_shards(strategy.plan(many, CONTEXT), 2, strategy)

    strategy, planned = shards(40)
    assert len(strategy.reward.gold) == 40 and len(planned) == 20
    for shard in planned:
        assert set(shard.strategy.reward.gold) == set(shard.problem_ids)
    small, large = (len(pickle.dumps(shards(n)[1][0])) for n in (4, 400))
    assert large < small * 1.1  # a shard's size does not grow with the run


@pytest.mark.parametrize("engine", ["hf_backend", "vllm_backend"])
def test_the_demo_teacher_continues_paths_step_by_step(engine, request):
    from starmill.generators.procedural import generate_problems

    backend = request.getfixturevalue(engine)  # transformers, then vLLM: both continue a prefix

    problems = list(generate_problems(2, seed=7, difficulty=1, split="test"))
    for name, budgets in (
        ("beam", {"beam_width": 1, "expansions": 2}),
        ("dvts", {"subtrees": 2, "expansions": 1}),
        ("mcts", {"simulations": 2, "expansions": 1}),
        ("mcts", {"simulations": 3, "expansions": 1, "widening": 1.0}),
    ):
        strategy = tree_strategy(
            name, SearchConfig(max_depth=4), template="cot_zero_shot", scorer=get_scorer("steps"), **budgets
        )
        calls = []

        def generate(requests, calls=calls):
            calls.append(len(requests))
            return backend.generate(requests)

        samples, nodes = strategy.search(strategy.plan(problems, CONTEXT), generate, backend.info)
        assert samples and nodes and len(calls) <= 2 * 4
        by_id = {n.node_id: n for n in nodes}
        for leaf in (n for n in nodes if n.selected):
            steps, node = [], leaf
            while node is not None:
                steps.append(node.step)
                node = by_id.get(node.parent_id)
            sample = next(s for s in samples if s.sample_id == leaf.sample_id)
            assert sample.completion == "".join(reversed(steps))  # each step continued its parent's path
            assert sample.prompt[-1]["role"] == "user" and "answer is" not in sample.prompt[-1]["content"]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("beam", {"beam_width": 0}, "beam: beam_width must be a whole number of at least 1, got 0"),
        ("beam", {"expansions": -1}, "beam: expansions must be a whole number of at least 1, got -1"),
        ("dvts", {"subtrees": 0}, "dvts: subtrees must be a whole number of at least 1, got 0"),
        ("dvts", {"max_depth": 0}, "dvts: max_depth must be a whole number of at least 1, got 0"),
        ("mcts", {"simulations": 0}, "mcts: simulations must be a whole number of at least 1, got 0"),
        ("mcts", {"c_uct": -1.0}, "mcts: c_uct must be a finite number of at least 0, got -1.0"),
        ("mcts", {"widening": 1.5}, "mcts: widening must be a finite number between 0 and 1, got 1.5"),
        ("beam", {"delimiter": ""}, "beam: the step delimiter must be a non-empty string"),
        ("beam", {"subtrees": 2}, "generation strategy 'beam': unexpected option 'subtrees'"),
    ],
)
def test_budgets_below_one_are_one_clear_error(name, options, message):
    with pytest.raises(ValueError) as err:
        get_strategy(name, template="cot_zero_shot", **options)
    assert str(err.value) == message


def test_a_search_without_a_scorer_says_so():
    strategy = get_strategy("beam", template="cot_zero_shot")
    with pytest.raises(ValueError, match="beam: a tree search needs a path scorer"):
        strategy.search([], Scripted().generate, Scripted().info)


@pytest.mark.parametrize(
    "search, message",
    [
        ({"beam_width": 0}, "sampling.search.beam_width: Input should be greater than or equal to 1"),
        ({"simulations": 0}, "sampling.search.simulations: Input should be greater than or equal to 1"),
        ({"scorer": "nope"}, "sampling.search.scorer: unknown scorer 'nope'"),
        ({"delimiter": ""}, "sampling.search.delimiter: String should have at least 1 character"),
    ],
)
def test_search_config_errors(search, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"sampling": {"strategy": "beam", "search": search}})


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["-n", "2", "--search", "max_depth=0"],
            "Error: --search: max_depth: Input should be greater than or equal to 1",
        ),
        (["-n", "2", "--search", "beam_width=2"], "Error: --search beam_width: set by -n (the budget N)"),
        (["-n", "2", "--search", "depth"], "Error: --search 'depth': use KEY=VALUE"),
        (["-n", "0"], "Error: --strategy chooses among sampled answers: give -n 1 or more"),
    ],
)
def test_eval_search_errors_are_one_line(tmp_path, capsys, argv, message):
    code, out, err = run_cli(
        capsys,
        "eval",
        "starmill/demo-teacher",
        "--on",
        "procedural:n=2,seed=1,difficulty=1",
        "--strategy",
        "beam",
        *argv,
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 1 and err.strip() == message and "Traceback" not in err


# --- the pipeline: ledger, resume, tree dataset ------------------------------------------------------

QUESTIONS = {"Compute 2 + 3 + 4.": "9", "Compute 2 + 3 + 4 now.": "9"}


def beam_config(tmp_path):
    return config(
        tmp_path,
        QUESTIONS,
        sampling={"strategy": "beam", "seed": 1, "search": {"beam_width": 1, "expansions": 2}},
        rationalization={"enabled": False},
        runner={"shard_size": 2, "retries": 0},
    )


def test_a_killed_search_resumes_from_its_finished_expansions(tmp_path):
    from starmill.pipeline import PartialRun, run_star
    from starmill.warehouse import Warehouse

    cfg = beam_config(tmp_path)  # the same run in two warehouses: a whole one, and one killed then resumed
    teacher = cfg.teacher.model_dump(mode="json")
    registry.use_backend(teacher, fresh := Scripted())
    whole = run_star(cfg, str(tmp_path / "a"), progress=False)
    assert fresh.calls == 3

    registry.use_backend(teacher, dying := Scripted(fail_after=2))  # dies at the third depth level
    with pytest.raises(PartialRun):
        run_star(cfg, str(tmp_path / "b"), progress=False)
    registry.use_backend(teacher, again := Scripted())
    resumed = run_star(cfg, str(tmp_path / "b"), progress=False)
    assert (dying.calls, again.calls) == (2, 1)  # the two finished levels came from the ledger

    def rows(summary, name, root):
        table = Warehouse(root).read(summary[name]).to_pylist()
        return sorted(json.dumps({k: v for k, v in r.items() if k != "verdicts"}, sort_keys=True) for r in table)

    assert rows(resumed, "tree", tmp_path / "b") == rows(whole, "tree", tmp_path / "a")
    a = rows(whole, "samples", tmp_path / "a")
    assert rows(resumed, "samples", tmp_path / "b") == a and len(a) == 2


def test_the_tree_is_a_dataset_queryable_by_sql_and_its_paths_are_samples(tmp_path, capsys):
    from starmill.pipeline import run_star
    from starmill.warehouse import Warehouse

    cfg = beam_config(tmp_path)
    registry.use_backend(cfg.teacher.model_dump(mode="json"), Scripted())
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    assert summary["tree"] == "tree@v1" and summary["counts"]["kept"] == 2
    from starmill.cli.commands.run import print_summary

    print_summary(summary)
    assert "The search tree: tree@v1" in capsys.readouterr().out
    wh = Warehouse(tmp_path / "wh")
    assert wh.manifest("tree@v1").parents == [summary["samples"]]
    code, out, err = run_cli(
        capsys,
        "sql",
        "SELECT depth, count(*) AS n FROM tree GROUP BY 1 ORDER BY 1",
        "--json",
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 0, err
    assert json.loads(out) == [{"depth": 1, "n": 4}, {"depth": 2, "n": 4}, {"depth": 3, "n": 4}]
    code, out, err = run_cli(
        capsys,
        "sql",
        "SELECT s.completion, s.kept, s.stage FROM tree t JOIN samples s ON s.sample_id = t.sample_id WHERE t.selected",
        "--json",
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 0, err
    assert json.loads(out) == [{"completion": RIGHT, "kept": True, "stage": "rationale"}] * 2
    sft = wh.read(summary["sft"]).to_pylist()
    assert [r["completion"] for r in sft] == [RIGHT, RIGHT]
    assert all("9" not in m["content"] for r in sft for m in r["prompt"])  # no hint in the training prompt


# --- eval ---------------------------------------------------------------------------------------------


def test_eval_search_never_sees_the_gold_answer(tmp_path, monkeypatch):
    """Eval's search is built with gold=None (so no GoldReward) from problems without their gold."""
    import starmill.build as hooks
    from starmill.evaluation import EvalSettings, evaluate
    from starmill.warehouse import Warehouse

    built, planned = [], []
    real = hooks.tree_strategy

    def spy(name, search, **kwargs):
        built.append(kwargs.get("gold"))
        strategy = real(name, search, **kwargs)
        plan = strategy.plan
        strategy.plan = lambda problems, context: planned.extend(problems) or plan(problems, context)
        return strategy

    monkeypatch.setattr(hooks, "tree_strategy", spy)
    monkeypatch.setattr(GoldReward, "__call__", lambda *a: pytest.fail("eval's search read the gold answer"))
    settings = EvalSettings(n=2, strategies=("mcts", "beam"), greedy=False, max_tokens=48)
    report = evaluate(
        Warehouse(tmp_path / "wh"), "starmill/demo-teacher", "procedural:n=3,seed=5,difficulty=1", settings
    )
    assert built == [None, None] and len(planned) == 6 and all(p.gold_answer == "" for p in planned)
    assert {"mcts@2", "beam@2", "pass@2", "maj@2"} <= set(report.metrics)
    rows = Warehouse(tmp_path / "wh").read(report.ref).to_pylist()
    assert {r["mode"] for r in rows} == {"sampled", "mcts", "beam"}
    assert all(r["gold_answer"] for r in rows if r["mode"] == "beam")  # graded against gold afterwards
    assert report.search["beam"]["tokens"] > 0 and report.search["mcts"]["nodes"] > 0


PATHS_SQL = """
WITH RECURSIVE up(leaf, parent, depth, step) AS (
  SELECT node_id, parent_id, depth, step FROM evals_tree WHERE selected
  UNION ALL
  SELECT up.leaf, t.parent_id, t.depth, t.step FROM evals_tree t JOIN up ON t.node_id = up.parent)
SELECT count(*) AS paths
FROM (SELECT leaf, string_agg(step, '' ORDER BY depth) AS path FROM up GROUP BY leaf) p
JOIN evals_tree t ON t.node_id = p.leaf
JOIN evals e ON e.problem_id = t.problem_id AND e.mode = t.strategy AND e.completion = p.path"""


def test_eval_cli_reports_search_at_n(tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "eval",
        "starmill/demo-teacher",
        "--on",
        "procedural:n=3,seed=5,difficulty=1",
        "-n",
        "2",
        "--strategy",
        "dvts",
        "--scorer",
        "steps",
        "--no-greedy",
        "--json",
        "--search",
        "max_depth=4",
        "-w",
        str(tmp_path / "wh"),
    )
    assert code == 0, err
    found = json.loads(out)
    metrics = found["metrics"]
    assert 0.0 <= metrics["dvts@2"] <= 1.0 and "pass@2" in metrics
    assert found["search"]["dvts"]["tokens"] > 0 and found["search"]["dvts"]["nodes"] >= 3  # what it cost
    from starmill.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh")  # every node the search expanded, a tree version under the evals version
    assert found["tree"] == "evals_tree@v1" and wh.manifest("evals_tree@v1").parents == [found["evals"]]
    nodes = wh.read("evals_tree@v1").to_pylist()
    assert len(nodes) == found["search"]["dvts"]["nodes"] and {n["strategy"] for n in nodes} == {"dvts"}
    assert sum(n["completion_tokens"] for n in nodes) == found["search"]["dvts"]["tokens"]
    code, out, err = run_cli(capsys, "sql", PATHS_SQL, "--json", "-w", str(tmp_path / "wh"))
    assert code == 0, err
    assert json.loads(out)[0]["paths"] == sum(n["selected"] for n in nodes) > 0  # each selected path is an evals row


def test_path_hooks_score_partial_paths_and_read_final_answers():
    score = PathScore(get_scorer("steps"))
    assert score([[{"role": "user", "content": "q"}]] * 2, ["2 + 3 = 5\n", "2 + 3 = 6\n"]) == [1.0, 0.0]
    assert FinalAnswer()("2 + 3 = 5\n") is None and FinalAnswer()("5\nThe answer is 5.") == "5"
    assert GoldReward({P.problem_id: P})(P.problem_id, RIGHT) == 1.0
