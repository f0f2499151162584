"""The transformers backend on the demo teacher, prompt templates, output parsing, and the generate CLI."""

import json

import pytest

from starmill.cli import main
from starmill.generators.base import GenerationError, GenerationRequest, SamplingParams
from starmill.generators.parsing import split_output
from starmill.generators.prompts import TemplateError, available, get_template, load_template

Q = "Compute 12 + 7."


def chat(question=Q, **sampling):
    return GenerationRequest(
        request_id=question,
        messages=get_template("cot_zero_shot").render(question),
        sampling=SamplingParams(**sampling),
    )


def test_same_seed_same_completions_other_seed_differs(hf_backend):
    first = hf_backend.generate([chat(n=4, seed=1, max_tokens=40)])[0]
    again = hf_backend.generate([chat(n=4, seed=1, max_tokens=40)])[0]
    other = hf_backend.generate([chat(n=4, seed=2, max_tokens=40)])[0]
    texts = [c.text for c in first.completions]
    assert len(texts) == 4 and texts == [c.text for c in again.completions]
    assert texts != [c.text for c in other.completions]


def test_the_demo_teacher_writes_step_by_step_answers(hf_backend):
    result = hf_backend.generate([chat(n=1, temperature=0, max_tokens=64)])[0]
    completion = result.completions[0]
    assert completion.text.strip().startswith("12 + 7 = ")
    assert "The answer is" in completion.text
    assert completion.finish_reason == "stop" and completion.completion_tokens > 5
    assert completion.prompt_tokens > 10
    info = result.engine
    assert info.engine == "transformers" and info.model_revision.startswith("sha256:") and info.dtype == "bfloat16"


def test_max_tokens_gives_length_and_stop_strings_cut(hf_backend):
    short = hf_backend.generate([chat(n=2, temperature=0, max_tokens=3)])[0].completions
    assert all(c.finish_reason == "length" and c.completion_tokens == 3 for c in short)
    stopped = hf_backend.generate([chat(n=1, temperature=0, max_tokens=64, stop=("=",))])[0].completions[0]
    assert stopped.text.strip() == "12 + 7" and stopped.finish_reason == "stop"


def test_logprobs_are_top_k_per_token(hf_backend):
    completion = hf_backend.generate([chat(n=1, temperature=0, max_tokens=6, logprobs=3)])[0].completions[0]
    assert len(completion.logprobs) == completion.completion_tokens
    assert all(len(step) == 3 and max(step.values()) <= 0 for step in completion.logprobs)


def test_batches_mix_prompts_and_text(hf_backend):
    requests = [chat(f"Compute {a} + 1.", n=2, temperature=0, max_tokens=24) for a in (3, 40, 8)]
    requests.append(GenerationRequest("raw", text="Compute 2 + 2.", sampling=SamplingParams(n=1, max_tokens=4)))
    results = hf_backend.generate(requests)
    assert [r.request_id for r in results] == [r.request_id for r in requests]
    assert results[1].completions[0].text.startswith("40 + 1 = ")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n": 0}, "n must be >= 1"),
        ({"temperature": -1}, "temperature must be >= 0"),
        ({"top_p": 0}, "top_p must be in"),
        ({"max_tokens": 0}, "max_tokens must be >= 1"),
    ],
)
def test_bad_sampling_settings(kwargs, message):
    with pytest.raises(GenerationError, match=message):
        SamplingParams(**kwargs)


def test_context_overflow_and_missing_model(hf_backend):
    with pytest.raises(GenerationError, match="exceeds the model's context of 512 tokens"):
        hf_backend.generate([chat(Q * 200, max_tokens=8)])
    from starmill.generators.transformers_backend import TransformersBackend

    with pytest.raises(GenerationError, match="does not exist"):
        TransformersBackend("./no/such/model")


def test_templates_have_ids_hashes_and_hint_only_in_rationalization(tmp_path):
    assert {"cot_zero_shot", "cot_few_shot", "r1", "star_rationalization"} <= set(available())
    hinted = get_template("star_rationalization").render(Q, hint="19")
    assert "19" in hinted[-1]["content"] and "Hint" in hinted[-1]["content"]
    plain = get_template("cot_zero_shot").render(Q)
    assert plain == [{"role": "user", "content": Q + "\nLet's think step by step."}]
    assert get_template("r1").render(Q)[0]["role"] == "system"
    assert len(get_template("cot_few_shot").render(Q)) == 5
    with pytest.raises(TemplateError, match="needs a hint"):
        get_template("star_rationalization").render(Q)
    custom = tmp_path / "mine.yaml"
    custom.write_text("id: mine\nuser: 'Q: {question}'\n")
    first = load_template(custom)
    custom.write_text("id: mine\nuser: 'Question: {question}'\n")
    assert load_template(custom).hash != first.hash  # a changed template is a different template
    with pytest.raises(TemplateError, match="unknown prompt template"):
        get_template("nope")


@pytest.mark.parametrize(
    "text,reasoning,answer,truncated",
    [
        ("<think>12 + 7 = 19</think>The answer is 19.", "12 + 7 = 19", "The answer is 19.", False),
        ("<think>12 + 7 =", "12 + 7 =", None, True),
        ("12 + 7 = 19\nThe answer is 19.", None, "12 + 7 = 19\nThe answer is 19.", False),
    ],
)
def test_split_output(text, reasoning, answer, truncated):
    parts = split_output(text)
    assert (parts.reasoning, parts.answer, parts.truncated) == (reasoning, answer, truncated)
    assert split_output("19", reasoning="server side").reasoning == "server side"


def test_generate_cli_prints_jsonl(capsys, tmp_path):
    problems = tmp_path / "p.jsonl"
    problems.write_text('{"question": "Compute 5 + 4."}\n{"question": "Compute 9 - 3."}\n')
    assert main(["generate", "--file", str(problems), "-n", "2", "--temperature", "0", "--max-tokens", "32"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["question"] for line in lines] == ["Compute 5 + 4.", "Compute 9 - 3."]
    assert lines[0]["completions"][0]["text"].startswith("5 + 4 = ") and len(lines[1]["completions"]) == 2
    assert main(["generate", "--prompt", "x", "--file", str(problems)]) == 1
    assert "exactly one of --prompt" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": 1}\n')
    assert main(["generate", "--file", str(bad)]) == 1
    assert "bad.jsonl:1: expected a JSON object" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["-n", "1000000000"], "Error: -n must be from 1 to 1024, got 1000000000"),
        (["-n", "0"], "Error: -n must be from 1 to 1024, got 0"),
        (["--max-tokens", "2000000"], "Error: --max-tokens must be from 1 to 1,000,000, got 2000000"),
    ],
)
def test_generate_sizes_are_bounded_before_any_work(capsys, tmp_path, argv, message):
    model = str(tmp_path / "no-model")  # never reached: the sizes are checked first
    assert main(["generate", "--prompt", "x", "--model", model, *argv]) == 1
    assert capsys.readouterr().err == message + "\n"
