"""The audit number: a second verifier on a seeded sample of kept rows, in `starmill audit`, the sft manifest
of a re-selection and the card."""

import json

import pytest

from starmill.grading.audit import audit_for_config, audit_rows
from tests.helpers import run_cli
from tests.test_regrade import _old_version

pytest.importorskip("math_verify")


def _rows(n):
    # even rows are right, odd ones wrong: 2 * i is the gold
    return [
        {
            "sample_id": f"s{i:03d}",
            "problem_id": f"p{i:03d}",
            "gold_answer": str(2 * i),
            "completion": f"The answer is $\\boxed{{{2 * i + i % 2}}}$.",
        }
        for i in range(n)
    ]


def test_math_verify_audits_a_seeded_sample_and_lists_disagreements():
    from starmill.filters.verifiers import get_verifier

    verifier = get_verifier("math-verify")
    report = audit_rows(_rows(10), {}, verifier, sample=4, seed=1)
    again = audit_rows(_rows(10), {}, verifier, sample=4, seed=1)
    assert report == again and (report["sample"], report["of"]) == (4, 10)
    ids = [d["sample_id"] for d in report["disagreements"]]
    assert all(int(i[1:]) % 2 for i in ids)  # exactly the wrong ones disagree with "correct"
    assert report["agreed"] == 4 - len(ids) and report["agreement"] == round(report["agreed"] / 4, 4)
    full = audit_rows(_rows(10), {}, verifier, sample=200)
    assert (full["sample"], full["agreed"], full["disagreement_count"]) == (10, 5, 5)
    assert full["disagreements"][0] == {
        "problem_id": "p001",
        "sample_id": "s001",
        "primary": "correct",
        "audit": "wrong",
        "audit_pred": "3",
    }
    assert audit_for_config({"enabled": False}, _rows(2), {}) is None


def test_starmill_audit_on_an_sft_version_and_its_card(tmp_path, capsys):
    from starmill.warehouse import Warehouse
    from starmill.warehouse.export.card import audit_lines

    wh = _old_version(Warehouse(str(tmp_path / "wh")))
    code, _, stderr = run_cli(capsys, "regrade", "samples", "--reselect", "-w", wh.root)
    assert code == 0, stderr
    published = wh.manifest("sft@v1").model_extra["audit"]  # the reselected version carries its audit
    # math-verify can't read hex: the decimal 6228 for 0x1854 that starmill's checker accepts is a disagreement
    assert (published["verifier"], published["sample"], published["agreed"]) == ("math-verify", 2, 1)
    assert [(d["sample_id"], d["primary"], d["audit"]) for d in published["disagreements"]] == [
        ("s1", "correct", "wrong")
    ]
    code, stdout, stderr = run_cli(capsys, "audit", "sft", "--json", "-w", wh.root)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["version"] == "sft@v1" and report["agreement"] == 0.5
    assert report["disagreements"] == published["disagreements"]
    code, stdout, _ = run_cli(capsys, "audit", "sft@v1", "--verifier", "exact", "-w", wh.root)
    assert code == 0 and "with exact" in stdout and "1 of 2 sampled rows agree (50.0%" in stdout
    assert "s1" in stdout and "wrong" in stdout and "s2" not in stdout  # "6228" is not the string "0x1854"
    card = "\n".join(audit_lines(published, wh.manifest("sft@v1").model_extra["reselected"]))
    assert "`math-verify`" in card and "agrees on 1 of 2 kept rows (50.0%)" in card
    assert "1 added, 1 removed" in card
    from starmill.warehouse.export.card import part_section
    from starmill.warehouse.export.model import Part

    section = part_section(Part("sft@v1", 1.0, wh.manifest("sft@v1"), 2, 0, {}))
    assert "### Audit" in section and "agrees on 1 of 2 kept rows" in section and "| `s1` |" in section
    for args, message in [
        (["samples"], "audit an sft version"),
        (["sft", "--verifier", "nope"], "unknown verifier"),
        (["sft", "--sample", "0"], "at least 1"),
        (["nothing"], "no dataset 'nothing'"),
    ]:
        code, _, stderr = run_cli(capsys, "audit", *args, "-w", wh.root)
        assert code == 1 and stderr.strip().startswith("Error:") and message in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1


def test_a_run_publishes_its_audit_and_reselecting_unchanged_verdicts_keeps_its_rows(tmp_path, capsys):
    from starmill.pipeline import run_star
    from starmill.warehouse import Warehouse
    from tests.test_loop import QUESTIONS, config, scripted, serve

    cfg = config(tmp_path, QUESTIONS, audit={"sample": 3, "seed": 2})
    serve(cfg, scripted)
    summary = run_star(cfg, str(tmp_path / "wh"), progress=False)
    wh = Warehouse(tmp_path / "wh")
    audit = wh.manifest(summary["sft"]).model_extra["audit"]
    assert (audit["verifier"], audit["sample"], audit["of"], audit["agreed"]) == ("math-verify", 3, 4, 3)
    code, stdout, stderr = run_cli(capsys, "regrade", summary["samples"], "--reselect", "--json", "-w", wh.root)
    assert code == 0, stderr
    reselected = json.loads(stdout)["reselected"]
    assert (reselected["rows_before"], reselected["rows_after"], reselected["added"], reselected["removed"]) == (
        4,
        4,
        0,
        0,
    )
    assert reselected["drops_after"] == reselected["drops_before"] == summary["drops"] | {}
    assert sorted(r["sample_id"] for r in wh.read(reselected["sft"]).to_pylist()) == sorted(
        r["sample_id"] for r in wh.read(summary["sft"]).to_pylist()
    )
    off = config(tmp_path, QUESTIONS, audit={"enabled": False}, datasets={"sft": "sft_off", "samples": "samples_off"})
    assert "audit" not in wh.manifest(run_star(off, str(tmp_path / "wh"), progress=False)["sft"]).model_extra


def test_a_bad_audit_verifier_is_refused_before_generating(tmp_path):
    from starmill.config import parse_config
    from starmill.grading.audit import AuditError
    from starmill.pipeline.preflight import preflight

    config = parse_config({"audit": {"verifier": "nope"}})
    with pytest.raises(AuditError, match="audit verifier 'nope': unknown verifier"):
        preflight(config, str(tmp_path / "wh"))
    preflight(parse_config({"audit": {"verifier": "nope", "enabled": False}}), str(tmp_path / "wh"))


def test_programs_are_not_audited_by_math_verify_unless_asked():
    skipped = audit_for_config({}, _rows(2), {}, graded_by="code")
    assert skipped["skipped"].startswith("the rows are programs")
    assert audit_for_config({"verifier": "exact"}, _rows(2), {}, graded_by="code")["sample"] == 2


def test_math_verify_runs_in_a_child_that_can_fail_or_hang(monkeypatch):
    import starmill.filters.verifiers.math_verify_check as mv
    from starmill.filters.verifiers import get_verifier

    verifier = get_verifier("math-verify", timeout=1)
    pairs = [({"gold_answer": "5"}, "\\boxed{5}"), ({"gold_answer": "5"}, "\\boxed{6}")]
    assert [v.verdict for v in verifier.verify_batch(pairs)] == ["correct", "wrong"]
    monkeypatch.setattr(mv, "CHILD", "raise SystemExit(3)")
    assert {(v.verdict, v.rule) for v in verifier.verify_batch(pairs)} == {("error", "child_failed")}
    monkeypatch.setattr(mv, "CHILD", "import time; time.sleep(60)")
    monkeypatch.setattr(mv, "START", 0)
    assert {v.verdict for v in verifier.verify_batch(pairs)} == {"timeout"}  # killed after 3 x 1 s x 2 pairs
    with pytest.raises(ValueError, match="timeout"):
        get_verifier("math-verify", timeout=0)
