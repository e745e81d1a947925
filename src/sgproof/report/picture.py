"""The flow map as a networkx graph and as a self-contained picture (SVG, no external assets; Mermaid).

Solid red arrows are proven flows; dashed grey arrows marked "unknown" are pairs not decided. The
pictures read the map's edges directly: importing networkx costs a tenth of a second, about 4 % of
an HTML report at 10,000 ENIs, and drawing a circle of boxes needs no graph algorithm."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from .model import FlowMap, GroupFlow
from .safe import mermaid, printable

if TYPE_CHECKING:
    import networkx as nx


def _edge_data(e: GroupFlow) -> dict[str, Any]:
    return {"services": e.services, "example": e.example, "status": e.status, "label": e.label(),
            "title": f"{e.end_text('src')} -> {e.end_text('dst')}: " + (
                f"{e.services} (e.g. {e.example})" if e.status == "allowed" else f"unknown ({e.services})")}


def _nodes(fm: FlowMap) -> list[str]:
    """The spec's groups in order, then any edge end that is not one (none, as `flow_map` draws it)."""
    return list(dict.fromkeys([*fm.groups, *(x for e in fm.edges for x in (e.src, e.dst))]))


def _edges(fm: FlowMap) -> list[tuple[str, str, dict[str, Any]]]:
    """The map's edges as a DiGraph holds them: one per ordered pair (a later one for the same pair
    wins), by source in node order, then in the order first given."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for e in fm.edges:
        out[(e.src, e.dst)] = _edge_data(e)
    rank = {name: k for k, name in enumerate(_nodes(fm))}
    return sorted(((a, b, d) for (a, b), d in out.items()), key=lambda abd: rank[abd[0]])


def flow_graph(fm: FlowMap) -> nx.DiGraph:
    """Nodes: the spec's named groups; edges: allowed flows (labelled with their services) and pairs
    not decided (`status` "unknown")."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(_nodes(fm))
    for a, b, data in _edges(fm):
        g.add_edge(a, b, **data)
    return g


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def render_svg(fm: FlowMap, width: int = 720) -> str:
    """A circle of group boxes with an arrow for each allowed flow and its services beside it."""
    nodes = _nodes(fm)
    edges = _edges(fm)
    n = max(len(nodes), 1)
    height = 460 if n > 2 else 260
    cx, cy = width / 2, height / 2
    rx, ry = (width / 2 - 110, height / 2 - 60) if n > 1 else (0.0, 0.0)
    pos = {}
    for i, name in enumerate(nodes):
        a = -math.pi / 2 + 2 * math.pi * i / n
        pos[name] = (cx + rx * math.cos(a), cy + ry * math.sin(a))
    bw, bh = 150, 36
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="flowmap" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           "<title>Allowed flows between the spec's groups</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
           'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b3261e"/>'
           '</marker><marker id="arrow-unknown" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
           'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6e7781"/>'
           "</marker></defs>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for src, dst, data in edges:
        label = escape(printable(_short(str(data["label"]), 40)))
        title = escape(printable(str(data["title"])))
        known = data["status"] == "allowed"
        css = "edge" if known else "edge unknown"
        stroke = ('stroke="#b3261e" stroke-width="2" marker-end="url(#arrow)"' if known else
                  'stroke="#6e7781" stroke-width="1.5" stroke-dasharray="6 4" marker-end="url(#arrow-unknown)"')
        ink = "#5f1410" if known else "#57606a"
        x1, y1 = pos[src]
        if src == dst:
            out.append(f'<g class="{css}"><title>{title}</title><path d="M{x1 - 30:.1f},{y1 - bh / 2:.1f} '
                       f'C{x1 - 60:.1f},{y1 - 90:.1f} {x1 + 60:.1f},{y1 - 90:.1f} {x1 + 30:.1f},'
                       f'{y1 - bh / 2:.1f}" fill="none" {stroke}/><text x="{x1:.1f}" y="{y1 - 74:.1f}" '
                       f'text-anchor="middle" fill="{ink}">{label}</text></g>')
            continue
        x2, y2 = pos[dst]
        # leave the boxes: clip the line at each box's border, bend it a little so a->b and b->a differ
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        t = min((bw / 2 + 4) / abs(ux) if ux else math.inf, (bh / 2 + 4) / abs(uy) if uy else math.inf)
        sx, sy, ex, ey = x1 + ux * t, y1 + uy * t, x2 - ux * t, y2 - uy * t
        mx, my = (sx + ex) / 2 - uy * 18, (sy + ey) / 2 + ux * 18
        out.append(f'<g class="{css}"><title>{title}</title><path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} '
                   f'{ex:.1f},{ey:.1f}" fill="none" {stroke}/><text x="{mx:.1f}" y="{my - 4:.1f}" '
                   f'text-anchor="middle" fill="{ink}" paint-order="stroke" stroke="#ffffff" '
                   f'stroke-width="3">{label}</text></g>')
    for name in nodes:
        x, y = pos[name]
        degree = sum(1 for src, dst, d in edges if name in (src, dst) and d["status"] == "allowed")
        fill = "#fde7e4" if degree else "#e8f0fe"
        out.append(f'<g class="node"><title>{escape(printable(name))}</title><rect x="{x - bw / 2:.1f}" '
                   f'y="{y - bh / 2:.1f}" width="{bw}" height="{bh}" rx="8" fill="{fill}" stroke="#1f3a60" '
                   f'stroke-width="1.5"/><text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" '
                   f'font-weight="bold" fill="#1f3a60">{escape(printable(_short(name, 20)))}</text></g>')
    if not nodes:
        out.append(f'<text x="{cx}" y="{cy}" text-anchor="middle">the spec names no groups</text>')
    out.append("</svg>")
    return "\n".join(out)


def render_mermaid(fm: FlowMap) -> str:
    """The flow map as a Mermaid flowchart (GitHub and GitLab draw it in markdown); unknown pairs dashed."""
    ids = {name: f"g{i}" for i, name in enumerate(_nodes(fm))}
    lines = ["flowchart LR"]
    for name, ident in ids.items():
        lines.append(f'  {ident}["{mermaid(_short(name, 60))}"]')
    for a, b, data in _edges(fm):
        arrow = "-->" if data["status"] == "allowed" else "-.->"
        lines.append(f'  {ids[a]} {arrow}|"{mermaid(_short(str(data["label"]), 60))}"| {ids[b]}')
    return "\n".join(lines)
