"""Gold answers out of reference solutions (GSM8K ``#### 72``, MATH ``\\boxed{…}``)."""
from __future__ import annotations


def gold_answer(value: str, answer_format: str) -> str | None:
    """The gold answer in ``value`` for the given format, or None when it has none."""
    text = value.strip()
    if answer_format == "plain":
        return text or None
    if answer_format == "gsm8k":
        if "####" not in text:
            return None
        answer = text.rsplit("####", 1)[1].strip().replace(",", "")
        return answer or None
    return _last_boxed(text)


def _last_boxed(text: str) -> str | None:
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth, begin = 1, i
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[begin:i].strip() or None
        i += 1
    return None
