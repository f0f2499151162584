"""Code as a verifiable domain: the program in a model's output (``extract_program``) and its run against
a test spec (``schemas.code.CodeSpec``) in the sandbox, judged by a trusted harness (``run_tests``)."""

from starmill.filters.code.extract import Extracted, extract_program
from starmill.filters.code.runner import TestRun, run_tests

__all__ = ["Extracted", "TestRun", "extract_program", "run_tests"]
