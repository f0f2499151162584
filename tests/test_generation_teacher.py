"""The committed demo teacher folder and sampling behaviour of the transformers backend on it."""

import json

from starmill.generators.base import GenerationRequest, SamplingParams
from starmill.generators.prompts import render
from tests.fixtures_generation import DEMO


def test_folder_is_small_bf16_and_readable_by_older_transformers():
    assert sum(p.stat().st_size for p in DEMO.iterdir()) <= 10 * 2**20
    config = json.loads((DEMO / "config.json").read_text())
    assert config["torch_dtype"] == "bfloat16" and config["tie_word_embeddings"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["head_dim"]) == (256, 4, 64)
    tokenizer_config = json.loads((DEMO / "tokenizer_config.json").read_text())
    assert "{% for m in messages %}" in tokenizer_config["chat_template"]
    assert not (DEMO / "chat_template.jinja").exists()  # older releases read the template from the config
    assert tokenizer_config["model_input_names"] == ["input_ids", "attention_mask"]
    assert not [k for k, v in tokenizer_config.items() if isinstance(v, list) and k != "model_input_names"]
    recipe = json.loads((DEMO / "training_config.json").read_text())
    assert {"steps", "batch", "seed", "difficulties"} <= set(recipe)


def test_tokenizer_splits_digits_and_keeps_think_tags(hf_backend):
    tok = hf_backend.tokenizer
    assert 280 <= len(tok) <= 340
    ids = tok("1234 + 56", add_special_tokens=False)["input_ids"]
    assert [tok.decode([i]) for i in ids if tok.decode([i]).strip().isdigit()] == ["1", "2", "3", "4", "5", "6"]
    text = "<think>1 + 2 = 3</think>The answer is 3."
    think = tok("<think>", add_special_tokens=False)["input_ids"]
    assert len(think) == 1
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"], skip_special_tokens=True) == text


def test_samples_of_one_request_differ_and_greedy_samples_agree(hf_backend):
    messages = render(
        "cot_zero_shot", "Ava has 57 coins. Ava loses 19. Ava finds 33 more. How many coins does Ava have now?"
    )
    sampled = hf_backend.generate(
        [
            GenerationRequest(
                "s", messages=messages, sampling=SamplingParams(n=6, temperature=1.5, max_tokens=24, seed=3)
            )
        ]
    )[0].completions
    assert len(sampled) == 6 and len({c.text for c in sampled}) > 1
    greedy = hf_backend.generate(
        [GenerationRequest("g", messages=messages, sampling=SamplingParams(n=3, temperature=0, max_tokens=24))]
    )[0].completions
    assert len({c.text for c in greedy}) == 1
    assert all(c.prompt_tokens == greedy[0].prompt_tokens > 20 for c in sampled + greedy)


def test_logprobs_are_the_models_own_not_temperature_scaled(hf_backend):
    messages = render("cot_zero_shot", "Compute 31 + 45.")

    def first_step(temperature):
        request = GenerationRequest(
            "l",
            messages=messages,
            sampling=SamplingParams(n=1, temperature=temperature, max_tokens=1, logprobs=4, seed=0),
        )
        return hf_backend.generate([request])[0].completions[0].logprobs[0]

    cold, hot = first_step(0.0), first_step(2.0)
    assert cold.keys() == hot.keys()
    assert all(abs(cold[t] - hot[t]) < 1e-4 for t in cold)
