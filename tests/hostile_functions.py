"""Hostile code for tests/test_isolation.py, imported only inside the sandbox (and by the test, for names).

``run_named`` runs one of ``ATTACKS`` or ``PROBES``, compiled from this file at import, as a hostile user
function would: the OS-level layer is what must stop it. ``run_answer`` compiles the answer string at
call time, as a careless scorer does with the model's answer (sympy's ``parse_expr`` evaluates its
input). Each attack sets ``result = True`` only when it worked, so a ``correct`` verdict is a leak."""

import threading

HOST_SECRET = "hf_starmill_test_secret_4242"
POISON = {"set": False}

# Markers are on the host: they must never appear.
ATTACKS = dict(
    [
        ("os_system", "import os; os.system('touch ' + meta['marker']); result = os.path.exists(meta['marker'])"),
        (
            "subprocess",
            "import subprocess; subprocess.run(['touch', meta['marker']]); import os; result = os.path.exists(meta['marker'])",
        ),
        (
            "posix_spawn",
            "import os; os.posix_spawn('/usr/bin/touch', ['touch', meta['marker']], {}); import time; time.sleep(0.2); result = os.path.exists(meta['marker'])",
        ),
        (
            "posixsubprocess",
            "import subprocess, os\n"
            "p = subprocess.Popen.__new__(subprocess.Popen)\n"
            "import _posixsubprocess\n"
            "r, w = os.pipe()\n"
            "_posixsubprocess.fork_exec([b'/usr/bin/touch', meta['marker'].encode()], [b'/usr/bin/touch'], True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, True)\n"
            "import time; time.sleep(0.2); result = os.path.exists(meta['marker'])",
        ),
        (
            "ctypes_system",
            "import ctypes; ctypes.CDLL(None).system(('touch ' + meta['marker']).encode()); import os; result = os.path.exists(meta['marker'])",
        ),
        (
            "ctypes_fork",
            "import ctypes, os; pid = ctypes.CDLL(None).fork()\nif pid == 0: os._exit(0)\nresult = pid > 0",
        ),
        ("fork", "import os; pid = os.fork()\nif pid == 0: os._exit(0)\nresult = pid > 0"),
        (
            "write_visible_folder",
            "import os; open(os.path.join(meta['visible'], 'pwned.txt'), 'w').write('x'); result = True",
        ),
        ("write_host_folder", "open(meta['marker'], 'w').write('x'); result = True"),
        (
            "sqlite_writes_from_c",
            "import sqlite3, os; c = sqlite3.connect(os.path.join(meta['visible'], 'pwned.db')); c.execute('create table t(x)'); c.commit(); result = True",
        ),
        (
            "os_open_write",
            "import os; fd = os.open(meta['marker'], os.O_WRONLY | os.O_CREAT); os.write(fd, b'x'); result = True",
        ),
        ("env_secret", "import os; result = HOST_SECRET in repr(dict(os.environ))"),
        (
            "proc_environ",
            "import glob; result = any(HOST_SECRET in open(p, errors='replace').read() for p in glob.glob('/proc/*/environ') if __import__('os').access(p, 4))",
        ),
        ("parent_environ", "import os; result = HOST_SECRET in open(f'/proc/{os.getppid()}/environ').read()"),
        ("token_file", "result = HOST_SECRET in open(meta['token']).read()"),
        (
            "home_token_file",
            "import os; result = os.path.exists(meta['home_token']) or os.path.exists(os.path.expanduser('~/.ssh'))",
        ),
        (
            "socket_tcp",
            "import socket; s = socket.create_connection(('127.0.0.1', meta['port']), timeout=2); result = True",
        ),
        ("socket_dns", "import socket; socket.getaddrinfo('pypi.org', 443); result = True"),
        ("fork_bomb", "import os\nwhile True: os.fork()"),
        ("memory_bomb", "x = bytearray(16 * 1024 ** 3); result = True"),
        ("endless_loop", "while True: pass"),
        ("huge_reply", "result = 'x' * (64 * 1024 * 1024)"),
        ("huge_print", "import sys\nfor _ in range(200000): print('y' * 1000)\nresult = False"),
        ("kill_parent", "import os, signal; os.kill(os.getppid(), signal.SIGKILL); result = True"),
        ("kill_all", "import os, signal; os.kill(-1, signal.SIGKILL); result = True"),
        (
            "forge_reply",
            'import os\nfor fd in range(3, 64):\n    try: os.write(fd, b\'{"status": "ok", "value": true}\')\n    except OSError: pass\nos._exit(0)',
        ),
        ("ptrace_parent", "import ctypes, os; result = ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0"),
        (
            "read_parent_fds",
            "import os; result = [os.readlink(f'/proc/{os.getppid()}/fd/' + f) for f in os.listdir(f'/proc/{os.getppid()}/fd')] != []",
        ),
        (
            "write_parent_channel",
            "import os\nfor f in os.listdir(f'/proc/{os.getppid()}/fd'):\n    os.write(os.open(f'/proc/{os.getppid()}/fd/' + f, os.O_WRONLY), b'{}')\nresult = True",
        ),
        (
            "home_listing",
            "import os; result = any(os.path.exists(os.path.join(os.path.expanduser('~' + u), '.bashrc')) for u in ('', 'root')) or os.path.exists('/root/.bashrc')",
        ),
        ("new_user_namespace", "import ctypes; result = ctypes.CDLL(None).unshare(0x10000000) == 0"),
        ("sys_exit_true", "import sys; result = True; sys.exit(0)"),
    ]
)

# Each probe answers why a route fails (its result is a string), for the 'reason claimed' test.
PROBES = {
    "probe_posixsubprocess": "import os, _posixsubprocess\nr, w = os.pipe()\ntry:\n"
    "    _posixsubprocess.fork_exec([b'/bin/true'], [b'/bin/true'], True, (w,), None, None, -1, -1, -1, -1, -1, -1,"
    " r, w, True, False, -1, None, None, None, -1, None, True)\n    result = 'forked'\n"
    "except OSError as e:\n    result = type(e).__name__",
    "probe_sqlite": "import sqlite3, os\ntry:\n    sqlite3.connect(os.path.join(meta['visible'], 'pwned.db')).execute('create table t(x)')\n"
    "    result = 'wrote'\nexcept sqlite3.OperationalError as e:\n    result = str(e)",
    "probe_pids": "import os; result = [int(p) for p in os.listdir('/proc') if p.isdigit()]",
    "probe_write": "open('/tmp/x', 'w')",
    "probe_os_system": "import os; os.system('true')",
    "probe_subprocess": "import subprocess; subprocess.run(['true'])",
    "probe_loop": "while True: pass",
    "probe_memory": "x = bytearray(16 * 1024 ** 3)",
    "probe_reply": "result = 'x' * (64 * 1024 * 1024)",
}
CODE = {name: compile(source, f"<{name}>", "exec") for name, source in {**ATTACKS, **PROBES}.items()}


def run_named(problem, output, answer):
    scope = {"meta": problem["metadata"], "result": False, "HOST_SECRET": HOST_SECRET}
    exec(CODE[answer], scope)  # noqa: S102  (the point: hostile code runs here, inside the sandbox)
    return scope["result"]


def run_answer(problem, output, answer):
    scope = {"meta": problem["metadata"], "result": False, "HOST_SECRET": HOST_SECRET}
    exec(answer, scope)  # noqa: S102
    return scope["result"]


def leave_thread(problem, output, answer):
    """Starts a thread that poisons this module a moment later, after the call has answered."""

    def poison():
        import time

        time.sleep(0.2)
        POISON["set"] = True

    threading.Thread(target=poison, daemon=True).start()
    return False


def poisoned(problem, output, answer):
    import time

    time.sleep(0.4)
    return POISON["set"]
