"""Every shell example in the ```bash blocks of README.md and of the docs pages (``docs/**/*.md``) is
classified, and the ones that can run here (offline, on the CPU, in seconds) run as written, in reading
order (``PAGES``), in one temporary folder that holds a copy of ``examples/`` and the warehouse they share
(the default ``./starmill-data``). A command written on two pages (the README repeats the quickstart's)
runs once, where it first appears.

``RUNS`` and ``SKIPPED`` name every command line (trailing ``# comment`` left out; ``a && b`` is two
commands): a command in neither fails the test, so a new example is either run here or skipped with its
reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
# Reading order: the order the commands depend on each other (the quickstart's runs make sft@v1 and sft@v2,
# which the warehouse page inspects, ...). Docs pages not named here follow, in path order.
PAGES = [
    "README.md",
    "docs/quickstart.md",
    "docs/guides/warehouse.md",
    "docs/guides/distillation.md",
    "docs/guides/verification.md",
    "docs/guides/search.md",
    "docs/guides/generation.md",
    "docs/guides/scheduling.md",
    "docs/guides/viewer.md",
]


def pages() -> list[Path]:
    """README.md and every docs page, in reading order."""
    named = [REPO / page for page in PAGES]
    return named + sorted(set(DOCS.rglob("*.md")) - set(named))


def docs_text() -> str:
    """Every page's text, in reading order."""
    return "\n".join(page.read_text(encoding="utf-8") for page in pages())


# Run as written, in reading order (the order they depend on each other).
RUNS = {
    ".venv/bin/starmill run",
    "starmill run examples/my-run.yaml",
    "starmill eval starmill/demo-teacher --on examples/gsm8k_test.jsonl --preset gsm8k -n 4",
    "starmill export sft --to ./sft-export --test-size 0.1 --decontaminate examples/gsm8k_test.jsonl",
    "starmill export sft --to ./sft-split --test-size 0.1 --seed 0 --decontaminate examples/gsm8k_test.jsonl",
    "starmill ingest examples/gsm8k_test.jsonl --preset gsm8k --split test",
    "starmill datasets",
    "starmill show sft",
    "starmill verify",
    "starmill diff sft@v1 sft@v2",
    "starmill show-problem \"$(starmill sql 'SELECT problem_id FROM sft LIMIT 1' --csv | tail -1)\"",
    "starmill check --gold 72 --pred 'so she has \\boxed{72} apples'",
    "starmill check --gold '\\frac{1}{2}' --pred 0.5 --pred-is-answer",
    "starmill check --gold 23/131 --pred 92/524 --pred-is-answer --form reduced",
    "starmill prm-data samples@v1 --rollouts 8",
    'starmill sql "SELECT avg(len(steps)), avg(list_avg(soft_labels)) FROM prm"',
    "starmill export prm@v1 --format stepwise --to ./prm-export",
    'starmill generate --prompt "Compute 12 + 7." -n 4',
    'starmill sql "SELECT reason, count(*) AS n FROM problems_rejects GROUP BY reason ORDER BY n DESC"',
    'starmill sql "SELECT version, count(*) FROM problems_all GROUP BY version ORDER BY version"',
    "starmill sql \"SELECT dataset, version, created_at, counts->>'problems' AS problems, "
    "sources->0->>'fingerprint' AS fp FROM manifests\"",
    "starmill sql \"SELECT json_extract_string(metadata, '$.kind') AS kind, count(*) FROM problems GROUP BY 1\"",
    'starmill sql "SELECT * FROM problems WHERE gold_answer = \\$a LIMIT 5" -p a=042 --json',
    'starmill sql "SELECT * FROM problems WHERE length(question) > \\$n" -p n:int=200',
    'echo "SELECT count(*) FROM problems" | starmill sql -',
}

_SERVER = "needs a Prefect server (long-running, or one on another machine)"
_S3 = "needs an S3 bucket and credentials"
SKIPPED = {
    "bash scripts/install.sh": "installs the venv (network; this test runs in that venv)",
    "bash scripts/install.sh --dev": "installs the venv (network; this test runs in that venv)",
    ".venv/bin/python -m pytest -q": "the test suite itself",
    "starmill train ./sft-export --base starmill/demo-teacher --output models/m1 --max-steps 20": "training (minutes on the CPU); tests/test_train*.py cover train",
    'starmill export sft@v3 --to hf://me/star-sft --private --revision main --commit-message "STaR round 1"': "pushes to the Hugging Face Hub",
    "starmill export sft@v3 --to ./mix --mix chat@v1:0.5": "needs a chat@v1 (outside chat data) no example makes",
    "starmill check samples.jsonl --gold-field gold_answer --pred-field completion -o graded.jsonl": "samples.jsonl is the reader's own file",
    "starmill prm-data samples --rollouts 16 --only correct --limit 500 --backend vllm --temperature 0.8": "needs vLLM (a GPU)",
    "starmill run --set sampling.n=4 --set source.procedural.n=200 --set rationalization.enabled=false": "a 200-problem run (minutes on the CPU) for the reward-model recipe",
    "starmill train samples@v1 --task orm --base starmill/demo-teacher --output models/orm --max-steps 200": "training (minutes on the CPU)",
    "starmill prm-data samples@v1 --rollouts 4": "the reward-model recipe's step after its 200-problem run",
    "starmill train prm@v1 --task prm --base starmill/demo-teacher --output models/prm --max-steps 200": "training (minutes on the CPU)",
    "starmill eval starmill/demo-teacher --on procedural:n=100,seed=2,difficulty=1 -n 4 --strategy best_of_n "
    "--scorer models/prm": "needs models/prm, which the skipped training makes",
    "starmill generate --backend vllm --model Qwen/Qwen2.5-7B-Instruct --file examples/problems.jsonl -n 8 "
    "--max-tokens 1024": "needs vLLM (a GPU) and a Hub model",
    'starmill generate --backend openai --model deepseek-r1 --base-url http://gpu-node:8000/v1 --prompt "…"': "needs an OpenAI-compatible server",
    "export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1": _SERVER,
    "prefect server start --host 127.0.0.1 &": _SERVER,
    "export PREFECT_API_URL=http://127.0.0.1:4200/api": _SERVER,
    'starmill serve examples/my-run.yaml --cron "0 3 * * *"': _SERVER,
    "export PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://prefect:PASSWORD@db-host:5432/prefect": _SERVER
    + " and a PostgreSQL database",
    "prefect server start --host 0.0.0.0": _SERVER,
    "export PREFECT_API_URL=http://SERVER:4200/api STARMILL_HOME=/path/to/starmill": _SERVER,
    "prefect work-pool create starmill --type process": _SERVER,
    "prefect deploy --all": _SERVER,
    "prefect gcl create gpus --limit 8": _SERVER,
    "prefect worker start --pool starmill": _SERVER + " and GPU machines",
    "export AWS_ENDPOINT_URL=http://127.0.0.1:8333": _S3,
    "export AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_REGION=us-east-1": _S3,
    "starmill ingest procedural -n 100 -w s3://my-bucket/starmill": _S3,
    "starmill run --set source.procedural.n=16 -w s3://my-bucket/starmill": _S3,
    'starmill sql "SELECT count(*) FROM sft" -w s3://my-bucket/starmill': _S3,
    "starmill export sft --to ./out -w s3://my-bucket/starmill": _S3,
    "starmill view -w ./starmill-data": "a web server that runs until Ctrl-C",
    "starmill run examples/code-star.yaml": "a code STaR run (a minute or more); tests/test_code_demo.py runs it",
    "starmill eval starmill/demo-code-teacher --on procedural_code:n=100,seed=1000,difficulty=3 --template "
    "code_zero_shot -n 4 --max-tokens 128": "a 100-problem sandboxed eval (minutes); tests/test_code_demo.py runs a small one",
    "starmill ingest mbpp.jsonl --preset mbpp --name mbpp": "the reader's own MBPP file (the Hub is unreachable); "
    "tests/test_ingest_code_presets.py ingests the upstream shape",
    "starmill ingest apps_test.parquet --preset apps --name apps": "the reader's own APPS file (the Hub is "
    "unreachable); tests/test_ingest_code_presets.py ingests the upstream shape",
    ".venv/bin/python bench/idle_engine.py --rounds 7 --no-whole": "a benchmark (minutes of interleaved timing rounds)",
    ".venv/bin/python bench/idle_engine.py --rounds 5 --no-audit --prefect": "a benchmark (minutes of interleaved timing rounds)",
    'starmill view --host 0.0.0.0 --token "$(openssl rand -hex 16)"': "a web server that runs until Ctrl-C",
}


def strip_comment(line: str) -> str:
    """The line without a trailing shell comment (a ``#`` after whitespace, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def readme_commands(text: str) -> list[str]:
    """Every command in ``text``'s ```bash blocks, in order (``a && b`` as two)."""
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            line = strip_comment(line.strip())
            commands += [part.strip() for part in line.split(" && ")] if line else []
    return commands


def test_the_reading_order_names_pages_that_exist():
    assert [page for page in PAGES if not (REPO / page).is_file()] == []


def test_every_readme_command_is_classified():
    commands = readme_commands(docs_text())
    assert len(commands) > 40, "the docs' ```bash blocks were not found"
    unknown = [c for c in commands if c not in RUNS and c not in SKIPPED]
    assert unknown == [], "docs commands neither run nor skipped here: add each to RUNS or SKIPPED"
    # an entry the docs no longer have is stale
    assert sorted((RUNS | set(SKIPPED)) - set(commands)) == []


def test_the_readme_shows_the_quickstart_commands_as_the_quickstart_page_does():
    """The README's commands are the quickstart's two (install and run, install and test), as CI runs them."""
    quickstart = readme_commands((DOCS / "quickstart.md").read_text(encoding="utf-8"))
    readme = readme_commands(README.read_text(encoding="utf-8"))
    assert (
        readme
        == quickstart[:4]
        == [
            "bash scripts/install.sh",
            ".venv/bin/starmill run",
            "bash scripts/install.sh --dev",
            ".venv/bin/python -m pytest -q",
        ]
    )


def run_readme_commands(text: str, folder: Path, runs=RUNS) -> list[tuple[str, float]]:
    """Run ``text``'s commands that ``runs`` names, in ``folder``; fail on the first that exits non-zero or
    writes a traceback."""
    import time

    shutil.copytree(REPO / "examples", folder / "examples")
    (folder / ".venv").symlink_to(Path(sys.prefix))  # the quickstart's `.venv/bin/starmill`
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("STARMILL_WAREHOUSE", None)  # the README's commands use the default ./starmill-data
    timings, done_already = [], set()
    for command in readme_commands(text):
        if command not in runs or command in done_already:
            continue  # a command repeated on a later page (the README's quickstart) runs once
        done_already.add(command)
        start = time.monotonic()
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
        timings.append((command, time.monotonic() - start))
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, f"{command}\n{done.stderr[-3000:]}"
    return timings


def test_a_broken_command_fails_the_run(tmp_path):
    broken = "starmill check --gold 72 --pred 72 --pred-is-answr"
    with pytest.raises(AssertionError, match=r"(?s)exit 2.*No such option '--pred-is-answr'"):
        run_readme_commands(f"```bash\n{broken}   # a misspelled option\n```\n", tmp_path, runs={broken})


@pytest.mark.slow
def test_the_runnable_readme_commands_run_as_written(tmp_path):
    timings = run_readme_commands(docs_text(), tmp_path)
    assert len(timings) == len(RUNS)
    assert (tmp_path / "sft-export").is_dir() and (tmp_path / "prm-export").is_dir()
    for command, seconds in timings:
        print(f"{seconds:6.1f}s  {command}")
