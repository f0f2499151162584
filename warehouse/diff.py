"""What changed between two versions: rows added, removed and changed (by each row's key), problems
added, removed and changed, counts per stage, drops per reason, and the config and lineage that made
them (from the two manifests). ``starmill diff`` prints it; the viewer's /diff page shows the same.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starmill.warehouse.errors import WarehouseError

KEYS = {  # a row's identity per kind of table (the viewer's compare view uses it too)
    "samples": ["sample_id"],
    "sft": ["sample_id"],
    "problems": ["problem_id"],
    "prm": ["prm_id"],
    "tree": ["node_id"],
    "models": ["model_id"],
    "evals": ["problem_id", "mode", "sample_index", "model"],
}
STATE = {
    "samples": ["kept", "drop_reason", "extracted_answer", "verdicts", "completion"],
    "sft": ["completion", "final_answer", "pass_rate"],
    "evals": ["verdict", "extracted_answer"],
    "problems": ["question", "gold_answer"],
    "prm": ["labels", "steps"],
}  # what a row of the same key may change
LINEAGE = ("command", "starmill_version", "git_commit", "parents", "sources", "models", "sampling")
EXAMPLES = 20  # keys listed per kind of row change


class DiffError(WarehouseError):
    pass


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted paths to leaves (lists are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value} if prefix else {}


def changes(a: dict, b: dict) -> list[dict[str, Any]]:
    """Every key whose value differs, with both values (``None`` where one side lacks it)."""
    return [{"key": k, "a": a.get(k), "b": b.get(k)} for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k)]


def count_changes(a: dict[str, int], b: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"key": k, "a": a.get(k, 0), "b": b.get(k, 0), "change": b.get(k, 0) - a.get(k, 0)}
        for k in sorted(set(a) | set(b))
        if a.get(k, 0) != b.get(k, 0)
    ]


def _rows(wh, ref, kind: str) -> dict[tuple, tuple[str | None, tuple]]:
    """key -> (problem id, state) of every row of a version."""
    ds = wh.dataset(ref)
    names = set(ds.schema.names)
    key = KEYS[kind]
    state = [c for c in STATE.get(kind, []) if c in names]
    problem = ["problem_id"] if "problem_id" in names else []
    table = ds.to_table(columns=list(dict.fromkeys(key + problem + state))).to_pydict()
    n = len(table[key[0]])
    out = {}
    for i in range(n):
        k = tuple(table[c][i] for c in key)
        out[k] = (table["problem_id"][i] if problem else None, repr(tuple(table[c][i] for c in state)))
    return out


def _drop_reasons(wh, ref) -> dict[str, int]:
    """Dropped samples per reason as the rows say (a regrade's manifest counts no drops)."""
    table = wh.dataset(ref).to_table(columns=["kept", "drop_reason"]).to_pydict()
    return dict(Counter(r or "-" for k, r in zip(table["kept"], table["drop_reason"]) if not k))


def diff_versions(wh, spec_a: str, spec_b: str, examples: int = EXAMPLES) -> dict[str, Any]:
    """Everything that differs from version A to version B of the warehouse ``wh``."""
    ref_a, ref_b = wh.resolve(spec_a), wh.resolve(spec_b)
    ma, mb = wh.manifest(ref_a), wh.manifest(ref_b)
    if ma.table != mb.table:
        raise DiffError(f"{ref_a} holds {ma.table} rows and {ref_b} {mb.table} rows: nothing to compare")
    kind = ma.table
    if kind not in KEYS:
        raise DiffError(f"{kind} versions cannot be compared (known: {', '.join(sorted(KEYS))})")
    rows_a, rows_b = _rows(wh, ref_a, kind), _rows(wh, ref_b, kind)
    added = [k for k in rows_b if k not in rows_a]
    removed = [k for k in rows_a if k not in rows_b]
    changed = [k for k in rows_a if k in rows_b and rows_a[k][1] != rows_b[k][1]]
    per_a = Counter(p for p, _ in rows_a.values())
    per_b = Counter(p for p, _ in rows_b.values())
    touched = {rows_b[k][0] for k in added} | {rows_a[k][0] for k in removed + changed}
    problems_changed = sorted(p for p in touched if p in per_a and p in per_b and p is not None)
    drops_a, drops_b = ma.drops, mb.drops
    if kind == "samples":
        drops_a, drops_b = _drop_reasons(wh, ref_a), _drop_reasons(wh, ref_b)
    shared = set(ma.counts) & set(mb.counts)  # a stage only one side counted says nothing about the other

    def keys(found: list[tuple]) -> list[str]:
        return ["/".join(map(str, k)) for k in found[:examples]]

    lineage_a = ma.model_dump(mode="json", include=set(LINEAGE))
    lineage_b = mb.model_dump(mode="json", include=set(LINEAGE))
    return {
        "a": str(ref_a),
        "b": str(ref_b),
        "table": kind,
        "key": KEYS[kind],
        "state": [c for c in STATE.get(kind, [])],
        "rows": {
            "a": len(rows_a),
            "b": len(rows_b),
            "added": len(added),
            "removed": len(removed),
            "changed": len(changed),
            "unchanged": len(rows_a) - len(removed) - len(changed),
        },
        "examples": {"added": keys(added), "removed": keys(removed), "changed": keys(changed)},
        "problems": {
            "a": len(per_a),
            "b": len(per_b),
            "added": sorted(p for p in per_b if p not in per_a and p is not None),
            "removed": sorted(p for p in per_a if p not in per_b and p is not None),
            "changed": problems_changed,
            "rows_per_problem": [
                {"problem_id": p, "a": per_a[p], "b": per_b[p]} for p in problems_changed if per_a[p] != per_b[p]
            ],
        },
        "counts": count_changes({k: ma.counts[k] for k in shared}, {k: mb.counts[k] for k in shared}),
        "drops": count_changes(drops_a, drops_b),
        "config": changes(flatten(ma.config), flatten(mb.config)),
        "lineage": changes(lineage_a, lineage_b),
    }


def diff_lines(found: dict[str, Any]) -> list[list[Any]]:
    """The diff as flat rows (section, item, a, b, change) for a table or CSV."""
    rows = found["rows"]
    out: list[list[Any]] = [["rows", "total", rows["a"], rows["b"], rows["b"] - rows["a"]]]
    out += [["rows", name, "", "", rows[name]] for name in ("added", "removed", "changed", "unchanged")]
    problems = found["problems"]
    out.append(["problems", "total", problems["a"], problems["b"], problems["b"] - problems["a"]])
    out += [["problems", name, "", "", len(problems[name])] for name in ("added", "removed", "changed")]
    for name in ("added", "removed", "changed"):
        out += [[f"row {name}", key, "", "", ""] for key in found["examples"][name]]
    for name in ("added", "removed"):
        out += [[f"problem {name}", p, "", "", ""] for p in problems[name][:EXAMPLES]]
    out += [
        ["problem rows", c["problem_id"], c["a"], c["b"], c["b"] - c["a"]]
        for c in problems["rows_per_problem"][:EXAMPLES]
    ]
    out += [["count", c["key"], c["a"], c["b"], c["change"]] for c in found["counts"]]
    out += [["drop", c["key"], c["a"], c["b"], c["change"]] for c in found["drops"]]
    out += [["config", c["key"], c["a"], c["b"], ""] for c in found["config"]]
    out += [["lineage", c["key"], c["a"], c["b"], ""] for c in found["lineage"]]
    return out
