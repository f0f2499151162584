"""A demo warehouse for the viewer, made once per session, and the viewer serving it.

Two STaR runs on a scripted stub teacher (``run_star`` in process, no Prefect): samples@v1 keeps 2
per problem, samples@v2 keeps 1; the outputs hold what the viewer must show safely: an HTML
injection, a ``<think>`` block, a fenced code block, LaTeX, a wrong step, a wrong answer. Next to them
an evals version (accuracy against N), a tree version (a small search) and ``broken``, a dataset
whose v1 is damaged.
"""

from __future__ import annotations

import json
import threading

import pytest

INJECTION = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'"> so 2 + 3 = 5.'
THOUGHT = "Two and three: count three up from two, 3, 4, 5."
QUESTIONS = {"Compute 2 + 3.": "5", "Compute 9 - 4.": "5", "Compute 8 + 8.": "16"}


def scripted(question, hint, index):
    from starmill.generators.base import Completion

    if question == "Compute 2 + 3.":
        text, reasoning = [
            (INJECTION + "\nThe answer is 5.", None),
            ("The answer is 5.", THOUGHT),
            ("Check it in code:\n```python\nprint(2 + 3)\n```\nThe answer is 5.", None),
            ("We have $\\frac{10}{2} = 5$, so 2 + 3 = 6 is wrong and 2 + 3 = 5.\nThe answer is 5.", None),
        ][index]
    elif question == "Compute 9 - 4.":
        text, reasoning = (
            [
                f"Nine minus four: 9 - 4 = {5 + (index == 3)}, so it is 5.\nThe answer is 5.",
                "Counting down from nine gives 5.\nThe answer is 5.",
                f"Take {4} from {9}: 5 left.\nThe answer is 5.",
                "I think it is 6.\nThe answer is 6.",
            ][index],
            None,
        )
    else:
        text, reasoning = f"I think it is {40 + index}.\nThe answer is {40 + index}.", None
    return Completion(text, "stop", 5, len(text.split()), reasoning=reasoning)


def _evals(wh, problems_ref):
    from starmill.schemas import EvalRecord

    rows = wh.read(problems_ref).to_pylist()
    records = [
        EvalRecord(
            problem_id=p["problem_id"],
            mode="sampled",
            sample_index=i,
            model="stub-eval",
            model_revision=None,
            completion=f"The answer is {p['gold_answer'] if i % 2 == 0 else 0}.",
            extracted_answer=p["gold_answer"] if i % 2 == 0 else "0",
            gold_answer=p["gold_answer"],
            verdict="correct" if i % 2 == 0 else "wrong",
            correct=i % 2 == 0,
            finish_reason="stop",
            completion_tokens=5,
            temperature=0.7,
            seed=i,
        )
        for p in rows
        for i in range(4)
    ]
    metrics = {
        "greedy_pass@1": 0.667,
        "pass@1": 0.5,
        "pass@2": 0.833,
        "pass@4": 1.0,
        "maj@1": 0.5,
        "maj@2": 0.5,
        "maj@4": 0.667,
    }
    with wh.writer(
        "evals",
        "evals",
        parents=[problems_ref],
        models=[{"model": "stub-eval"}],
        extra={"metrics": metrics, "eval_on": problems_ref},
    ) as writer:
        writer.write(records)
        writer.count("problems", len(rows))
    return f"evals@v{writer.version}"


def _tree(wh, samples_ref, problem_id):
    from starmill.schemas import TreeRecord

    def node(node_id, parent, depth, step, score, selected=False, terminal=False):
        return TreeRecord(
            problem_id=problem_id,
            stage="rationale",
            iteration=0,
            strategy="beam",
            search_key="k1",
            node_id=node_id,
            parent_id=parent,
            depth=depth,
            subtree=0,
            step=step,
            score=score,
            visits=0,
            value=None,
            terminal=terminal,
            rollout=False,
            finish_reason="stop",
            completion_tokens=4,
            answer="5" if terminal else None,
            selected=selected,
            sample_id=None,
        )

    from starmill.warehouse.publish import publish_tree

    rows = [
        node("n1", None, 1, "2 + 3 = 5\n", 1.0),
        node("n2", None, 1, "2 + 3 = 6\n", 0.0),
        node("n3", "n1", 2, "The answer is 5.", 1.0, selected=True, terminal=True),
    ]
    return publish_tree(wh, "tree", samples_ref, rows, counts={"nodes": len(rows)})


@pytest.fixture(scope="session")
def viewer_warehouse(tmp_path_factory):
    """(root, refs): the demo warehouse described above."""
    from pathlib import Path

    from starmill.config import parse_config
    from starmill.generators import registry
    from starmill.generators.stub_backend import StubBackend
    from starmill.pipeline import run_star
    from starmill.warehouse import Warehouse

    base = tmp_path_factory.mktemp("viewer")
    root = base / "wh"
    source = base / "problems.jsonl"
    source.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS.items()))
    refs = {}
    for k in (2, 1):
        cfg = parse_config(
            {
                "source": {"uri": str(source)},
                "teacher": {"model": "stub-viewer"},
                "sampling": {"n": 4, "seed": 1},
                "selection": {"k": k},
                "rationalization": {"enabled": False},
                "runner": {"shard_size": 2, "retries": 0},
            }
        )
        registry.use_backend(cfg.teacher.model_dump(mode="json"), StubBackend(respond=scripted))
        summary = run_star(cfg, str(root), progress=False)
        refs.setdefault("samples", []).append(summary["samples"])
        refs.setdefault("sft", []).append(summary["sft"])
    wh = Warehouse(str(root))
    problems_ref = wh.manifest(refs["samples"][0]).parents[0]
    refs["problems"] = problems_ref
    refs["evals"] = _evals(wh, problems_ref)
    first = next(p for p in wh.read(problems_ref).to_pylist() if p["question"] == "Compute 2 + 3.")
    refs["problem_id"] = first["problem_id"]
    refs["tree"] = _tree(wh, refs["samples"][0], first["problem_id"])
    from starmill.generators.procedural import generate_problems

    for seed in (1, 2):
        with wh.writer("broken", "problems") as writer:
            writer.write(generate_problems(3, seed=seed))
    manifest = json.loads((Path(root) / "broken" / "v1" / "manifest.json").read_text())
    part = Path(root) / manifest["data"] / manifest["files"][0]["path"]
    part.write_bytes(part.read_bytes()[:100])  # broken@v1 damaged; broken@v2 still served
    return Path(root), refs


@pytest.fixture(scope="session")
def viewer(viewer_warehouse):
    """The viewer on the demo warehouse, on 127.0.0.1 and a free port: its base URL (no trailing /)."""
    from starmill.viewer.server import make_server

    root, _ = viewer_warehouse
    server = make_server(str(root), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url.rstrip("/")
    server.shutdown()
    server.server_close()
