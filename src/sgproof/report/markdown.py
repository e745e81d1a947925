"""An auditor's report in Markdown: scope, assumptions, summary, each invariant with its evidence."""

from __future__ import annotations

from collections.abc import Sequence

from .audit import (
    VERDICT_WORDS,
    assumption_lines,
    class_pairs,
    covered_rows,
    endpoint_text,
    headline,
    scope_rows,
    trace_rows,
    violations_note,
)
from .model import Counterexample, Report, Result
from .picture import render_mermaid

ICONS = {"proven": "✅", "refuted": "❌", "error": "⚠️"}


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    quoted = text.replace("`", "'")
    return f"`{quoted}`"


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def _flow(cx: Counterexample, lines: list[str]) -> None:
    lines.append(f"- Flow: {code(cx.flow.text())} — {'allowed' if cx.allowed else 'blocked'}")
    lines.append(f"- Source: {cell(endpoint_text(cx, 'src'))}")
    lines.append(f"- Destination: {cell(endpoint_text(cx, 'dst'))}")
    if cx.note:
        lines.append(f"- Note: {cx.note}")
    if cx.trace:
        lines.append("")
        lines += _table(("#", "gate", "resource", "rule", "verdict"),
                        [(n, g, i, r, f"**{v}**" if v != "allow" else v) for n, g, i, r, v in trace_rows(cx)])
    lines.append("")


def _result(report: Report, r: Result, lines: list[str]) -> None:
    lines += [f"### {ICONS[r.status]} {r.id} — {cell(headline(r))}", ""]
    lines.append(f"- Invariant ({r.kind}, severity {r.severity}, {code(r.where)}): {r.statement}")
    lines.append(f"- Verdict: **{VERDICT_WORDS[r.status]}** in {r.seconds:.3f} s")
    lines.append("")
    if r.status == "error":
        lines += [f"Error: {r.error}", ""]
    elif r.status == "proven":
        lines.append(f"Proven for every address, port and ENI of the snapshot that the selectors cover. It rests "
                     f"on: routing {report.assumptions.routing}; client ports {report.assumptions.ephemeral_ports}"
                     + ("; the warnings above." if report.assumptions.warnings else "."))
        if r.covered:
            lines.append("")
            lines += _table(("covered", ""), covered_rows(r))
        lines.append("")
    elif r.violations:
        lines += [violations_note(r), ""]
        for n, pair in enumerate(class_pairs(r), 1):
            lines.append(f"#### Violation group {n}: {cell(pair.source)} → {cell(pair.destination)}")
            lines += ["", f"Open on: {pair.services}", ""]
            for v in pair.traced:
                _flow(v.counterexample, lines)
            if pair.others:
                lines += [f"{len(pair.others)} more flow(s) of this class pair, each allowed the same way:", ""]
                lines += [f"- {code(t)}" for t in pair.others]
                lines.append("")
    elif r.counterexample is not None:
        if r.violations_complete is not None:
            lines += [violations_note(r), ""]
        lines += ["Counterexample:", ""]
        _flow(r.counterexample, lines)


def render_markdown(report: Report) -> str:
    c = report.counts()
    lines = [f"# sgproof report: {report.spec_name or report.spec}", "",
             f"**{c['proven']} proven, {c['refuted']} refuted, {c['errors']} errors** "
             f"of {len(report.results)} invariants.", "", "## Scope", ""]
    lines += _table(("", ""), scope_rows(report))
    lines += ["", "## Assumptions and warnings", ""]
    lines += [f"- {a}" for a in assumption_lines(report)]
    lines += [f"- ⚠️ Warning: {w}" for w in report.assumptions.warnings]
    if not report.assumptions.warnings:
        lines.append("- No warnings.")
    lines += ["", "## Summary", ""]
    lines += _table(("invariant", "kind", "verdict", "seconds", "description"),
                    [(r.id, r.kind, f"{ICONS[r.status]} {VERDICT_WORDS[r.status]}", f"{r.seconds:.3f}",
                      headline(r)) for r in report.results])
    fm = report.flow_map
    if fm is not None:
        lines += ["", "## Allowed flows between the spec's groups", ""]
        if fm.edges:
            lines += ["```mermaid", render_mermaid(fm), "```", ""]
            lines += _table(("from", "to", "services", "example flow"),
                            [(e.src, e.dst, e.services, e.example) for e in fm.edges])
        else:
            lines.append(f"No flow is allowed between any two of the groups {', '.join(fm.groups) or '(none)'}.")
        lines += [f"- {e}" for e in fm.errors]
    lines += ["", "## Invariants", ""]
    for r in report.results:
        _result(report, r, lines)
    return "\n".join(lines).rstrip("\n") + "\n"
