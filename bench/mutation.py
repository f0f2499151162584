"""Mutation check: hand-picked one-line breaks of the promises starmill's trust rests on (answer checking,
SQL confinement, the commit protocol, selection, the KD loss, the STaR loop's best model, export's
"left alone", CI's skip policy; a reserved list for the sandbox), each run against the tests named for
it; prints which breaks survive.

    .venv/bin/python bench/mutation.py                        # every break (~8 min on 2 idle cores)
    .venv/bin/python bench/mutation.py --only sql,kd.no_term  # areas or break ids
    .venv/bin/python bench/mutation.py --list
    .venv/bin/python bench/mutation.py --only kd --tests tests/test_train_kd.py::test_x  # a new test vs the breaks

Nothing in the working tree is changed: the files git tracks or would track (uncommitted edits included)
are copied to a temporary folder, and every test runs there with ``PYTHONPATH`` at the copy (checked
before the first break: each package must import from the copy). A break is one textual replacement
that must match exactly once (a stale one is an error, not a pass); the tests first pass unbroken.
Exit status 1 when a break survives. A test that starts Python with a scrubbed environment imports the
shared tree instead: its breaks can only look like survivors, never like kills.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds per pytest run; a hang counts as killed (pytest-timeout fails it in CI too)
ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "60",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONDONTWRITEBYTECODE": "1",
}  # no .pyc: a restored file is read again
ROOMS = ["warehouse", "filters", "generators", "schemas", "flows"]  # installed as starmill.<room> (setup.py)
PACKAGES = ["starmill", *(f"starmill.{room}" for room in ROOMS), "tests"]


@dataclass(frozen=True)
class Break:
    id: str
    path: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # pytest arguments: files, node ids, -k expressions
    promise: str  # what the break violates

    @property
    def area(self) -> str:
        return self.id.split(".")[0]


ANSWERS = (
    "tests/test_answers_suite.py",
    "tests/test_answers_heldout.py",
    "tests/test_answers_api.py",
    "tests/test_answers_extract.py",
    "tests/test_answers_typed.py",
)
SQL = (
    "tests/test_sql_confinement.py",
    "tests/test_warehouse.py::test_sql_refuses_writes_and_reports_errors",
    "tests/test_fsspec_warehouse.py::test_sql_reads_through_the_store_and_stays_confined",
)
COMMIT = ("tests/test_warehouse.py", "tests/test_fsspec_warehouse.py", "tests/test_damaged.py")
SELECTION = ("tests/test_selection.py", "tests/test_search.py")

BREAKS = [
    # -- answer checking (filters/answers) ------------------------------------------------------
    Break(
        "answers.tolerance",
        "filters/answers/numeric.py",
        "REL_TOL = Fraction(1, 10**6)",
        "REL_TOL = Fraction(1, 10**2)",
        ANSWERS,
        "relative tolerance is 1e-6, not 1%",
    ),
    Break(
        "answers.exact_gold",
        "filters/answers/numeric.py",
        "    if gold.exact and (pred.exact or terminates(target)):",
        "    if False:",
        ANSWERS,
        "an exact gold a decimal can write is not matched within tolerance (35.9999999 is not 36)",
    ),
    Break(
        "answers.rounding",
        "filters/answers/numeric.py",
        'return False, "rounding"  # 2.49',
        'return True, "rounding"  # 2.49',
        ANSWERS,
        "a decimal gold accepts no other terminating decimal (2.49 is not 2.5)",
    ),
    Break(
        "answers.percent_small_gold",
        "filters/answers/compare.py",
        "scales = scales[1:]  # gold 0.5",
        "pass  # gold 0.5",
        ANSWERS,
        "gold 0.5 takes only the scaled reading of a percent (0.5% is wrong)",
    ),
    Break(
        "answers.units",
        "filters/answers/compare.py",
        "    if gold_unit and pred_unit and gold_unit != pred_unit:",
        "    if False:",
        ANSWERS,
        "5 cm is not 5 m",
    ),
    Break(
        "answers.multiple_answers",
        "filters/answers/check.py",
        "    if len(candidates) > 1 and _differ(candidates):",
        "    if False:",
        ANSWERS,
        "several different final answers are wrong, not the last one",
    ),
    Break(
        "answers.later_answer",
        "filters/answers/extract.py",
        'after = _later_answer(text[lines[-1][1] :])  # "#### 72',
        'after = None  # "#### 72',
        ANSWERS,
        "'#### 72 … wait, the answer is 70' is two final answers",
    ),
    Break(
        "answers.hedged_letter",
        "filters/answers/letters.py",
        "    if other and (other[1] or other[2]).upper() != found:",
        "    if False:",
        ANSWERS,
        "'(C) or (D)' hedges and is wrong",
    ),
    Break(
        "answers.article",
        "filters/answers/letters.py",
        '    if m is None or ARTICLE.match(pred):\n        return "wrong", "letter"',
        '    if m is None:\n        return "wrong", "letter"',
        ANSWERS,
        "'A prime number' is not choice (A)",
    ),
    Break(
        "answers.length_guard",
        "filters/answers/check.py",
        "    if len(answer) > MAX_ANSWER_CHARS:",
        "    if False:",
        ANSWERS,
        "answers over 2,000 characters are never parsed",
    ),
    Break(
        "answers.think",
        "filters/answers/extract.py",
        '        return Extraction(None, "truncated_think")',
        "        pass",
        ANSWERS,
        "an unclosed <think> has no answer",
    ),
    # -- SQL confinement (warehouse/sql_guard.py, sql.py) ----------------------------------------
    Break(
        "sql.external_access",
        "warehouse/sql_guard.py",
        '("enable_external_access", "false", False),',
        '("enable_external_access", "true", True),',
        SQL,
        "no file outside the warehouse is readable",
    ),
    Break(
        "sql.allowed_root",
        "warehouse/sql_guard.py",
        '("allowed_directories", "[" + _lit(folder) + "]", [folder]),',
        '("allowed_directories", "[\'/\']", ["/"]),',
        SQL,
        "only the warehouse root is an allowed folder",
    ),
    Break(
        "sql.lock",
        "warehouse/sql_guard.py",
        '("lock_configuration", "true", True),',
        '("lock_configuration", "false", False),',
        SQL,
        "settings cannot be changed back",
    ),
    Break(
        "sql.no_spill_folder",
        "warehouse/sql_guard.py",
        '("temp_directory", "\'\'", ""),',
        "",
        SQL,
        "no temp folder: it would be one more allowed directory",
    ),
    Break(
        "sql.one_statement",
        "warehouse/sql_guard.py",
        "    if len(statements) > 1:",
        "    if len(statements) > 2:",
        SQL,
        "one statement at a time",
    ),
    Break(
        "sql.explain_analyse",
        "warehouse/sql_guard.py",
        'in ("ANALYZE", "ANALYSE"):',
        'in ("ANALYZE",):',
        SQL,
        "EXPLAIN ANALYSE (it executes) is refused in both spellings",
    ),
    Break(
        "sql.table_functions",
        "warehouse/sql_guard.py",
        "        if name not in TABLE_FUNCTIONS:",
        "        if False:",
        SQL,
        "only table functions that read are called",
    ),
    Break(
        "sql.nested_table_functions",
        "warehouse/sql_guard.py",
        "            stack.extend(item)\n",
        "            pass\n",
        SQL,
        "table functions inside lists of the parsed query (joins, set operations) are checked too",
    ),
    Break(
        "sql.settings_checked",
        "warehouse/sql_guard.py",
        "    if wrong:",
        "    if False:",
        SQL,
        "a setting that did not take is an error, not a hole",
    ),
    Break(
        "sql.confined",
        "warehouse/sql.py",
        "sql_guard.confine(con, wh.storage.url",
        "(lambda *a: None)(con, wh.storage.url",
        SQL,
        "every session is confined before user SQL",
    ),
    Break(
        "sql.parameters",
        "warehouse/sql.py",
        "    if missing:",
        "    if False:",
        SQL,
        "a missing parameter is one error line",
    ),
    # -- the commit protocol (warehouse/writer.py, storage.py) -----------------------------------
    Break(
        "commit.conditional_create",
        "warehouse/storage.py",
        "os.link(tmp, path)  # atomic, and refuses an existing name",
        "os.replace(tmp, path)",
        COMMIT,
        "a commit never replaces another writer's manifest",
    ),
    Break(
        "commit.store_create",
        "warehouse/storage.py",
        'self.fsspec.pipe_file(path, data, mode="create")',
        "self.fsspec.pipe_file(path, data)",
        COMMIT,
        "on a store the commit is a conditional create too",
    ),
    Break(
        "commit.size_check",
        "warehouse/writer.py",
        '            if self.storage.size(f"{self.folder}/{entry.path}") != entry.bytes:',
        "            if False:",
        COMMIT,
        "a manifest never names a file that is not there as written",
    ),
    Break(
        "commit.checksum",
        "warehouse/writer.py",
        "sha256=self.sink.digest.hexdigest()",
        'sha256=hashlib.sha256(b"").hexdigest()',
        COMMIT,
        "each file's sha256 is recorded as it streamed",
    ),
    Break(
        "commit.abort_cleans",
        "warehouse/writer.py",
        "        self.storage.remove_tree(self.folder)\n",
        "        pass\n",
        COMMIT,
        "an aborted writer leaves no data folder",
    ),
    Break(
        "commit.landed",
        "warehouse/writer.py",
        "            return self.storage.read_bytes(path) == body",
        "            return False",
        COMMIT,
        "a manifest that landed after all keeps its files",
    ),
    Break(
        "commit.named_data_kept",
        "warehouse/writer.py",
        '            if f"{self.name}/{DATA}/{info.base_name}" not in named:',
        "            if True:",
        COMMIT,
        "a dead writer's data folder that a version names is never removed",
    ),
    Break(
        "commit.live_writer",
        "warehouse/writer.py",
        "        return not psutil.pid_exists(int(parts[0]))",
        "        return True",
        COMMIT,
        "a live writer's data folder is never removed",
    ),
    Break(
        "commit.kind",
        "warehouse/writer.py",
        "            if existing.table != self.table:",
        "            if False:",
        COMMIT,
        "a dataset keeps its kind of rows",
    ),
    # -- selection (filters/selection.py) ---------------------------------------------------------
    Break(
        "selection.k",
        "filters/selection.py",
        "            elif count >= self.k:",
        "            elif count > self.k:",
        SELECTION,
        "at most k samples per problem",
    ),
    Break(
        "selection.near_duplicate",
        "filters/selection.py",
        "jaccard(grams, other) >= self.near_duplicate_threshold",
        "jaccard(grams, other) > self.near_duplicate_threshold",
        SELECTION,
        "Jaccard at the threshold is a near duplicate (>=)",
    ),
    Break(
        "selection.wrong_dropped",
        "filters/selection.py",
        "s if s.correct or s.drop_reason else replace(",
        "s if True else replace(",
        SELECTION,
        "a wrong answer is dropped first, with its verdict",
    ),
    Break(
        "selection.reason",
        "filters/selection.py",
        'return "wrong_answer" if verdict in (None, "wrong") else verdict',
        'return "wrong_answer"',
        SELECTION,
        "the drop reason is the verdict (unparseable_pred, …)",
    ),
    Break(
        "selection.best_of_n_order",
        "filters/selection.py",
        "ranked = sorted(alive, key=lambda s: -values[s.sample_id])",
        "ranked = sorted(alive, key=lambda s: values[s.sample_id])",
        SELECTION,
        "best-of-n keeps the highest scores",
    ),
    Break(
        "selection.best_choice_tie",
        "filters/selection.py",
        "key=lambda i: (scores[i], -i))",
        "key=lambda i: (scores[i], i))",
        SELECTION,
        "the first of equal scores wins",
    ),
    Break(
        "selection.pass_at_k",
        "filters/selection.py",
        "    if n - c < k:",
        "    if n - c <= k:",
        SELECTION,
        "the unbiased pass@k estimator",
    ),
    Break(
        "selection.majority_threshold",
        "filters/selection.py",
        "        if share >= threshold:",
        "        if share > threshold:",
        SELECTION,
        "a majority share at the threshold labels the problem",
    ),
    Break(
        "selection.not_majority",
        "filters/selection.py",
        '"not_majority" for s in alive if s.sample_id not in winners',
        '"not_majority" for s in alive if False',
        SELECTION,
        "correct samples of another answer than the majority are dropped as not_majority",
    ),
    # -- the KD loss, the STaR loop's best model, export's left-alone ----------------------------
    Break(
        "kd.no_term",
        "starmill/training/kd.py",
        "loss = (1 - self.kd_alpha) * outputs.loss + self.kd_alpha * kd",
        "loss = outputs.loss",
        ("tests/test_train_kd.py",),
        "--kd topk adds the distillation term to the loss",
    ),
    Break(
        "kd.alpha_swapped",
        "starmill/training/kd.py",
        "loss = (1 - self.kd_alpha) * outputs.loss + self.kd_alpha * kd",
        "loss = self.kd_alpha * outputs.loss + (1 - self.kd_alpha) * kd",
        ("tests/test_train_kd.py",),
        "kd_alpha weighs the distillation term, 1 - kd_alpha the cross-entropy",
    ),
    Break(
        "best_model.always_m0",
        "starmill/pipeline/training_step.py",
        "iteration = max(sorted(self.heldout), key=lambda i: self._score(self.heldout[i]))",
        "iteration = 0",
        ("tests/test_star_outer_loop.py", "-k", "best_model"),  # end to end (1-3 min more): --tests
        # tests/test_star_outer_loop.py::test_two_iterations_train_evaluate_and_resume kills it too
        "the run report names the model with the best held-out metric",
    ),
    Break(
        "best_model.latest_of_equals",
        "starmill/pipeline/training_step.py",
        "iteration = max(sorted(self.heldout), key=",
        "iteration = max(sorted(self.heldout, reverse=True), key=",
        ("tests/test_star_outer_loop.py", "-k", "best_model"),
        "the earliest of equal models is the best model",
    ),
    Break(
        "export.left_alone",
        "warehouse/export/folder.py",
        '        raise FolderNotEmpty(f"{dest} already exists',
        '        [p.write_text("") for p in dest.iterdir() if p.is_file()]; raise FolderNotEmpty(f"{dest} already exists',
        ("tests/test_export_folder.py", "-k", "left_alone"),
        "a non-empty folder is refused and left alone",
    ),
    Break(
        "export.not_empty",
        "warehouse/export/folder.py",
        "    if dest.is_dir() and any(dest.iterdir()):",
        "    if False:",
        ("tests/test_export_folder.py", "-k", "left_alone"),
        "a non-empty folder is refused",
    ),
    # -- CI's skip policy (tests/skip_policy.py) ----------------------------------------------------
    Break(
        "skips.exit_status",
        "tests/skip_policy.py",
        "            session.exitstatus = pytest.ExitCode.TESTS_FAILED",
        "            pass",
        ("tests/test_skip_policy.py",),
        "under CI=true an unlisted skip fails the run",
    ),
    Break(
        "skips.reason",
        "tests/skip_policy.py",
        "fnmatch.fnmatchcase(nodeid, pattern) and allowed in reason",
        "fnmatch.fnmatchcase(nodeid, pattern)",
        ("tests/test_skip_policy.py",),
        "a listed skip is allowed only for its listed reason",
    ),
    Break(
        "skips.module_level",
        "tests/skip_policy.py",
        "importorskip\n        self._seen(report)",
        "importorskip\n        pass",
        ("tests/test_skip_policy.py",),
        "a module-level skip counts too",
    ),
]

# -- the verifier sandbox (filters/isolation*) ----------------------------------------------------------
# RESERVED for the OS-level isolation layer's breaks (its author adds them: e.g. the network namespace
# dropped, the root bound read-write, the environment kept), each against the hostile-code suite
# (tests/test_isolation.py); ids start with "sandbox.".
ISOLATION = ("tests/test_isolation.py",)
SANDBOX: list[Break] = [
    # -- the sandbox for code starmill did not write (filters/isolation) ---------------------------
    Break(
        "sandbox.network",
        "filters/isolation/base.py",
        '"--unshare-all",\n        "--unshare-user",',
        '"--unshare-all",\n        "--share-net",\n        "--unshare-user",',
        ISOLATION,
        "sandboxed code has no network",
    ),
    Break(
        "sandbox.environment",
        "filters/isolation/base.py",
        'return {\n        "PATH": SANDBOX_PATH,',
        'return {\n        **os.environ,\n        "PATH": SANDBOX_PATH,',
        ISOLATION,
        "sandboxed code sees none of the caller's environment",
    ),
    Break(
        "sandbox.read_only",
        "filters/isolation/base.py",
        'cmd += ["--ro-bind", root, root]',
        'cmd += ["--bind", root, root]',
        ISOLATION,
        "the folders a sandbox sees are read-only",
    ),
    Break(
        "sandbox.no_new_processes",
        "filters/isolation/zygote.py",
        "        _forbid_new_processes()\n",
        "        pass\n",
        ISOLATION,
        "a call cannot start a process by any route (seccomp)",
    ),
    Break(
        "sandbox.program_processes",
        "filters/isolation/programs.py",
        "seccomp_fd=seccomp,\n            )",
        "seccomp_fd=None,\n            )",
        ISOLATION,
        "a program cannot start a process (a fork bomb ends at the wall clock, not the machine)",
    ),
    Break(
        "sandbox.not_dumpable",
        "filters/isolation/zygote.py",
        "    _not_dumpable()\n",
        "    pass\n",
        ISOLATION,
        "a call cannot read or write the zygote's descriptors (its channel to the host)",
    ),
    Break(
        "sandbox.code_tripwire",
        "filters/isolation/zygote.py",
        'raise PermissionError("refused by the sandbox: code from a string that reaches for " + hit)',
        "pass",
        ISOLATION,
        "an answer a scorer evaluates cannot run code that forges the call's reply",
    ),
    Break(
        "sandbox.tripwire_verdict",
        "filters/isolation/zygote.py",
        "        if tripped:\n            reply = {",
        "        if False:\n            reply = {",
        ISOLATION,
        "a call that tried a blocked action is never ok",
    ),
]
BREAKS += SANDBOX


def copy_tree(dest: Path) -> int:
    """The working tree's tracked and not-ignored files, as they are now."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    count = 0
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file() and not source.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
            count += 1
    return count


def map_rooms(copy: Path) -> None:
    """In the copy, ``starmill.<room>`` is the copy's ``<room>/`` folder (a link inside ``starmill/``):
    the editable install maps those names to the working tree's folders, so without the links the
    tests would import the unbroken originals and every break would survive."""
    for room in ROOMS:
        (copy / "starmill" / room).symlink_to(copy / room, target_is_directory=True)


def environment(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI")}
    return {**env, **ENV, "PYTHONPATH": str(copy)}


def check_imports(copy: Path, env: dict[str, str]) -> None:
    code = "import importlib; " + "; ".join(f"print(importlib.import_module({p!r}).__file__)" for p in PACKAGES)
    found = subprocess.run([sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True)
    outside = [line for line in found.stdout.splitlines() if not line.startswith(str(copy) + "/")]
    if found.returncode != 0 or outside or len(found.stdout.splitlines()) != len(PACKAGES):
        raise SystemExit(f"the copy is not what the tests import: {outside or found.stderr[-2000:]}")


def run_tests(copy: Path, env: dict[str, str], tests: tuple[str, ...]) -> tuple[str, float, str]:
    """(outcome, seconds, the first failing test or the last line): passed, failed, timeout or error."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, f"no result in {TIMEOUT}s"
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    last = (output.strip().splitlines() or ["(no output)"])[-1]
    outcome = {0: "passed", 1: "failed"}.get(done.returncode, "error")
    return outcome, seconds, failed.group(1) if failed else last


def select(only: str | None) -> list[Break]:
    if not only:
        return BREAKS
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    chosen = [b for b in BREAKS if b.id in wanted or b.area in wanted]
    unknown = wanted - {b.id for b in chosen} - {b.area for b in chosen}
    if unknown:
        raise SystemExit(f"unknown areas or breaks: {', '.join(sorted(unknown))} (see --list)")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        help="comma-separated areas (answers, sql, commit, selection, kd, best_model, "
        "export, skips, sandbox) or break ids",
    )
    parser.add_argument(
        "--tests", nargs="+", help="run these pytest arguments for every chosen break instead of its own"
    )
    parser.add_argument("--list", action="store_true", help="list the breaks and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args()
    breaks = select(args.only)
    if args.list:
        for b in breaks:
            print(f"{b.id:<32} {b.path:<38} {b.promise}")
        return
    copy = Path(tempfile.mkdtemp(prefix="starmill-mutation-"))
    try:
        files = copy_tree(copy)
        map_rooms(copy)
        env = environment(copy)
        check_imports(copy, env)
        stale = [b.id for b in breaks if (copy / b.path).read_text().count(b.old) != 1]
        if stale:
            raise SystemExit(f"breaks that no longer match their file exactly once: {', '.join(stale)}")
        print(f"{len(breaks)} breaks; {files} files copied to {copy}; every package imports from the copy")
        suites = list(dict.fromkeys(tuple(args.tests) if args.tests else b.tests for b in breaks))
        for tests in suites:
            outcome, seconds, detail = run_tests(copy, env, tests)
            if outcome != "passed":
                raise SystemExit(f"unbroken, {' '.join(tests)} did not pass ({outcome}, {detail}): fix that first")
            print(f"unbroken: {' '.join(tests)} passed ({seconds:.0f}s)")
        rows = []
        for b in breaks:
            target = copy / b.path
            original = target.read_text()
            try:
                target.write_text(original.replace(b.old, b.new))
                outcome, seconds, detail = run_tests(copy, env, tuple(args.tests) if args.tests else b.tests)
            finally:
                target.write_text(original)
            verdict = {"passed": "SURVIVED", "failed": "killed", "timeout": "killed (timeout)"}.get(outcome, "error")
            rows.append((b, verdict, seconds, detail))
            print(
                f"{b.id:<32} {verdict:<16} {seconds:5.0f}s  {detail if verdict != 'SURVIVED' else b.promise}",
                flush=True,
            )
    finally:
        if args.keep:
            print(f"copy kept at {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)
    survived = [r for r in rows if r[1] == "SURVIVED"]
    errors = [r for r in rows if r[1] == "error"]
    print(
        f"\n{len(rows) - len(survived) - len(errors)} killed, {len(survived)} survived, {len(errors)} errors "
        f"of {len(rows)} breaks"
    )
    for b, _, _, _ in survived:
        print(f"  survived: {b.id} ({b.path}): {b.promise}")
    for b, _, _, detail in errors:
        print(f"  error: {b.id}: {detail}")
    sys.exit(1 if survived or errors else 0)


if __name__ == "__main__":
    main()
