"""``starmill ingest SOURCE``: write a problem source as a new version of a problems dataset."""

from __future__ import annotations

import click

from starmill.cli.options import warehouse_option
from starmill.schemas.sources import MAX_CHARS


@click.command("ingest")
@click.argument("source")
@click.option(
    "--preset",
    type=click.Choice(["gsm8k", "math", "plain", "mbpp", "apps"]),
    default="plain",
    show_default=True,
    help="Field mapping: gsm8k (question, answer '#### 72'), math (problem, solution \\boxed{}), "
    "plain (question, answer); code problems: mbpp (text, test_list, code), apps (question, "
    "input_output, solutions).",
)
@click.option(
    "--kind",
    type=click.Choice(["problems", "sft"]),
    default="problems",
    show_default=True,
    help="problems: questions with gold answers; sft: outside chat rows (messages, prompt/completion or "
    "ShareGPT conversations) as an sft version for export --mix.",
)
@click.option("--name", help="Dataset to add a version to (default: problems, or chat for --kind sft).")
@click.option("--split", default="train", show_default=True, help="Split stored on rows (and loaded from the Hub).")
@click.option("--question-field", help="Field holding the question (overrides the preset).")
@click.option("--answer-field", help="Field holding the answer (overrides the preset).")
@click.option("--solution-field", help="Field holding a reference solution (overrides the preset).")
@click.option(
    "--answer-format",
    type=click.Choice(["plain", "gsm8k", "boxed"]),
    help="How the gold answer sits in the answer field (overrides the preset).",
)
@click.option("--source-name", help="Source name stored on every row (default: from SOURCE).")
@click.option("--license", "license_", help="The source's license, carried into dataset cards.")
@click.option("--limit", type=int, help="Read at most this many rows.")
@click.option(
    "--max-chars",
    type=click.IntRange(1, 10_000_000),
    default=MAX_CHARS,
    show_default=True,
    help="Longest question (or answer) in characters; longer rows are rejected as too_long.",
)
@click.option("--hub-config", help="Hub dataset config (e.g. 'main' for gsm8k).")
@click.option("--revision", help="Hub dataset revision.")
@click.option("-n", "n", type=int, default=200, show_default=True, help="procedural: number of problems.")
@click.option("--seed", type=int, default=0, show_default=True, help="procedural: seed.")
@click.option("--difficulty", type=click.IntRange(1, 5), default=1, show_default=True, help="procedural: level 1-5.")
@click.option(
    "--verifier",
    "verifiers",
    multiple=True,
    help="Verifier that will grade this source (repeatable; "
    "the first decides; default math). Golds math can't read are rejected.",
)
@click.option(
    "--keep-unparseable-gold",
    is_flag=True,
    help="Keep rows whose gold the math verifier can't read (they are never selected).",
)
@click.option(
    "--decontaminate",
    "eval_sets",
    multiple=True,
    metavar="EVAL",
    help="Reject problems matching this evaluation set (file or save_to_disk folder); repeatable.",
)
@click.option(
    "--ngram", type=click.IntRange(1), default=8, show_default=True, help="Word n-gram size for --decontaminate."
)
@click.option(
    "--near-duplicates",
    "near",
    type=click.FloatRange(0, 1),
    default=0.6,
    show_default=True,
    help="Near-duplicate threshold for --decontaminate (as in export); 0: n-grams only.",
)
@click.option("--model", help="--kind sft: the model that wrote the rows, stored on them (default: outside).")
@warehouse_option
@click.pass_context
def command(
    ctx,
    source,
    kind,
    preset,
    name,
    split,
    question_field,
    answer_field,
    solution_field,
    answer_format,
    source_name,
    license_,
    limit,
    max_chars,
    hub_config,
    revision,
    n,
    seed,
    difficulty,
    verifiers,
    keep_unparseable_gold,
    eval_sets,
    ngram,
    near,
    model,
    warehouse,
) -> None:
    """Load SOURCE (a .jsonl/.json/.csv/.parquet file, a save_to_disk folder, a Hub id, or
    'procedural', or 'humaneval': its 164 problems, offline, graded by the code verifier) and write it as a
    new version of dataset NAME, bad rows to NAME_rejects. With --kind sft, SOURCE is chat rows (a file, a
    save_to_disk folder or a Hub id)."""
    from pydantic import ValidationError

    from starmill.warehouse import Warehouse
    from starmill.warehouse.sources import SourceError, SourceSpec, ingest

    if kind == "sft":
        return _ingest_chat(
            ctx,
            source,
            name or "chat",
            source_name,
            license_,
            limit,
            model,
            warehouse,
            hub_config=hub_config,
            split=split,
            revision=revision,
        )
    if model is not None:
        raise SourceError("--model goes with --kind sft")
    name = name or "problems"
    try:
        spec = SourceSpec(
            uri=source,
            preset=preset,
            question_field=question_field,
            answer_field=answer_field,
            solution_field=solution_field,
            answer_format=answer_format,
            name=source_name,
            split=split,
            hub_config=hub_config,
            revision=revision,
            license=license_,
            limit=limit,
            max_chars=max_chars,
            procedural={"n": n, "seed": seed, "difficulty": difficulty},
            keep_unparseable_gold=keep_unparseable_gold,
            **({"verifiers": list(verifiers)} if verifiers else {}),
        )
    except ValidationError as exc:
        raise SourceError("; ".join(f"{_option(e['loc'])}: {e['msg']}" for e in exc.errors())) from None
    wh = Warehouse(warehouse)
    cleaner = None
    if eval_sets:
        from starmill.warehouse.export.decontaminate import Decontaminator

        cleaner = Decontaminator.load(list(eval_sets), ngram, near or None)
    _summary(ingest(wh, spec, name=name, decontaminator=cleaner), name, "problems")


SFT_OPTIONS = {
    "source",
    "kind",
    "name",
    "source_name",
    "license_",
    "limit",
    "model",
    "max_chars",
    "warehouse",
    "hub_config",
    "split",
    "revision",
}


def _ingest_chat(ctx, source, name, source_name, license_, limit, model, warehouse, **hub) -> None:
    from click.core import ParameterSource

    from starmill.warehouse import Warehouse
    from starmill.warehouse.sources import SourceError
    from starmill.warehouse.sources.chat import MAX_CHARS as CHAT_MAX_CHARS
    from starmill.warehouse.sources.chat import ingest_chat

    given = [
        p
        for p in ctx.command.params
        if p.name not in SFT_OPTIONS and ctx.get_parameter_source(p.name) is not ParameterSource.DEFAULT
    ]
    if given:
        raise SourceError(f"{given[0].opts[0]} is for problems, not --kind sft")
    if limit is not None and limit < 1:
        raise SourceError("--limit: must be at least 1")
    given_max = ctx.get_parameter_source("max_chars") is not ParameterSource.DEFAULT
    manifest = ingest_chat(
        Warehouse(warehouse),
        source,
        name,
        source=source_name,
        license=license_,
        model=model,
        limit=limit,
        max_chars=ctx.params["max_chars"] if given_max else CHAT_MAX_CHARS,
        **hub,
    )
    _summary(manifest, name, "sft rows")


def _summary(manifest, name: str, rows: str) -> None:
    """What an ingest committed: rows, rejects per reason, and how to look at them."""
    rejects = manifest.tables.get("rejects", 0)
    click.echo(
        f"{manifest.dataset}@v{manifest.version}: {manifest.rows} {rows}, {rejects} rejects "
        f"(read {manifest.counts.get('read', 0)})"
    )
    for reason, count in sorted(manifest.drops.items()):
        click.echo(f"  rejected {count:>6}  {reason}")
    if rejects:
        click.echo(f'Inspect them: starmill sql "SELECT reason, row_index, detail FROM {name}_rejects"')
    if manifest.tables.get("contaminated"):
        click.echo(f'Matched: starmill sql "SELECT * FROM {name}_contaminated"')


def _option(loc: tuple) -> str:
    """The command-line option behind a SourceSpec field."""
    key = str(loc[-1])
    return {"n": "-n", "name": "--source-name", "license": "--license"}.get(key, "--" + key.replace("_", "-"))
