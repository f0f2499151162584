"""The verdict record every check returns; maps onto ``schemas.samples.VERDICT``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CHECKER = "starmill"
# Bump on any change that can alter a verdict, so a dataset can be re-graded by a newer checker.
CHECKER_VERSION = "2.3.0"  # 2.0: typed answers, declared forms, no fallback parser; 2.1: held-out audit fixes;
# 2.2: no rounding of a decimal prediction, (a, b) is no inequality, a one-element set is no number
# 2.3: hedges and other numbers after the final answer, degrees vs other units, number words, answer shapes (issue 24)
MAX_STORED_CHARS = 1000  # extracted answers longer than this are stored truncated

KINDS = ("correct", "wrong", "unparseable_gold", "unparseable_pred", "timeout", "error")


def _clip(text: str | None, limit: int = MAX_STORED_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"…[{len(text)} chars]"


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # one of KINDS
    rule: str  # the rule that decided, e.g. "rational", "symbolic", "multiple_answers", "time_limit"
    pred: str | None  # the extracted prediction (None when nothing was extracted)
    gold: str | None  # the extracted gold answer
    seconds: float  # wall time of the whole check
    checker: str = CHECKER
    checker_version: str = CHECKER_VERSION
    form: str | None = None  # the declared answer form it was checked against (``forms.Form``), if any
    detail: str | None = None  # why, in words, where a verifier has more to say (an LLM judge's reasoning)

    def __post_init__(self) -> None:
        if self.verdict not in KINDS:
            raise ValueError(f"verdict must be one of {KINDS}, got {self.verdict!r}")

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def to_row(self) -> dict[str, Any]:
        """The row for the ``verdicts`` list of the samples table (``schemas.samples.VERDICT``)."""
        from starmill.schemas.samples import VERDICT

        row = asdict(self)
        row["pred"], row["gold"], row["detail"] = _clip(self.pred), _clip(self.gold), _clip(self.detail, 4000)
        return {k: row[k] for k in (f.name for f in VERDICT)}
