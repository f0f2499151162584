"""A ``prm`` version exported in TRL's stepwise-supervision layout: ``prompt`` (text), ``completions``
(the steps) and ``labels`` (one bool per step), as in ``trl-lib/math_shepherd`` and what TRL's
PRMTrainer read; ``soft_labels``, ``problem_id`` and ``sample_id`` ride beside them.

The prompt is the last user message of the stored chat prompt (the question as the template put
it); a system message or few-shot turns stay in the ``prm`` dataset only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from starmill.schemas.redact import redact
from starmill.warehouse.export import hub
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.export.folder import check_target, folder_files, staged_folder, write_split
from starmill.warehouse.export.split import split_by_problem
from starmill.warehouse.lineage import starmill_version

LINEAGE = "starmill_export.json"
SCHEMA = pa.schema(
    [
        pa.field("prompt", pa.string()),
        pa.field("completions", pa.list_(pa.string())),
        pa.field("labels", pa.list_(pa.bool_())),
        pa.field("soft_labels", pa.list_(pa.float64())),
        pa.field("problem_id", pa.string()),
        pa.field("sample_id", pa.string()),
    ]
)


def prompt_text(messages: list[dict[str, str]]) -> str:
    users = [m["content"] for m in messages if m["role"] == "user"]
    return users[-1] if users else "\n\n".join(m["content"] for m in messages)


def stepwise_rows(table: pa.Table) -> pa.Table:
    """``prm`` rows in the stepwise layout, sorted by problem and sample (stable bytes)."""
    rows = sorted(table.to_pylist(), key=lambda r: (r["problem_id"], r["sample_id"]))
    return pa.Table.from_pylist(
        [
            {
                "prompt": prompt_text(r["prompt"]),
                "completions": r["steps"],
                "labels": r["labels"],
                "soft_labels": r["soft_labels"],
                "problem_id": r["problem_id"],
                "sample_id": r["sample_id"],
            }
            for r in rows
        ],
        schema=SCHEMA,
    )


def _card(ref: str, splits: dict[str, pa.Table], manifest) -> str:
    prm = (manifest.model_extra or {}).get("prm", {})
    sizes = ", ".join(f"{name}: {t.num_rows} rows" for name, t in splits.items())
    return (
        f"---\ntags:\n- starmill\n- process-reward\n- stepwise-supervision\n---\n\n# {ref} (stepwise)\n\n"
        f"Step labels by Monte Carlo rollouts (Math-Shepherd): {prm.get('rollouts')} rollouts per step prefix "
        f"by `{prm.get('model')}` at temperature {prm.get('temperature')}; a step is labelled true when at "
        f"least one rollout from the prefix ending at it reached the gold answer (`soft_labels`: the share "
        f"that did). Steps split at {json.dumps(prm.get('delimiter'))}. {sizes}.\n\n"
        "Columns: `prompt` (text), `completions` (the steps), `labels` (bool per step), `soft_labels`, "
        "`problem_id`, `sample_id`. The format of TRL's stepwise-supervision datasets.\n"
    )


def build_stepwise(wh, ref: str, test_size: float = 0.0, seed: int = 0) -> tuple[str, dict[str, pa.Table], dict, str]:
    """(resolved ref, rows per split, lineage, card) of a ``prm`` version; writes nothing."""
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "prm":
        raise ExportError(
            f"{version} holds '{manifest.table}' rows; --format stepwise takes a 'prm' version "
            "(made by `starmill prm-data`)"
        )
    if not 0 <= test_size < 1:
        raise ExportError(f"--test-size must be in [0, 1), got {test_size}")
    splits = split_by_problem(stepwise_rows(wh.read(version)), test_size, seed)
    lineage = redact(
        {
            "format": 1,
            "starmill_version": starmill_version(),
            "export_format": "stepwise",
            "ref": str(version),
            "test_size": test_size,
            "seed": seed,
            "splits": {s: {"rows": t.num_rows} for s, t in splits.items()},
            "manifest": manifest.model_dump(mode="json", exclude={"files"}),
        }
    )
    return str(version), splits, lineage, _card(str(version), splits, manifest)


def _write(root: Path, splits: dict[str, pa.Table], lineage: dict, card: str) -> list[str]:
    for split, table in splits.items():
        write_split(table, split, root, rows_per_file=100_000)
    from starmill.warehouse.export.share import share_text, shared

    (root / LINEAGE).write_text(
        json.dumps(shared(lineage), indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (root / "README.md").write_text(share_text(card), encoding="utf-8")  # no local path
    return folder_files(root)


def export_stepwise(
    wh,
    ref: str,
    target: str,
    *,
    test_size: float = 0.0,
    seed: int = 0,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
):
    """Export a ``prm`` version to a folder (absent or empty, written atomically) or ``hf://OWNER/NAME``;
    (resolved ref, rows per split, files, where)."""
    repo_id = hub.parse_target(target)
    if repo_id is None:
        check_target(Path(target).expanduser())  # fail before reading anything
        resolved, splits, lineage, card = build_stepwise(wh, ref, test_size, seed)
        with staged_folder(target) as staging:
            files = _write(staging, splits, lineage, card)
        return resolved, splits, files, target
    token = hub.resolve_token()
    resolved, splits, lineage, card = build_stepwise(wh, ref, test_size, seed)
    files, url = hub.push_written(
        lambda root: _write(root, splits, lineage, card),
        repo_id,
        token=token,
        private=private,
        revision=revision,
        commit_message=commit_message or f"Export {resolved} (stepwise) with starmill",
    )
    return resolved, splits, files, url
