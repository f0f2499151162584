"""Gold answers out of reference solutions (GSM8K ``#### 72``, MATH ``\\boxed{…}``)."""

from __future__ import annotations

RULES = {"gsm8k": "hashes", "boxed": "boxed"}  # the extraction rule each format requires


def gold_answer(value: str, answer_format: str) -> str | None:
    """The gold answer in ``value`` for the given format, or None when it has none.

    Uses the answer checker's own extraction, so gold and predictions are read the same way;
    GSM8K's thousands separators are removed ("1,000" is stored as "1000").
    """
    from starmill.filters.answers import extract_gold

    text = value.strip()
    if answer_format == "plain":
        return text or None
    found = extract_gold(text)
    if found.answer is None or found.rule != RULES[answer_format]:
        return None
    answer = found.answer.strip()
    if answer_format == "gsm8k":
        answer = answer.replace(",", "")
    return answer or None
