"""Prefect settings starmill applies before Prefect is imported (nothing leaves 127.0.0.1), and the
temporary Prefect server, started so that it never outlives the command."""

from __future__ import annotations

import atexit
import os
import signal

from starmill.schemas.errors import StarmillError

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    # flow and task run logs (and starmill's own, the extra loggers) reach Prefect's API at INFO;
    # the console shows warnings and errors only
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_ROOT_LEVEL": "INFO",  # the extra loggers' level, in every process that runs the flow
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # starmill's records outside a flow run stay local
    "PREFECT_LOGGING_EXTRA_LOGGERS": "starmill",  # every module logs under starmill.*
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

    handlers = list(logging.getLogger().handlers)
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        handlers += logging.getLogger(name).handlers
    for handler in handlers:
        if isinstance(handler, PrefectConsoleHandler):
            for check in (_not_a_user_error, _not_a_stop_crash):
                if check not in handler.filters:
                    handler.addFilter(check)


def send_logs_to_prefect() -> None:
    """starmill's loggers at INFO, so their records reach Prefect's API handler (which Prefect adds to the
    extra loggers, leaving their level to the root's WARNING); the console handler still shows warnings only."""
    import logging

    for name in DEFAULTS["PREFECT_LOGGING_EXTRA_LOGGERS"].split(","):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def _not_a_user_error(record) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], StarmillError))


def _not_a_stop_crash(record) -> bool:
    """Once the user stopped the run (Ctrl-C, SIGTERM), the tasks it cancels are no crash to report:
    Prefect's ``Crash detected!`` and ``Finished in state Crashed`` lines stay off the console."""
    from starmill.generators import stopping

    if not stopping.requested():
        return True
    message = record.getMessage()
    return not (
        "Crash detected!" in message
        or "Finished in state Crashed" in message
        or "Finished in state Cancelled" in message
    )


def flow_run_url() -> str | None:
    """The UI address of the running flow run when a Prefect server is configured (PREFECT_API_URL)."""
    if not os.environ.get("PREFECT_API_URL"):
        return None
    try:
        from prefect.runtime import flow_run

        return flow_run.ui_url
    except Exception:  # no flow run, or no UI address to be had: say nothing
        return None


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


OVERLAP_ENV = "STARMILL_PREFECT_OVERLAP"  # "0": wait for the server before loading anything (benches compare)


def overlap_enabled() -> bool:
    """Whether ``starmill run`` loads its teacher while Prefect's temporary server starts (the default)."""
    return os.environ.get(OVERLAP_ENV, "1") != "0"


def spawn_temporary_server():
    """Spawn Prefect's temporary server now, from the calling (main) thread, without waiting for it
    (``wait_for_server`` does), unless ``PREFECT_API_URL`` names a server. Prefect's clients find it as
    their own (it is Prefect's per-process instance, marked started) and stop it at exit as usual:
    call ``wait_for_server`` before anything talks to Prefect. Returns it, or None."""
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
    if not server.running:
        server.port = server.port or server.find_available_port()
        server.server_process = server._run_uvicorn_command()
        server.running = True  # what Prefect's own start sets before it polls
        atexit.register(server.stop)
    return server


def wait_for_server(server, timeout: float | None = None) -> None:
    """Return once the spawned server answers ``/api/health``; RuntimeError if it does not in time."""
    import time

    import httpx
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    deadline = time.monotonic() + (timeout or PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            process = server.server_process
            if process is None or process.poll() is not None:
                if process is not None and process.returncode == 3:  # its port was taken meanwhile: Prefect
                    server.running, server.port = False, None  # picks another (from this thread, which then
                    server.start()  # is the one its exit ties the server to: rare, and it outlives the flow)
                    return
                code = None if process is None else process.returncode
                raise RuntimeError(f"Prefect's temporary server exited (code {code}) before it answered")
            try:
                if client.get(f"{server.api_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError("Timed out while waiting for Prefect's temporary server to answer")
