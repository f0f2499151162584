"""A run's stop request: set by ``starmill run`` on Ctrl-C or SIGTERM, checked by backends inside a
batch (vLLM between engine steps, transformers between tokens, the OpenAI client while it awaits), by
shards before they start and by the pipeline before it publishes, so a stop takes seconds and leaves
only finished shards behind.

One flag per process: remote task-runner workers (Dask, Ray) finish the shard they hold.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.2  # how often an awaiting backend looks at the flag

_STOP = threading.Event()


class Stopped(Exception):
    """The run was asked to stop; what is in flight is dropped, not recorded."""

    def __init__(self, message: str = "the run was asked to stop") -> None:
        super().__init__(message)


def request() -> None:
    _STOP.set()


def requested() -> bool:
    return _STOP.is_set()


def reset() -> None:
    """Forget a stop request (a new run in the same process, tests)."""
    _STOP.clear()


def check() -> None:
    """Raise ``Stopped`` if a stop was requested."""
    if _STOP.is_set():
        raise Stopped()


async def unless_stopped(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``; once a stop is requested, cancel it and raise ``Stopped``."""
    work = asyncio.ensure_future(awaitable)
    while True:
        done, _ = await asyncio.wait({work}, timeout=POLL_SECONDS)
        if done:
            return work.result()
        if _STOP.is_set():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise Stopped()
