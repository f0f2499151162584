"""Ctrl-C and SIGTERM for long commands: the work runs in a thread and is asked to stop
(``generators.stopping``); the main thread waits for it a little, then cuts it off. Either way no
child process outlives the command.

Signals reach only the main thread, and Prefect swaps SIGTERM for its own handler in whatever flow
runs there: with the flow in a worker thread, both signals stay ours, whether they come from a
terminal (the whole process group) or from ``kill`` (this process alone).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from starmill.generators import stopping

GRACE_SECONDS = 8.0  # after a stop request: time for in-flight batches and Prefect's bookkeeping
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
POLL_SECONDS = 0.1


class Interrupted(Exception):
    """The command was stopped by a signal; ``code`` is the exit code it should end with."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum, self.code = signum, EXIT_CODES[signum]


def stop_children(timeout: float = 3.0) -> None:
    """SIGTERM to every process this one started (and theirs), then SIGKILL to what is left."""
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass


def stop_children_if_stopped() -> None:
    """An exit handler: after a stop, nothing this command started may stay behind."""
    if stopping.requested():
        stop_children()


def _exit_now(signum: int, farewell: str) -> None:
    """Cut off: what is in flight is lost (finished shards are already on disk)."""
    print(farewell, file=sys.stderr, flush=True)
    stop_children(timeout=1.0)
    sys.stdout.flush()
    os._exit(EXIT_CODES[signum])


class Stoppable:
    """``with Stoppable(farewell) as work: work.run(fn, ...)``: from ``with`` on, SIGINT and SIGTERM ask
    the work to stop; ``run`` then raises ``Interrupted`` once it has ended (unless it finished all the
    same). If it has not ended after ``GRACE_SECONDS``, or on a second signal, ``farewell`` is printed
    and the process exits at once."""

    def __init__(self, farewell: str) -> None:
        self.farewell = farewell
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Stoppable:
        if threading.current_thread() is threading.main_thread():  # elsewhere signals are not ours to take
            self.previous = {s: signal.signal(s, self.on_signal) for s in EXIT_CODES}
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.received:  # after a stop our handlers stay: a signal during the exit cuts it short
            for s, handler in self.previous.items():
                signal.signal(s, handler)

    def on_signal(self, signum: int, frame: Any) -> None:
        if self.received:
            _exit_now(signum, self.farewell)
        self.received.append(signum)
        stopping.request()
        print(
            f"\nStopping ({signal.Signals(signum).name}): ending the batches in flight; signal again to quit at once.",
            file=sys.stderr,
            flush=True,
        )

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker thread: its result, or its exception."""
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the main thread as is
                outcome["error"] = exc

        if not self.received:
            thread = threading.Thread(target=work, name="starmill-work", daemon=True)
            thread.start()
            deadline = None
            while thread.is_alive():
                thread.join(POLL_SECONDS)
                if self.received and deadline is None:
                    deadline = time.monotonic() + GRACE_SECONDS
                if deadline is not None and time.monotonic() > deadline:
                    _exit_now(self.received[0], self.farewell)
        if self.received and "result" not in outcome:  # (work that finished anyway, e.g. while publishing, counts)
            raise Interrupted(self.received[0])
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
