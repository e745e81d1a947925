"""`sgproof packs`: each built-in pack, its controls with official ids, titles and severities."""

from __future__ import annotations

import json
from typing import Any

from . import CONTROLS, PACK_TITLES, load_pack, pack_names


def packs_json() -> list[dict[str, Any]]:
    """Every pack with its invariants, each naming its control, title, severity, literal check and source."""
    out = []
    for name in pack_names():
        spec = load_pack(f"pack:{name}")
        controls = []
        for inv in spec.invariants:
            ctl = CONTROLS[inv.id]
            controls.append({"id": inv.id, "control": ctl.control, "title": ctl.title, "severity": inv.severity,
                             "proves": inv.description, "literal_check": ctl.literal.text(), "source": ctl.source})
        out.append({"pack": f"pack:{name}", "title": PACK_TITLES.get(name, spec.name), "controls": controls})
    return out


def render_packs(fmt: str) -> str:
    data = packs_json()
    if fmt == "json":
        return json.dumps({"packs": data}, indent=2) + "\n"
    lines: list[str] = []
    for pack in data:
        lines.append(f"{pack['pack']}  {pack['title']}")
        for c in pack["controls"]:
            lines.append(f"  {c['control']:<12} {c['severity']:<8} {c['title']}")
            lines.append(f"  {'':<12} {'':<8} invariant {c['id']}: {c['proves']}")
            lines.append(f"  {'':<12} {'':<8} literal check: {c['literal_check']}")
        lines.append("")
    return "\n".join(lines)
