"""``starmill check``: grade one prediction (``--gold G --pred P``) or a JSON-lines file of them."""
from __future__ import annotations

import json
import sys
from collections import Counter

import click

from schemas.errors import StarmillError


@click.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--gold", help="A gold answer (with --pred).")
@click.option("--pred", help="A model output to grade (with --gold).")
@click.option("--gold-field", default="gold", show_default=True, help="Field of FILE's records holding the gold.")
@click.option("--pred-field", default="pred", show_default=True, help="Field of FILE's records holding the output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write graded records here (default: stdout).")
@click.option("--gold-is-solution", is_flag=True, help="Gold is a whole solution (#### 72, \\boxed{}, 'The answer is').")
@click.option("--pred-is-answer", is_flag=True, help="Pred is a bare answer, not a model output.")
@click.option("--lenient", is_flag=True, help="Accept the last number of an output that has no marked answer.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds per symbolic check.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Symbolic checks at once [default: CPUs, at most 4].")
def command(file, gold, pred, gold_field, pred_field, output, gold_is_solution, pred_is_answer, lenient, timeout, workers) -> None:
    """Check final answers against gold answers and print verdicts as JSON.

    \b
    starmill check --gold 72 --pred 'so \\boxed{72}'
    starmill check samples.jsonl --gold-field gold_answer --pred-field completion -o graded.jsonl
    """
    options = dict(gold_is_solution=gold_is_solution, pred_is_answer=pred_is_answer, lenient=lenient, timeout=timeout)
    if file is None:
        if gold is None or pred is None:
            raise StarmillError("give FILE, or both --gold and --pred")
        from filters.answers import check_answer

        click.echo(json.dumps(check_answer(gold, pred, **options).to_row(), ensure_ascii=False))
        return
    if gold is not None or pred is not None:
        raise StarmillError("give FILE or --gold/--pred, not both")
    _grade_file(file, gold_field, pred_field, output, dict(options, workers=workers))


def _grade_file(path: str, gold_field: str, pred_field: str, output: str | None, options: dict) -> None:
    from tqdm import tqdm

    from filters.answers.records import grade_lines

    counts, bad = Counter(), 0
    source = click.open_file(path, encoding="utf-8", errors="replace")
    try:
        sink = click.open_file(output or "-", "w", encoding="utf-8", atomic=bool(output))
    except OSError as exc:
        raise StarmillError(f"cannot write {output}: {exc.strerror}") from exc
    with source, sink, tqdm(unit=" checks", file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
        for item in grade_lines(source, gold_field, pred_field, **options):
            if item.verdict is None:
                bad += 1
                bar.write(f"line {item.line}: {item.problem}; skipped", file=sys.stderr)
                continue
            counts[item.verdict.verdict] += 1
            sink.write(json.dumps({**item.record, "verdict": item.verdict.to_row()}, ensure_ascii=False) + "\n")
            bar.update()
    summary = ", ".join(f"{kind} {n}" for kind, n in counts.most_common()) or "nothing"
    click.echo(f"graded {sum(counts.values())} records: {summary}", err=True)
    if bad:
        raise StarmillError(f"{bad} line{'s' if bad > 1 else ''} could not be graded (listed above)")
