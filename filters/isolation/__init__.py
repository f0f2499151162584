"""One isolation layer for every piece of code starmill did not write (user functions, third-party
scorers, model-written programs): run it in a separate process in new Linux namespaces with
bubblewrap — no network, its own PID space, a read-only view of only the folders it needs, a private
scratch tmpfs, a clean environment, resource limits and a wall clock that kills the whole tree.

    from starmill.filters.isolation import Limits, FunctionSandbox, run_program

    box = FunctionSandbox(["reasoning_gym", "starmill.filters.verifiers.gym_score"])
    box.call("starmill.filters.verifiers.gym_score:score", Limits(wall_seconds=5), meta=..., answer="42")
    run_program(["python3", "-I", "main.py"], files={"main.py": b"print(1)"}, limits=Limits())

Both return an ``Outcome``; a missing sandbox is ``IsolationUnavailable`` (one clear error), unless the
caller opted out with ``isolation="none"`` (then processes still get limits and a clean environment,
but share the machine's filesystem, network and PID space).
"""

from starmill.filters.isolation.base import (
    ISOLATION_MODES,
    IsolationError,
    IsolationUnavailable,
    Limits,
    Outcome,
    available,
    require,
)
from starmill.filters.isolation.functions import FunctionSandbox, function_sandbox
from starmill.filters.isolation.programs import run_program

__all__ = [
    "ISOLATION_MODES",
    "FunctionSandbox",
    "IsolationError",
    "IsolationUnavailable",
    "Limits",
    "Outcome",
    "available",
    "function_sandbox",
    "require",
    "run_program",
]
