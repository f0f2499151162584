"""Fixtures for export tests: ``sft`` versions written the way the STaR flow publishes them.

``make_sft_version`` writes ``SftRecord``s through ``Warehouse.writer`` with a manifest shaped like
the STaR run's (``starmill.pipeline``: the run config, models, sampling, counts per stage, drops per
reason, parents, sources, and the run report with prompts, checker and pass rates), or like an older
run's loose keys. A flow-made version can stand in for it.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from starmill.config import RunConfig
from starmill.generators.procedural import generate_problems
from starmill.generators.prompts import get_template
from starmill.schemas import SftRecord
from starmill.schemas.report import RunReport, pass_rate_histogram
from starmill.schemas.samples import sample_id
from starmill.warehouse import Warehouse

TEMPLATES = ("cot_zero_shot", "star_rationalization")  # the flow's default prompt templates
TEACHER = "starmill/demo-teacher"


def question_of(row: dict) -> str:
    """The problem inside an sft row's (zero-shot chain-of-thought) user prompt."""
    return row["prompt"][0]["content"].split("\n")[0]


def build_rows(problems, config: dict, *, seed: int, reasoning: bool):
    """SftRecords, per-problem pass rates, and the counts and drops the flow would record."""
    rng = random.Random(seed)
    n, k, attempts = config["sampling"]["n"], config["selection"]["k"], config["rationalization"]["attempts"]
    rows, rates, counts, drops = [], {}, Counter(problems=len(problems)), Counter()
    template = get_template(TEMPLATES[0])
    for problem in problems:
        correct = rng.choice([0, 0, 1, 2, n])  # some never solved, some always
        rates[problem.problem_id] = correct / n
        counts.update({"generated.rationale": n, "correct.rationale": correct, "kept.rationale": min(k, correct)})
        drops.update(wrong_answer=n - correct, over_k=max(0, correct - k))
        stage, kept = "rationale", min(k, correct)
        if correct == 0:
            kept = rng.choice([0, 1])
            stage = "rationalization"
            counts.update(
                {"generated.rationalization": attempts, "correct.rationalization": kept, "kept.rationalization": kept}
            )
            drops.update(wrong_answer=attempts - kept)
        prompt = [{"role": "user", "content": template.user.format(question=problem.question)}]
        for index in range(kept):
            think = "\n".join(problem.gold_solution.splitlines()[:-1]) if reasoning else None
            answer = f"The answer is {problem.gold_answer}."
            rows.append(
                SftRecord(
                    sample_id=sample_id(
                        problem.problem_id,
                        stage,
                        template.id,
                        template.hash,
                        TEACHER,
                        "r1",
                        config["sampling"],
                        seed,
                        index,
                    ),
                    problem_id=problem.problem_id,
                    source=problem.source,
                    stage=stage,
                    iteration=0,
                    prompt=prompt,
                    completion=f"<think>\n{think}\n</think>\n\n{answer}" if think else answer,
                    reasoning=think,
                    answer_text=answer,
                    final_answer=problem.gold_answer,
                    gold_answer=problem.gold_answer,
                    pseudo_label=False,
                    pass_rate=correct / n,
                    model=TEACHER,
                )
            )
    counts.update(
        generated=counts["generated.rationale"] + counts["generated.rationalization"],
        correct=counts["correct.rationale"] + counts["correct.rationalization"],
        kept=len(rows),
        problems_solved=len({r.problem_id for r in rows}),
    )
    counts["problems_unsolved"] = len(problems) - counts["problems_solved"]
    return rows, rates, dict(counts), {r: c for r, c in drops.items() if c}


@pytest.fixture
def make_sft_version(tmp_path):
    """``make(name="sft", problems=24, ...) -> (Warehouse, "name@vN")``: one new version per call."""
    wh = Warehouse(str(tmp_path / "wh"))

    def make(
        name: str = "sft",
        problems: int = 24,
        *,
        seed: int = 0,
        reasoning: bool = True,
        license: str | None = "apache-2.0",
        pass_rates: str = "report",
        teacher_options: dict | None = None,
    ):
        """``pass_rates``: "report" (what the flow records), or how older manifests held them:
        "histogram" (a loose ``pass_rate_histogram``) or "list" (``pass_rates``)."""
        source = {"uri": "procedural", "license": license, "procedural": {"n": problems, "seed": seed, "difficulty": 2}}
        config = RunConfig(
            source=source, teacher={"model": TEACHER, "revision": "r1", "options": teacher_options or {}}
        ).model_dump(mode="json")
        items = list(generate_problems(problems, seed=seed, difficulty=2))
        rows, rates, counts, drops = build_rows(items, config, seed=seed, reasoning=reasoning)
        extra = {
            "prompts": [get_template(t).describe() for t in TEMPLATES],
            "checker": {"name": "starmill", "version": "1"},
            "iterations": [
                {
                    "iteration": 0,
                    "model": TEACHER,
                    "attempted": problems,
                    "solved_by_rationale": sum(r > 0 for r in rates.values()),
                    "rationalization_attempted": sum(r == 0 for r in rates.values()),
                    "solved_by_rationalization": counts.get("kept.rationalization", 0),
                }
            ],
        }
        if pass_rates == "report":
            report = RunReport(
                n=config["sampling"]["n"],
                k=config["selection"]["k"],
                attempts=config["rationalization"]["attempts"],
                iteration_count=config["iterations"]["count"],
                pass_at_k={"1": 0.5},
                pass_rate_histogram=pass_rate_histogram(rates.values()),
                verifiers={"starmill": "1"},
                **extra,
            )
            extra = {"report": report.model_dump(mode="json")}
        elif pass_rates == "histogram":
            extra["pass_rate_histogram"] = pass_rate_histogram(rates.values())
        elif pass_rates == "list":
            extra["pass_rates"] = [rates[p.problem_id] for p in items]
        writer = wh.writer(
            name,
            "sft",
            config=config,
            parents=["samples@v1", "problems@v1"],
            sources=[
                {
                    "name": "procedural",
                    "uri": "procedural",
                    "fingerprint": f"procedural:n={problems},seed={seed},difficulty=2",
                    "license": license,
                }
            ],
            models=[
                {
                    "iteration": 0,
                    "model": TEACHER,
                    "revision": "r1",
                    "backend": "transformers",
                    "engine": "transformers",
                    "engine_version": "5.19.0",
                    "dtype": "float32",
                }
            ],
            sampling=config["sampling"],
            extra=extra,
        )
        with writer:
            writer.write(rows)
            for stage, value in counts.items():
                writer.count(stage, value)
            for reason, value in drops.items():
                writer.drop(reason, value)
        return wh, f"{name}@v{writer.version}"

    return make


def folder_hashes(root) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    import hashlib
    from pathlib import Path

    root = Path(root)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_card(root) -> tuple[dict, str]:
    """(YAML metadata, body) of an export's README.md."""
    from pathlib import Path

    import yaml

    text = (Path(root) / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body
