"""A warehouse that is a file, read-only or full, and export targets that are links or files: one
`Error:` line naming the path, exit 1, no version and no half folder left; other data intact. Real
tmpfs mounts stand in for the read-only and the full disk (skipped where mounting is not allowed).
Genuine bugs are not hidden: they keep their traceback."""

import errno
import os
import shutil
import subprocess

import pytest

from starmill.warehouse import Warehouse
from tests.helpers import run_cli as run


@pytest.fixture
def tmpfs(tmp_path):
    """``make(name, size) -> folder`` on its own tmpfs; ``make.read_only(folder)`` remounts it read-only."""
    mounted = []

    def make(name, size="512k"):
        folder = tmp_path / name
        folder.mkdir()
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    make.read_only = lambda folder: subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def big_source(tmp_path, mb=2):
    """Incompressible questions: more than a small disk holds."""
    path = tmp_path / "big.jsonl"
    with open(path, "w") as handle:
        for i in range(mb * 256):
            handle.write('{"question": "%s", "answer": "%d"}\n' % (os.urandom(2048).hex()[:4000], i))
    return path


def one_error(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, ""), (code, out, err)
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err.removeprefix("Error: ").rstrip("\n")


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "procedural", "-n", "3"],
        ["datasets"],
        ["show", "problems"],
        ["sql", "SELECT 1"],
        ["export", "sft", "--to", "{tmp}/out"],
    ],
)
@pytest.mark.parametrize(
    "root,message",
    [
        ("/dev/null", "--warehouse /dev/null is not a folder"),
        ("{tmp}/afile", "--warehouse {tmp}/afile is not a folder"),
        ("{tmp}/afile/sub", "--warehouse {tmp}/afile/sub is inside {tmp}/afile, which is not a folder"),
    ],
)
def test_warehouse_that_is_not_a_folder(tmp_path, capsys, command, root, message):
    (tmp_path / "afile").write_text("not a warehouse")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in [*command, "--warehouse", root]]
    assert (
        one_error(capsys, *argv)
        == message.replace("{tmp}", str(tmp_path)) + ": give a folder (it is created if missing)"
    )
    assert (tmp_path / "afile").read_text() == "not a warehouse" and not (tmp_path / "out").exists()


def test_read_only_warehouse(tmp_path, capsys, tmpfs):
    root = tmpfs("wh")
    assert run(capsys, "ingest", "procedural", "-n", "5", "-w", str(root))[0] == 0
    tmpfs.read_only(root)
    message = one_error(capsys, "ingest", "procedural", "-n", "7", "-w", str(root))
    assert message.startswith(f"{root}/problems") and message.endswith(": Read-only file system"), message
    wh = Warehouse(str(root))
    assert wh.versions("problems") == [1] and wh.read("problems").num_rows == 5  # reads still work
    code, out, _ = run(capsys, "sql", "SELECT count(*) AS n FROM problems", "--csv", "-w", str(root))
    assert (code, out) == (0, "n\n5\n")


def test_full_disk_commits_no_version(tmp_path, capsys, tmpfs):
    root = tmpfs("wh", size="256k")
    assert run(capsys, "ingest", "procedural", "-n", "5", "-w", str(root))[0] == 0
    source = big_source(tmp_path)
    assert (
        one_error(capsys, "ingest", str(source), "-w", str(root))
        == f"No space left on device (in the warehouse {root})"
    )
    wh = Warehouse(str(root))
    assert wh.versions("problems") == [1] and wh.read("problems").num_rows == 5
    assert run(capsys, "datasets", "-w", str(root))[0] == 0


@pytest.fixture
def sft(make_sft_version, monkeypatch):
    wh, ref = make_sft_version(problems=12)
    monkeypatch.setenv("STARMILL_WAREHOUSE", wh.root)
    return wh


def test_export_to_links_and_files(sft, tmp_path, capsys):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    (tmp_path / "afile").write_text("x")
    for target, message in [
        ("dangling", "{tmp}/dangling is a dangling symbolic link: give the path of a real folder"),
        ("link", "{tmp}/link is a symbolic link: give the path of a real folder"),
        ("afile", "{tmp}/afile is a file, not a folder: choose another folder"),
        ("afile/out", "{tmp}/afile/out is under {tmp}/afile, which is not a folder"),
    ]:
        before = sorted(os.listdir(tmp_path))
        assert one_error(capsys, "export", "sft", "--to", str(tmp_path / target)) == message.replace(
            "{tmp}", str(tmp_path)
        )
        assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "nowhere").exists() and os.listdir(tmp_path / "empty") == []
    assert (tmp_path / "afile").read_text() == "x"


def test_export_to_a_full_or_read_only_disk_leaves_nothing(sft, tmp_path, capsys, tmpfs):
    full = tmpfs("full", size="16k")
    assert (
        one_error(capsys, "export", "sft", "--to", str(full / "a" / "out"))
        == f"cannot write the export to {full}/a/out: No space left on device (nothing was left there)"
    )
    assert os.listdir(full) == []  # no staging folder, no parent it made
    ro = tmpfs("ro")
    tmpfs.read_only(ro)
    assert (
        one_error(capsys, "export", "sft", "--to", str(ro / "out"))
        == f"cannot write the export to {ro}/out: Read-only file system (nothing was left there)"
    )


@pytest.mark.parametrize("weight", ["1e7", "100.5", "0", "1e-400"])
def test_mix_weight_is_capped(sft, tmp_path, capsys, weight):
    message = one_error(capsys, "export", "sft", "--to", str(tmp_path / "out"), "--mix", f"sft@v1:{weight}")
    assert message.startswith(f"bad --mix 'sft@v1:{weight}': use NAME@vN:WEIGHT with a weight above 0 and at most 100")
    assert not (tmp_path / "out").exists()


def test_bugs_keep_their_traceback(tmp_path, monkeypatch):
    from starmill.cli import main, os_error_line

    monkeypatch.setattr(Warehouse, "datasets", lambda self: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        main(["datasets", "-w", str(tmp_path)])
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/usr/lib/starmill/x")
    assert os_error_line(missing, str(tmp_path)) is None  # outside the warehouse: not the user's doing
    inside = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "sft" / "v1" / "a"))
    assert os_error_line(inside, str(tmp_path)) == f"{tmp_path}/sft/v1/a: No such file or directory"
    assert os_error_line(OSError(errno.EIO, "I/O error"), str(tmp_path)) is None


def test_debug_shows_the_traceback_of_an_error_line(tmp_path, monkeypatch):
    from starmill.cli import main
    from starmill.cli.options import BadWarehouse

    monkeypatch.setenv("STARMILL_DEBUG", "1")
    with pytest.raises(BadWarehouse):
        main(["datasets", "-w", "/dev/null"])
