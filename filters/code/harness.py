"""The trusted harness that runs a model's program against its tests, inside the sandbox (standard
library only: it starts as a file with ``python -I``; never imported by starmill).

    python -I harness.py PAYLOAD_FD RESULT_FD

PAYLOAD_FD holds JSON {secret, spec, program}; it is read and closed before the program is loaded, so
the tests and the secret live only in this process's memory. The program and the tests run in this
process (no new processes in the sandbox); what keeps the program from forging a pass:

- the reply is one write to RESULT_FD, ``t <i> <status>`` per test then ``end <secret>``, made only after
  the last test ran; an exit, a crash or a print before that leaves no secret;
- an audit hook (permanent once added) refuses every way to a frame or to other objects (``sys._getframe``,
  tracebacks' and generators' frames, ``gc``, tracing), ctypes and signal handlers, and files outside the
  libraries, /tmp and /input, so the program cannot read the secret or the tests, or reach this code;
- everything this code uses after the program loaded is bound beforehand (patched builtins or modules do
  not reach it); the tests see their own copy of the builtins, and the modules they import are compared
  with a snapshot after the last test (a patched module fails every test);
- a tested function's return values must be plain data (exact builtin types): an object whose ``__eq__``
  always says yes fails the test.
"""

import builtins
import io
import json
import os
import sys

FRAME_ATTRS = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
BLOCKED_EVENTS = (
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "sys._current_frames",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "os.chdir",
    "os.symlink",
    "os.link",
    "os.chroot",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.cdata",
    "ctypes.addressof",
    "ctypes.call_function",
    "cpython.run_command",
    "cpython.remote_debugger_script",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.fork",
    "os.forkpty",
    "subprocess.Popen",
    "code.__new__",
    "marshal.loads",
    "marshal.load",
)  # hand-made bytecode reads memory
# Modules by name (any package prefix) or prefix: memory access, signal handlers (they get frames), tracing.
BLOCKED_IMPORTS = (
    "ctypes",
    "signal",
    "_signal",
    "faulthandler",
    "_posixsubprocess",
    "resource",
    "tracemalloc",
    "_lsprof",
    "cProfile",
    "profile",
    "pdb",
    "bdb",
)
BLOCKED_PREFIXES = ("_ctypes", "_test", "_xx", "xx")
LIBRARY_DIRS = ("/site-packages/", "/dist-packages/")
OPEN_PATHS = ("/tmp/", "/input/")
OPEN_FILES = (
    "/dev/null",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
)
PLAIN_ATOMS = (int, float, complex, str, bytes, bool, type(None))
PLAIN_CONTAINERS = (list, tuple, set, frozenset, dict)
MAX_PLAIN_ITEMS = 1_000_000
VOLATILE_SYS = ("stdin", "stdout", "stderr", "last_type", "last_value", "last_traceback", "ps1", "ps2")


def leave(code=None):
    """``exit`` and ``quit`` as ``site`` defines them (the harness runs without ``site``)."""
    raise SystemExit(code)


def refuse_builtin(spec):
    raise ImportError("builtin modules are loaded before the program runs")


def main():
    payload_fd, result_fd = int(sys.argv[1]), int(sys.argv[2])
    chunks = []
    while True:
        chunk = os.read(payload_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(payload_fd)
    payload = json.loads(b"".join(chunks))
    del chunks
    secret, spec, source = payload["secret"], payload["spec"], payload["program"]
    payload_site_packages = payload.get("site_packages")
    del payload
    for name in ("_signal", "signal", "ctypes", "_ctypes", "faulthandler"):  # importing them again meets the hook
        sys.modules.pop(name, None)
    for name in sys.builtin_module_names:  # loaded now, so nothing needs _imp.create_builtin once the program runs
        if name not in BLOCKED_IMPORTS and not name.startswith(BLOCKED_PREFIXES) and name not in sys.modules:
            __import__(name)
    site_packages = bool(payload_site_packages)

    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, leave)

    # Everything used once the program is loaded is bound here: the program may patch builtins and modules
    # (this one too), and only the methods of exact builtin types are beyond its reach.
    _type, _len, _range, _exec, _compile, _id, _list = type, len, range, exec, compile, id, list
    _Base, _Assertion, _Memory, _Exit, _Syntax = BaseException, AssertionError, MemoryError, SystemExit, SyntaxError
    _ValueError, _RuntimeError, _PermissionError, _ImportError = ValueError, RuntimeError, PermissionError, ImportError
    _type_name, _exc_str, noted = type.__dict__["__name__"].__get__, BaseException.__str__, []
    _int, _str, _bytes, _dict, _function = int, str, bytes, dict, type(main)
    _write, _exit, _open, _read, _close, _dup2 = os.write, os._exit, os.open, os.read, os.close, os.dup2
    import _thread
    import gc

    _fstat, _threads, _gc_disable = os.fstat, _thread._count, gc.disable
    reply_stat = os.fstat(result_fd)
    reply_id = (reply_stat.st_dev, reply_stat.st_ino)  # the pipe to starmill, to know it again at the end
    _io_open, _O_RDONLY, _O_WRITE = io.open, os.O_RDONLY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    _sys, _modules, _builtins = sys, sys.modules, builtins
    frame_attrs, blocked_events, blocked_imports, blocked_prefixes = (
        FRAME_ATTRS,
        BLOCKED_EVENTS,
        BLOCKED_IMPORTS,
        BLOCKED_PREFIXES,
    )
    library_dirs = LIBRARY_DIRS
    open_paths, open_files, max_items = OPEN_PATHS, OPEN_FILES, MAX_PLAIN_ITEMS
    atom_ids = frozenset(id(t) for t in PLAIN_ATOMS)  # identity, never ==: a metaclass can make a class equal int
    container_ids = frozenset(id(t) for t in PLAIN_CONTAINERS)
    dict_id = id(dict)
    clean_builtins = dict(builtins.__dict__)
    # Code loads only from the standard library (and the environment's packages where the verifier allows
    # them: native extensions there can read this process's memory, the secret included).
    roots = tuple(r.rstrip("/") + "/" for r in {sys.prefix, sys.base_prefix, sys.exec_prefix} if r)
    kind = spec["kind"]
    n_tests = {"functional": 1, "asserts": len(spec.get("asserts") or ()), "stdio": len(spec.get("cases") or ())}[kind]
    flags = []  # one entry per non-plain value a tested function returned during the current test

    def plain(value):
        stack, seen = [value], 0
        while stack:
            item = stack.pop()
            seen += 1
            if seen > max_items:
                return False
            kind_id = _id(_type(item))
            if kind_id in atom_ids:
                continue
            if kind_id not in container_ids:
                return False
            if kind_id == dict_id:
                stack.extend(_list(item.keys()))
                stack.extend(_list(item.values()))
            else:
                stack.extend(_list(item))
        return True

    def watch(fn):
        def tested(*args, **kwargs):
            value = fn(*args, **kwargs)
            if not plain(value):
                flags.append(1)
            return value

        return tested

    def allowed_path(path):
        if _type(path) is _int:
            return True
        if _type(path) is _bytes:
            try:
                path = path.decode("utf-8")
            except _Base:
                return False
        if _type(path) is not _str or ".." in path or "\x00" in path:
            return False
        if not path.startswith("/"):
            return "proc" not in path  # relative to /tmp, which nothing can leave (chdir and symlinks refused)
        return path in open_files or path.startswith(open_paths) or library(path)

    def library(path):
        if not path.startswith(roots) or ".." in path:
            return False
        return site_packages or not (library_dirs[0] in path or library_dirs[1] in path)

    def note(exc):
        """The first error's type and message on fd 2, for people reading a failed run (never for the verdict)."""
        if noted:
            return
        noted.append(1)
        try:
            text = _type_name(_type(exc)) + ": " + _exc_str(exc)
            _write(2, text[:300].encode("utf-8", "replace") + b"\n")
        except _Base:
            pass

    def hook(event, args):
        if event == "sys._getframe":
            raise _ValueError("call stack is not deep enough")  # what callers of _getframe already handle
        if event == "object.__getattr__" and _len(args) > 1 and args[1] in frame_attrs:
            raise _RuntimeError("frames are not available to tested code")
        if event == "import":
            name, filename = args[0], args[1]
            if _type(name) is not _str:
                raise _ImportError("that module is not available to tested code")
            last = name.rpartition(".")[2]
            if last in blocked_imports or last.startswith(blocked_prefixes):
                raise _ImportError("that module is not available to tested code")
            if filename is not None and (_type(filename) is not _str or not library(filename)):
                raise _ImportError("code loads only from the standard library here")
        if event in blocked_events or event.startswith("ctypes."):
            raise _RuntimeError(event + " is not available to tested code")
        if event == "open" and not allowed_path(args[0]):
            raise _PermissionError("cannot open that here")

    def same_lines(got, expected):
        """Equal line by line without trailing whitespace, trailing blank lines ignored."""

        def lines(text):
            rows = [line.rstrip() for line in text.split("\n")]
            while rows and not rows[-1]:
                rows.pop()
            return rows

        return lines(got) == lines(expected)

    def write_file(path, text):
        fd = _open(path, _O_WRITE, 0o600)
        data = text.encode("utf-8")
        while data:
            data = data[_write(fd, data) :]
        _close(fd)

    def read_file(path):
        fd, chunks = _open(path, _O_RDONLY), []
        while True:
            chunk = _read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        _close(fd)
        return b"".join(chunks).decode("utf-8", "replace")

    def run_stdio(code):
        """Each case: the program from the top in a fresh namespace, the case on fd 0, fd 1 captured."""
        results = []
        for given, expected in spec["cases"]:
            write_file("/tmp/.case_in", given)
            for path, flags_, target in (("/tmp/.case_in", _O_RDONLY, 0), ("/tmp/.case_out", _O_WRITE, 1)):
                fd = _open(path, flags_, 0o600)
                if fd != target:  # the program may have closed 0 or 1 (open(0) does), so the open took it
                    _dup2(fd, target)
                    _close(fd)
            stdout = _io_open(1, "w", encoding="utf-8", closefd=False)
            _sys.stdin, _sys.stdout = _io_open(0, "r", encoding="utf-8", closefd=False), stdout
            status = "ran"
            try:
                _exec(code, {"__builtins__": _builtins, "__name__": "__main__"})
            except _Exit as stop:
                status = "ran" if stop.code is None or (_type(stop.code) is _int and stop.code == 0) else "exit"
            except _Memory:
                status = "memory"
            except _Base as exc:
                status = "error"
                note(exc)
            try:
                stdout.flush()
            except _Base:
                pass
            if status == "ran":
                status = "pass" if same_lines(read_file("/tmp/.case_out"), expected) else "fail"
            results.append(status)
        return results

    def run_tests(program_ns):
        """Each test with the program's functions watched; an assert sees the program's names, except
        the builtins it uses (a program's own sorted or len would decide the assert)."""
        results, entry = [], spec.get("entry_point")
        for n in _range(n_tests):
            del flags[:]
            status = "pass"
            try:
                if kind == "functional":
                    fn = program_ns.get(spec["entry_point"])
                    if _type(fn) is not _function:
                        results.append("missing_entry")
                        continue
                    candidate = watch(fn)
                    tests_ns[spec["entry_point"]] = candidate  # a few checks call the function by its name
                    tests[n](candidate)
                else:
                    ns = _dict(tests_ns)
                    for name in spec["names"]:
                        if (
                            name in program_ns
                            and name not in tests_ns
                            and (name not in clean_builtins or name == entry)
                        ):
                            value = program_ns[name]
                            if _type(value) is _function:
                                ns[name] = watch(value)
                            elif plain(value):
                                ns[name] = value
                    _exec(tests[n], ns)
            except _Assertion:
                status = "fail"
            except _Memory:
                status = "memory"
            except _Exit:
                status = "exit"
            except _Base as exc:
                status = "error"
                note(exc)
            results.append("not_plain" if flags else status)
        return results

    # The tests' own namespace, built before the program exists: gold code only, clean builtins. The spec
    # comes from the problem's own data, never from model output: the code verifier takes no pseudo-label
    # (filters.verifiers.base.label_gold, asked by grading, the audit and the RL rewards alike), and the
    # program travels in its own field, compiled only below, after the audit hook is in place.
    tests_ns = {"__builtins__": clean_builtins, "__name__": "tests"}
    tests = []
    for gold in (spec.get("prompt"), spec.get("setup")):
        if gold:
            exec(compile(gold, "<gold>", "exec"), tests_ns)
    if kind == "functional":
        exec(compile(spec["test"], "<test>", "exec"), tests_ns)
        tests.append(tests_ns["check"])
    elif kind == "asserts":
        tests = [compile(text, f"<assert {n}>", "exec") for n, text in enumerate(spec["asserts"])]
    if kind != "stdio":
        sys.stdout = sys.stderr = io.StringIO()
    # The modules the gold code imports, their classes and functions, as they are now: the program must
    # leave them as it found them (a patched math.isclose or Fraction.__eq__ fails every test).
    module_dict, class_dict, module_type = (
        type(sys).__dict__["__dict__"].__get__,
        type.__dict__["__dict__"].__get__,
        type(sys),
    )
    watched, seen = [], set()

    def namespace(obj, category):
        if category == "module":
            return module_dict(obj)
        if category == "class":
            return class_dict(obj)
        return {"code": obj.__code__, "defaults": obj.__defaults__, "kwdefaults": obj.__kwdefaults__}

    for name in spec.get("imports") or ():
        try:
            __import__(name)
        except BaseException:
            continue
        module = sys.modules.get(name)
        if type(module) is not module_type or id(module) in seen:
            continue
        seen.add(id(module))
        items = {k: v for k, v in module_dict(module).items() if not (name == "sys" and k in VOLATILE_SYS)}
        watched.append((module, "module", items, name))
        for value in list(items.values()):
            category = "class" if isinstance(value, type) else "function" if type(value) is _function else None
            if category and id(value) not in seen:
                seen.add(id(value))
                watched.append((value, category, dict(namespace(value, category)), None))
    watched = [(obj, _type(obj), category, items, name) for obj, category, items, name in watched]

    if not site_packages:
        sys.path[:] = [p for p in sys.path if not any(d.rstrip("/") in p for d in LIBRARY_DIRS)]
    sys.pycache_prefix = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".no-bytecode")  # read-only, empty:
    # every import compiles from source (bytecode files are loaded with marshal, which is refused)
    import _imp

    _imp.create_builtin = refuse_builtin  # creates a fresh _signal, bypassing sys.modules and the import event
    sys.addaudithook(hook)  # from here on the program may be running
    try:
        code = _compile(source, "<program>", "exec")
    except _Base:
        code = None
    if code is None:
        results = ["syntax_error"] * n_tests
    elif kind == "stdio":
        results = run_stdio(code)
    else:
        program_ns, load = {"__builtins__": _builtins, "__name__": "solution"}, "ok"
        try:
            _exec(code, program_ns)
        except _Memory:
            load = "memory"
        except _Exit:
            load = "exit"
        except _Base as exc:
            load = "load_error"
            note(exc)
        results = run_tests(program_ns) if load == "ok" else [load] * n_tests
    # From here on no program code may run: a thread of the program or a garbage-collector callback could
    # restore a patched module before it is compared, or point the reply descriptor at a file, read the
    # secret back and forge a reply. So: no collections, no other thread alive, else no reply at all.
    _gc_disable()
    if _threads() != 0:
        _write(2, b"threads of the program were still running after the last test: no reply\n")
        _exit(0)

    # Compared by iterating, never by lookup: a key the program slipped in (a str subclass hashing like
    # "isclose") would run its __eq__ inside a lookup, and could restore the patch right then.
    def exact(mapping):
        copy = {}
        for key, value in mapping.items():
            if _type(key) is not _str:
                return None
            copy[key] = value
        return copy

    modules_now, intact = exact(_modules), True
    for obj, kind_of, category, items, name in watched:
        current = exact(namespace(obj, category))
        if (
            modules_now is None
            or current is None
            or _type(obj) is not kind_of
            or (name is not None and modules_now.get(name) is not obj)
        ):
            intact = False
            continue
        for key, value in items.items():
            if current.get(key, flags) is not value:
                intact = False
    if not intact:
        results = ["tampered"] * n_tests
    if _len(results) != n_tests:
        results = ["harness_error"] * n_tests
    reply = "".join(["t %d %s\n" % (n, results[n]) for n in _range(n_tests)]) + "end " + secret + "\n"
    data = reply.encode("utf-8")
    reply_stat = _fstat(result_fd)
    if (reply_stat.st_dev, reply_stat.st_ino) != reply_id:
        _write(2, b"the reply descriptor was replaced: no reply\n")
        _exit(0)
    while data:
        data = data[_write(result_fd, data) :]
    _exit(0)


if __name__ == "__main__":
    main()
