"""The run config: defaults, YAML loading, one clear error naming the key, overrides."""
import pytest

from starmill.config import ConfigError, RunConfig, apply_overrides, load_config
from starmill.cli import main


def test_embedded_default_is_the_demo():
    cfg = load_config(None)
    assert cfg.source.uri == "procedural" and cfg.teacher.backend == "transformers"
    assert cfg.teacher.model == "starmill/demo-teacher"
    assert (cfg.sampling.n, cfg.k, cfg.rationalization.attempts, cfg.iterations.count) == (4, 2, 2, 1)


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("source:\n  uri: data.jsonl\n  preset: gsm8k\nsampling:\n  n: 8\nk: 3\nrunner:\n  shard_size: 4\n")
    cfg = load_config(path)
    assert (cfg.source.preset, cfg.sampling.n, cfg.k, cfg.runner.shard_size) == ("gsm8k", 8, 3, 4)


@pytest.mark.parametrize("text,message", [
    ("sampling:\n  n: 0\n", "sampling.n: Input should be greater than or equal to 1"),
    ("sampling:\n  nn: 3\n", "sampling.nn: unknown key"),
    ("teacher:\n  backend: tgi\n", "teacher.backend: Input should be 'transformers', 'vllm' or 'openai'"),
    ("k: [1]\n", "k: Input should be a valid integer"),
    ("- a\n- b\n", "the top level must be a mapping"),
    ("a: [\n", "is not valid YAML"),
])
def test_bad_configs_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(path)


def test_missing_file_and_cli_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.yaml")]) == 1
    assert capsys.readouterr().err.startswith("Error: config file")


def test_overrides():
    cfg = apply_overrides(RunConfig(), ["sampling.n=8", "source.procedural.n=20", "teacher.options={'dtype': 'float32'}"])
    assert cfg.sampling.n == 8 and cfg.source.procedural.n == 20 and cfg.teacher.options == {"dtype": "float32"}
    with pytest.raises(ConfigError, match="sampling.temperature: Input should be greater than or equal to 0"):
        apply_overrides(RunConfig(), ["sampling.temperature=-1"])
    with pytest.raises(ConfigError, match="'k' is not a section"):
        apply_overrides(RunConfig(), ["k.x=1"])
