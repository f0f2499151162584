"""A ``samples`` version exported as preference data for TRL: DPO pairs (``prompt``/``chosen``/``rejected``)
or KTO examples (``prompt``/``completion``/``label``), conversational like the sft export or plain text.

The pairing rule, per problem: chosen = a kept correct sample; rejected = a wrong one (verdict ``wrong``
or ``unparseable_pred``), and with ``rejected_from="dropped"`` also a correct one a quality filter
dropped. Both lists are ordered by (stage, iteration, sample index, sample id); the i-th chosen pairs
with the i-th rejected, so each sample is used once and a problem gives min(chosen, rejected) pairs.
KTO takes every chosen (label true) and rejected (label false) sample of every problem, unpaired.
A problem without a pair, and every sample left out, is counted by reason and listed in ``unpaired.jsonl``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from starmill.schemas.redact import redact
from starmill.schemas.report import pass_rate_histogram, tokens_by_pass_rate
from starmill.warehouse.export import hub
from starmill.warehouse.export.decontaminate import Decontaminator
from starmill.warehouse.export.errors import ExportError
from starmill.warehouse.export.folder import check_target, folder_files, staged_folder, write_split
from starmill.warehouse.export.formats import MESSAGES, prompt_messages
from starmill.warehouse.export.model import ExportSettings, parse_band
from starmill.warehouse.export.split import split_by_problem
from starmill.warehouse.lineage import starmill_version

FORMATS = ("dpo", "kto")
REJECTED_FROM = ("wrong", "dropped")
WRONG = ("wrong", "unparseable_pred")  # verdicts of an answer known to be wrong (not a checker failure)
SELECTION = ("over_k", "duplicate", "near_duplicate", "not_majority", "lower_score", "not_best_answer")  # not quality
LINEAGE = "starmill_export.json"
UNPAIRED = "unpaired.jsonl"
COLUMNS = [
    "sample_id",
    "problem_id",
    "stage",
    "iteration",
    "sample_index",
    "prompt",
    "completion",
    "reasoning",
    "verdicts",
    "correct",
    "kept",
    "drop_reason",
    "completion_tokens",
]


@dataclass
class Preference:
    """A built preference export: rows per split, and what happened to every problem and sample."""

    ref: str
    format: str
    rejected_from: str
    splits: dict[str, pa.Table]
    counts: Counter = field(default_factory=Counter)  # chosen/rejected pools, pairs, examples
    unpaired: Counter = field(default_factory=Counter)  # problems without a pair, per reason
    left_out: Counter = field(default_factory=Counter)  # samples in no row, per reason
    listed: list[dict[str, Any]] = field(default_factory=list)  # the rows of unpaired.jsonl
    contaminated: list[dict[str, Any]] = field(default_factory=list)
    decontamination: dict[str, Any] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)  # problem -> pass rate (rationale stage)
    tokens: dict[str, float] = field(default_factory=dict)  # problem -> teacher's mean completion tokens there

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.splits.values())


def output_text(row: dict[str, Any]) -> str:
    """The whole output, a server's separate reasoning joined as ``<think>`` (``SampleRecord.output_text``)."""
    reasoning = row.get("reasoning")
    if reasoning and reasoning not in row["completion"]:
        return f"<think>\n{reasoning.strip()}\n</think>\n\n{row['completion'].strip()}"
    return row["completion"]


def side(row: dict[str, Any], rejected_from: str) -> tuple[str | None, str | None]:
    """("chosen" | "rejected" | None, why a sample is neither)."""
    verdict = row["verdicts"][0]["verdict"] if row["verdicts"] else None
    if row["correct"] and row["kept"]:
        return "chosen", None
    if not row["correct"]:
        return ("rejected", None) if verdict in WRONG else (None, f"verdict_{verdict or 'none'}")
    reason = row["drop_reason"] or "not_kept"
    if rejected_from == "dropped" and reason not in SELECTION:
        return "rejected", None
    return None, f"correct_dropped_{reason}"


def _order(row: dict[str, Any]) -> tuple:
    return (row["stage"] != "rationale", row["iteration"], row["sample_index"], row["sample_id"])


def _prompt(messages: list[dict[str, str]], plain: bool, system_prompt: str | None) -> Any:
    messages = prompt_messages(messages, system_prompt)
    if not plain:
        return messages
    users = [m["content"] for m in messages if m["role"] == "user"]
    return users[-1] if users else "\n\n".join(m["content"] for m in messages)


def _answer(text: str, plain: bool) -> Any:
    return text if plain else [{"role": "assistant", "content": text}]


def pass_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per problem: the share of correct first-stage samples (``filters.selection.pass_rates``)."""
    total, right = Counter(), Counter()
    for row in rows:
        if row["stage"] == "rationale":
            total[row["problem_id"]] += 1
            right[row["problem_id"]] += bool(row["correct"])
    return {p: right[p] / total[p] for p in total}


def mean_tokens(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per problem: the teacher's mean completion tokens on its first-stage samples (with the pass rate, its
    difficulty; ``filters.selection.mean_tokens``)."""
    total, tokens = Counter(), Counter()
    for row in rows:
        if row["stage"] == "rationale" and row.get("completion_tokens") is not None:
            total[row["problem_id"]] += 1
            tokens[row["problem_id"]] += row["completion_tokens"]
    return {p: tokens[p] / total[p] for p in total}


def preference_rows(
    rows: list[dict[str, Any]],
    fmt: str,
    rejected_from: str,
    plain: bool = False,
    system_prompt: str | None = None,
    band: tuple[float, float] | None = None,
) -> tuple[list[dict[str, Any]], Preference]:
    """The DPO or KTO rows of a samples version's rows, and the counts (``splits`` left empty). With
    ``band``, the problems whose pass rate lies outside it give no row (counted)."""
    found = Preference(ref="", format=fmt, rejected_from=rejected_from, splits={})
    pools: dict[str, dict[str, list]] = defaultdict(lambda: {"chosen": [], "rejected": []})
    rates = pass_rates(rows)
    found.rates, found.tokens = rates, mean_tokens(rows)
    if band is not None:
        outside = {p for p in {r["problem_id"] for r in rows} if not band[0] <= rates.get(p, 0.0) <= band[1]}
        found.counts["problems_outside_difficulty_band"] = len(outside)
        found.left_out["outside_difficulty_band"] = sum(r["problem_id"] in outside for r in rows)
        rows = [r for r in rows if r["problem_id"] not in outside]
    for row in rows:
        which, why = side(row, rejected_from)
        pools[row["problem_id"]]  # every problem is counted, even one with no usable sample
        if which is None:
            found.left_out[why] += 1
            continue
        pools[row["problem_id"]][which].append(row)
        found.counts[which] += 1
    out = []
    for problem in sorted(pools):
        chosen, rejected = (sorted(pools[problem][k], key=_order) for k in ("chosen", "rejected"))
        if fmt == "kto":
            for row, label in [(r, True) for r in chosen] + [(r, False) for r in rejected]:
                out.append(
                    {
                        "prompt": _prompt(row["prompt"], plain, system_prompt),
                        "completion": _answer(output_text(row), plain),
                        "label": label,
                        "problem_id": problem,
                        "sample_id": row["sample_id"],
                    }
                )
            if not chosen or not rejected:
                found.unpaired["no_chosen" if not chosen else "no_rejected"] += 1  # one-sided, still exported
            continue
        if not chosen or not rejected:
            reason = (
                "no_chosen_or_rejected"
                if not chosen and not rejected
                else ("no_chosen" if not chosen else "no_rejected")
            )
            found.unpaired[reason] += 1
            found.listed.append(
                {"problem_id": problem, "reason": reason, "chosen": len(chosen), "rejected": len(rejected)}
            )
            found.left_out["no_pair"] += len(chosen) + len(rejected)
            continue
        pairs = min(len(chosen), len(rejected))
        for good, bad in zip(chosen, rejected):
            out.append(
                {
                    "prompt": _prompt(good["prompt"], plain, system_prompt),
                    "chosen": _answer(output_text(good), plain),
                    "rejected": _answer(output_text(bad), plain),
                    "problem_id": problem,
                    "chosen_id": good["sample_id"],
                    "rejected_id": bad["sample_id"],
                }
            )
        found.left_out["unpaired_chosen"] += len(chosen) - pairs
        found.left_out["unpaired_rejected"] += len(rejected) - pairs
    found.counts["problems"] = len(pools)
    found.counts["pairs" if fmt == "dpo" else "examples"] = len(out)
    found.counts["problems_paired" if fmt == "dpo" else "problems_with_both"] = len(pools) - sum(
        found.unpaired.values()
    )
    found.left_out = Counter({k: v for k, v in found.left_out.items() if v})
    return out, found


def _schema(fmt: str, plain: bool) -> pa.Schema:
    text = pa.string() if plain else MESSAGES
    if fmt == "kto":
        return pa.schema(
            [
                ("prompt", text),
                ("completion", text),
                ("label", pa.bool_()),
                ("problem_id", pa.string()),
                ("sample_id", pa.string()),
            ]
        )
    return pa.schema(
        [
            ("prompt", text),
            ("chosen", text),
            ("rejected", text),
            ("problem_id", pa.string()),
            ("chosen_id", pa.string()),
            ("rejected_id", pa.string()),
        ]
    )


def _run_cleaner(manifest) -> tuple[Decontaminator | None, str | None]:
    """The evaluation sets of the run config that made ``manifest``'s version, and that version's ref."""
    settings = ExportSettings(ref="-").with_run_decontamination(manifest)
    if settings.decontamination_from is None:
        return None, None
    return settings.cleaner(), settings.decontamination_from


def build_preference(
    wh,
    ref: str,
    fmt: str,
    *,
    rejected_from: str = "wrong",
    plain: bool = False,
    test_size: float = 0.0,
    seed: int = 0,
    system_prompt: str | None = None,
    difficulty_band: str | None = None,
    decontaminator: Decontaminator | None = None,
    run_decontamination: bool = True,
) -> Preference:
    """The preference export of a ``samples`` version, in memory. Without a ``decontaminator`` the run
    config's ``decontamination:`` section applies (unless ``run_decontamination`` is False)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown preference format {fmt!r} (use {', '.join(FORMATS)})")
    if rejected_from not in REJECTED_FROM:
        raise ExportError(f"--rejected-from must be one of {', '.join(REJECTED_FROM)}, got {rejected_from!r}")
    if not 0 <= test_size < 1:
        raise ExportError(f"--test-size must be in [0, 1), got {test_size}")
    band = parse_band(difficulty_band) if difficulty_band is not None else None
    version = wh.resolve(ref)
    manifest = wh.manifest(version)
    if manifest.table != "samples":
        raise ExportError(
            f"{version} holds '{manifest.table}' rows; --format {fmt} takes a 'samples' version "
            "(correct and wrong samples, as `starmill run` writes them)"
        )
    source = None
    if decontaminator is None and run_decontamination:
        decontaminator, source = _run_cleaner(manifest)
    table = wh.dataset(version).to_table(columns=COLUMNS)
    contaminated, report = [], {}
    if decontaminator is not None:
        table, contaminated = decontaminator.apply(table)
        report = decontaminator.report()
        if source is not None:
            report["from_run_config"] = source
    rows, found = preference_rows(table.to_pylist(), fmt, rejected_from, plain, system_prompt, band)
    if not rows:
        raise ExportError(
            f"{version} gives no {fmt} rows: {json.dumps(dict(found.unpaired))} problems without "
            f"a pair, samples left out {json.dumps(dict(found.left_out))}"
        )
    found.ref, found.contaminated, found.decontamination = str(version), contaminated, report
    found.splits = split_by_problem(pa.Table.from_pylist(rows, schema=_schema(fmt, plain)), test_size, seed)
    found.counts["contaminated"] = len(contaminated)
    return found


def card(found: Preference, settings: dict[str, Any]) -> str:
    layout = (
        "`prompt`, `chosen`, `rejected` (TRL's DPO layout)"
        if found.format == "dpo"
        else "`prompt`, `completion`, `label` (TRL's KTO layout)"
    )
    rule = (
        "chosen = a kept correct sample; rejected = a wrong one (verdict wrong or unparseable_pred)"
        + (", or a correct one dropped by a quality filter" if found.rejected_from == "dropped" else "")
        + (
            "; per problem the i-th chosen pairs with the i-th rejected (ordered by stage, iteration, "
            "sample index), each sample used once"
            if found.format == "dpo"
            else "; every chosen sample is label true and every rejected one label false"
        )
    )
    sizes = ", ".join(f"{name}: {t.num_rows} rows" for name, t in found.splits.items())
    lines = [
        f"---\ntags:\n- starmill\n- preference\n- {found.format}\n---\n",
        f"# {found.ref} ({found.format})\n",
        f"Columns: {layout}, {'plain text' if settings.get('plain') else 'conversational'}; with "
        f"`problem_id` and the sample ids. {sizes}.\n",
        f"Pairing rule: {rule}.\n",
        "| count | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(found.counts.items())]
    lines += [
        "",
        "Problems without a pair, per reason (listed in `unpaired.jsonl`):",
        "",
        "| reason | problems |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(found.unpaired.items())] or ["| - | 0 |"]
    lines += ["", "Samples in no row, per reason:", "", "| reason | samples |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in sorted(found.left_out.items())] or ["| - | 0 |"]
    exported = {p for t in found.splits.values() for p in t.column("problem_id").to_pylist()}
    lines += [
        "",
        f"Difficulty: pass rates (share of correct rationale-stage samples) of the {len(exported)} exported "
        "problems"
        + (f", kept from {settings['difficulty_band']}" if settings.get("difficulty_band") else "")
        + ", with the teacher's mean completion tokens on them:",
        "",
        "| pass rate | problems | teacher tokens (mean) |",
        "| --- | --- | --- |",
    ]
    known = sorted(p for p in exported if p in found.rates)
    tokens = tokens_by_pass_rate([found.rates[p] for p in known], [found.tokens.get(p) for p in known])
    lines += [
        f"| {k} | {v} | {'—' if tokens[k] is None else f'{tokens[k]:g}'} |"
        for k, v in pass_rate_histogram(found.rates[p] for p in known).items()
    ]
    if found.decontamination:
        lines += [
            "",
            f"Decontamination: {len(found.contaminated)} samples dropped (listed in `contaminated.jsonl`); "
            f"method {json.dumps(found.decontamination.get('method'))}.",
        ]
    return "\n".join(lines) + "\n"


def write_preference(found: Preference, root: Path, settings: dict[str, Any]) -> list[str]:
    from starmill.warehouse.export.share import share_text, shared

    for split, table in found.splits.items():
        write_split(table, split, root, rows_per_file=100_000)
    lineage = redact(
        {
            "format": 1,
            "starmill_version": starmill_version(),
            "export_format": found.format,
            "ref": found.ref,
            "settings": settings,
            "rejected_from": found.rejected_from,
            "splits": {s: {"rows": t.num_rows} for s, t in found.splits.items()},
            "counts": dict(found.counts),
            "unpaired": dict(found.unpaired),
            "left_out": dict(found.left_out),
            "decontamination": found.decontamination,
        }
    )
    (root / LINEAGE).write_text(
        json.dumps(shared(lineage), indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (root / UNPAIRED).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in found.listed), encoding="utf-8")
    if found.decontamination:
        from starmill.warehouse.export.decontaminate import CONTAMINATED, contaminated_lines

        (root / CONTAMINATED).write_text(contaminated_lines(found.contaminated), encoding="utf-8")
    (root / "README.md").write_text(share_text(card(found, settings)), encoding="utf-8")  # no local path
    return folder_files(root)


def export_preference(
    wh,
    ref: str,
    target: str,
    fmt: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    **settings: Any,
) -> tuple[Preference, list[str], str]:
    """Export a samples version as DPO or KTO data to a folder (written atomically) or ``hf://OWNER/NAME``."""
    shown = {k: v for k, v in settings.items() if k != "decontaminator"}
    repo_id = hub.parse_target(target)
    if repo_id is None:
        check_target(Path(target).expanduser())  # fail before reading anything
        found = build_preference(wh, ref, fmt, **settings)
        with staged_folder(target) as staging:
            files = write_preference(found, staging, shown)
        return found, files, target
    token = hub.resolve_token()
    found = build_preference(wh, ref, fmt, **settings)
    files, url = hub.push_written(
        lambda root: write_preference(found, root, shown),
        repo_id,
        token=token,
        private=private,
        revision=revision,
        commit_message=commit_message or f"Export {found.ref} ({fmt}) with starmill",
    )
    return found, files, url
