"""Prefect settings starmill applies before Prefect is imported (nothing leaves 127.0.0.1), and the
temporary Prefect server, started so that it never outlives the command."""
from __future__ import annotations

import os
import signal

from schemas.errors import StarmillError

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def quiet_user_errors() -> None:
    """Prefect's console leaves out the record (and traceback) of a flow that failed with an error the
    user can fix (a ``StarmillError``): the CLI prints it as one ``Error:`` line. Prefect's API log keeps it."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and _not_a_user_error not in handler.filters:
            handler.addFilter(_not_a_user_error)


def _not_a_user_error(record) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], StarmillError))


def die_with_parent():
    """A ``preexec_fn`` that has Linux send the child SIGTERM when this process dies, even by kill -9;
    None where prctl does not exist. The signal follows the *thread* that starts the child: start it
    from the main thread."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class _Spawner:
    """Prefect's ``subprocess`` module as its server code sees it, with Popen starting the server in
    its own session (a Ctrl-C to the terminal leaves it to us to stop) and tied to our life."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def Popen(self, *args, **kwargs):  # noqa: N802 (the name Prefect calls)
        kwargs.setdefault("start_new_session", True)
        kwargs.setdefault("preexec_fn", die_with_parent())
        return self._real.Popen(*args, **kwargs)


def start_temporary_server():
    """Start Prefect's temporary server now, from the calling (main) thread, unless ``PREFECT_API_URL``
    names a server. Prefect's clients find it as their own (it is Prefect's per-process instance) and
    stop it at exit as usual. Returns it, or None."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api import server as module

    class TiedServer(module.SubprocessASGIServer):
        def _run_uvicorn_command(self):
            real = module.subprocess
            module.subprocess = _Spawner(real)  # only Prefect's server module sees it, only for this call
            try:
                return super()._run_uvicorn_command()
            finally:
                module.subprocess = real

    server = TiedServer()
    server.start()
    return server
