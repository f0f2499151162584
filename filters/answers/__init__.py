"""Answer checking: extract final answers, compare them with gold answers, return verdicts.

from starmill.filters.answers import check_answer, check_batch
check_answer("72", "so she has \\\\boxed{72} apples").verdict      # "correct"
check_answer("23/131", "92/524", pred_is_answer=True, form="reduced").verdict  # "wrong"
"""

from starmill.filters.answers.check import (
    DEFAULT_TIMEOUT,
    acheck_answer,
    check_answer,
    check_batch,
    looks_like_solution,
    unreadable_gold,
)
from starmill.filters.answers.extract import Extraction, extract_answer, extract_gold
from starmill.filters.answers.forms import Form, parse_form
from starmill.filters.answers.pool import CheckerPool, shared_pool
from starmill.filters.answers.verdict import CHECKER, CHECKER_VERSION, KINDS, Verdict

__all__ = [
    "CHECKER",
    "CHECKER_VERSION",
    "DEFAULT_TIMEOUT",
    "KINDS",
    "CheckerPool",
    "Extraction",
    "Form",
    "Verdict",
    "acheck_answer",
    "check_answer",
    "check_batch",
    "extract_answer",
    "extract_gold",
    "looks_like_solution",
    "parse_form",
    "shared_pool",
    "unreadable_gold",
]
