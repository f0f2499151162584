"""An export folder (``starmill export --to DIR``) as training rows: its train split to train on, its
test split for the validation loss. Any of the three formats reads back as prompt-completion rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starmill.training.settings import TrainError

LINEAGE = "starmill_export.json"  # what marks a folder as a starmill export


def is_export(ref: str) -> bool:
    return (Path(ref).expanduser() / LINEAGE).is_file()


def export_rows(folder: str, system_prompt: str | None = None) -> tuple[list[dict], list[dict]]:
    """(train rows, test rows) of the export in ``folder``, each ``{"prompt", "completion", "problem_id"}``."""
    root = Path(folder).expanduser()
    out = []
    for split in ("train", "test"):
        out.append([_row(r, system_prompt) for r in _read(root, split)])
    if not out[0]:
        raise TrainError(f"{folder}: the export has no train rows to train on")
    return out[0], out[1]


def _read(root: Path, split: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path in sorted((root / "data").glob(f"{split}-*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def _row(row: dict[str, Any], system_prompt: str | None) -> dict[str, Any]:
    from starmill.training.data import as_training_rows
    from starmill.warehouse.export.formats import prompt_messages

    if "messages" in row:  # messages: the last assistant turn is the completion
        messages = row["messages"]
        prompt, completion = messages[:-1], messages[-1:]
    elif isinstance(row.get("completion"), list):  # prompt-completion
        prompt, completion = row["prompt"], row["completion"]
    else:  # raw: the sft columns
        return {**as_training_rows([row], system_prompt)[0], "problem_id": row.get("problem_id")}
    return {
        "prompt": prompt_messages(prompt, system_prompt),
        "completion": completion,
        "problem_id": row.get("problem_id"),
    }
