"""``starmill check``: grade one prediction (``--gold G --pred P``) or a JSON-lines file of them."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import click

from starmill.schemas.errors import StarmillError

NO_MARK_HINT = (
    "{n} of {total} predictions had no marked answer (\\boxed{{}}, '####', 'The answer is', "
    "<answer>); if they are bare answers, add --pred-is-answer"
)


@click.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--gold", help="A gold answer (with --pred).")
@click.option("--pred", help="A model output to grade (with --gold).")
@click.option("--gold-field", default="gold", show_default=True, help="Field of FILE's records holding the gold.")
@click.option("--pred-field", default="pred", show_default=True, help="Field of FILE's records holding the output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write graded records here (default: stdout).")
@click.option(
    "--gold-is-solution",
    "gold_mode",
    flag_value="solution",
    help="Gold is a whole solution (#### 72, \\boxed{}, 'The answer is') [default: decided per gold].",
)
@click.option(
    "--gold-is-answer", "gold_mode", flag_value="answer", help="Gold is a bare answer, even if it holds a marker."
)
@click.option("--pred-is-answer", is_flag=True, help="Pred is a bare answer, not a model output.")
@click.option("--form", "form", default=None, help="Answer form every gold asks for: reduced, factored, sig_figs:3, ….")
@click.option("--form-field", default=None, help="Field of FILE's records holding each problem's answer form.")
@click.option("--lenient", is_flag=True, help="Accept the last number of an output that has no marked answer.")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds per symbolic check."
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Symbolic checks at once [default: CPUs, at most 4]."
)
@click.option("--steps", is_flag=True, help="Also check every arithmetic step of the output (a, op b = c) exactly.")
@click.option(
    "--verifier",
    default=None,
    metavar="NAME",
    help="Grade with this verifier (code, exact, numeric, …) instead of the answer checker; the gold field "
    "may hold a JSON object (code: the test spec).",
)
def command(
    file,
    gold,
    pred,
    gold_field,
    pred_field,
    output,
    gold_mode,
    pred_is_answer,
    form,
    form_field,
    lenient,
    timeout,
    workers,
    steps,
    verifier,
) -> None:
    """Check final answers against gold answers and print verdicts as JSON.

    A gold holding '####', \\boxed{} or "The answer is" is read as a solution, anything else as a bare
    answer, unless --gold-is-solution or --gold-is-answer says which.

    \b
    starmill check --gold 72 --pred 'so \\boxed{72}'
    starmill check --gold 23/131 --pred 92/524 --pred-is-answer --form reduced
    starmill check samples.jsonl --gold-field gold_answer --pred-field completion -o graded.jsonl
    starmill check programs.jsonl --verifier code --gold-field tests --pred-field completion
    """
    if verifier is not None:
        if form or form_field or steps or lenient or gold_mode or pred_is_answer:
            raise StarmillError(
                "--verifier grades with that verifier alone: drop --form, --form-field, --steps, "
                "--lenient, --gold-is-*, --pred-is-answer"
            )
        _verify(verifier, file, gold, pred, gold_field, pred_field, output, workers)
        return
    from starmill.filters.answers import parse_form

    try:
        parse_form(form)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--form'") from None
    gold_is_solution = {"solution": True, "answer": False}.get(gold_mode)
    options = dict(
        gold_is_solution=gold_is_solution, pred_is_answer=pred_is_answer, lenient=lenient, timeout=timeout, form=form
    )
    if file is None:
        if gold is None or pred is None:
            raise StarmillError("give FILE, or both --gold and --pred")
        from starmill.filters.answers import check_answer

        verdict = check_answer(gold, pred, **options)
        click.echo(json.dumps(verdict.to_row(), ensure_ascii=False))
        if steps:
            for step in _steps(pred):
                click.echo(
                    f"step {step['verdict']:<5}  {step['text']}"
                    + ("" if step["verdict"] == "ok" else "   (" + " vs ".join(step["values"]) + ")")
                )
        if verdict.rule == "no_answer":
            click.echo("hint: " + NO_MARK_HINT.format(n=1, total=1), err=True)
        return
    if gold is not None or pred is not None:
        raise StarmillError("give FILE or --gold/--pred, not both")
    _grade_file(file, gold_field, pred_field, form_field, output, dict(options, workers=workers), steps)


def _verify(name: str, file, gold, pred, gold_field: str, pred_field: str, output: str | None, workers) -> None:
    from starmill.filters.verifiers import get_verifier
    from starmill.filters.verifiers.records import verify_lines

    try:
        chosen = get_verifier(name, **({"workers": workers} if workers else {}))
    except TypeError:  # a verifier that grades one at a time
        chosen = get_verifier(name)
    except ValueError as exc:
        raise StarmillError(str(exc)) from None
    if file is None:
        if gold is None or pred is None:
            raise StarmillError("give FILE, or both --gold and --pred")
        click.echo(json.dumps(chosen.verify({"gold_answer": gold}, pred).to_row(), ensure_ascii=False))
        return
    if gold is not None or pred is not None:
        raise StarmillError("give FILE or --gold/--pred, not both")
    source = click.open_file(file, encoding="utf-8", errors="replace")
    with source:
        _write_graded(verify_lines(source, chosen, gold_field, pred_field), output, pred_field)


def _steps(text: str | None) -> list[dict]:
    from starmill.filters.steps import check_steps

    return [{"text": c.text, "verdict": c.verdict, "values": list(c.values)} for c in check_steps(text or "")]


@contextmanager
def _sink(output: str | None):
    """stdout, or a temporary file next to ``output`` that replaces it only when all went well."""
    if not output:
        yield sys.stdout
        return
    target = Path(output)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise StarmillError(f"cannot write {output}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as sink:
            yield sink
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _grade_file(
    path: str,
    gold_field: str,
    pred_field: str,
    form_field: str | None,
    output: str | None,
    options: dict,
    steps: bool = False,
) -> None:
    from starmill.filters.answers.records import grade_lines

    source = click.open_file(path, encoding="utf-8", errors="replace")
    with source:
        _write_graded(
            grade_lines(source, gold_field, pred_field, form_field=form_field, **options), output, pred_field, steps
        )


def _write_graded(items, output: str | None, pred_field: str, steps: bool = False) -> None:
    """Write each graded record with its verdict, list the lines that could not be graded, print a summary."""
    from tqdm import tqdm

    counts, bad, unmarked = Counter(), 0, 0
    with _sink(output) as sink, tqdm(unit=" checks", file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
        for item in items:
            if item.verdict is None:
                bad += 1
                bar.write(f"line {item.line}: {item.problem}; skipped", file=sys.stderr)
                continue
            counts[item.verdict.verdict] += 1
            unmarked += item.verdict.rule == "no_answer"
            graded = {**item.record, "verdict": item.verdict.to_row()}
            if steps:
                graded["steps"] = _steps(
                    item.record.get(pred_field) if isinstance(item.record.get(pred_field), str) else None
                )
            sink.write(json.dumps(graded, ensure_ascii=False) + "\n")
            bar.update()
    total = sum(counts.values())
    summary = ", ".join(f"{kind} {n}" for kind, n in counts.most_common()) or "nothing"
    click.echo(f"graded {total} records: {summary}", err=True)
    if unmarked:
        line = NO_MARK_HINT.format(n=unmarked, total=total)
        click.echo(
            line if 2 * unmarked > total else line.split(";")[0], err=True
        )  # suggest the flag when most had none
    if bad:
        raise StarmillError(f"{bad} line{'s' if bad > 1 else ''} could not be graded (listed above)")
