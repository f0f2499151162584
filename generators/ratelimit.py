"""Requests-per-minute and tokens-per-minute budgets for one endpoint of a hosted teacher.

A ``RateLimit`` keeps what was sent in the last window (a sliding window, as providers count) and
what the server said about its own counters (``x-ratelimit-remaining-*`` at 0 until
``x-ratelimit-reset-*``; a 429's ``Retry-After``), and makes the next request wait until sending it
keeps every budget. Tokens are counted before sending as the provider does (prompt estimate plus
``max_tokens`` for each sample), then corrected with the usage the answer reports.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping

from starmill.generators.base import GenerationRequest, SettingsError

WINDOW = 60.0  # seconds: budgets are per minute
CHARS_PER_TOKEN = 4  # a prompt's token estimate where no tokenizer is at hand (OpenAI's rule of thumb)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def prompt_tokens(request: GenerationRequest) -> int:
    """A request's prompt tokens, estimated from its characters (plus a few per chat message)."""
    if request.messages is not None:
        chars = sum(len(str(m.get("content") or "")) for m in request.messages) + len(request.prefix or "")
        return chars // CHARS_PER_TOKEN + 4 * len(request.messages) + 1
    return len(request.rendered()) // CHARS_PER_TOKEN + 1


def request_tokens(request: GenerationRequest, n: int) -> int:
    """What a provider counts against tokens-per-minute when the request is sent: prompt + n × max_tokens."""
    return prompt_tokens(request) + n * request.sampling.max_tokens


def parse_duration(value: str | None) -> float | None:
    """Seconds from a reset header: ``1s``, ``6m0s``, ``20ms``, ``1h2m3.5s``, or a bare number of seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


class _Sent:
    __slots__ = ("at", "tokens", "counted")

    def __init__(self, at: float, tokens: int, counted: bool) -> None:
        self.at, self.tokens, self.counted = at, tokens, counted  # counted: in the window now


class RateLimit:
    """Budgets of one endpoint; ``rpm``/``tpm`` None means no budget of that kind (the server's
    headers still pause it). Used from one event loop at a time (a backend's generate calls are
    serialized), so it needs no lock."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise SettingsError(f"{name} must be a whole number >= 1, got {value!r}")
        self.rpm, self.tpm, self.window, self.clock = rpm, tpm, window, clock
        self.sent: deque[_Sent] = deque()
        self.tokens = 0  # in the window
        self.paused_until = 0.0

    def wait(self, tokens: int) -> float:
        """Seconds until a request of ``tokens`` may be sent (0: now)."""
        now = self.clock()
        while self.sent and self.sent[0].at <= now - self.window:
            gone = self.sent.popleft()
            gone.counted = False
            self.tokens -= gone.tokens
        wait = max(0.0, self.paused_until - now)
        if self.rpm is not None and len(self.sent) >= self.rpm:
            wait = max(wait, self.sent[len(self.sent) - self.rpm].at + self.window - now)
        if self.tpm is not None and self.sent and self.tokens + tokens > self.tpm:
            # the oldest sends that must leave the window before this one fits (alone it always fits)
            over, i = self.tokens + tokens - self.tpm, 0
            while over > 0 and i < len(self.sent):
                over -= self.sent[i].tokens
                i += 1
            wait = max(wait, self.sent[i - 1].at + self.window - now)
        return wait

    async def acquire(self, tokens: int) -> _Sent:
        """Wait for room, then count the request as sent now; correct it later with ``settle``."""
        while (delay := self.wait(tokens)) > 0:
            await asyncio.sleep(delay)
        budgeted = self.rpm is not None or self.tpm is not None
        entry = _Sent(self.clock(), tokens, budgeted)
        if budgeted:  # without budgets only the server's pauses apply: nothing to count
            self.sent.append(entry)
            self.tokens += tokens
        return entry

    def settle(self, entry: _Sent, used: int | None) -> None:
        """The tokens the answer says were used (the estimate counted max_tokens for every sample)."""
        if used is not None and used >= 0 and entry.counted:
            self.tokens += used - entry.tokens
            entry.tokens = used

    def pause(self, seconds: float) -> None:
        """Send nothing on this endpoint for ``seconds`` (a 429's Retry-After holds for every request)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """The server's own counters: a budget it says is spent pauses the endpoint until it resets."""
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            try:
                spent = remaining is not None and float(remaining) <= 0
            except ValueError:
                continue
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            if spent and reset is not None:
                self.pause(min(reset, WINDOW * 10))
