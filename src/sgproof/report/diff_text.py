"""`sgproof diff` as plain text: added connections (from external addresses first), then removed ones."""

from __future__ import annotations

from typing import Any

from .diff_model import ChangeGroup, DiffReport, ports_text
from .text import counterexample_lines


def cause_text(c: dict[str, Any]) -> str:
    """One cause item for people: what changed, where, and its Terraform address."""
    kind = c["kind"]
    change = c.get("change", "")
    if kind == "sg-rule":
        text = f"{change} {c['direction']} rule of {c['id']}: {c['rule']}"
    elif kind == "nacl-entry":
        text = f"{change} {c['direction']} entry of {c['id']}: {c['entry']}"
    elif kind == "membership":
        text = f"{c['eni']} {'joined' if change == 'added' else 'left'} {c['id']}"
    elif kind == "eni":
        text = f"ENI {c['id']} {change}"
    elif kind == "prefix-list":
        text = (f"prefix list {c['id']} ({c.get('name', '')}) changed: +[{', '.join(c['entries_added'])}] "
                f"-[{', '.join(c['entries_removed'])}]")
    elif kind == "nacl-association":
        text = f"subnet {c['id']} changed network ACL: OLD {c.get('old')}, NEW {c.get('new')}"
    elif kind == "eni-subnet":
        text = f"ENI {c['id']} moved: OLD {c.get('old')}, NEW {c.get('new')}"
    else:
        rest = ", ".join(f"{k} {v}" for k, v in c.items() if k not in ("kind", "id", "tf_address"))
        text = f"{kind} {c['id']}" + (f": {rest}" if rest else "")
    if c.get("tf_address"):
        text += f" ({c['tf_address']})"
    return text


def blocked_text(b: dict[str, Any]) -> str:
    if "reason" in b:
        return str(b["reason"])
    rule = b.get("text") or (f"rule {b['rule']}" if b.get("rule") is not None else "")
    return f"{b['gate']} {b['id']} {rule} => {b['verdict']}".replace("  ", " ")


def services_text(g: ChangeGroup) -> str:
    """Family, protocol and ports of a group: "ipv4 tcp 22, 80" or "ipv4 protocols 0-5, 7-16 (no ports)"."""
    if isinstance(g.protocol_json(), int):
        return f"ipv{g.family} protocols {g.protocols_text()} (no ports)"
    return f"ipv{g.family} {g.protocol_json()} {ports_text(g.services)}"


def group_lines(n: int, g: ChangeGroup, other: str) -> list[str]:
    lines = [f"{n}. {g.src.text} -> {g.dst.text}", f"   {services_text(g)}"]
    if g.src.enis and len(g.src.enis) > 1:
        lines.append(f"   sources: {', '.join(g.src.enis)}")
    if g.dst.enis and len(g.dst.enis) > 1:
        lines.append(f"   destinations: {', '.join(g.dst.enis)}")
    lines += ["   witness:"] + ["   " + line for line in counterexample_lines(g.witness)]
    lines.append(f"   blocked in {other}: {blocked_text(g.blocked)}")
    if g.cause:
        lines.append("   cause:")
        lines += [f"     - {cause_text(c)}" for c in g.cause]
    else:
        lines.append("   cause: no rule, entry or membership on the path differs (the addresses or subnets did)")
    return lines


def render_diff_text(report: DiffReport) -> str:
    out = [f"sgproof {report.version} diff — OLD {report.old.get('path')} ({report.old['kind']}), "
           f"NEW {report.new.get('path')} ({report.new['kind']})"]
    scope = report.scope
    out.append(f"scope: from {scope['from']} to {scope['to']} on {scope['ports']}")
    for title, groups, other in (("added (NEW allows, OLD did not)", report.added, "OLD"),
                                 ("removed (OLD allowed, NEW does not)", report.removed, "NEW")):
        out += ["", f"{title}: {len(groups)} group(s)"]
        for n, g in enumerate(groups, 1):
            out += group_lines(n, g, other)
    out.append("")
    if report.undecided:
        out.append(f"INCOMPLETE: {report.undecided}")
    elif report.truncated:
        out.append(f"INCOMPLETE: --max-changes {report.max_changes} cut the list; more groups changed")
    else:
        out.append("complete: the solver proved that no other connection changed")
    a = report.assumptions
    out.append(f"assumptions: routing {a.routing}; client ports {a.ephemeral_ports}; new connections only")
    out += [f"warning: {w}" for w in a.warnings]
    s = report.summary()
    out.append(f"summary: {s['added']} added, {s['removed']} removed in {report.seconds:.2f}s")
    return "\n".join(out) + "\n"
