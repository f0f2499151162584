"""``starmill ingest SOURCE``: write a problem source as a new version of a problems dataset."""
from __future__ import annotations

import click

from starmill.options import warehouse_option
from schemas.sources import MAX_CHARS


@click.command("ingest")
@click.argument("source")
@click.option("--preset", type=click.Choice(["gsm8k", "math", "plain"]), default="plain", show_default=True,
              help="Field mapping: gsm8k (question, answer '#### 72'), math (problem, solution \\boxed{}), "
                   "plain (question, answer).")
@click.option("--name", default="problems", show_default=True, help="Dataset to add a version to.")
@click.option("--split", default="train", show_default=True, help="Split stored on rows (and loaded from the Hub).")
@click.option("--question-field", help="Field holding the question (overrides the preset).")
@click.option("--answer-field", help="Field holding the answer (overrides the preset).")
@click.option("--solution-field", help="Field holding a reference solution (overrides the preset).")
@click.option("--answer-format", type=click.Choice(["plain", "gsm8k", "boxed"]),
              help="How the gold answer sits in the answer field (overrides the preset).")
@click.option("--source-name", help="Source name stored on every row (default: from SOURCE).")
@click.option("--license", "license_", help="The source's license, carried into dataset cards.")
@click.option("--limit", type=int, help="Read at most this many rows.")
@click.option("--max-chars", type=click.IntRange(1, 10_000_000), default=MAX_CHARS, show_default=True,
              help="Longest question (or answer) in characters; longer rows are rejected as too_long.")
@click.option("--hub-config", help="Hub dataset config (e.g. 'main' for gsm8k).")
@click.option("--revision", help="Hub dataset revision.")
@click.option("-n", "n", type=int, default=200, show_default=True, help="procedural: number of problems.")
@click.option("--seed", type=int, default=0, show_default=True, help="procedural: seed.")
@click.option("--difficulty", type=click.IntRange(1, 5), default=1, show_default=True, help="procedural: level 1-5.")
@click.option("--verifier", "verifiers", multiple=True, help="Verifier that will grade this source (repeatable; "
              "the first decides; default math). Golds math can't read are rejected.")
@click.option("--keep-unparseable-gold", is_flag=True, help="Keep rows whose gold the math verifier can't read "
              "(they are never selected).")
@click.option("--decontaminate", "eval_sets", multiple=True, metavar="EVAL",
              help="Reject problems matching this evaluation set (file or save_to_disk folder); repeatable.")
@click.option("--ngram", type=click.IntRange(1), default=8, show_default=True,
              help="Word n-gram size for --decontaminate.")
@click.option("--near-duplicates", "near", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Near-duplicate threshold for --decontaminate (as in export); 0: n-grams only.")
@warehouse_option
def command(source, preset, name, split, question_field, answer_field, solution_field, answer_format,
            source_name, license_, limit, max_chars, hub_config, revision, n, seed, difficulty, verifiers,
            keep_unparseable_gold, eval_sets, ngram, near, warehouse) -> None:
    """Load SOURCE (a .jsonl/.json/.csv/.parquet file, a save_to_disk folder, a Hub id, or
    'procedural', or 'humaneval': its 164 problems, offline, graded by the code verifier) and write it as a
    new version of dataset NAME, bad rows to NAME_rejects."""
    from pydantic import ValidationError

    from warehouse import Warehouse
    from warehouse.sources import SourceError, SourceSpec, ingest

    try:
        spec = SourceSpec(
            uri=source, preset=preset, question_field=question_field, answer_field=answer_field,
            solution_field=solution_field, answer_format=answer_format, name=source_name, split=split,
            hub_config=hub_config, revision=revision, license=license_, limit=limit, max_chars=max_chars,
            procedural={"n": n, "seed": seed, "difficulty": difficulty},
            keep_unparseable_gold=keep_unparseable_gold, **({"verifiers": list(verifiers)} if verifiers else {}),
        )
    except ValidationError as exc:
        raise SourceError("; ".join(f"{_option(e['loc'])}: {e['msg']}" for e in exc.errors())) from None
    wh = Warehouse(warehouse)
    cleaner = None
    if eval_sets:
        from warehouse.export.decontaminate import Decontaminator

        cleaner = Decontaminator.load(list(eval_sets), ngram, near or None)
    manifest = ingest(wh, spec, name=name, decontaminator=cleaner)
    rejects = manifest.tables.get("rejects", 0)
    click.echo(f"{manifest.dataset}@v{manifest.version}: {manifest.rows} problems, {rejects} rejects "
               f"(read {manifest.counts.get('read', 0)})")
    for reason, count in sorted(manifest.drops.items()):
        click.echo(f"  rejected {count:>6}  {reason}")
    if rejects:
        click.echo(f"Inspect them: starmill sql \"SELECT reason, row_index, detail FROM {name}_rejects\"")


def _option(loc: tuple) -> str:
    """The command-line option behind a SourceSpec field."""
    key = str(loc[-1])
    return {"n": "-n", "name": "--source-name", "license": "--license"}.get(key, "--" + key.replace("_", "-"))
