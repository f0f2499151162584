"""The run config: defaults, YAML loading, one clear error naming the key, overrides, the selection
section and the old keys it replaced."""

import subprocess
import sys
from pathlib import Path

import pytest

from starmill.cli import main
from starmill.config import ConfigError, RunConfig, apply_overrides, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent


def test_embedded_default_is_the_demo():
    cfg = load_config(None)
    assert cfg.source.uri == "procedural" and cfg.teacher.backend == "transformers"
    assert cfg.teacher.model == "starmill/demo-teacher"
    assert (cfg.sampling.n, cfg.selection.k, cfg.rationalization.attempts, cfg.iterations.count) == (4, 2, 2, 1)


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "source:\n  uri: data.jsonl\n  preset: gsm8k\nsampling:\n  n: 8\nselection:\n  k: 3\nrunner:\n  shard_size: 4\n"
    )
    cfg = load_config(path)
    assert (cfg.source.preset, cfg.sampling.n, cfg.selection.k, cfg.runner.shard_size) == ("gsm8k", 8, 3, 4)


@pytest.mark.parametrize(
    "text,message",
    [
        ("sampling:\n  n: 0\n", "sampling.n: Input should be greater than or equal to 1"),
        ("sampling:\n  nn: 3\n", "sampling.nn: unknown key"),
        (
            "teacher:\n  backend: tgi\n",
            "teacher.backend: Input should be 'transformers', 'vllm', 'openai' or 'openai-batch'",
        ),
        ("k: [1]\n", "k: Input should be a valid integer"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("a: [\n", "is not valid YAML"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(path)


def test_missing_file_and_cli_error(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.yaml")]) == 1
    assert capsys.readouterr().err.startswith("Error: config file")


def test_overrides():
    cfg = apply_overrides(
        RunConfig(), ["sampling.n=8", "source.procedural.n=20", "teacher.options={'dtype': 'float32'}"]
    )
    assert cfg.sampling.n == 8 and cfg.source.procedural.n == 20 and cfg.teacher.options == {"dtype": "float32"}
    with pytest.raises(ConfigError, match="sampling.temperature: Input should be greater than or equal to 0"):
        apply_overrides(RunConfig(), ["sampling.temperature=-1"])
    with pytest.raises(ConfigError, match="'k' is not a section"):
        apply_overrides(RunConfig(), ["k.x=1"])


def test_selection_is_composed_from_named_filters_and_a_selector():
    from starmill.build import selection as build_selection
    from starmill.filters.quality import Length, MixedLanguage, Truncated
    from starmill.filters.selection import DistinctCorrect

    cfg = parse_config(
        {
            "selection": {
                "k": 3,
                "filters": ["truncated", {"name": "length", "max_chars": 40}],
                "selector": {"name": "distinct_correct", "near_duplicate_threshold": 0.5},
            }
        }
    )
    selection = build_selection(cfg.selection)
    assert [type(f) for f in selection.filters] == [Truncated, Length] and selection.filters[1].max_chars == 40
    assert isinstance(selection.selector, DistinctCorrect)
    assert (selection.selector.k, selection.selector.near_duplicate_threshold) == (3, 0.5)
    default = build_selection(RunConfig().selection)
    assert [f.name for f in default.filters] == [
        "truncated",
        "length",
        "mixed_language",
        "hint_leak",
        "copies_reference",
        "bad_step",
        "think_format",
        "thought_budget",
        "repetition",
        "thought_language",
        "thought_answer",
    ]
    assert default.filters[1].max_chars == 200_000
    assert not any(isinstance(f, MixedLanguage) for f in selection.filters)


@pytest.mark.parametrize(
    "section,message",
    [
        (
            {"filters": ["nope"]},
            "selection: unknown filter 'nope' (known: bad_step, copies_reference, hint_leak, length, mixed_language, overthinking, "
            "repetition, think_format, thought_answer, thought_budget, thought_language, truncated)",
        ),
        ({"filters": [{"name": "length", "longest": 3}]}, "selection: filter 'length': "),
        (
            {"selector": "best"},
            "selection: unknown selector 'best' (known: best_of_n, distinct_correct, majority, weighted_best_of_n)",
        ),
        ({"k": 0}, "selection.k: Input should be greater than or equal to 1"),
    ],
)
def test_bad_selection_names_the_key(section, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config({"selection": section})


def test_old_k_and_filters_still_work_with_a_deprecation_message(tmp_path, capsys):
    from starmill.config import ConfigDeprecation

    with pytest.warns(ConfigDeprecation, match="config key 'k' is deprecated: use selection.k"):
        cfg = parse_config({"k": 3})
    assert cfg.selection.k == 3 and "k" not in cfg.model_dump(mode="json")
    with pytest.warns(ConfigDeprecation, match="config key 'filters' is deprecated"):
        cfg = parse_config({"filters": {"max_chars": 50, "mixed_language": False, "near_duplicate_threshold": 0.8}})
    assert [f.pair() for f in cfg.selection.filters] == [
        ("truncated", {}),
        ("length", {"min_chars": 1, "max_chars": 50}),
        ("hint_leak", {}),
    ]
    assert cfg.selection.selector.pair() == ("distinct_correct", {"near_duplicate_threshold": 0.8})
    with pytest.warns(ConfigDeprecation):
        assert apply_overrides(RunConfig(), ["k=5"]).selection.k == 5
    with pytest.raises(ConfigError, match="give selection .* only"):
        parse_config({"k": 3, "selection": {"k": 2}})
    with pytest.raises(ConfigError, match="'filters' moved to selection.filters"):
        apply_overrides(RunConfig(), ["filters.max_chars=5"])
    # the CLI prints it as one line on stderr (here before a bad --set ends the command)
    path = tmp_path / "old.yaml"
    path.write_text("k: 3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "starmill.cli", "run", str(path), "--set", "runner.kind=bogus"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("Warning: config key 'k' is deprecated: use selection.k\nError: --set: runner.kind")


def test_strategies_are_chosen_by_name():
    assert (RunConfig().sampling.strategy, RunConfig().rationalization.strategy) == ("independent", "hinted")
    with pytest.raises(
        ConfigError, match=r"sampling.strategy: unknown rationale strategy 'hinted' \(known: beam, dvts, indep"
    ):
        parse_config({"sampling": {"strategy": "hinted"}})
