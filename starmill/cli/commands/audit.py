"""``starmill audit SFT[@vN] [--verifier NAME] [--sample N] [--seed S]``: a second verifier's opinion of kept rows."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option
from starmill.cli.output import output_options, render

COLUMNS = ["problem_id", "sample_id", "primary", "audit", "audit_pred"]


@click.command("audit")
@click.argument("ref")
@click.option(
    "--verifier",
    default="math-verify",
    show_default=True,
    help="The second verifier, by name: math-verify, math, reasoning_gym, llm_judge, …",
)
@click.option("--sample", type=int, default=200, show_default=True, help="Kept rows graded (all when fewer).")
@click.option("--seed", type=int, default=0, show_default=True, help="Picks the sample.")
@warehouse_option
@output_options
def command(ref, verifier, sample, seed, warehouse, fmt) -> None:
    """Grade a seeded sample of an sft version's rows with a second verifier; print the agreement with
    the verdicts that kept them and each disagreement (problem, sample, both verdicts)."""
    from starmill.grading.audit import audit_version
    from starmill.warehouse import Warehouse

    report = audit_version(Warehouse(warehouse), ref, verifier, sample, seed)
    if fmt == "json":
        click.echo(json.dumps(report, indent=1))
        return
    rows = [[d[c] for c in COLUMNS] for d in report["disagreements"]]
    if fmt != "table":
        click.echo(render(COLUMNS, rows, fmt))
        return
    share = "n/a" if report["agreement"] is None else f"{report['agreement']:.1%}"
    click.echo(
        f"Audit of {report['version']} with {report['verifier']} {report['verifier_version']}: "
        f"{report['agreed']} of {report['sample']} sampled rows agree ({share}; {report['of']} rows, "
        f"seed {report['seed']})"
    )
    if rows:
        click.echo(render(COLUMNS, rows, "table"))
