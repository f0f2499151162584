"""Shared test set-up. Area fixtures live in ``tests/fixtures_<area>.py`` and are registered here."""

import atexit
import os
import shutil
import signal
import tempfile

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Prefect's home (its temporary server's database) is the session's own, never the user's ~/.prefect: a
# database another Prefect version migrated would fail every flow here, and tests leave no runs behind
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="starmill-tests-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)

# A shell starts a background job (`cmd &` outside job control, `nohup`) with SIGINT ignored, and an
# ignored signal stays ignored across exec: every starmill process a test starts would then shrug off
# the Ctrl-C that the Ctrl-C tests send it. A handler (unlike SIG_IGN) resets to the default on exec, so
# with one installed here the children get Ctrl-C as they would from a terminal, however pytest was run.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = [
    "tests.fixtures_warehouse",
    "tests.fixtures_answers",
    "tests.fixtures_prefect",
    "tests.fixtures_generation",
    "tests.fixtures_export",
    "tests.fixtures_engines",
    "tests.fixtures_s3",
    "tests.fixtures_viewer",
    "tests.fixtures_wheel",
    "tests.skip_policy",  # CI=true: a skip not in tests/allowed_skips.txt fails the run
]
