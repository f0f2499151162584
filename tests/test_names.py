"""Dataset names are validated as a whole wherever one is resolved, so no name reaches outside the warehouse."""

import json
import shutil

import pytest

from starmill.generators.procedural import generate_problems
from starmill.warehouse import Warehouse
from starmill.warehouse.errors import BadDatasetName
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.export.mix import parse_mix
from starmill.warehouse.versions import check_name, check_ref
from tests.helpers import run_cli as run

RULE = (
    "use lowercase letters, digits and _, start with a letter, don't end in '_all' and don't use "
    "['datasets', 'information_schema', 'manifests', 'versions']"
)


@pytest.mark.parametrize(
    "name",
    [
        "abc\n",
        "abc\n\n",
        "\nabc",
        "abc ",
        "../other",
        "a/b",
        "a@v1",
        "Abc",
        "x_all",
        "manifests",
        "",
        "a" * 64,
        "ab\x00c",
    ],
)
def test_check_name_matches_the_whole_string(name):
    with pytest.raises(BadDatasetName, match="bad dataset name"):
        check_name(name)


def test_check_ref_parses_and_validates():
    assert check_ref("abc") == ("abc", None)
    assert check_ref("abc@v3") == ("abc", 3)
    assert check_ref("abc@3") == ("abc", 3)
    for spec in ("abc@v3\n", "abc@vx", "../x@v1", "abc\n@v1", "@v1", "abc@v1@v2"):
        with pytest.raises(BadDatasetName):
            check_ref(spec)


@pytest.fixture
def neighbour(warehouse_root, tmp_path):
    """A real dataset in ``other``, a folder next to the warehouse root: reachable only as ``../other``."""
    wh = Warehouse(warehouse_root)
    with wh.writer("good", "problems") as writer:
        writer.write(generate_problems(3))
    shutil.copytree(warehouse_root / "good", tmp_path / "other")
    manifest = tmp_path / "other" / "v1" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "dataset": "other"}))
    return tmp_path


@pytest.mark.parametrize(
    "argv,message",
    [
        (["show", "../other"], f"Error: bad dataset name '../other': {RULE}"),
        (["show", "../other@v1"], f"Error: bad dataset name '../other': {RULE}"),
        (["show", "good\n"], f"Error: bad dataset name 'good\\n': {RULE}"),
        (["show", "good@v1\n"], "Error: bad dataset reference 'good@v1\\n': use NAME or NAME@vN"),
        (["verify", "../other"], f"Error: bad dataset name '../other': {RULE}"),
        (["export", "../x", "--to", "{tmp}/out"], f"Error: bad dataset name '../x': {RULE}"),
        (["export", "../other", "--to", "{tmp}/out"], f"Error: bad dataset name '../other': {RULE}"),
        (
            ["export", "good", "--mix", "../y@v1:0.5", "--to", "{tmp}/out"],
            f"Error: bad --mix '../y@v1:0.5': bad dataset name '../y': {RULE}",
        ),
        (
            ["export", "good", "--mix", "../other@v1:0.5", "--to", "{tmp}/out"],
            f"Error: bad --mix '../other@v1:0.5': bad dataset name '../other': {RULE}",
        ),
        (["ingest", "procedural", "-n", "2", "--name", "abc\n"], f"Error: bad dataset name 'abc\\n': {RULE}"),
    ],
)
def test_names_outside_the_rules_are_one_error_line(neighbour, capsys, argv, message):
    argv = [a.replace("{tmp}", str(neighbour)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (1, "", message + "\n")
    assert not (neighbour / "out").exists()
    assert sorted(p.name for p in (neighbour / "wh").iterdir()) == ["good"]


def test_parse_mix_refuses_a_bad_name_before_anything_is_read():
    with pytest.raises(ExportError, match=r"bad --mix 'a\\n@v1:1'"):
        parse_mix("a\n@v1:1")
    assert parse_mix("chat@v2:0.5").ref == "chat@v2"


def test_a_folder_with_a_bad_name_is_not_a_dataset(warehouse_root, capsys):
    wh = Warehouse(warehouse_root)
    with wh.writer("good", "problems") as writer:
        writer.write(generate_problems(3))
    shutil.copytree(warehouse_root / "good", warehouse_root / "Bad Name")
    assert wh.datasets() == ["good"]
    assert run(capsys, "sql", "SELECT count(*) AS n FROM good", "--csv")[1] == "n\n3\n"
