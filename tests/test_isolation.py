"""The hostile-code suite: code starmill did not write (a model's answer run by a careless scorer, a user's
function, a model-written program) tries every route out of the sandbox. Each attempt is refused or
contained, the verdict is never ``correct`` because of it, and the next check is unaffected.

Every attack's code sets ``result = True`` only if it worked, so a ``correct`` verdict is a leak."""

import os
import socket
import subprocess
import threading
import time

import pytest

from starmill.filters.isolation import FunctionSandbox, IsolationUnavailable, Limits, available, run_program
from starmill.filters.verifiers import get_verifier
from starmill.schemas import ProblemRecord
from tests import hostile_functions

pytestmark = pytest.mark.skipif(not available(), reason="bubblewrap is not installed (CI installs it)")
HOST_SECRET = hostile_functions.HOST_SECRET


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """Things on the grading machine an attack would want: a secret in the environment and in a token
    file, a folder the sandbox can see (read-only), a folder it can't, and a listening TCP server."""
    root = tmp_path_factory.mktemp("host")
    token = root / "token"
    token.write_text(HOST_SECRET)
    os.environ["HF_TOKEN"] = HOST_SECRET
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield {
        "root": str(root),
        "token": str(token),
        "port": server.getsockname()[1],
        "accepted": accepted,
        "visible": os.path.dirname(os.path.abspath(__file__)),
        "marker": str(root / "marker"),
        "home_token": os.path.expanduser("~/.cache/huggingface/token"),
    }
    server.close()
    os.environ.pop("HF_TOKEN", None)


def problem(host, **extra):
    return ProblemRecord.make("t", "q", "x", metadata={**{k: v for k, v in host.items() if k != "accepted"}, **extra})


ATTACKS = list(hostile_functions.ATTACKS.items())


@pytest.fixture(scope="module")
def hostile():
    verifier = get_verifier("python", function="tests.hostile_functions:run_answer", timeout=3.0, memory_mb=1024)
    yield verifier


def _meta(host):
    return {k: v for k, v in host.items() if k != "accepted"}


def attack(verifier, host, code, function="tests.hostile_functions:run_named"):
    """What the sandbox answers when a scorer runs ``code`` (by default precompiled from a file, as a
    hostile user function would be, so the OS-level layer is what stops it; ``run_answer`` compiles
    the string at call time, as a scorer that evals the model's answer does)."""
    return verifier._box().call(function, verifier.limits, problem={"metadata": _meta(host)}, output="", answer=code)


@pytest.mark.parametrize("name, code", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_code_is_contained_and_never_correct(name, code, hostile, host):
    outcome = attack(hostile, host, name)
    verdict = hostile._judge(outcome.value, code, "x", 0.0).verdict if outcome.status == "ok" else outcome.status
    if name != "forge_reply":  # a user's own function may decide its verdict any way it likes, this one included
        assert verdict != "correct", (name, outcome)
    assert not os.path.exists(host["marker"]), name
    assert not any(os.path.exists(os.path.join(host["visible"], f)) for f in ("pwned.txt", "pwned.db")), name
    assert not host["accepted"], f"{name}: the sandbox reached a server on the host"
    # the next check is unaffected, through the verifier's whole path
    assert hostile.verify(problem(host), "The answer is: result = True").verdict == "correct"
    assert hostile.verify(problem(host), "The answer is: result = False").verdict == "wrong"


def test_each_route_is_refused_for_the_reason_claimed(hostile, host):
    """Not only 'not correct': the tripwire or the OS says why (a broken layer shows up here)."""

    def run(name):
        return attack(hostile, host, name)

    assert run("probe_os_system").rule == "blocked:os.system"
    assert run("probe_subprocess").rule.startswith("blocked:subprocess")
    assert run("probe_write").rule.startswith("blocked:open for writing")
    assert run("probe_loop").status == "timeout"
    assert run("probe_memory").status == "memory"
    assert run("probe_reply").rule == "reply_too_large"
    # below the tripwire, the OS: no process slot for a fork from C (RLIMIT_NPROC) ...
    assert run("probe_posixsubprocess").value == "BlockingIOError"
    # ... a read-only filesystem for writes from C, even in a folder the sandbox can see ...
    assert run("probe_sqlite").value in ("unable to open database file", "attempt to write a readonly database")
    # ... and a /proc that shows only the sandbox's own processes
    assert len(run("probe_pids").value) == 3  # bwrap's init, the zygote, this call


@pytest.mark.parametrize("name, code", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_an_answer_a_scorer_evaluates_cannot_forge_its_verdict(name, code, hostile, host):
    """Code compiled from the answer at call time (sympy's parse_expr) that reaches for os, imports or
    dunders trips the wire before it runs, so it cannot write the call's reply itself."""
    outcome = attack(hostile, host, code, function="tests.hostile_functions:run_answer")
    assert outcome.status != "ok" or outcome.value is not True, outcome
    assert not os.path.exists(host["marker"])


def test_plain_answers_a_scorer_evaluates_still_work(hostile, host):
    for code, value in (("result = True", True), ("result = 2 * 3 == 6", True), ("x = 1\nresult = x > 2", False)):
        outcome = attack(hostile, host, code, function="tests.hostile_functions:run_answer")
        assert (outcome.status, outcome.value) == ("ok", value)


def test_a_thread_left_behind_does_not_change_the_next_verdict(host):
    box = FunctionSandbox(["tests.hostile_functions"])
    roomy = Limits(wall_seconds=3)
    try:
        assert box.call("tests.hostile_functions:leave_thread", roomy, problem={}, output="", answer="").value is False
        assert box.call("tests.hostile_functions:poisoned", roomy, problem={}, output="", answer="").value is False
    finally:
        box.close()


def test_a_hostile_answer_through_a_real_third_party_scorer(host):
    """reasoning-gym's polynomial_multiplication scorer hands the answer to sympy's parse_expr."""
    pytest.importorskip("reasoning_gym")
    meta = {"task": "polynomial_multiplication", "size": 2, "seed": 1, "index": 0, "config": {}}
    p = ProblemRecord.make("t", "multiply", "x", metadata={"reasoning_gym": meta})
    verifier = get_verifier("reasoning_gym")
    for attack in (
        f"__import__('os').system('touch {host['marker']}')",
        f"__import__('subprocess').run(['touch', '{host['marker']}'])",
        f"open('{host['marker']}', 'w').write('x')",
        "__import__('os').write(5, b'{}')",
    ):
        got = verifier.verify(p, f"The answer is {attack}")
        assert got.verdict != "correct", got
        assert not os.path.exists(host["marker"])


def test_no_sandbox_means_one_clear_error_unless_opted_out(monkeypatch):
    from starmill.filters.isolation import base

    base._probe.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        with pytest.raises(IsolationUnavailable, match="bubblewrap"):
            get_verifier("reasoning_gym")
        with pytest.raises(IsolationUnavailable):
            run_program(["/bin/true"])
    finally:
        monkeypatch.undo()
        base._probe.cache_clear()


def test_opting_out_is_explicit_and_visible_in_the_version(caplog):
    verifier = get_verifier("python", function="tests.verifier_functions:exact_upper", isolation="none")
    assert verifier.version.endswith("+unisolated")
    assert "WITHOUT isolation" in caplog.text
    assert verifier.verify(ProblemRecord.make("t", "q", "Paris"), "The answer is paris").verdict == "correct"
    with pytest.raises(ValueError, match="isolation"):
        get_verifier("python", function="tests.verifier_functions:exact_upper", isolation="docker")


@pytest.mark.parametrize(
    "function, message",
    [
        ("os:system", "standard library"),
        ("tests.verifier_functions:nope", "not found"),
        ("tests.no_such_module:f", "cannot import"),
        ("tests.hostile_functions:POISON", "not a Python function"),
    ],
)
def test_a_bad_user_function_is_one_error_before_any_check(function, message):
    with pytest.raises(ValueError, match=message):
        get_verifier("python", function=function)


# Programs (the code verifier's path): a fresh sandbox per run.
PROGRAMS = [
    ("touch_host", "import subprocess; subprocess.run(['touch', {marker!r}])"),
    ("write_host", "open({marker!r}, 'w').write('x')"),
    ("write_visible", "import sys, os; open(os.path.join(os.path.dirname(os.__file__), 'pwned.py'), 'w')"),
    ("secret_env", "import os; print(os.environ.get('HF_TOKEN'))"),
    ("secret_file", "print(open({token!r}).read())"),
    ("network", "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')"),
    ("fork_bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"),
    ("memory_bomb", "x = bytearray(16 * 1024 ** 3)"),
    ("endless", "while True: pass"),
    ("huge_output", "import sys\nwhile True: sys.stdout.write('z' * 65536)"),
    ("orphan", "import subprocess; subprocess.Popen(['sleep', '31.337'], start_new_session=True); print('left')"),
]


def test_a_program_cannot_start_a_process():
    """The seccomp filter refuses fork, vfork and clone of a process (not of a thread): the fork bomb
    above ends at the wall clock either way, so this asks the kernel's answer directly."""
    import sys

    code = (
        "import os, subprocess\n"
        "try:\n    pid = os.fork()\nexcept OSError as e:\n    print('fork refused', e.errno)\n"
        "else:\n    if pid == 0:\n        os._exit(0)\n    print('forked')\n"
        "try:\n    subprocess.run(['true'])\nexcept OSError as e:\n    print('spawn refused', e.errno)\n"
        "else:\n    print('spawned')\n"
    )
    out = run_program(
        [sys.executable, "-I", "/input/main.py"],
        files={"main.py": code.encode()},
        limits=Limits(wall_seconds=10, cpu_seconds=10, memory_mb=1024),
    )
    lines = out.stdout.decode().split("\n")
    assert lines[0].startswith("fork refused") and lines[1].startswith("spawn refused"), out


@pytest.mark.parametrize("name, source", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_a_hostile_program_is_contained(name, source, host):
    import sys

    code = source.format(marker=host["marker"], token=host["token"], port=host["port"])
    out = run_program(
        [sys.executable, "-I", "/input/main.py"],
        files={"main.py": code.encode()},
        limits=Limits(wall_seconds=3, cpu_seconds=3, memory_mb=1024, output_bytes=1 << 20),
    )
    assert not os.path.exists(host["marker"])
    assert HOST_SECRET.encode() not in out.stdout + out.stderr
    assert b"connected" not in out.stdout and not host["accepted"]
    assert len(out.stdout) <= 1 << 20
    assert out.status in {"ok", "timeout", "crashed", "output_limit"}
    if name == "endless":
        assert out.status == "timeout"
    if name == "fork_bomb":  # no process slot at all: the loop spins on refusals until the wall clock
        assert out.status == "timeout"
    if name == "huge_output":
        assert out.status == "output_limit"
    if name == "memory_bomb":
        assert b"MemoryError" in out.stderr
    time.sleep(0.1)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 31.337" not in ps, "a process outlived its sandbox"
