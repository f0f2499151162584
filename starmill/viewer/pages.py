"""One function per page: read what it shows (``queries``), then render its template.

Each returns the page's HTML; ``NotFound`` becomes a 404 page and a warehouse error a 400 page
(``starmill.viewer.server``). Request values arrive as strings and are checked here."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader

from starmill.schemas.evals import EvalSummary
from starmill.schemas.report import RunReport
from starmill.viewer import charts, queries, render
from starmill.viewer.catalog import Catalog, Dataset, NotFound

MAX_PAGE = 1_000_000
MAX_TEXT = 200  # characters of a search or filter value

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def pretty(value: Any, compact: bool = False) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=None if compact else 2, default=str)


_env.globals.update(output=render.output, text=render.text, tex_class=render.tex_class, quote=quote, pretty=pretty)


def _page(name: str, cat: Catalog, **context: Any) -> str:
    return _env.get_template(name).render(root=cat.root, **context)


def _href(cat: Catalog) -> Callable[[str], str | None]:
    """The URL of a ``name@vN`` the warehouse serves, else None."""

    def href(ref: str) -> str | None:
        parsed = queries.parse_ref(ref)
        if parsed and parsed[0] in cat.datasets and parsed[1] in cat.datasets[parsed[0]].manifests:
            return f"/datasets/{quote(parsed[0])}/v{parsed[1]}"
        return None

    return href


def index(cat: Catalog) -> str:
    cat.refresh()
    rows = []
    for ds in cat.datasets.values():
        latest = ds.manifests.get(max(ds.manifests)) if ds.manifests else None
        rows.append(
            {
                "name": ds.name,
                "kind": ds.kind,
                "versions": ds.versions,
                "healthy": sorted(ds.manifests),
                "damaged": ds.damaged,
                "status": ds.status,
                "rows": (latest or {}).get("tables", {}).get(ds.kind),
                "created_at": (latest or {}).get("created_at", ""),
                "partial": (latest or {}).get("partial"),
            }
        )
    return _page("index.html", cat, title="starmill", datasets=rows)


def _int(value: str | None, default: int, low: int, high: int, what: str) -> int:
    if value in (None, ""):
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}")
    return int(value)


def version(cat: Catalog, name: str, number: int | None, args: dict[str, str]) -> str:
    ds = cat.dataset(name)
    if not ds.manifests:
        return _page("damaged.html", cat, title=name, ds=ds)
    number = number if number is not None else max(ds.manifests)
    if number not in ds.versions:
        raise NotFound(
            f"dataset {name!r} has no version v{number} (versions: {', '.join(f'v{v}' for v in ds.versions)})"
        )
    if number in ds.damaged:
        return _page("damaged.html", cat, title=f"{name}@v{number}", ds=ds, number=number)
    manifest = ds.manifests[number]
    filters = queries.Filters(**{k: args.get(k, "")[:MAX_TEXT] for k in ("stage", "verdict", "reason", "source", "q")})
    page = _int(args.get("page"), 1, 1, MAX_PAGE, "page")
    options = queries.filter_options(cat, ds, number)
    report = RunReport.from_manifest(manifest) if ds.kind in ("samples", "sft") else None
    context: dict[str, Any] = dict(
        title=f"{name}@v{number}",
        ds=ds,
        number=number,
        manifest=manifest,
        report=report,
        filters=filters,
        options=options,
        page=page,
        kind=ds.kind,
        rows=[],
        more=False,
        searches=[],
        rejects=[],
        charts={},
        lineage=_lineage(cat, f"{name}@v{number}"),
        href=_href(cat),
    )
    offset = (page - 1) * queries.PAGE_ROWS
    if ds.kind == "tree":
        context["searches"], context["more"] = queries.searches(cat, ds, number, filters, (page - 1) * 5)
    else:
        context["rows"], context["more"] = queries.rows(cat, ds, number, filters, offset)
    context["offset"] = offset
    context["rejects"] = queries.rejects(cat, ds, number)
    context["charts"] = _charts(ds.kind, manifest, report)
    context["evals"] = _eval_table(ds) if ds.kind == "evals" else []

    def link(**changes: Any) -> str:
        state = {**filters.active(), "page": page, **changes}
        state = {k: v for k, v in state.items() if v not in ("", None) and not (k == "page" and v == 1)}
        return f"/datasets/{quote(name)}/v{number}" + (f"?{urlencode(state)}" if state else "")

    context["link"] = link
    return _page("version.html", cat, **context)


def _charts(kind: str, manifest: dict, report: RunReport | None) -> dict[str, Any]:
    out = {}
    if manifest.get("drops"):
        out["drops"] = charts.hbars(list(manifest["drops"].items()), "drops per reason")
    if report and report.pass_rate_histogram:
        out["histogram"] = charts.bars(list(report.pass_rate_histogram.items()), "problems per pass rate")
    if report and report.pass_at_k:
        pts = [(int(k), v) for k, v in report.pass_at_k.items() if str(k).isdigit()]
        out["pass_at_k"] = charts.lines({"pass@k": pts}, "pass@k against k", width=380, height=200)
    if kind == "evals":
        series, flat = _metric_series(_eval_summary(manifest).metrics)
        out["accuracy"] = charts.lines(series, "accuracy against N", flat=flat)
    return out


def _metric_series(metrics: dict[str, float]) -> tuple[dict[str, list[tuple[int, float]]], dict[str, float]]:
    """``maj@4: 0.5`` and friends as one series per metric family, N on the x axis."""
    series: dict[str, list[tuple[int, float]]] = {}
    flat = {}
    for key, value in metrics.items():
        family, _, n = key.rpartition("@")
        if not n.isdigit() or not isinstance(value, (int, float)):
            continue
        if family.startswith("greedy"):
            flat[key] = value
        else:
            series.setdefault(family, []).append((int(n), value))
    return series, flat


def _eval_summary(manifest: dict) -> EvalSummary:
    """An evals version's typed section; empty for a manifest without one or with one that does not read
    (a page shows what it can)."""
    from pydantic import ValidationError

    try:
        return EvalSummary.from_manifest(manifest) or EvalSummary()
    except ValidationError:
        return EvalSummary()


def _eval_table(ds: Dataset) -> list[dict[str, Any]]:
    out = []
    for v, manifest in sorted(ds.manifests.items()):
        models = manifest.get("models") or [{}]
        summary = _eval_summary(manifest)
        out.append(
            {"version": v, "model": models[0].get("model", "?"), "on": summary.eval_on, "metrics": summary.metrics}
        )
    return out


def _lineage(cat: Catalog, ref: str) -> dict[str, Any]:
    edges, seen, todo = [], {ref}, [ref]
    while todo:
        node = todo.pop(0)
        parsed = queries.parse_ref(node)
        ds = cat.datasets.get(parsed[0]) if parsed else None
        manifest = ds.manifests.get(parsed[1]) if ds else None
        for parent in (manifest or {}).get("parents") or []:
            edges.append((node, parent))
            if parent not in seen and len(seen) < 60:
                seen.add(parent)
                todo.append(parent)
    return {"edges": edges, "svg": charts.lineage(edges, ref, _href(cat)) if edges else None}


def problem(cat: Catalog, problem_id: str) -> str:
    found = queries.problem(cat, problem_id)
    columns: dict[str, list[dict]] = {}
    for sample in found["samples"]:
        columns.setdefault(f"{sample['dataset']}@v{sample['version']}", []).append(sample)
    trees: dict[tuple, list[dict]] = {}
    for node in found["trees"]:
        trees.setdefault((f"{node['dataset']}@v{node['version']}", node["search_key"]), []).append(node)
    return _page(
        "problem.html",
        cat,
        title=f"problem {problem_id[:12]}",
        problem_id=problem_id,
        found=found,
        columns=columns,
        trees={k: _tree(v) for k, v in trees.items()},
        href=_href(cat),
        gold=(found["problem"] or {}).get("gold_answer"),
    )


def _tree(nodes: list[dict]) -> list[dict]:
    """Nodes nested under their parents (roots first), each with ``children``."""
    by_id = {n["node_id"]: {**n, "children": []} for n in nodes}
    roots = []
    for node in by_id.values():
        parent = by_id.get(node["parent_id"]) if node["parent_id"] else None
        (parent["children"] if parent else roots).append(node)
    return roots


def diff(cat: Catalog, args: dict[str, str]) -> str:
    if not args.get("a") or not args.get("b"):
        return _page(
            "diff_form.html", cat, title="diff", datasets=cat.datasets, a=args.get("a", ""), b=args.get("b", "")
        )
    sides = []
    for key in ("a", "b"):
        parsed = queries.parse_ref(args[key])
        if parsed is None:
            raise ValueError(f"{key}={args[key]!r}: give a version as NAME@vN")
        sides.append((cat.dataset(parsed[0]), parsed[1]))
    summary = queries.diff(cat, sides[0], sides[1])
    return _page(
        "diff.html",
        cat,
        title=f"diff {args['a']} → {args['b']}",
        a=args["a"],
        b=args["b"],
        d=summary,
        href=_href(cat),
        kind=sides[0][0].kind,
    )


def not_found(cat: Catalog, message: str) -> str:
    return _page("error.html", cat, title="not found", heading="Not found", message=message)


def error(cat: Catalog, heading: str, message: str) -> str:
    return _page("error.html", cat, title=heading, heading=heading, message=message)


_env.globals.update(tree_of=_tree)
