"""Export to a folder: loads with `datasets`, messages, split by problem, the card, decontamination,
mixes, and byte-identical re-exports."""

import hashlib
import json
import os
import subprocess
import sys

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from starmill.warehouse.export import ExportSettings, FolderNotEmpty, export_to_folder
from tests.fixtures_export import folder_hashes, question_of, read_card


def export(wh, tmp_path, folder="out", **options):
    settings = ExportSettings.make(**options)
    result, files = export_to_folder(wh, settings, tmp_path / folder)
    return tmp_path / folder, result, files


def load(folder, tmp_path):
    return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf-cache"))


def sft_rows(wh, ref):
    return {r["sample_id"]: r for r in wh.read(ref).to_pylist()}


def test_messages_load_with_datasets_and_hold_the_hint_free_prompt(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=24)
    folder, result, files = export(wh, tmp_path, ref=ref)
    ds = load(folder, tmp_path)
    meta, _ = read_card(folder)
    assert list(ds) == [c["split"] for c in meta["configs"][0]["data_files"]] == ["train"]
    assert ds["train"].column_names == ["messages", "problem_id", "sample_id", "stage", "source", "origin"]
    source = sft_rows(wh, ref)
    assert ds["train"].num_rows == len(source) > 0
    stages = set()
    for row in ds["train"]:
        stored = source[row["sample_id"]]
        user, assistant = row["messages"]
        assert user == {"role": "user", "content": stored["prompt"][0]["content"]}
        assert stored["reasoning"] and assistant["role"] == "assistant"
        assert assistant["content"] == f"<think>\n{stored['reasoning']}\n</think>\n\n{stored['answer_text']}"
        assert (row["problem_id"], row["stage"], row["source"], row["origin"]) == (
            stored["problem_id"],
            stored["stage"],
            stored["source"],
            ref,
        )
        stages.add(row["stage"])
    assert stages == {"rationale", "rationalization"}  # rationalized rows keep the hint-free prompt too
    assert files == [
        "README.md",
        "data/train-00000-of-00001.parquet",
        "pass_rates_and_lengths.png",
        "starmill_export.json",
    ]
    assert (folder / "pass_rates_and_lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_reasoning_the_assistant_turn_is_the_completion(make_sft_version, tmp_path):
    wh, ref = make_sft_version("chat", problems=10, reasoning=False)
    folder, *_ = export(wh, tmp_path, ref=ref, system_prompt="You are a careful tutor.")
    source = sft_rows(wh, ref)
    for row in load(folder, tmp_path)["train"]:
        system, user, assistant = row["messages"]
        assert system == {"role": "system", "content": "You are a careful tutor."}
        assert assistant["content"] == source[row["sample_id"]]["completion"]
        assert "<think>" not in assistant["content"]


def test_prompt_completion_and_raw_formats(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=8)
    pc_folder, *_ = export(wh, tmp_path, "pc", ref=ref, format="prompt-completion")
    row = load(pc_folder, tmp_path)["train"][0]
    stored = sft_rows(wh, ref)[row["sample_id"]]
    assert [m["role"] for m in row["prompt"]] == ["user"] and row["prompt"][0]["content"] == stored["prompt"][0][
        "content"
    ]
    assert row["completion"] == [
        {"role": "assistant", "content": f"<think>\n{stored['reasoning']}\n</think>\n\n{stored['answer_text']}"}
    ]
    raw_folder, *_ = export(wh, tmp_path, "raw", ref=ref, format="raw")
    raw = load(raw_folder, tmp_path)["train"]
    assert set(raw.column_names) == set(wh.read(ref).column_names) | {"origin"}
    assert sorted(raw["sample_id"]) == sorted(sft_rows(wh, ref))


def test_split_is_by_problem_and_seeded(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=40)
    folder, result, _ = export(wh, tmp_path, "a", ref=ref, test_size=0.25, seed=7)
    ds = load(folder, tmp_path)
    train, test = set(ds["train"]["problem_id"]), set(ds["test"]["problem_id"])
    exported = {r["problem_id"] for r in wh.read(ref).to_pylist()}
    assert train and test and not train & test and train | test == exported
    assert len(test) == round(0.25 * len(exported))
    assert ds["train"].num_rows + ds["test"].num_rows == wh.read(ref).num_rows
    again, *_ = export(wh, tmp_path, "b", ref=ref, test_size=0.25, seed=7)
    other, *_ = export(wh, tmp_path, "c", ref=ref, test_size=0.25, seed=8)
    assert set(load(again, tmp_path)["test"]["problem_id"]) == test
    assert set(load(other, tmp_path)["test"]["problem_id"]) != test


def test_card_numbers_equal_the_manifest(make_sft_version, tmp_path):
    from starmill.warehouse.export.share import share_text

    wh, ref = make_sft_version(problems=30, teacher_options={"api_key": "sk-should-never-be-shown"})
    folder, *_ = export(wh, tmp_path, ref=ref, test_size=0.2)
    manifest = wh.manifest(ref).model_dump(mode="json")
    meta, body = read_card(folder)
    assert meta["license"] == manifest["config"]["source"]["license"] == "apache-2.0"
    assert meta["task_categories"] == ["text-generation"] and meta["size_categories"] == ["n<1K"]
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "data/train-*.parquet"},
                {"split": "test", "path": "data/test-*.parquet"},
            ],
        }
    ]
    for stage, count in manifest["counts"].items():
        assert f"| `{stage}` | {count} |" in body
    for reason, count in manifest["drops"].items():
        assert f"| `{reason}` | {count} |" in body
    report = manifest["report"]
    for label, count in report["pass_rate_histogram"].items():
        assert f"| {label} | {count} |" in body
    assert "as recorded in the run report: 30 problems, every problem of the run" in body
    config = manifest["config"]
    assert f"| n (samples per problem) | `{config['sampling']['n']}` |" in body
    assert f"| k (kept per problem) | `{config['selection']['k']}` |" in body
    assert f"| R (rationalization attempts) | `{config['rationalization']['attempts']}` |" in body
    assert f"| STaR iterations | `{config['iterations']['count']}` |" in body
    assert f"model `{config['teacher']['model']}`, revision `{config['teacher']['revision']}`" in body
    model = manifest["models"][0]
    assert f"| `{model['engine']}` | `{model['engine_version']}` | `{model['dtype']}` |" in body
    assert f"`{manifest['sources'][0]['fingerprint']}`" in body
    for prompt in report["prompts"]:
        assert f"- id `{prompt['id']}`, hash `{prompt['hash']}` ({prompt['description']}):" in body
        assert f"  user:\n\n```\n{prompt['user']}\n```" in body
    assert f"`{report['checker']['name']}` version `{report['checker']['version']}`" in body
    assert "| verifiers | `starmill` 1 |" in body and '| pass@k | `{"1": 0.5}` |' in body
    commit = manifest["git_commit"]  # None outside a git checkout
    assert share_text(manifest["command"]) in body  # its local paths as <local>/NAME
    assert (f"git checkout {commit.removesuffix('+dirty')}" if commit else "git commit not recorded") in body
    stages = wh.read(ref).column("stage").to_pylist()
    share = stages.count("rationalization") / len(stages)
    assert f"{stages.count('rationalization')} of {len(stages)} rows ({share:.1%}) of `{ref}`" in body
    assert "sk-should-never-be-shown" not in body and "api_key: <redacted>" in body
    assert "max_tokens: 128" in body
    assert "![Pass rates and lengths](pass_rates_and_lengths.png)" in body


@pytest.mark.parametrize("recorded", ["list", "histogram"])
def test_card_bins_an_older_manifests_pass_rates_and_leaves_out_an_unrecorded_license(
    make_sft_version, tmp_path, recorded
):
    """A manifest from before the run report: its loose pass rates (a list, or a histogram) binned the
    one way the report bins them, n/k/R from its config."""
    wh, ref = make_sft_version(problems=20, license=None, pass_rates=recorded)
    folder, *_ = export(wh, tmp_path, ref=ref)
    meta, body = read_card(folder)
    assert "license" not in meta
    assert "No license is given in this card's metadata" in body and "| procedural | not recorded |" in body
    data = wh.manifest(ref).model_dump()
    rates = data.get("pass_rates") or [r["pass_rate"] for r in wh.read(ref).to_pylist()]
    if recorded == "list":
        for i in range(10):
            low, high = i / 10, (i + 1) / 10
            count = sum(1 for r in rates if low <= r < high or (i == 9 and r == 1.0))
            assert f"| {low:.1f}-{high:.1f} | {count} |" in body
    else:
        for label, count in data["pass_rate_histogram"].items():
            assert f"| {label} | {count} |" in body
    assert "as recorded in the manifest (an older run): 20 problems" in body
    assert "| k (kept per problem) | `2` |" in body and "| answer checker | `starmill` version `1` |" in body


def test_reexport_is_byte_identical(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=20)
    wh, chat = make_sft_version("chat", problems=12, seed=3, reasoning=False)
    evals = tmp_path / "eval.jsonl"
    evals.write_text(json.dumps({"question": "Nothing in common with any training problem at all here."}) + "\n")
    options = dict(ref=ref, test_size=0.3, seed=1, mix=[f"{chat}:0.5"], decontaminate=[str(evals)])
    first, *_ = export(wh, tmp_path, "first", **options)
    # again from the CLI in a fresh process with another hash seed (set and dict orders differ there)
    second = tmp_path / "second"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "STARMILL_WAREHOUSE": wh.root}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "starmill.cli",
            "export",
            ref,
            "--to",
            str(second),
            "--test-size",
            "0.3",
            "--seed",
            "1",
            "--mix",
            f"{chat}:0.5",
            "--decontaminate",
            str(evals),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert folder_hashes(first) == folder_hashes(second)
    assert sorted(folder_hashes(first)) == [
        "README.md",
        "contaminated.jsonl",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "pass_rates_and_lengths.png",
        "starmill_export.json",
    ]
    changed, *_ = export(wh, tmp_path, "changed", **{**options, "seed": 2})
    assert (
        folder_hashes(changed)["data/test-00000-of-00001.parquet"]
        != folder_hashes(first)["data/test-00000-of-00001.parquet"]
    )


def test_decontamination_drops_a_planted_overlap(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=24)
    rows = wh.read(ref).to_pylist()
    planted = rows[0]
    question = question_of(planted)
    eval_jsonl = tmp_path / "gsm_eval.jsonl"
    eval_jsonl.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "  " + question.upper().replace(" ", "   ") + "  ", "answer": "x"},  # normalized away
                {"question": "A train leaves the station at noon and travels for three hours at sixty miles."},
                "not json",
            ]
        )
        + "\n"
    )
    eval_parquet = tmp_path / "other_eval.parquet"
    pq.write_table(pa.table({"problem": ["Something unrelated with enough words to make eight grams."]}), eval_parquet)
    folder, result, _ = export(wh, tmp_path, ref=ref, decontaminate=[str(eval_jsonl), str(eval_parquet)])
    dropped = [r for r in rows if r["problem_id"] == planted["problem_id"]]
    kept = load(folder, tmp_path)["train"]
    assert planted["problem_id"] not in set(kept["problem_id"])
    assert kept.num_rows == len(rows) - len(dropped)
    assert result.parts[0].drops == {"contaminated:gsm_eval": len(dropped)}
    lineage = json.loads((folder / "starmill_export.json").read_text())
    reports = {e["name"]: e for e in lineage["decontamination"]["eval_sets"]}
    assert reports["gsm_eval"]["rows_dropped"] == len(dropped) and reports["gsm_eval"]["texts"] == 2
    assert reports["gsm_eval"]["unreadable"] == 1 and reports["other_eval"]["rows_dropped"] == 0
    _, body = read_card(folder)
    assert f"| `gsm_eval` | `{reports['gsm_eval']['fingerprint']}` | `question` | 2 | {len(dropped)} |" in body
    assert "| `other_eval` |" in body and "word 8-gram" in body


def test_decontamination_reads_datasets_folders_and_short_problems(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=24)
    rows = wh.read(ref).to_pylist()
    short = next(r for r in rows if question_of(r).startswith("Compute"))
    question = question_of(short)
    assert len(question.split()) < 8
    folder_eval = tmp_path / "math_eval"
    datasets.Dataset.from_dict({"problem": [question]}).save_to_disk(str(folder_eval))
    folder, result, _ = export(wh, tmp_path, ref=ref, decontaminate=[str(folder_eval)])
    assert short["problem_id"] not in set(load(folder, tmp_path)["train"]["problem_id"])
    assert result.parts[0].drops == {
        "contaminated:math_eval": sum(r["problem_id"] == short["problem_id"] for r in rows)
    }


def test_mix_takes_weighted_rows_and_records_them(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=20)
    wh, chat = make_sft_version("chat", problems=16, seed=5, reasoning=False, license="mit")
    folder, result, _ = export(wh, tmp_path, ref=ref, mix=[f"{chat}:0.5", f"{ref}:2"])
    n_main, n_chat = wh.read(ref).num_rows, wh.read(chat).num_rows
    ds = load(folder, tmp_path)["train"]
    origins = ds["origin"]
    assert origins.count(ref) == 2 * n_main and origins.count(chat) == round(0.5 * n_chat)
    meta, body = read_card(folder)
    assert meta["license"] == ["apache-2.0", "mit"]
    assert f"| `{ref}` | 2 | {n_main} | {n_main} | {2 * n_main} |" in body
    assert f"| `{chat}` | 0.5 | {n_chat} | {n_chat} | {round(0.5 * n_chat)} |" in body
    assert f"--mix {ref}:2 --mix {chat}:0.5" in body
    assert f"## Lineage of `{ref}`" in body and f"## Lineage of `{chat}`" in body


def test_an_existing_non_empty_folder_is_refused_and_left_alone(make_sft_version, tmp_path):
    wh, ref = make_sft_version(problems=6)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    (tmp_path / "out" / "sub").mkdir()
    (tmp_path / "out" / "sub" / "notes.md").write_text("also mine")
    with pytest.raises(FolderNotEmpty, match="already exists and is not empty"):
        export(wh, tmp_path, ref=ref)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"  # what was written before, not a re-read
    assert folder_hashes(tmp_path / "out") == {
        "keep.txt": hashlib.sha256(b"mine").hexdigest(),
        "sub/notes.md": hashlib.sha256(b"also mine").hexdigest(),
    }
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]
    (tmp_path / "empty").mkdir()
    folder, *_ = export(wh, tmp_path, "empty", ref=ref)  # an empty folder is fine
    assert (folder / "README.md").exists()


def test_a_failure_midway_leaves_nothing(make_sft_version, tmp_path, monkeypatch):
    from starmill.warehouse.export import build

    wh, ref = make_sft_version(problems=6)

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build, "chart_png", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export(wh, tmp_path, "deep/nested/out", ref=ref)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh"]
