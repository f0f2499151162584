"""``starmill diff``: two sft versions made by the export fixtures, one changed by hand."""

import json

from click.testing import CliRunner

from starmill.cli import cli
from starmill.schemas import SftRecord
from starmill.warehouse.diff import diff_versions


def _edit(wh, ref, name="sft"):
    """A new version of ``name`` from ``ref``: first problem's rows gone, one completion changed, one row added,
    and a config value changed."""
    manifest = wh.manifest(ref)
    rows = wh.read(ref).to_pylist()
    first = rows[0]["problem_id"]
    kept = [r for r in rows if r["problem_id"] != first]
    kept[0]["completion"] = kept[0]["completion"] + " (edited)"
    extra = dict(kept[-1], sample_id="f" * 16)
    config = json.loads(json.dumps(manifest.config))
    config["sampling"]["temperature"] = 0.42
    writer = wh.writer(name, "sft", config=config, parents=manifest.parents, sampling=config["sampling"])
    with writer:
        writer.write([SftRecord(**r) for r in kept + [extra]])
        for stage, value in manifest.counts.items():
            writer.count(stage, value + (5 if stage == "kept" else 0))
        for reason, value in manifest.drops.items():
            writer.drop(reason, value + (3 if reason == "wrong_answer" else 0))
    removed = sum(r["problem_id"] == first for r in rows)
    return f"{name}@v{writer.version}", first, removed, kept[0]["sample_id"], len(rows)


def test_diff_counts_rows_problems_counts_drops_and_config(make_sft_version):
    wh, ref_a = make_sft_version(problems=12, seed=3)
    ref_b, first, removed, changed_id, n = _edit(wh, ref_a)
    found = diff_versions(wh, ref_a, ref_b)
    assert found["rows"] == {
        "a": n,
        "b": n - removed + 1,
        "added": 1,
        "removed": removed,
        "changed": 1,
        "unchanged": n - removed - 1,
    }
    assert found["examples"]["added"] == ["f" * 16] and found["examples"]["changed"] == [changed_id]
    assert found["problems"]["removed"] == [first] and found["problems"]["added"] == []
    assert found["counts"] == [
        {"key": "kept", "a": wh.manifest(ref_a).counts["kept"], "b": wh.manifest(ref_a).counts["kept"] + 5, "change": 5}
    ]
    assert [d["key"] for d in found["drops"]] == ["wrong_answer"] and found["drops"][0]["change"] == 3
    assert {"key": "sampling.temperature", "a": 0.7, "b": 0.42} in found["config"]
    assert "sampling" in {c["key"] for c in found["lineage"]}
    assert diff_versions(wh, ref_a, ref_a)["rows"]["changed"] == 0


def test_diff_cli_formats_and_errors(make_sft_version):
    wh, ref_a = make_sft_version(problems=8, seed=1)
    ref_b, first, removed, _, _ = _edit(wh, ref_a)
    run = CliRunner().invoke
    out = run(cli, ["diff", ref_a, ref_b, "-w", wh.root, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"]["removed"] == removed
    out = run(cli, ["diff", ref_a, ref_b, "-w", wh.root, "--format", "csv"])
    lines = out.output.splitlines()
    assert lines[0] == "section,item,a,b,change" and f"problem removed,{first},,," in lines
    assert "rows,added,,,1" in lines and "config,sampling.temperature,0.7,0.42," in lines
    out = run(cli, ["diff", ref_a, ref_b, "-w", wh.root])
    assert out.exit_code == 0 and "sampling.temperature" in out.output
    from starmill.cli import main

    assert main(["diff", ref_a, "sft@v9", "-w", wh.root]) == 1
