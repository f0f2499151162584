"""``starmill train REF --base MODEL --output DIR [--task sft|orm|prm]``: fine-tune a model on a version's
rows, or train a reward model (orm: on a samples version's verdicts; prm: on a prm version)."""

from __future__ import annotations

import json

import click

from starmill.cli.options import warehouse_option


def _overrides(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("train."):
            raise click.BadParameter(f"{item!r}: use train.KEY=VALUE", param_hint="--set")
        out[key.removeprefix("train.")] = value
    return out


@click.command("train")
@click.argument("ref")
@click.option(
    "--task",
    type=click.Choice(["sft", "orm", "prm"]),
    default="sft",
    show_default=True,
    help="sft: fine-tune on an sft version; orm: an outcome reward model on a samples version's verdicts; "
    "prm: a process reward model on a prm version.",
)
@click.option("--base", required=True, help="Model to start from: a local folder, a Hub id, or starmill/demo-teacher.")
@click.option(
    "--output", "-o", required=True, type=click.Path(file_okay=False), help="New folder for the trained model."
)
@click.option("--max-steps", type=int, help="Optimizer steps (overrides epochs).")
@click.option("--epochs", type=float, help="Passes over the data.")
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--lora", is_flag=True, help="Train a LoRA adapter (merged into the saved model).")
@click.option("--kd", type=click.Choice(["none", "topk"]), help="topk: distil the teacher's top-k distribution too.")
@click.option("--kd-alpha", type=click.FloatRange(0, 1), help="Weight of the distillation term.")
@click.option("--teacher", help="Teacher for --kd (a folder, Hub id or alias; same tokenizer).")
@click.option("--set", "overrides", multiple=True, metavar="train.KEY=VALUE", help="Any training setting (repeatable).")
@click.option("--no-record", is_flag=True, help="Don't add the model to the warehouse's models dataset.")
@click.option("--json", "as_json", is_flag=True, help="Print the training manifest as JSON.")
@warehouse_option
def command(
    ref,
    task,
    base,
    output,
    max_steps,
    epochs,
    lr,
    lora,
    kd,
    kd_alpha,
    teacher,
    overrides,
    no_record,
    as_json,
    warehouse,
) -> None:
    """Supervised fine-tuning on REF (an sft version, NAME or NAME@vN, or an export folder: its train split,
    its test split for a validation loss), loss on the completions only; with
    --task orm|prm, a reward model on a samples or prm version instead.

    Example: starmill train sft --base starmill/demo-teacher --output models/m1 --max-steps 200

    Reward models: starmill train samples --task orm --base starmill/demo-teacher --output models/orm
    """
    from starmill.training import TrainSettings, train_sft
    from starmill.training.registry import record_model
    from starmill.training.reward import train_reward
    from starmill.warehouse import Warehouse

    flags = {
        k: v
        for k, v in {
            "max_steps": max_steps,
            "epochs": epochs,
            "lr": lr,
            "kd": kd,
            "kd_alpha": kd_alpha,
            "teacher": teacher,
        }.items()
        if v is not None
    }
    if lora:
        flags["method"] = "lora"
    settings = TrainSettings().with_overrides({**_overrides(overrides), **flags})
    wh = Warehouse(warehouse)
    if task == "sft":
        result = train_sft(wh, ref, base, output, settings, progress=not as_json)
    else:
        result = train_reward(wh, ref, task, base, output, settings, progress=not as_json)
    recorded = None if no_record else record_model(wh, result.manifest, str(result.output))
    if as_json:
        click.echo(json.dumps({**result.manifest, "output": str(result.output), "recorded": recorded}, indent=1))
        return
    m = result.manifest
    click.echo(
        f"Trained {result.output} from {m['base_model']} on {', '.join(m['data'])} ({m['rows']} rows): "
        f"{m['steps']} steps, final loss {m['final_loss']:.4f}"
        if m["final_loss"] is not None
        else f"Trained {result.output}: {m['steps']} steps"
    )
    if m.get("validation_loss") is not None:
        click.echo(
            f"  validation loss {m['validation_loss']:.4f} on the export's test split ({m['validation_rows']} rows)"
        )
    click.echo(f"  loss curve: {result.output / 'loss.png'}   manifest: {result.output / 'starmill_training.json'}")
    if recorded:
        click.echo(f'  recorded as {recorded}: starmill sql -w {wh.root} "SELECT * FROM models"')
