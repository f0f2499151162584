"""`starmill ingest FILE --kind sft`: outside chat rows (messages, prompt/completion, ShareGPT) become an sft
version with provenance and rejects with reasons, and `export --mix` blends it with a run's sft version."""

import json

import pyarrow.parquet as pq
import pytest

from tests.helpers import run_cli as run

MESSAGES = [
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
        ]
    },
    {"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "hello"}]},  # bad_role
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]},  # empty_content
]
PROMPT_COMPLETION = [
    {"prompt": "Name a prime.", "completion": "7"},
    {"prompt": [{"role": "user", "content": "2+2?"}], "completion": [{"role": "assistant", "content": "4"}]},
    {"prompt": "Only a prompt.", "completion": ""},  # empty_content
]
SHAREGPT = [
    {
        "conversations": [
            {"from": "human", "value": "Tell a joke."},
            {"from": "gpt", "value": "No."},
            {"from": "human", "value": "Please?"},
            {"from": "gpt", "value": "Knock knock."},
        ]
    },
    {"conversations": [{"from": "human", "value": "Anyone there?"}]},  # no_assistant_turn
    {
        "conversations": [
            {"from": "human", "value": "a"},
            {"from": "gpt", "value": "b"},
            {"from": "human", "value": "c"},
        ]
    },  # last_turn_not_assistant
]


def write_jsonl(path, rows, extra_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(line + "\n" for line in extra_lines))
    return path


@pytest.fixture
def run_version(make_sft_version, monkeypatch):
    wh, ref = make_sft_version(problems=6)
    monkeypatch.setenv("STARMILL_WAREHOUSE", wh.root)
    return wh, ref


def test_each_shape_ingests_with_provenance_and_reasoned_rejects(run_version, tmp_path, capsys):
    wh, _ = run_version
    files = {
        "messages": (MESSAGES, {"bad_role", "empty_content"}),
        "pc": (PROMPT_COMPLETION, {"empty_content"}),
        "sharegpt": (SHAREGPT, {"no_assistant_turn", "last_turn_not_assistant"}),
    }
    for i, (stem, (rows, reasons)) in enumerate(files.items(), start=1):
        path = write_jsonl(tmp_path / f"{stem}.jsonl", rows, ["{not json", "[1, 2]"])
        code, out, err = run(capsys, "ingest", str(path), "--kind", "sft", "--license", "cc-by-4.0")
        assert (code, err) == (0, ""), out
        kept = len(rows) - len(reasons)
        assert out.splitlines()[0] == f"chat@v{i}: {kept} sft rows, {len(reasons) + 2} rejects (read {len(rows) + 2})"
        manifest = wh.manifest(f"chat@v{i}")
        assert manifest.table == "sft" and manifest.config["source"]["license"] == "cc-by-4.0"
        assert manifest.drops == {**{r: 1 for r in reasons}, "bad_json": 1, "not_an_object": 1}
        [source] = manifest.sources
        assert (source.name, source.uri, source.license) == (stem, f"<local>/{stem}.jsonl", "cc-by-4.0")
        assert source.fingerprint and str(tmp_path) not in manifest.to_json()
        rejects = wh.read(f"chat@v{i}", table="rejects").to_pylist()
        assert sorted(r["reason"] for r in rejects) == sorted([*reasons, "bad_json", "not_an_object"])
    sharegpt = wh.read("chat@v3").to_pylist()
    assert [m["role"] for m in sharegpt[0]["prompt"]] == ["user", "assistant", "user"]
    assert sharegpt[0]["completion"] == "Knock knock." and sharegpt[0]["stage"] == "ingested"


def test_export_mix_blends_outside_rows_with_a_run(run_version, tmp_path, capsys):
    wh, ref = run_version
    path = write_jsonl(tmp_path / "chat.jsonl", [MESSAGES[0], *PROMPT_COMPLETION[:2], SHAREGPT[0]])
    assert run(capsys, "ingest", str(path), "--kind", "sft", "--name", "outside")[0] == 0
    code, out, err = run(capsys, "export", ref, "--to", str(tmp_path / "mix"), "--mix", "outside@v1:1")
    assert (code, err) == (0, ""), out
    rows = pq.read_table(next((tmp_path / "mix" / "data").glob("train-*.parquet"))).to_pylist()
    origins = {r["origin"] for r in rows}
    assert origins == {ref, "outside@v1"}
    outside = [r for r in rows if r["origin"] == "outside@v1"]
    assert len(outside) == 4 and len(rows) == wh.read(ref).num_rows + 4
    paris = next(r for r in outside if r["messages"][-1]["content"] == "Paris.")
    assert [m["role"] for m in paris["messages"]] == ["system", "user", "assistant"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--kind", "sft", "--preset", "gsm8k"], "Error: --preset is for problems, not --kind sft"),
        (["--model", "m"], "Error: --model goes with --kind sft"),
    ],
)
def test_bad_sft_options_are_one_error_line(run_version, tmp_path, capsys, argv, message):
    path = write_jsonl(tmp_path / "chat.jsonl", MESSAGES[:1])
    code, out, err = run(capsys, "ingest", str(path), *argv)
    assert (code, err.strip()) == (1, message)


def test_a_file_with_no_usable_row_commits_nothing(run_version, tmp_path, capsys):
    wh, _ = run_version
    path = write_jsonl(tmp_path / "bad.jsonl", MESSAGES[1:])
    code, out, err = run(capsys, "ingest", str(path), "--kind", "sft")
    assert code == 1 and err.startswith("Error: ") and "all 2 were rejected (bad_role 1, empty_content 1)" in err
    assert not wh.versions("chat")


def test_a_save_to_disk_folder_ingests_as_chat_rows(run_version, tmp_path, capsys):
    import datasets

    wh, _ = run_version
    folder = tmp_path / "chat-folder"
    datasets.Dataset.from_list([MESSAGES[0], MESSAGES[1]]).save_to_disk(str(folder))
    capsys.readouterr()  # datasets' progress bar
    code, out, err = run(capsys, "ingest", str(folder), "--kind", "sft", "--name", "local")
    assert (code, err) == (0, ""), out
    assert out.splitlines()[0] == "local@v1: 1 sft rows, 1 rejects (read 2)"
    [source] = wh.manifest("local@v1").sources
    assert (source.name, source.uri) == ("chat-folder", "<local>/chat-folder") and source.fingerprint


def test_a_hub_id_ingests_with_its_id_revision_and_license(run_version, tmp_path, capsys, monkeypatch):
    """The Hub is unreachable here: this fakes the Hub boundary only, ``datasets.load_dataset``, with a
    dataset built in memory; starmill's own loader, reader and provenance run as they do online."""
    import datasets

    wh, _ = run_version
    calls = []

    def load_dataset(path, name=None, split=None, revision=None, **kwargs):
        calls.append((path, name, split, revision))
        ds = datasets.Dataset.from_list([{"conversations": SHAREGPT[0]["conversations"]}, SHAREGPT[1]])
        ds._fingerprint = "cache-of-commit-abc"
        return ds

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    code, out, err = run(
        capsys,
        "ingest",
        "hf://someone/chats",
        "--kind",
        "sft",
        "--revision",
        "v1.0",
        "--hub-config",
        "default",
        "--split",
        "train",
        "--license",
        "apache-2.0",
    )
    assert (code, err) == (0, ""), out
    assert calls == [("someone/chats", "default", "train", "v1.0")]
    assert out.splitlines()[0] == "chat@v1: 1 sft rows, 1 rejects (read 2)"
    manifest = wh.manifest("chat@v1")
    [source] = manifest.sources
    assert (source.name, source.uri, source.license) == ("someone/chats", "hf://someone/chats", "apache-2.0")
    assert source.fingerprint == "hf:cache-of-commit-abc"
    assert (source.revision, source.hub_config, source.split) == ("v1.0", "default", "train")
    assert manifest.config["source"]["hub"] == "someone/chats" and manifest.config["source"]["revision"] == "v1.0"
    [row] = wh.read("chat@v1").to_pylist()
    assert row["completion"] == "Knock knock." and row["source"] == "someone/chats"
    # a pinned commit is the fingerprint itself
    code, out, err = run(capsys, "ingest", "someone/chats", "--kind", "sft", "--revision", "a" * 40)
    assert code == 0, err
    assert wh.manifest("chat@v2").sources[0].fingerprint == "hf-revision:" + "a" * 40


def test_an_unreachable_hub_id_is_one_error_line(run_version, capsys, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'someone/chats' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    code, out, err = run(capsys, "ingest", "someone/chats", "--kind", "sft")
    assert code == 1 and err.startswith("Error: could not load 'someone/chats' from the Hugging Face Hub")
    assert not run_version[0].versions("chat")
