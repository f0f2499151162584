"""``export --difficulty-band LOW:HIGH``: the problems whose pass rate lies in the band are kept, the other
rows are counted as dropped, and the card shows the exported problems' pass-rate distribution."""

import json

from starmill.warehouse.export import ExportSettings, export_to_folder
from starmill.warehouse.export.preference import build_preference


def test_sft_export_keeps_the_band_and_counts_the_rest(make_sft_version, tmp_path, capsys):
    wh, ref = make_sft_version(problems=24, seed=0)
    rows = wh.read(ref).to_pylist()
    inside = [r for r in rows if 0.1 <= r["pass_rate"] <= 0.9]
    assert inside and len(inside) < len(rows)  # the fixture has rows on both sides
    export, _ = export_to_folder(wh, ExportSettings.make(ref=ref, difficulty_band="0.1:0.9"), tmp_path / "out")
    assert sorted(export.splits["train"].column("sample_id").to_pylist()) == sorted(r["sample_id"] for r in inside)
    assert export.parts[0].drops == {"outside_difficulty_band": len(rows) - len(inside)}
    lineage = json.loads((tmp_path / "out" / "starmill_export.json").read_text())
    assert lineage["difficulty"]["band"] == [0.1, 0.9]
    assert sum(lineage["difficulty"]["pass_rate_histogram"].values()) == len({r["problem_id"] for r in inside})
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Difficulty" in card and "from 0.1 to 0.9" in card and "--difficulty-band 0.1:0.9" in card
    from starmill.cli import main

    assert main(["export", ref, "--to", str(tmp_path / "bad"), "--difficulty-band", "0.9:0.1", "-w", wh.root]) == 1
    assert capsys.readouterr().err.strip() == (
        "Error: --difficulty-band must be LOW:HIGH pass rates with 0 <= LOW <= HIGH <= 1, got '0.9:0.1'"
    )


def test_dpo_export_keeps_the_band(tmp_path):
    from starmill.warehouse import Warehouse
    from tests.test_export_preference import PLAN, _sample

    wh = Warehouse(str(tmp_path / "wh"))
    with wh.writer("samples", "samples", config={}) as writer:
        writer.write([_sample(p, i, *s) for p, plan in PLAN.items() for i, s in enumerate(plan)])
    found = build_preference(wh, "samples", "dpo", difficulty_band="0.3:0.6")  # p0 0.5 and p3 0.4 inside
    assert sorted(set(found.splits["train"].column("problem_id").to_pylist())) == ["p0", "p3"]
    assert found.counts["problems_outside_difficulty_band"] == 2 and found.counts["problems"] == 2
    assert found.left_out["outside_difficulty_band"] == len(PLAN["p1"]) + len(PLAN["p2"])
