"""`sgproof diff` as a pull-request comment: a summary table of the groups, then each group."""

from __future__ import annotations

from .diff_model import ChangeGroup, DiffReport, ports_text
from .diff_text import blocked_text, cause_text, services_text


def esc(text: str) -> str:
    """Input text made inert in Markdown (inline and in table cells): no markup, links, HTML or pipes."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()<>#|~":
            out.append("\\" + ch)
        elif ch == "&":
            out.append("&amp;")
        elif ch == "\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _code(text: str) -> str:
    """Inline code that no input can close: a fence longer than any backtick run inside."""
    longest = cur = 0
    for ch in text:
        cur = cur + 1 if ch == "`" else 0
        longest = max(longest, cur)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{text.replace(chr(10), ' ')}{pad}{fence}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _group(n: int, title: str, g: ChangeGroup, other: str, lines: list[str]) -> None:
    lines += [f"#### {title} {n}: {esc(g.src.text)} → {esc(g.dst.text)}", ""]
    lines.append(f"- Ports: {esc(services_text(g))}")
    for role, side in (("Sources", g.src), ("Destinations", g.dst)):
        if side.enis:
            shown = ", ".join(esc(e) for e in side.enis[:20])
            more = f" and {len(side.enis) - 20} more" if len(side.enis) > 20 else ""
            lines.append(f"- {role} ({len(side.enis)} ENIs): {shown}{more}")
        else:
            lines.append(f"- {role}: external {esc(', '.join(side.external))}")
    lines.append(f"- Witness: {_code(g.witness.flow.text())}")
    lines.append(f"- Blocked in {other}: {esc(blocked_text(g.blocked))}")
    if g.cause:
        lines.append("- Cause:")
        lines += [f"  - {esc(cause_text(c))}" for c in g.cause]
    lines += ["", "| # | gate | resource | rule | verdict |", "|---|---|---|---|---|"]
    for k, s in enumerate(g.witness.trace, 1):
        rule = s.text or (str(s.rule) if s.rule is not None else "")
        lines.append(_row([str(k), esc(s.gate), esc(s.id), esc(rule), esc(s.verdict)]))
    lines.append("")


def render_diff_markdown(report: DiffReport) -> str:
    s = report.summary()
    lines = ["## sgproof diff", ""]
    verdict = ("**No connection changed** (proven)." if report.exit_code() == 0 else
               f"**{s['added']} group(s) of connections added, {s['removed']} removed.**")
    lines += [verdict, ""]
    if report.undecided:
        lines += [f"⚠️ Incomplete: {esc(report.undecided)}", ""]
    elif report.truncated:
        lines += [f"⚠️ Incomplete: --max-changes {report.max_changes} cut the list; more groups changed.", ""]
    lines += [f"OLD: {esc(str(report.old.get('path')))} ({esc(report.old['kind'])}) · "
              f"NEW: {esc(str(report.new.get('path')))} ({esc(report.new['kind'])})", ""]
    rows = [("added", n, g) for n, g in enumerate(report.added, 1)] + [
        ("removed", n, g) for n, g in enumerate(report.removed, 1)]
    if rows:
        lines += ["| change | from | to | family | protocol | ports | cause |", "|---|---|---|---|---|---|---|"]
        for change, _n, g in rows:
            cause = "; ".join(cause_text(c) for c in g.cause[:3]) + (" …" if len(g.cause) > 3 else "")
            lines.append(_row([("🟢 " if change == "added" else "🔴 ") + change, esc(g.src.text), esc(g.dst.text),
                               f"ipv{g.family}", esc(str(g.protocol_json())),
                               esc(ports_text(g.services) if isinstance(g.protocol_json(), str)
                                   else "protocols " + g.protocols_text()),
                               esc(cause)]))
        lines.append("")
    for title, groups, other in (("Added", report.added, "OLD"), ("Removed", report.removed, "NEW")):
        if groups:
            lines += [f"### {title} connections", ""]
            for n, g in enumerate(groups, 1):
                _group(n, title, g, other, lines)
    a = report.assumptions
    lines += ["<details><summary>Assumptions</summary>", "",
              f"- routing {esc(a.routing)}; client ports {esc(a.ephemeral_ports)}; new connections only"]
    lines += [f"- ⚠️ {esc(w)}" for w in a.warnings]
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
