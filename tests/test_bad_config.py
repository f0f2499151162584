"""Hostile configs are refused when they load, as one error naming the key, before anything runs."""

import os

import pytest

from starmill.config import ConfigError, RunConfig, apply_overrides, load_config
from tests.helpers import run_cli as run

NAME = "use lowercase letters, digits and _"


@pytest.mark.parametrize(
    "override,message",
    [
        ("sampling.n=[1", "--set sampling.n is not valid YAML"),
        ("sampling.n=1e23", "--set: sampling.n: Input should be a valid integer"),
        ("sampling.n=1.0e+23", "--set: sampling.n: Input should be a valid integer"),
        ("sampling.n=2.0e+3", "--set: sampling.n: Input should be a valid integer"),  # strict: no floats
        ("sampling.n=2000", "--set: sampling.n: Input should be less than or equal to 1024"),
        ("sampling.n=true", "--set: sampling.n: Input should be a valid integer"),  # a bool is no count
        ("selection.k=false", "--set: selection.k: Input should be a valid integer"),
        ("rationalization.enabled=1", "--set: rationalization.enabled: Input should be a valid boolean"),
        ("source.procedural.n=true", "--set: source.procedural.n: Input should be a valid integer, not true or false"),
        (
            "iterations.train={max_steps: true}",
            "--set: iterations.train.max_steps: Input should be a valid integer, not",
        ),
        (
            "selection.filters=[{name: length, min_chars: 50, max_chars: 10}]",
            "--set: selection: filter 'length': min_chars (50) is above max_chars (10): every sample would be dropped",
        ),
        (
            "selection.filters=[{name: length, max_chars: -5}]",
            "--set: selection: filter 'length': max_chars must be an integer from 1 to 10000000, got -5",
        ),
        (
            "selection.filters=[{name: length, min_chars: 1.0e+99}]",
            "--set: selection: filter 'length': min_chars must be an integer from 0 to 10000000, got 1e+99",
        ),
        (
            "selection.filters=[{name: length, max_chars: true}]",
            "--set: selection: filter 'length': max_chars must be an integer from 1 to 10000000, got True",
        ),
        (
            "selection.filters=[{name: mixed_language, max_share: 7}]",
            "--set: selection: filter 'mixed_language': max_share must be a number from 0 to 1, got 7",
        ),
        (
            "selection.selector={name: distinct_correct, near_duplicate_threshold: 0}",
            "--set: selection: selector 'distinct_correct': near_duplicate_threshold must be above 0",
        ),
        (
            "selection.selector={name: distinct_correct, near_duplicate_threshold: -1}",
            "--set: selection: selector 'distinct_correct': near_duplicate_threshold must be a number from 0 to 1",
        ),
        ("sampling.temperature=.inf", "--set: sampling.temperature: Input should be a finite number"),
        ("sampling.temperature=.nan", "--set: sampling.temperature: Input should be a finite number"),
        ("sampling.max_tokens=99999999", "--set: sampling.max_tokens: Input should be less than or equal to 1000000"),
        ("sampling.seed=" + "9" * 5000, "--set sampling.seed: Exceeds the limit (4300 digits)"),
        (
            "rationalization.attempts=5000",
            "--set: rationalization.attempts: Input should be less than or equal to 1024",
        ),
        ("runner.shard_size=1000000", "--set: runner.shard_size: Input should be less than or equal to 100000"),
        ("iterations.count=1000", "--set: iterations.count: Input should be less than or equal to 100"),
        ("checker.timeout=1e9", "--set: checker.timeout: Input should be less than or equal to 3600"),
        ("selection.k=2000", "--set: selection.k: Input should be less than or equal to 1024"),
        ("source.max_chars=0", "--set: source.max_chars: Input should be greater than or equal to 1"),
        ("teacher.options=" + "[" * 100 + "]" * 100, "--set teacher.options: nested too deeply (at most 32 levels)"),
        ("prompts.template=/etc/passwd", "--set: prompts.template: unknown prompt template '/etc/passwd'"),
        (
            "prompts.template=/etc/x.yaml",
            "--set: prompts.template: prompt template '/etc/x.yaml': give a path relative",
        ),
        ("prompts.template=../up.yaml", "--set: prompts.template: prompt template '../up.yaml': give a path relative"),
        ("prompts.template=star_rationalization", "--set: prompts.template: template 'star_rationalization' shows the"),
        ("prompts.rationalization_template=r1", "--set: prompts.rationalization_template: template 'r1' has no {hint}"),
        ("datasets.sft=../evil", f"--set: datasets.sft: bad dataset name '../evil': {NAME}"),
        ("datasets.samples=_all", f"--set: datasets.samples: bad dataset name '_all': {NAME}"),
        ("warehouse=/dev/null", "--set: warehouse: /dev/null is not a folder: give a folder"),
    ],
)
def test_bad_override_names_the_key(override, message):
    with pytest.raises(ConfigError) as caught:
        apply_overrides(RunConfig(), [override])
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def billion_laughs() -> str:
    lines, previous = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'], "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "teacher:\n  options:\n" + "".join(f"    {line}\n" for line in lines)


@pytest.mark.parametrize(
    "content,message",
    [
        (billion_laughs(), "more than 100000 values (YAML aliases expanding?)"),
        ("teacher:\n  options:\n    x: &x [*x]\n", "nested too deeply"),  # an alias of itself: endless
        ("teacher:\n  options:\n    x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply (at most 32 levels)"),
        (
            "teacher:\n  options:\n    x: " + "{a: " * 40 + "1" + "}" * 40 + "\n",
            "nested too deeply (at most 32 levels)",
        ),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(512), "is not a config file: not UTF-8 text"),
        (b"sampling:\n  n: 2\x00\n", "is not valid YAML: unacceptable character #x0000"),
        (b"k: 1\n" + b"#" * (1024 * 1024), "is not a config file: over 1024 KiB"),
        ("sampling:\n  temperature: .inf\n", ": sampling.temperature: Input should be a finite number"),
        ("sampling:\n  top_p: .nan\n", ": sampling.top_p: Input should be a finite number"),
        ("prompts:\n  template: /etc/passwd\n", ": prompts.template: unknown prompt template '/etc/passwd'"),
        ("datasets:\n  sft: ../evil\n", f": datasets.sft: bad dataset name '../evil': {NAME}"),
        ("k: " + "9" * 5000 + "\n", ": Exceeds the limit (4300 digits)"),
        ("sampling:\n  n: 2\n  temperature: 0\n  n: 64\n", ": key 'n' is given twice in one mapping (lines 2 and 4)"),
        ("source: {uri: procedural, uri: /etc/passwd}\n", ": key 'uri' is given twice in one mapping (line 1)"),
        ("sampling:\n  n: true\n", ": sampling.n: Input should be a valid integer"),
        ("filters:\n  min_chars: 50\n  max_chars: 10\n", ": filters: min_chars (50) is above max_chars (10)"),
    ],
)
def test_bad_config_file_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value), str(caught.value)


def test_own_template_file_inside_the_folder_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "mine.yaml").write_text("id: mine\nuser: 'Q: {question}'\n")
    assert apply_overrides(RunConfig(), ["prompts.template=prompts/mine.yaml"]).prompts.template == "prompts/mine.yaml"
    (tmp_path / "prompts" / "notes.yaml").write_text("just: notes\n")
    with pytest.raises(ConfigError, match="is not a valid template"):
        apply_overrides(RunConfig(), ["prompts.template=prompts/notes.yaml"])
    (tmp_path / "prompts" / "link.yaml").symlink_to("/etc/passwd")
    with pytest.raises(ConfigError, match="'prompts/link.yaml' leads outside the current folder"):
        apply_overrides(RunConfig(), ["prompts.template=prompts/link.yaml"])


def test_run_refuses_before_anything_is_written(tmp_path, capsys, monkeypatch):
    """The CLI turns each refusal into one `Error:` line, exit 1, and no warehouse is touched."""
    monkeypatch.setenv("STARMILL_WAREHOUSE", str(tmp_path / "wh"))
    config = tmp_path / "run.yaml"
    config.write_text(billion_laughs())
    for argv in (
        ["run", str(config)],
        ["run", "--set", "sampling.n=[1"],
        ["run", "--set", "datasets.sft=../evil"],
        ["run", "--set", "prompts.template=/etc/passwd"],
        ["run", "--set", "sampling.temperature=.inf"],
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, "") and err.startswith("Error: ") and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "wh").exists()
