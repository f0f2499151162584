"""The dataset card (README.md): Hub YAML metadata and a body written from the versions' manifests.

Whatever a manifest does not record is written as "not recorded"; nothing is guessed. The YAML
``license`` is set only when every source of every exported version records one (the set of them);
otherwise it is left out and the body says so, because a wrong license is worse than none.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from starmill.schemas.cost import cost_line
from starmill.schemas.redact import redact, redact_text
from starmill.schemas.report import RunReport, pass_rate_histogram, tokens_by_pass_rate
from starmill.warehouse.export.chart import CHART
from starmill.warehouse.export.decontaminate import REASON
from starmill.warehouse.export.model import Export, Part

NOT_RECORDED = "not recorded"
SIZES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]
COLUMNS = {
    "messages": [
        (
            "messages",
            "system (when given), user (the hint-free prompt), assistant "
            "(`<think>` reasoning `</think>` then the answer, when the teacher reasoned)",
        )
    ],
    "prompt-completion": [
        ("prompt", "system (when given) and user messages: the hint-free prompt"),
        (
            "completion",
            "one assistant message: `<think>` reasoning `</think>` then the answer, when the teacher reasoned",
        ),
    ],
    "raw": [
        (
            "…",
            "every column of the `sft` table: prompt, completion, reasoning, answer_text, final_answer, "
            "gold_answer, pseudo_label, pass_rate, iteration, model",
        )
    ],
}
KEY_COLUMNS = [
    ("problem_id", "content hash of the problem (source, question, gold answer)"),
    ("sample_id", "content hash of the generation request"),
    (
        "stage",
        "`rationale` (sampled) or `rationalization` (STaR, generated with the gold-answer "
        "hint; stored and exported with the hint-free prompt)",
    ),
    ("source", "the problem source"),
    ("origin", "the starmill version the row comes from"),
]


def size_category(rows: int) -> str:
    return next((label for limit, label in SIZES if rows < limit), "n>1B")


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return NOT_RECORDED
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, sort_keys=True, ensure_ascii=False) + "`"
    return f"`{value}`"


def fenced(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def licenses(parts: list[Part]) -> tuple[list[str] | None, list[list[str]]]:
    """(the licenses when every source records one, else None; a row per source for the body)."""
    found, rows, complete = set(), [], True
    for part in parts:
        data = part.manifest.model_dump(mode="json")
        sources = data.get("sources") or []
        if not sources:  # fall back to the run config's source
            src = dig(data, "config", "source") or {}
            sources = [{"name": src.get("name") or src.get("uri") or NOT_RECORDED, "license": src.get("license")}]
        for s in sources:
            rows.append([part.ref, s.get("name"), s.get("license") or NOT_RECORDED])
            if s.get("license"):
                found.add(s["license"])
            else:
                complete = False
    return (sorted(found) if complete and found else None), rows


def pass_rate_rows(part: Part, report: RunReport | None) -> tuple[str, list[list[Any]]]:
    """The version's pass-rate histogram: as its run recorded it, else binned from its rows, which only
    cover problems with a kept row."""
    if report is not None and report.pass_rate_histogram:
        where = "the run report" if part.manifest.report is not None else "the manifest (an older run)"
        problems = sum(report.pass_rate_histogram.values())
        return (
            f"as recorded in {where}: {problems} problems, every problem of the run",
            [[k, v] for k, v in report.pass_rate_histogram.items()],
        )
    return (
        f"{NOT_RECORDED} in the manifest; binned from the version's rows ({len(part.pass_rates)} problems "
        "with a kept row, so unsolved problems are missing)",
        [[k, v] for k, v in pass_rate_histogram(part.pass_rates.values()).items()],
    )


ORDERS = {  # the exported rows' order, as the card says it
    "problem": "Rows are listed by problem id (`--order problem`).",
    "easy_to_hard": "Rows are listed easy to hard (`--order easy_to_hard`, or the version's `selection.order`): "
    "pass rate highest first, then the teacher's mean completion tokens fewest first, then problem id; "
    "with a test split, in each split.",
}


def selection_difficulty(parts: list[Part]) -> list[str]:
    """A line per version whose run kept a pass-rate band at selection (``selection.difficulty``) or
    ordered its rows easy to hard (``selection.order``)."""
    out = []
    for part in parts:
        selection = (part.manifest.config or {}).get("selection") or {}
        band, order = selection.get("difficulty"), selection.get("order")
        if band:
            out += [
                "",
                f"`{part.ref}`'s run kept problems whose pass rate is from {band['min_pass_rate']:g} to "
                f"{band['max_pass_rate']:g} (`selection.difficulty`); the others' samples were dropped as "
                "`too_easy` or `too_hard`.",
            ]
        if order == "easy_to_hard":
            out += ["", f"`{part.ref}`'s rows are stored easy to hard (`selection.order: easy_to_hard`)."]
    return out


def yaml_header(export: Export) -> str:
    found, _ = licenses(export.parts)
    meta: dict[str, Any] = {}
    if found:
        meta["license"] = found[0] if len(found) == 1 else found
    meta.update(
        {
            "pretty_name": export.repo_id.split("/")[-1] if export.repo_id else export.parts[0].ref.split("@")[0],
            "task_categories": ["text-generation"],
            "tags": ["synthetic", "reasoning", "distillation", "star", "starmill"],
            "size_categories": [size_category(export.rows)],
            "configs": [
                {
                    "config_name": "default",
                    "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in export.splits],
                }
            ],
        }
    )
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def audit_lines(audit: dict | None, reselected: dict | None = None) -> list[str]:
    """The audit number (a second verifier on a seeded sample of kept rows) and its disagreements; what a
    re-selection after a re-grade changed."""
    out = ["### Audit", ""]
    if not audit:
        out += [f"The audit is {NOT_RECORDED} (`starmill audit` computes it).", ""]
    elif audit.get("skipped"):
        out += [f"No audit: {audit['skipped']}.", ""]
    else:
        share = "n/a" if audit.get("agreement") is None else f"{audit['agreement']:.1%}"
        out += [
            f"`{audit.get('verifier')}` {shown(audit.get('verifier_version'))} agrees on {audit.get('agreed')} "
            f"of {audit.get('sample')} kept rows ({share}), a sample (seed {audit.get('seed')}) of "
            f"{audit.get('of')}.",
            "",
        ]
        if audit.get("disagreements"):
            keys = ["problem_id", "sample_id", "primary", "audit", "audit_pred"]
            out += [table(keys, [[shown(d.get(k)) for k in keys] for d in audit["disagreements"]]), ""]
    if reselected:
        out += [
            f"Re-selected after a re-grade of `{reselected.get('samples_from')}`: {reselected.get('rows_before')} "
            f"-> {reselected.get('rows_after')} rows, {reselected.get('added')} added, "
            f"{reselected.get('removed')} removed.",
            "",
        ]
    return out


def source_table(sources: list[dict[str, Any]]) -> str:
    """One row per source; a run over many sources adds each one's share, verifiers and counts."""
    head = ["name", "uri", "fingerprint", "license"]
    rows = [
        [s.get("name"), f"`{s.get('uri')}`", shown(s.get("fingerprint")), s.get("license") or NOT_RECORDED]
        for s in sources
    ]
    if any("counts" in s for s in sources):
        head += ["share", "verifiers", "read", "problems", "rejects", "left out by weight"]
        for row, s in zip(rows, sources):
            counts = s.get("counts") or {}
            share = (
                f"weight {s['weight']:g}"
                if s.get("weight") is not None
                else f"limit {s['limit']}"
                if s.get("limit") is not None
                else "all"
            )
            row += [
                share,
                ", ".join(s.get("verifiers") or []) or NOT_RECORDED,
                *[shown(counts.get(k)) for k in ("read", "problems", "rejects", "left_out_by_weight")],
            ]
    return table(head, rows)


def part_section(part: Part) -> str:
    data = redact(part.manifest.model_dump(mode="json"))  # config, command, sources, models, errors
    config = data.get("config") or {}
    teacher = config.get("teacher") or {}
    first = (data.get("models") or [{}])[0]  # the teacher as it ran (openai: the model the server named)
    report = RunReport.from_manifest(data) or RunReport()
    out = [f"## Lineage of `{part.ref}`", ""]
    out.append(
        table(
            ["", ""],
            [
                ["created", shown(data.get("created_at"))],
                [
                    "made by",
                    f"starmill {shown(data.get('starmill_version'))}, git commit {shown(data.get('git_commit'))}",
                ],
                ["parents", ", ".join(f"`{p}`" for p in data.get("parents") or []) or NOT_RECORDED],
                [
                    "teacher",
                    f"model {shown(teacher.get('model'))}, "
                    f"revision {shown(teacher.get('revision') or first.get('revision'))}, "
                    f"backend {shown(teacher.get('backend'))}"
                    + (f", server {first['server']}" if first.get("server") else ""),
                ],
                ["n (samples per problem)", shown(report.n)],
                ["k (kept per problem)", shown(report.k)],
                ["R (rationalization attempts)", shown(report.attempts)],
                ["STaR iterations", shown(report.iteration_count)],
                ["sampling", shown(data.get("sampling") or config.get("sampling"))],
                ["pass@k", shown(report.pass_at_k)],
                [
                    "answer checker",
                    f"{shown(report.checker and report.checker.name)} version "
                    f"{shown(report.checker and report.checker.version)}",
                ],
                [
                    "verifiers",
                    ", ".join(f"`{name}` {version}" for name, version in report.verifiers.items()) or NOT_RECORDED,
                ],
                ["teacher cost", cost_line(report.cost) or NOT_RECORDED],
                [
                    "partial",
                    "yes: the run was stopped and published what had finished" if data.get("partial") else "no",
                ],
            ],
        )
    )
    out += ["", "### Sources", ""]
    out.append(source_table(data.get("sources")) if data.get("sources") else NOT_RECORDED)
    if report.by_source:
        keys = ["generated", "correct", "kept", "problems_solved"]
        out += [
            "",
            "Samples per source in this run:",
            "",
            table(["source", *keys], [[name, *[c.get(k, 0) for k in keys]] for name, c in report.by_source.items()]),
        ]
    out += ["", "### Models and engines", ""]
    out.append(
        table(
            ["iteration", "model", "revision", "engine", "engine version", "dtype"],
            [
                [
                    shown(m.get("iteration")),
                    shown(m.get("model")),
                    shown(m.get("revision")),
                    shown(m.get("engine") or m.get("backend")),
                    shown(m.get("engine_version")),
                    shown(m.get("dtype")),
                ]
                for m in data.get("models") or []
            ],
        )
        if data.get("models")
        else NOT_RECORDED
    )
    if report.iterations:
        yields = [y.model_dump() for y in report.iterations]
        keys = list(yields[0])
        out += ["", "### STaR iterations", "", table(keys, [[y[k] for k in keys] for y in yields])]
    out += ["", "### Prompts", ""]
    prompts = report.prompts
    for p in prompts:
        about = f" ({p['description']})" if p.get("description") else ""
        out += [f"- id `{p.get('id')}`, hash `{p.get('hash')}`{about}:", ""]
        for key in ("text", "system", "user"):  # the flow records system and user templates; others text
            if p.get(key):
                out += ([] if key == "text" else [f"  {key}:", ""]) + [fenced(str(p[key])), ""]
        if p.get("examples"):
            out += [f"  with {p['examples']} few-shot examples", ""]
    if not prompts:
        out += [NOT_RECORDED, ""]
    out += ["### Counts at every stage", ""]
    counts = data.get("counts") or {}
    out += [table(["stage", "rows"], [[f"`{k}`", v] for k, v in counts.items()]) if counts else NOT_RECORDED, ""]
    out += ["### Drops per reason", ""]
    drops = data.get("drops") or {}
    out += [table(["reason", "rows"], [[f"`{k}`", v] for k, v in drops.items()]) if drops else "none recorded", ""]
    out += audit_lines(data.get("audit"), data.get("reselected"))
    share = part.rationalized / part.rows if part.rows else 0.0
    out += [
        "### Rationalized rows",
        "",
        f"{part.rationalized} of {part.rows} rows ({share:.1%}) of `{part.ref}` come from STaR rationalization.",
        "",
    ]
    how, rows = pass_rate_rows(part, report)
    out += [
        "### Pass-rate histogram",
        "",
        f"Per-problem pass rate (pass@1 estimate), {how}.",
        "",
        table(["pass rate", "problems"], rows),
        "",
    ]
    out += ["### Reproduce this version", ""]
    command = data.get("command")
    if command:
        commit = (data.get("git_commit") or "").removesuffix("+dirty")
        lines = ([f"git checkout {commit}"] if commit else []) + [command]
        out += [fenced("\n".join(lines), "bash"), ""]
        if (data.get("git_commit") or "").endswith("+dirty"):
            out += ["The version was made from a working tree with uncommitted changes.", ""]
    else:
        out += [f"The command is {NOT_RECORDED}.", ""]
    if config:
        out += ["The run config:", "", fenced(yaml.safe_dump(config, sort_keys=True, allow_unicode=True), "yaml"), ""]
    return "\n".join(out)


def render_card(export: Export) -> str:
    s = export.settings
    where = export.repo_id or "path/to/this/folder"
    refs = ", ".join(f"`{p.ref}`" for p in export.parts)
    out = [yaml_header(export), f"# {export.repo_id or export.parts[0].ref.split('@')[0]}", ""]
    out += [
        f"Synthetic reasoning data made with starmill (STaR self-training and teacher-to-student "
        f"distillation): {export.rows} rows for {export.problems()} problems from {refs}, in the "
        f"`{s.format}` format. Every answer was checked against the problem's gold answer (or a "
        "self-consistency pseudo-label, flagged in `raw`).",
        "",
    ]
    out.append(
        table(
            ["split", "rows", "problems"],
            [[name, t.num_rows, export.problems(name)] for name, t in export.splits.items()],
        )
    )
    share = export.rationalized / export.rows if export.rows else 0.0
    out += [
        "",
        f"{export.rationalized} of {export.rows} exported rows ({share:.1%}) come from STaR rationalization.",
        "",
        f"![Pass rates and lengths]({CHART})",
        "",
    ]
    out += [
        "## Use",
        "",
        fenced(
            f'from datasets import load_dataset\n\nds = load_dataset("{where}")\n'
            '# TRL: SFTTrainer(model=..., train_dataset=ds["train"], processing_class=tokenizer)',
            "python",
        ),
        "",
    ]
    out += [
        "## Columns",
        "",
        table(["column", "what it holds"], [[f"`{c}`", d] for c, d in COLUMNS[s.format] + KEY_COLUMNS]),
        "",
    ]
    found, rows = licenses(export.parts)
    out += ["## License", ""]
    if found:
        out += [
            f"Carried from the source configs: {', '.join(f'`{x}`' for x in found)}. The terms of the teacher "
            "model may also apply to its outputs.",
            "",
        ]
    else:
        out += [
            "No license is given in this card's metadata: not every source records one in its config, and "
            "starmill does not guess. Check the terms of the problem sources and of the teacher model before "
            "you use or publish this data.",
            "",
        ]
    out += [table(["version", "source", "license"], rows), ""]
    if len(export.parts) > 1 or export.parts[0].weight != 1:
        out += [
            "## Mix",
            "",
            f"Versions combined with sampling weights (rows taken = weight × rows after "
            f"decontamination; whole copies for weights above 1, then a share drawn with seed {s.seed}).",
            "",
        ]
        out += [
            table(
                ["version", "weight", "rows", "after decontamination", "taken"],
                [[f"`{p.ref}`", f"{p.weight:g}", p.rows, p.clean, p.taken] for p in export.parts],
            ),
            "",
        ]
    out += ["## Decontamination", ""]
    if s.decontamination_from:
        out += [
            f"Evaluation sets and settings from the `decontamination:` section of `{s.decontamination_from}`'s "
            "run config.",
            "",
        ]
    if export.eval_sets:
        out += [
            f"Rows whose problem (the user turns of the prompt) shares a word {s.ngram}-gram with an "
            "evaluation problem were dropped, as open-r1 does: text lowercased and whitespace collapsed; "
            f"an evaluation problem shorter than {s.ngram} words counts when it appears whole in a row. A row "
            "that overlaps several sets is "
            f"counted under the first. Drop reason: `{REASON}<set>`.",
            "",
        ]
        if s.near_duplicates:
            out += [
                f"Paraphrases too: a row is a near-duplicate when it holds at least {s.near_duplicates:g} of an "
                "evaluation problem's words (weighed by rarity in the set) and all its numbers; MinHash LSH "
                "finds the candidates. Every dropped row is listed in `contaminated.jsonl` with the evaluation "
                "id it matched, the method (`ngram` or `minhash`) and the score.",
                "",
            ]
        out += [
            table(
                ["evaluation set", "fingerprint", "field", "problems", "rows dropped"],
                [
                    [f"`{e.name}`", f"`{e.fingerprint}`", f"`{e.text_field}`", e.texts, e.rows_dropped]
                    for e in export.eval_sets
                ],
            ),
            "",
        ]
    else:
        out += ["Not decontaminated: no evaluation sets were given to the export.", ""]
    for part in export.parts:
        if part.screened is not None:
            dropped = ", ".join(f"`{k}` {v}" for k, v in part.screened["drops"].items()) or "none"
            out += [
                f"At ingest, `{part.ref}`'s problems (`{part.screened['ref']}`) were screened by its run config's "
                f"`decontamination:` section; dropped: {dropped} (each listed in that version's `contaminated` "
                "table).",
                "",
            ]
    band = s.band()
    kept = (
        f"Kept: problems whose pass rate (the share of correct first-stage samples) is from {band[0]:g} to "
        f"{band[1]:g}; the others' rows were dropped as `outside_difficulty_band`."
        if band
        else "All pass rates kept (no --difficulty-band)."
    )
    tokens = tokens_by_pass_rate(export.pass_rates, export.teacher_tokens)
    out += [
        "## Difficulty",
        "",
        kept,
        *selection_difficulty(export.parts),
        "",
        ORDERS[export.order],
        "",
        f"Pass rates of the {len(export.pass_rates)} exported problems, with the teacher's mean completion "
        "tokens on them (a problem's difficulty is both: solved less often, or with longer answers, is harder):",
        "",
        table(
            ["pass rate", "problems", "teacher tokens (mean)"],
            [
                [k, v, "—" if tokens[k] is None else f"{tokens[k]:g}"]
                for k, v in pass_rate_histogram(export.pass_rates).items()
            ],
        ),
        "",
    ]
    out += [
        "## Export",
        "",
        table(
            ["", ""],
            [
                ["format", f"`{s.format}`"],
                ["system prompt", shown(s.system_prompt) if s.system_prompt else "none (the stored prompt as is)"],
                ["test split", f"{s.test_size:g} of problems, seed {s.seed}, by problem" if s.test_size else "none"],
                ["command", f"`{export.command}`"],
            ],
        ),
        "",
    ]
    for part in export.parts:
        out += [part_section(part)]
    return redact_text("\n".join(out).rstrip() + "\n")  # a secret in a path or prompt given to the export
