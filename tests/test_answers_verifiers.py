"""Pluggable verifiers: the registry, the built-ins, and the name and version on every verdict."""

import dataclasses
import json
import re

import pyarrow as pa
import pytest

from starmill.filters.answers import CHECKER_VERSION
from starmill.filters.verifiers import Verifier, available, get_verifier, register
from starmill.schemas.samples import VERDICT
from tests.helpers import problem


def test_builtins_are_registered_and_unknown_names_listed():
    assert {"math", "exact", "numeric", "regex"} <= set(available())
    with pytest.raises(ValueError, match="unknown verifier 'judge' \\(known: .*exact.*math") as err:
        get_verifier("judge")
    assert "numeric" in str(err.value) and "regex" in str(err.value)
    with pytest.raises(ValueError, match="unknown answer form"):
        get_verifier("math", form="lowest")


def test_math_verifier_is_the_typed_checker_and_reads_the_form_from_metadata(checker_pool):
    verifier = get_verifier("math", pool=checker_pool)
    plain = problem(gold="23/131")
    reduced = dataclasses.replace(plain, metadata=json.dumps({"answer_form": "reduced"}))
    first = verifier.verify(plain, "The answer is 92/524.")
    assert (first.verdict, first.checker, first.checker_version) == ("correct", "math", CHECKER_VERSION)
    assert verifier.verify(reduced, "The answer is 92/524.").rule == "form:reduced"
    assert verifier.verify({"gold_answer": "0x1854"}, "\\boxed{0x1855}").verdict == "wrong"
    batch = list(
        verifier.verify_batch([(plain, "#### 92/524"), (reduced, "#### 92/524"), ({"gold": "x^2"}, "#### x**2")])
    )
    assert [(v.verdict, v.form) for v in batch] == [("correct", None), ("wrong", "reduced"), ("correct", None)]
    assert all(v.checker == "math" for v in batch)


@pytest.mark.parametrize(
    "name,options,gold,output,expect",
    [
        ("exact", {}, "ABC-12", "The answer is ABC-12.", "correct"),
        ("exact", {}, "Paris", "The answer is paris.", "wrong"),
        ("exact", {"ignore_case": True}, "Paris", "The answer is paris.", "correct"),
        ("exact", {"pred_is_answer": True}, "a  b", " a b ", "correct"),
        ("exact", {}, "", "#### 3", "unparseable_gold"),
        ("numeric", {}, "3.14159", "#### 3.14159", "correct"),
        ("numeric", {}, "3.14159", "#### 3.1416", "wrong"),
        ("numeric", {"rel_tol": 1e-3}, "3.14159", "#### 3.1416", "correct"),
        ("numeric", {"abs_tol": 0.5}, "10", "#### 10.4", "correct"),
        ("numeric", {"sig_figs": 3}, "851980", "#### 8.52e5", "correct"),
        ("numeric", {"sig_figs": 3}, "851980", "#### 8.53e5", "wrong"),
        ("numeric", {}, "1,234", "#### 1234", "correct"),
        ("numeric", {}, "x", "#### 3", "unparseable_gold"),
        ("numeric", {}, "3", "#### three", "unparseable_pred"),
        ("numeric", {}, "18", "The answer is 18 is incorrect.", "unparseable_pred"),
        ("numeric", {}, "3", "no marked answer 3", "unparseable_pred"),
        ("numeric", {"lenient": True}, "3", "no marked answer 3", "correct"),
        ("regex", {"pattern": r"[A-Z]{3}-\d+"}, "", "The answer is ABC-12.", "correct"),
        ("regex", {"pattern": r"[A-Z]{3}-\d+"}, "", "The answer is ABC-12 or XYZ-1.", "wrong"),
        ("regex", {"pattern": r"(?:the )?{gold}", "ignore_case": True}, "1+1", "The answer is THE 1+1.", "correct"),
        ("regex", {}, "3", "#### 3", "unparseable_gold"),
    ],
)
def test_simple_verifiers(name, options, gold, output, expect):
    verdict = get_verifier(name, **options).verify({"gold_answer": gold}, output)
    assert (verdict.verdict, verdict.checker, verdict.checker_version) == (expect, name, VERSIONS[name])


VERSIONS = {"exact": "1", "numeric": "2", "regex": "1"}  # numeric 2: judging unit words are not dropped as units


def test_regex_pattern_from_the_problem_and_bad_patterns():
    verifier = get_verifier("regex")
    item = {"gold_answer": "", "metadata": json.dumps({"answer_pattern": r"\d{4}"})}
    assert verifier.verify(item, "#### 2024").verdict == "correct"
    assert verifier.verify({"gold_answer": "", "metadata": {"answer_pattern": "("}}, "#### 1").rule == "bad_pattern"
    with pytest.raises(re.error):
        get_verifier("regex", pattern="(")


def test_a_registered_verifier_is_available_by_name_and_its_rows_fit_the_samples_schema(monkeypatch):
    from starmill.filters.verifiers import registry

    monkeypatch.setattr(
        registry.VERIFIERS, "classes", dict(registry.VERIFIERS.classes)
    )  # this test's verifier stays here

    @register
    class Parity(Verifier):
        name, version = "test-parity", "0.1"

        def verify(self, problem, output):
            same = int(output) % 2 == int(problem["gold_answer"]) % 2
            return self._verdict("correct" if same else "wrong", "parity", output, problem["gold_answer"], 0.0)

    verdicts = list(
        get_verifier("test-parity").verify_batch([({"gold_answer": "4"}, "6"), ({"gold_answer": "4"}, "7")])
    )
    assert [v.verdict for v in verdicts] == ["correct", "wrong"]
    rows = [v.to_row() for v in verdicts]
    assert pa.array(rows, type=VERDICT).to_pylist() == rows and rows[0]["checker"] == "test-parity"
    with pytest.raises(ValueError, match="already registered"):
        register(type("Other", (Parity,), {"name": "math"}))
