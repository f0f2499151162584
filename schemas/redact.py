"""Secrets out of everything starmill writes or shows: manifests, command lines, logs, cards, exports.

A value is redacted when its key names a secret (``api_key``, ``hf_token``, ``password``,
``Authorization`` …) or when it looks like one wherever it appears: credentials in a URL
(``http://user:key@host``), a secret query parameter (``?api_key=…``), a bearer token, a
``NAME=VALUE`` whose name is secret, or a known key shape (``sk-…``, ``hf_…``, ``AKIA…``, ``ghp_…``).
"""

from __future__ import annotations

import re
from typing import Any

MARK = "<redacted>"
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "secrets",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "apikey",
        "cookie",
        "bearer",
        "passphrase",
    }
)
KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "auth",
        "client",
        "signing",
        "encryption",
        "master",
        "session",
        "account",
        "subscription",
        "service",
    }
)
NOT_SECRET_TOKENS = frozenset({"pad", "eos", "bos", "unk", "sep", "cls", "mask"})  # tokenizer special tokens

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_USERINFO = re.compile(  # user[:password]@ after the scheme; a password may hold "/" (AWS keys); a port may not
    r"(?i)\b([a-z][a-z0-9+.\-]*://)(?:[^\s/@?#:]+:(?!\d+/)[^\s@?#]*|[^\s/@?#]+)@"
)
_NAME = re.compile(r"""(?i)(?<![\w.\-])-{0,2}([a-z][\w.\-]*)(["']?\s*[=:]\s*["']?)""")  # NAME= NAME: "NAME": '
_VALUE = re.compile(r"""[^\s"'&,;#?]+""")
_SCHEME = re.compile(r"(?i)\b(bearer|authorization\s*[:=]\s*[a-z]+)\s+[A-Za-z0-9._~+/\-]{8,}=*")
_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)


def words(name: str) -> list[str]:
    """``hfToken`` -> [hf, token]; ``X-Api-Key`` -> [x, api, key]; ``AWS_SECRET_ACCESS_KEY`` -> [aws, secret, …]."""
    return [w.lower() for w in _WORD.findall(name)]


def is_secret_name(name: str, *, in_url: bool = False) -> bool:
    """Whether a key, parameter or variable of this name holds a secret."""
    parts = words(str(name))
    if not parts:
        return False
    if in_url and (parts[-1] in ("sig", "signature") or parts in (["key"], ["code"])):
        return True
    if SECRET_WORDS.intersection(parts):
        return True
    last, before = parts[-1], parts[:-1]
    if last == "token":  # hf_token, access_token, token; not max_tokens or pad_token
        return not NOT_SECRET_TOKENS.intersection(before)
    if last in ("key", "keys") or (last == "id" and before[-1:] == ["key"]):  # api_key, aws_access_key_id
        return not before or bool(KEY_QUALIFIERS.intersection(before))
    return False


def _redact_assignments(text: str) -> str:
    """The value of every ``NAME=VALUE`` / ``NAME: VALUE`` whose name is secret (query parameters too)."""
    out, last = [], 0
    for match in _NAME.finditer(text):
        value = _VALUE.match(text, match.end())
        if match.start() < last or value is None:
            continue
        in_url = match.start() > 0 and text[match.start() - 1] in "?&;"
        if is_secret_name(match[1].rsplit(".", 1)[-1], in_url=in_url):
            out += [text[last : value.start()], MARK]
            last = value.end()
    return "".join(out) + text[last:]


def redact_text(text: str) -> str:
    """The text with every secret-looking part replaced by ``<redacted>``."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m[1]}{MARK}@", text)
    text = _SCHEME.sub(lambda m: f"{m[1]} {MARK}", text)
    text = _redact_assignments(text)
    return _SHAPES.sub(MARK, text)


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with secrets redacted, including the value after ``--api-key``-like options."""
    out: list[str] = []
    for arg in argv:
        previous = out[-1] if out else ""
        if previous.startswith("-") and "=" not in previous and is_secret_name(previous.lstrip("-")):
            out.append(MARK)
        else:
            out.append(redact_text(arg))
    return out


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bytes, int, float)) and not isinstance(value, bool) and value != ""


def _secret_value(value: Any) -> Any:
    """What a key that names a secret keeps: nothing of a scalar; the structure of a container."""
    if isinstance(value, list):
        return [MARK if _scalar(v) else redact(v) for v in value]
    return MARK if _scalar(value) else redact(value)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, strings, pydantic models) with secrets redacted."""
    if isinstance(value, dict):
        return {k: _secret_value(v) if is_secret_name(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    if hasattr(value, "model_dump") and hasattr(type(value), "model_construct"):  # a pydantic model
        data = redact(value.model_dump())
        try:
            return type(value).model_validate(data)
        except ValueError:  # a constrained field refuses the mark: keep the redacted values as they are
            return type(value).model_construct(**data)
    return value


def redact_log_records() -> None:
    """From now on every log record carries a redacted message and traceback, whatever handler
    (console, Prefect's API log handler) writes it."""
    import logging
    import traceback

    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            record.msg, record.args = redact_text(record.getMessage()), None
        except Exception:  # a record whose arguments do not format: leave it to the handler's own error path
            return record
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def redacted_error(exc: BaseException) -> BaseException:
    """``exc`` with secrets out of its message, for code that records messages (Prefect's states):
    its args redacted in place (type and traceback kept), or, for an exception whose message does not
    come from its args, a ``RuntimeError`` that carries the redacted message."""
    text = str(exc)
    if redact_text(text) == text:
        return exc
    exc.args = tuple(redact(a) for a in exc.args)
    if redact_text(str(exc)) == str(exc):
        return exc
    return RuntimeError(f"{type(exc).__name__}: {redact_text(text)}")
