"""What an export may say about the machine that made it: absolute local paths become
``<local>/NAME`` (fingerprints, not paths, identify a source file), and URLs lose their credentials."""

from __future__ import annotations

import re
from typing import Any

from starmill.schemas.redact import redact_text

# an absolute local path of two or more parts (/home/u/x.jsonl, ~/data/x): not a URL's path, a Hub id
# (org/name), a fraction (1/2) or a lone slash, which never follow a letter, digit, ':' or '/'
_PATH = re.compile(r"(?<![\w:/.~<>@-])(?:~|file://)?(/[^\s'\"`|()<>\[\]{},;/]+){2,}/?")


def local_name(match: re.Match) -> str:
    name = match.group(0).rstrip("/").rsplit("/", 1)[-1]
    return f"<local>/{name}"


def share_text(text: str) -> str:
    """``text`` with every absolute local path shortened to ``<local>/NAME`` and secrets redacted."""
    return _PATH.sub(local_name, redact_text(text))


def shared(value: Any) -> Any:
    """A copy of JSON-like ``value`` with ``share_text`` applied to every string (keys too)."""
    if isinstance(value, dict):
        return {shared(k) if isinstance(k, str) else k: shared(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shared(v) for v in value]
    if isinstance(value, str):
        return share_text(value)
    return value
