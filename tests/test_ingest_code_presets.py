"""`starmill ingest --preset mbpp|apps`: rows in MBPP's and APPS's upstream shapes (JSONL and Parquet) become
code problems whose gold is a test spec (asserts, stdio, functional for APPS's call-based rows) with the reference
solution; malformed specs are rejects with the exact reason; the references pass the code verifier."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from starmill.filters.code.hints import reference_of
from starmill.filters.isolation import available
from starmill.warehouse import Warehouse
from tests.helpers import run_cli as run

MBPP = [
    {
        "task_id": 2,
        "text": "Write a function to find the similar elements from the given two tuple lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n"
        "  return (res) ",
        "test_list": [
            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
        ],
        "test_setup_code": "",
        "challenge_test_list": [],
    },
    {
        "task_id": 3,
        "text": "Write a python function to identify non-prime numbers.",
        "code": "import math\r\ndef is_not_prime(n):\r\n    result = False\r\n    for i in range(2,int(math.sqrt(n)) + 1):"
        "\r\n        if n % i == 0:\r\n            result = True\r\n    return result",
        "test_list": ["assert is_not_prime(2) == False", "assert is_not_prime(10) == True"],
        "test_setup_code": "import math",
        "challenge_test_list": ["assert is_not_prime(35) == True"],
    },
    {
        "task_id": 4,
        "text": "No tests.",
        "code": "x = 1",
        "test_list": [],
        "test_setup_code": "",
        "challenge_test_list": [],
    },
    {
        "task_id": 5,
        "text": "A broken test.",
        "code": "x = 1",
        "test_list": ["assert f(1) =="],
        "test_setup_code": "",
        "challenge_test_list": [],
    },
]
APPS = [
    {
        "problem_id": 0,
        "question": "Read two integers and print their sum.",
        "difficulty": "introductory",
        "solutions": json.dumps(["a, b = map(int, input().split())\nprint(a + b)\n"]),
        "url": "u0",
        "starter_code": "",
        "input_output": json.dumps({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]}),
    },
    {
        "problem_id": 1,
        "question": "Return the sum of a list.",
        "difficulty": "interview",
        "url": "u1",
        "solutions": json.dumps(["def total(xs):\n    return sum(xs)\n"]),
        "starter_code": "def total(xs):",
        "input_output": json.dumps({"fn_name": "total", "inputs": [[[1, 2, 3]], [[]]], "outputs": [[6], [0]]}),
    },
    {
        "problem_id": 2,
        "question": "Not JSON.",
        "difficulty": "interview",
        "url": "u2",
        "solutions": "[]",
        "starter_code": "",
        "input_output": "{not json",
    },
    {
        "problem_id": 3,
        "question": "A class.",
        "difficulty": "interview",
        "url": "u3",
        "solutions": "[]",
        "starter_code": "class Solution:\n    def f(self, x):",
        "input_output": json.dumps({"fn_name": "f", "inputs": [[1]], "outputs": [1]}),
    },
    {
        "problem_id": 4,
        "question": "Uneven.",
        "difficulty": "competition",
        "url": "u4",
        "solutions": "[]",
        "starter_code": "",
        "input_output": json.dumps({"inputs": ["1"], "outputs": []}),
    },
]


def write(path, rows):
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def ingest(capsys, tmp_path, name, rows, suffix):
    wh = tmp_path / "wh"
    code, out, err = run(
        capsys,
        "ingest",
        str(write(tmp_path / f"{name}{suffix}", rows)),
        "--preset",
        name,
        "--name",
        name,
        "-w",
        str(wh),
    )
    assert code == 0, err
    warehouse = Warehouse(str(wh))
    return out, warehouse.read(name).to_pylist(), warehouse.read(name, table="rejects").to_pylist()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_mbpp_rows_become_asserts_specs(capsys, tmp_path, suffix):
    out, problems, rejects = ingest(capsys, tmp_path, "mbpp", MBPP, suffix)
    assert "2 problems, 2 rejects" in out
    first, second = (json.loads(p["gold_answer"]) for p in problems)
    assert first == {
        "kind": "asserts",
        "asserts": MBPP[0]["test_list"],
        "entry_point": "similar_elements",
        "reference": MBPP[0]["code"],
    }
    assert second["asserts"] == MBPP[1]["test_list"] + MBPP[1]["challenge_test_list"]
    assert second["setup"] == "import math"
    assert problems[0]["question"].endswith("Your code should pass these tests:\n" + "\n".join(MBPP[0]["test_list"]))
    assert problems[0]["gold_solution"] == MBPP[0]["code"]
    assert json.loads(problems[0]["metadata"]) == {"task_id": 2, "entry_point": "similar_elements"}
    assert [(r["reason"], r["detail"]) for r in rejects] == [
        ("bad_spec", "test_list must be a non-empty list of asserts"),
        ("bad_spec", "assert 0 is not valid Python (SyntaxError: invalid syntax)"),
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_apps_rows_become_stdio_or_functional_specs(capsys, tmp_path, suffix):
    out, problems, rejects = ingest(capsys, tmp_path, "apps", APPS, suffix)
    assert "2 problems, 3 rejects" in out
    stdio, call = (json.loads(p["gold_answer"]) for p in problems)
    assert stdio == {
        "kind": "stdio",
        "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "3 4\n", "output": "7\n"}],
        "reference": "a, b = map(int, input().split())\nprint(a + b)\n",
    }
    assert call["kind"] == "functional" and call["entry_point"] == "total"
    assert "CASES = [([[1, 2, 3]], [6]), ([[]], [0])]" in call["test"]
    assert problems[1]["question"] == (
        "Return the sum of a list.\n```python\ndef total(xs):\n```\nUse Call-Based format: define the function total."
    )
    assert json.loads(problems[0]["metadata"]) == {"problem_id": 0, "difficulty": "introductory", "url": "u0"}
    reasons = [(r["reason"], r["detail"].split(" (")[0]) for r in rejects]
    assert reasons == [
        ("bad_spec", "field 'input_output' is not JSON"),
        ("bad_spec", "class-based starter code"),
        ("bad_spec", "input_output needs inputs and outputs: non-empty lists of the same length"),
    ]


def test_presets_default_to_the_code_verifier():
    from starmill.warehouse.sources import SourceSpec

    assert SourceSpec(uri="x.jsonl", preset="mbpp").verifiers == ["code"]
    assert SourceSpec(uri="x.jsonl", preset="apps").verifiers == ["code"]
    assert SourceSpec(uri="x.jsonl", preset="gsm8k").verifiers == ["math"]


@pytest.mark.skipif(not available(), reason="needs bubblewrap")
def test_references_pass_and_wrong_programs_fail(capsys, tmp_path):
    from starmill.filters.verifiers import get_verifier

    verifier = get_verifier("code")
    _, mbpp, _ = ingest(capsys, tmp_path, "mbpp", MBPP, ".jsonl")
    _, apps, _ = ingest(capsys, tmp_path, "apps", APPS, ".jsonl")
    for problem in mbpp + apps:
        assert verifier.verify(problem, f"```python\n{reference_of(problem)}\n```").verdict == "correct"
    assert verifier.verify(apps[0], "```python\nprint(3)\n```").rule == "wrong_answer"
    assert verifier.verify(apps[1], "```python\ndef total(xs):\n    return (sum(xs),)\n```").verdict == "correct"
    assert verifier.verify(apps[1], "```python\ndef total(xs):\n    return 1\n```").rule == "wrong_answer"
    assert (
        verifier.verify(mbpp[1], "```python\ndef is_not_prime(n):\n    return n % 2 == 0\n```").rule == "wrong_answer"
    )
