"""starmill.grading.rewards: each reward's values, TRL's calling convention, and a few GRPO steps on the demo student."""

import json
from pathlib import Path

import pytest

from starmill.grading.rewards import (
    RewardError,
    accuracy_reward,
    completion_text,
    format_reward,
    language_consistency_reward,
)

STUDENT = Path(__file__).resolve().parent.parent / "generators" / "demo_student"


def test_completions_are_text_or_conversations():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "a"}]) == "a"
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "b"}]}]) == "b"


def test_accuracy_grades_by_value_and_declared_form():
    reward = accuracy_reward("math")
    completions = [
        "<think>6/8</think> The answer is \\boxed{3/4}.",
        [{"role": "assistant", "content": "\\boxed{6/8}"}],
        "\\boxed{6/8}",
        "no answer",
    ]
    gold = ["3/4"] * 4
    metadata = [None, None, json.dumps({"answer_form": "reduced"}), None]
    assert reward(completions, gold_answer=gold, metadata=metadata, prompts=["q"] * 4) == [1.0, 1.0, 0.0, 0.0]
    assert reward.__name__ == "accuracy_math"


def test_accuracy_through_other_verifiers_and_columns():
    assert accuracy_reward("exact")(["\\boxed{ab}", "\\boxed{Ab}"], solution=["ab", "ab"]) == [1.0, 0.0]
    with pytest.raises(RewardError, match="gold column"):
        accuracy_reward("math")(["1"], prompt=["q"])
    with pytest.raises(RewardError, match="no_such"):
        accuracy_reward("no_such")


def test_accuracy_with_the_reasoning_gym_scorer_runs_sandboxed():
    pytest.importorskip("reasoning_gym")
    from starmill.schemas.sources import GymSpec
    from starmill.warehouse.sources.gym import iter_gym

    problems = list(iter_gym(GymSpec(tasks={"gcd": 1}, size=2, seed=1), "gym", "train"))
    reward = accuracy_reward("reasoning_gym", timeout=20)
    completions = [f"\\boxed{{{problems[0].gold_answer}}}", "\\boxed{-7}"]
    assert reward(
        completions, gold_answer=[p.gold_answer for p in problems], metadata=[p.metadata for p in problems]
    ) == [1.0, 0.0]


def test_a_pseudo_labelled_row_never_gives_the_code_verifier_its_tests():
    """starmill's sft rows (the raw export) carry ``gold_answer`` and ``pseudo_label``: where the label is
    the majority of the model's own answers, it must not become the tests the code reward runs. A math
    pseudo-label still counts (self-consistency as a reward is the point of it there)."""
    forged = json.dumps({"kind": "functional", "entry_point": "add", "test": "def check(candidate):\n    pass\n"})
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    reward = accuracy_reward("code", timeout=20)
    # as the problem's own gold, the forged spec would pass the wrong program: the flag is what stops it
    assert reward([wrong], gold_answer=[forged], pseudo_label=[False]) == [1.0]
    assert reward([wrong], gold_answer=[forged], pseudo_label=[True]) == [0.0]
    assert accuracy_reward("math")(["\\boxed{7}"], gold_answer=["7"], pseudo_label=[True]) == [1.0]


def test_format_reward():
    reward = format_reward()
    assert reward(
        [
            "<think>a</think>\nThe answer is 3.",
            "<think>a</think>",
            "The answer is 3.",
            "<think>a<think>b</think> 3",
            "<think>a</think> 3 </think>",
            [{"role": "assistant", "content": "<think>\nx\n</think>\n\n4"}],
        ]
    ) == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    tagged = format_reward(answer_tags=True)
    assert tagged(["<think>a</think><answer>3</answer>", "<think>a</think> 3"]) == [1.0, 0.0]


def test_language_consistency_is_the_share_of_the_thought_in_one_script():
    reward = language_consistency_reward()
    assert reward(["<think>abcd</think>", "<think>abc日</think>答案", "123 + 4", "<think>ab日本</think>"]) == [
        1.0,
        0.75,
        1.0,
        0.5,
    ]
    assert language_consistency_reward("cjk")(["<think>ab日本語</think>"]) == [0.6]


def test_grpo_trains_a_few_steps_on_the_demo_student_with_these_rewards(tmp_path):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    calls = []

    def spied(fn):
        def reward(completions, **kwargs):
            values = fn(completions, **kwargs)
            calls.append((fn.__name__, len(completions), values))
            return values

        reward.__name__ = fn.__name__
        return reward

    rewards = [spied(accuracy_reward("math")), spied(format_reward()), spied(language_consistency_reward())]
    data = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": f"What is {i}+2?"}], "gold_answer": str(i + 2)} for i in range(4)]
    )
    tokenizer = AutoTokenizer.from_pretrained(STUDENT)
    model = AutoModelForCausalLM.from_pretrained(STUDENT, dtype=torch.float32)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    config = trl.GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=24,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        bf16=False,
    )
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=rewards, args=config, train_dataset=data, processing_class=tokenizer
    )
    trainer.train()
    assert {name for name, _, _ in calls} == {"accuracy_math", "format", "language_consistency"}
    assert all(n == 8 for _, n, _ in calls) and len(calls) >= 6  # 2 steps x 3 rewards, a batch each
    logged = [row for row in trainer.state.log_history if "loss" in row]
    assert len(logged) == 2 and any(row["loss"] != 0 for row in logged)
    changed = [k for k, v in trainer.model.named_parameters() if not torch.equal(v.detach().cpu(), before[k])]
    assert changed
