"""``starmill show-problem ID``: every attempt at one problem across versions, with its prompt (a
rationalization's hinted prompt too), verdict and drop reason."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option
from starmill.schemas.errors import StarmillError


class NoProblem(StarmillError):
    pass


@click.command("show-problem")
@click.argument("problem_id")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@warehouse_option
def command(problem_id: str, as_json: bool, warehouse: str) -> None:
    """Show problem PROBLEM_ID (its question and gold) and every attempt at it in every version of the
    warehouse: samples (the prompt, the hinted prompt of a rationalization, the completion, verdict and
    drop reason, the sft versions it went to) and evals."""
    from starmill.viewer.catalog import Catalog, NotFound
    from starmill.viewer.queries import problem

    cat = Catalog(warehouse)
    try:
        found = problem(cat, problem_id)
    except NotFound as exc:
        raise NoProblem(str(exc)) from None
    gold = (found["problem"] or {}).get("gold_answer")
    for row in found["samples"]:
        row["hinted_prompt"] = _hinted_prompt(cat.wh, row, found["problem"])
    if as_json:
        click.echo(json.dumps(found, indent=1, ensure_ascii=False, default=str))
        return
    head = found["problem"] or {}
    click.echo(
        f"Problem {problem_id}"
        + (
            f" ({head.get('source')}, {head.get('split')}; in {', '.join(found['in'])})"
            if head
            else " (in no problems version)"
        )
    )
    if head:
        click.echo(_block("Question", head.get("question")) + f"\n  Gold: {gold}")
    for row in found["samples"]:
        verdict = (row.get("verdicts") or [{}])[0]
        fate = "kept" if row.get("kept") else f"dropped: {row.get('drop_reason') or '-'}"
        sft = ", ".join(found["sft"].get(row["sample_id"], [])) or "-"
        click.echo(
            f"\n{row['dataset']}@v{row['version']}  iteration {row['iteration']}  {row['stage']} "
            f"#{row['sample_index']}  {fate}  verdict: {verdict.get('verdict')} ({verdict.get('rule')})  "
            f"answer: {row.get('extracted_answer')}  finish: {row.get('finish_reason')}  sft: {sft}"
        )
        if row.get("hinted_prompt"):
            click.echo(_block("Hinted prompt (what the teacher saw)", _messages(row["hinted_prompt"])))
        title = "Training prompt" if row.get("hinted_prompt") else "Prompt"
        click.echo(_block(title, _messages(row.get("prompt"))))
        click.echo(_block("Completion", row.get("completion")))
    for row in found["evals"]:
        click.echo(
            f"\n{row['dataset']}@v{row['version']}  eval {row['mode']} #{row['sample_index']}  "
            f"model {row['model']}  verdict: {row.get('verdict')}  answer: {row.get('extracted_answer')}"
        )
        click.echo(_block("Completion", row.get("completion")))
    if not found["samples"] and not found["evals"]:
        click.echo("\nNo attempts at it yet.")


def _hinted_prompt(wh, row: dict, problem: dict | None) -> list[dict] | None:
    """The prompt a rationalization was generated from (the gold hint shown): samples store the plain
    training prompt, so it is rendered again from the run's rationalization template."""
    if row.get("stage") != "rationalization" or not problem:
        return None
    from starmill.generators.prompts import get_template

    config = wh.manifest(f"{row['dataset']}@v{row['version']}").config or {}
    name = (config.get("prompts") or {}).get("rationalization_template", "star_rationalization")
    try:
        template = get_template(name)
    except StarmillError:
        return None
    if template.hash != row.get("template_hash"):  # the template changed since: not what was shown
        return None
    from starmill.filters.code.hints import code_hint, spec_of

    hint = problem["gold_answer"]
    if spec_of(problem) is not None:  # code: the hint was the reference (shown again) or test feedback (not kept)
        mode = (config.get("rationalization") or {}).get("code_hint", "reference")
        hint = code_hint(problem, "reference") if mode == "reference" else None
        if hint is None:
            return None
    return template.render(problem["question"], hint=hint)


def _messages(messages) -> str:
    return "\n".join(f"[{m.get('role')}] {m.get('content')}" for m in messages or [])


def _block(title: str, text) -> str:
    body = "\n".join("    " + line for line in str(text if text is not None else "-").splitlines()) or "    -"
    return f"  {title}:\n{body}"
