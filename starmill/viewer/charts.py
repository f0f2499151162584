"""Inline SVG charts (no JavaScript, nothing fetched): bars, accuracy against N, and the lineage graph.
Every label is escaped; numbers are formatted here."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

COLORS = ["#2f6fb0", "#d0703a", "#3f9a4f", "#a04aa8", "#c2a32a", "#5a5a5a", "#2aa3a3", "#b03a4e"]


def _svg(width: int, height: int, body: list, label: str) -> Markup:
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{l}">{b}</svg>'
    ).format(w=width, h=height, l=label, b=Markup("").join(body))


def bars(
    pairs: list[tuple[str, float]], label: str, width: int = 460, height: int = 170, fmt: str = "{:,.0f}"
) -> Markup:
    """Vertical bars, one per (label, value), values printed above them (a histogram)."""
    if not pairs:
        return Markup("")
    top = max(v for _, v in pairs) or 1
    left, bottom, plot_h = 8, 34, height - 52
    step = (width - 2 * left) / len(pairs)
    body = []
    for i, (name, value) in enumerate(pairs):
        h = plot_h * value / top
        x = left + i * step
        body.append(
            Markup(
                '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>{}: {}</title></rect>'
            ).format(x + 2, height - bottom - h, step - 4, h, COLORS[0], name, fmt.format(value))
        )
        body.append(
            Markup('<text x="{:.1f}" y="{:.1f}" class="v">{}</text>').format(
                x + step / 2, height - bottom - h - 4, fmt.format(value)
            )
        )
        body.append(
            Markup('<text x="{:.1f}" y="{}" class="l">{}</text>').format(x + step / 2, height - bottom + 14, name)
        )
    return _svg(width, height, body, label)


def hbars(pairs: list[tuple[str, float]], label: str, width: int = 460) -> Markup:
    """Horizontal bars, largest first (drops per reason)."""
    if not pairs:
        return Markup("")
    pairs = sorted(pairs, key=lambda p: -p[1])
    top = max(v for _, v in pairs) or 1
    row, label_w = 20, 150
    height = row * len(pairs) + 6
    body = []
    for i, (name, value) in enumerate(pairs):
        y = 3 + i * row
        w = (width - label_w - 70) * value / top
        body.append(Markup('<text x="{}" y="{}" class="k">{}</text>').format(label_w - 6, y + 14, name))
        body.append(
            Markup('<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"><title>{}: {:,}</title></rect>').format(
                label_w, y + 2, w, row - 5, COLORS[1], name, value
            )
        )
        body.append(Markup('<text x="{:.1f}" y="{}" class="n">{:,}</text>').format(label_w + w + 5, y + 14, value))
    return _svg(width, height, body, label)


def lines(
    series: dict[str, list[tuple[int, float]]],
    label: str,
    width: int = 560,
    height: int = 250,
    flat: dict[str, float] | None = None,
) -> Markup:
    """Accuracy (0..1) against N on a log2 axis, one line per metric; ``flat``: horizontal references."""
    points = [x for pts in series.values() for x, _ in pts]
    if not points:
        return Markup("")
    lo, hi = min(points), max(points)
    left, right, top, bottom = 44, 170, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    span = math.log2(hi) - math.log2(lo) if hi > lo else 1

    def px(x: int) -> float:
        return left + (plot_w * (math.log2(x) - math.log2(lo)) / span if hi > lo else plot_w / 2)

    def py(y: float) -> float:
        return top + plot_h * (1 - y)

    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="grid"/>').format(
                left, left + plot_w, py(tick), py(tick)
            )
        )
        body.append(Markup('<text x="{}" y="{:.1f}" class="k">{:.2f}</text>').format(left - 5, py(tick) + 4, tick))
    for x in sorted(set(points)):
        body.append(Markup('<text x="{:.1f}" y="{}" class="l">{}</text>').format(px(x), height - bottom + 16, x))
    body.append(
        Markup('<text x="{:.1f}" y="{}" class="l">N (samples per problem)</text>').format(left + plot_w / 2, height - 2)
    )
    for i, (name, pts) in enumerate(sorted(series.items())):
        color = COLORS[i % len(COLORS)]
        pts = sorted(pts)
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        body.append(Markup('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>').format(path, color))
        for x, y in pts:
            body.append(
                Markup('<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"><title>{}@{}: {:.3f}</title></circle>').format(
                    px(x), py(y), color, name, x, y
                )
            )
        body.append(
            Markup('<text x="{}" y="{}" class="n" fill="{}">{}</text>').format(
                left + plot_w + 10, top + 14 + 16 * i, color, name
            )
        )
    for j, (name, y) in enumerate(sorted((flat or {}).items())):
        color = COLORS[(len(series) + j) % len(COLORS)]
        body.append(
            Markup(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-dasharray="5 4"><title>{}: {:.3f}</title></line>'
            ).format(left, left + plot_w, py(y), py(y), color, name, y)
        )
        body.append(
            Markup('<text x="{}" y="{}" class="n" fill="{}">{} (dashed)</text>').format(
                left + plot_w + 10, top + 14 + 16 * (len(series) + j), color, name
            )
        )
    return _svg(width, height, body, label)


def lineage(edges: list[tuple[str, str]], current: str, href) -> Markup:
    """The versions ``current`` was made from, as layered boxes (parents to the left) with links."""
    depth = {current: 0}
    changed = True
    while changed:  # longest path from current, so a shared ancestor sits left of both children
        changed = False
        for child, parent in edges:
            if child in depth and depth.get(parent, -1) < depth[child] + 1 and depth[child] < 50:
                depth[parent] = depth[child] + 1
                changed = True
    columns: dict[int, list[str]] = {}
    for node, d in sorted(depth.items(), key=lambda kv: kv[0]):
        columns.setdefault(d, []).append(node)
    deepest = max(columns)
    box_w, box_h, gap_x, gap_y = 150, 26, 50, 14
    width = (deepest + 1) * (box_w + gap_x) - gap_x + 8
    height = max(len(c) for c in columns.values()) * (box_h + gap_y) + 8
    where = {}
    for d, nodes in columns.items():
        for i, node in enumerate(nodes):
            where[node] = (4 + (deepest - d) * (box_w + gap_x), 4 + i * (box_h + gap_y))
    body = []
    for child, parent in edges:
        if child in where and parent in where:
            (x1, y1), (x2, y2) = where[parent], where[child]
            body.append(
                Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" class="edge"/>').format(
                    x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
                )
            )
    for node, (x, y) in where.items():
        link = href(node)
        box = Markup(
            '<rect x="{}" y="{}" width="{}" height="{}" rx="4" class="{}"/><text x="{}" y="{}" class="node">{}</text>'
        ).format(x, y, box_w, box_h, "here" if node == current else "box", x + box_w / 2, y + 17, node)
        body.append(Markup('<a href="{}">{}</a>').format(link, box) if link else box)
    return _svg(width, height, body, f"lineage of {escape(current)}")
