"""Small builders shared by tests."""

from starmill.schemas import ProblemRecord, SampleRecord


def problem(question="Compute 2 + 3.", gold="5", source="t"):
    return ProblemRecord.make(source=source, question=question, gold_answer=gold)


def sample(
    problem_id,
    completion,
    *,
    index=0,
    stage="rationale",
    correct=True,
    verdict=None,
    finish="stop",
    iteration=0,
    reasoning=None,
    answer_text=None,
    extracted=None,
):
    verdict = verdict or ("correct" if correct else "wrong")
    return SampleRecord(
        sample_id=f"{problem_id[:8]}-{stage}-{iteration}-{index}",
        problem_id=problem_id,
        stage=stage,
        iteration=iteration,
        sample_index=index,
        template_id="cot",
        template_hash="h",
        prompt=[{"role": "user", "content": "q"}],
        completion=completion,
        reasoning=reasoning,
        answer_text=answer_text,
        extracted_answer=extracted,
        finish_reason=finish,
        prompt_tokens=3,
        completion_tokens=5,
        model="m",
        model_revision=None,
        engine="test",
        engine_version=None,
        sampling="{}",
        seed=0,
        verdicts=[
            {
                "checker": "starmill",
                "checker_version": "1",
                "verdict": verdict,
                "rule": "r",
                "pred": extracted,
                "gold": "5",
                "seconds": 0.0,
                "form": None,
                "detail": None,
            }
        ],
        correct=correct,
    )


def without_timings(table):
    """Rows as dicts, with the checker's wall-clock seconds (the one field that may differ) left out."""
    rows = table.to_pylist()
    for row in rows:
        for verdict in row.get("verdicts") or []:
            verdict.pop("seconds")
    return rows


def run_cli(capsys, *argv):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from starmill.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
