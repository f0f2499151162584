"""``starmill export NAME[@vN] --to DIR|hf://OWNER/NAME``: a TRL-ready dataset with its card."""

from __future__ import annotations

import click

from starmill.cli.options import warehouse_option

FORMATS = ("messages", "prompt-completion", "raw")  # warehouse.export.FORMATS, without importing pyarrow
STEPWISE = "stepwise"  # a prm version in TRL's stepwise-supervision layout (warehouse.export.stepwise)
PREFERENCE = ("dpo", "kto")  # a samples version as TRL preference data (warehouse.export.preference)
NEAR = 0.6  # warehouse.export.near_duplicates.THRESHOLD, without importing numpy


@click.command("export")
@click.argument("ref")
@click.option("--to", "target", required=True, help="A folder (absent or empty), or hf://OWNER/NAME.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS + (STEPWISE,) + PREFERENCE),
    default="messages",
    show_default=True,
    help="messages: TRL conversational; prompt-completion: TRL conversational pairs; raw: every column; "
    "stepwise: a prm version as TRL stepwise supervision; dpo, kto: a samples version as TRL "
    "preference data.",
)
@click.option(
    "--test-size",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of problems in a test split (by problem, never both sides); 0: train only.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split and of mix sampling.")
@click.option(
    "--decontaminate",
    "eval_sets",
    multiple=True,
    metavar="EVAL",
    help="Evaluation set (JSONL, JSON, CSV, Parquet, or a save_to_disk folder); repeatable.",
)
@click.option("--ngram", type=int, default=8, show_default=True, help="Word n-gram size for decontamination.")
@click.option(
    "--near-duplicates",
    "near",
    type=float,
    default=NEAR,
    show_default=True,
    help="Also drop rows containing this share of an evaluation problem's words and word pairs "
    "(MinHash candidates, numbers kept); 0: n-grams only.",
)
@click.option(
    "--no-run-decontamination",
    "skip_run_decon",
    is_flag=True,
    help="Ignore the run config's decontamination: section (applied when no --decontaminate is given).",
)
@click.option(
    "--difficulty-band",
    default=None,
    metavar="LOW:HIGH",
    help="Keep the problems whose pass rate is from LOW to HIGH (e.g. 0.1:0.9); the rest are dropped, "
    "counted as outside_difficulty_band.",
)
@click.option(
    "--order",
    type=click.Choice(("problem", "easy_to_hard")),
    default=None,
    help="Rows by problem id, or easy to hard (pass rate, then teacher tokens); default: the version's "
    "selection.order.",
)
@click.option(
    "--rejected-from",
    type=click.Choice(("wrong", "dropped")),
    default="wrong",
    show_default=True,
    help="dpo/kto: rejected = wrong samples; dropped: also correct ones a quality filter dropped.",
)
@click.option("--plain", is_flag=True, help="dpo/kto: prompt and answers as plain text, not chat messages.")
@click.option(
    "--mix",
    multiple=True,
    metavar="NAME@vN:WEIGHT",
    help="Add an sft version sampled at WEIGHT × its rows; repeatable.",
)
@click.option("--system-prompt", default=None, help="System message for every row (replaces a stored one).")
@click.option("--private", is_flag=True, help="Hub: create the repo private.")
@click.option("--revision", default=None, help="Hub: branch to push to (created if missing).")
@click.option("--commit-message", default=None, help="Hub: commit message.")
@warehouse_option
def command(
    ref,
    target,
    fmt,
    test_size,
    seed,
    eval_sets,
    ngram,
    near,
    skip_run_decon,
    difficulty_band,
    order,
    rejected_from,
    plain,
    mix,
    system_prompt,
    private,
    revision,
    commit_message,
    warehouse,
) -> None:
    """Export an sft version to a folder or a Hub dataset repo, with a dataset card (a samples version as
    DPO or KTO preference data with --format dpo|kto)."""
    from starmill.warehouse import Warehouse
    from starmill.warehouse.export import ExportError, ExportSettings, export_to_folder, export_to_hub, parse_target

    if not 0 <= near <= 1:
        raise ExportError(f"--near-duplicates must be from 0 to 1, got {near:g}")
    if order is not None and fmt in PREFERENCE + (STEPWISE,):
        raise ExportError(f"--order applies to sft exports, not --format {fmt}")
    if fmt in PREFERENCE:
        if mix:
            raise ExportError(f"--mix applies to sft exports, not --format {fmt}")
        return _preference(
            Warehouse(warehouse),
            ref,
            target,
            fmt,
            test_size=test_size,
            seed=seed,
            rejected_from=rejected_from,
            plain=plain,
            system_prompt=system_prompt,
            difficulty_band=difficulty_band,
            run_decontamination=not skip_run_decon,
            eval_sets=list(eval_sets),
            ngram=ngram,
            near=near or None,
            private=private,
            revision=revision,
            commit_message=commit_message,
        )
    if rejected_from != "wrong" or plain:
        raise ExportError("--rejected-from and --plain apply to --format dpo and kto")

    if fmt == STEPWISE:
        return _stepwise(
            Warehouse(warehouse),
            ref,
            target,
            test_size,
            seed,
            private,
            revision,
            commit_message,
            eval_sets or mix or system_prompt,
        )
    settings = ExportSettings.make(
        ref=ref,
        format=fmt,
        test_size=test_size,
        seed=seed,
        decontaminate=list(eval_sets),
        ngram=ngram,
        near_duplicates=near,
        mix=list(mix),
        difficulty_band=difficulty_band,
        run_decontamination=not skip_run_decon,
        order=order,
        system_prompt=system_prompt,
    )
    wh = Warehouse(warehouse)
    repo_id = parse_target(target)
    if repo_id is None:
        if private or revision or commit_message:
            raise ExportError("--private, --revision and --commit-message apply to hf:// targets only")
        export, files = export_to_folder(wh, settings, target)
        where = target
    else:
        export, files, where = export_to_hub(
            wh, settings, repo_id, private=private, revision=revision, commit_message=commit_message
        )
    splits = ", ".join(f"{name} {t.num_rows} rows" for name, t in export.splits.items())
    click.echo(
        f"Exported {', '.join(p.ref for p in export.parts)} ({fmt}): {splits}, "
        f"{export.problems()} problems, {len(files)} files -> {where}"
    )
    for part in export.parts:
        for reason, n in sorted(part.drops.items()):
            click.echo(f"  dropped {n:>6}  {reason}  ({part.ref})")
    if repo_id is None:
        click.echo(f'Load it: datasets.load_dataset("{target}")')


def _stepwise(wh, ref, target, test_size, seed, private, revision, commit_message, sft_only) -> None:
    from starmill.warehouse.export import ExportError
    from starmill.warehouse.export.stepwise import export_stepwise

    if sft_only:
        raise ExportError("--decontaminate, --mix and --system-prompt apply to sft exports, not --format stepwise")
    if not target.startswith("hf://") and (private or revision or commit_message):
        raise ExportError("--private, --revision and --commit-message apply to hf:// targets only")
    resolved, splits, files, where = export_stepwise(
        wh,
        ref,
        target,
        test_size=test_size,
        seed=seed,
        private=private,
        revision=revision,
        commit_message=commit_message,
    )
    sizes = ", ".join(f"{name} {t.num_rows} rows" for name, t in splits.items())
    click.echo(f"Exported {resolved} (stepwise): {sizes}, {len(files)} files -> {where}")


def _preference(wh, ref, target, fmt, *, eval_sets, ngram, near, private, revision, commit_message, **settings):
    from starmill.warehouse.export.decontaminate import Decontaminator
    from starmill.warehouse.export.preference import export_preference

    cleaner = Decontaminator.load(eval_sets, ngram, near) if eval_sets else None
    found, files, where = export_preference(
        wh,
        ref,
        target,
        fmt,
        private=private,
        revision=revision,
        commit_message=commit_message,
        decontaminator=cleaner,
        **settings,
    )
    sizes = ", ".join(f"{name} {t.num_rows} rows" for name, t in found.splits.items())
    click.echo(f"Exported {found.ref} ({fmt}): {sizes}, {len(files)} files -> {where}")
    for key, n in sorted(found.counts.items()):
        click.echo(f"  {key:<20} {n:>6}")
    for reason, n in sorted(found.unpaired.items()):
        click.echo(f"  problems without a pair {n:>6}  {reason}")
    for reason, n in sorted(found.left_out.items()):
        click.echo(f"  samples left out {n:>6}  {reason}")
