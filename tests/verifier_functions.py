"""User verifier functions for tests/test_verifiers_external.py (imported inside sandbox workers)."""

import os
import time


def exact_upper(problem, output, answer):
    return answer.strip().upper() == problem["gold_answer"].strip().upper()


def half_credit(problem, output, answer):
    return 0.5


def named_verdict(problem, output, answer):
    return "unparseable_pred"


def escape(problem, output, answer):
    os.system("touch " + problem["metadata"]["marker"])
    return True


def write_file(problem, output, answer):
    with open(problem["metadata"]["marker"], "w") as handle:
        handle.write("x")
    return True


def hang(problem, output, answer):
    while True:
        time.sleep(0.01)


def crash(problem, output, answer):
    raise RuntimeError("boom")


def not_json(problem, output, answer):
    return object()
