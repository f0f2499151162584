"""Held-out evaluation: greedy pass@1, unbiased pass@k and maj@k, written as ``evals`` versions."""

from starmill.evaluation.run import EvalError, EvalReport, EvalSettings, evaluate

__all__ = ["EvalError", "EvalReport", "EvalSettings", "evaluate"]
