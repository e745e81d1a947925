"""An auditor's report in Markdown: scope, assumptions, summary, each invariant with its evidence.

Markdown is posted as pull-request comments and rendered by tools that do not all sanitise, so every
string from the input goes through `safe.md` (HTML and Markdown metacharacters escaped) or, inside the
Mermaid block, `safe.mermaid`; code spans hold only text sgproof made (flows: addresses and ports)."""

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
from .findings import finding_lines
from .model import Counterexample, Report, Result
from .picture import render_mermaid
from .repair import repair_lines
from .safe import md

ICONS = {"proven": "✅", "refuted": "❌", "error": "⚠️"}


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell (or any inline place)."""
    return md(text)


def code(text: str) -> str:
    """A code span for text sgproof made itself (a flow); backticks cannot occur, but are replaced anyway."""
    quoted = text.replace("`", "'").replace("\n", " ")
    return f"`{quoted}`"


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]], raw: int | tuple[int, ...] = 0) -> list[str]:
    """A table; columns `raw` (the first `raw` ones, or those listed) are already Markdown (escaped by the
    caller), the others are escaped here."""
    done = set(range(raw)) if isinstance(raw, int) else set(raw)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c if i in done else cell(c) for i, c in enumerate(row)) + " |" for row in rows]
    return out


def _flow(cx: Counterexample, lines: list[str]) -> None:
    lines.append(f"- Flow: {code(cx.flow.text())} — {'allowed' if cx.allowed else 'blocked'}")
    lines.append(f"- Source: {md(endpoint_text(cx, 'src'))}")
    lines.append(f"- Destination: {md(endpoint_text(cx, 'dst'))}")
    if cx.note:
        lines.append(f"- Note: {md(cx.note)}")
    if cx.trace:
        lines.append("")
        rows = [(md(n), md(g), md(i), md(r), f"**{md(v)}**" if v != "allow" else md(v))
                for n, g, i, r, v in trace_rows(cx)]
        lines += _table(("#", "gate", "resource", "rule", "verdict"), rows, raw=5)
    lines.append("")


def _result(report: Report, r: Result, lines: list[str]) -> None:
    lines += [f"### {ICONS[r.status]} {md(r.id)} — {md(headline(r))}", ""]
    lines.append(f"- Invariant ({md(r.kind)}, severity {md(r.severity)}, {md(r.where)}): {md(r.statement)}")
    lines.append(f"- Verdict: **{VERDICT_WORDS[r.status]}** in {r.seconds:.3f} s")
    lines += [("  " if line.startswith("- ") else "- ") + cell(line) for line in finding_lines(r)]
    lines.append("")
    if r.status == "error":
        lines += [f"Error: {md(r.error or '')}", ""]
    elif r.status == "proven":
        a = report.assumptions
        lines.append(f"Proven for every address, port and ENI of the snapshot that the selectors cover. It rests "
                     f"on: routing {md(a.routing)}; client ports {md(a.ephemeral_ports)}"
                     + ("; the warnings above." if a.warnings else "."))
        if r.covered:
            lines.append("")
            lines += _table(("covered", ""), covered_rows(r))
        lines.append("")
    elif r.violations:
        lines += [md(violations_note(r)), ""]
        for n, pair in enumerate(class_pairs(r), 1):
            lines.append(f"#### Violation group {n}: {md(pair.source)} → {md(pair.destination)}")
            lines += ["", f"Open on: {md(pair.services)}", ""]
            for v in pair.traced:
                _flow(v.counterexample, lines)
            if pair.others:
                lines += [f"{len(pair.others)} more flow(s) of this group, each allowed the same way:", ""]
                lines += [f"- {code(t)}" for t in pair.others]
                lines.append("")
    elif r.counterexample is not None:
        if r.violations_complete is not None:
            lines += [md(violations_note(r)), ""]
        lines += ["Counterexample:", ""]
        _flow(r.counterexample, lines)
    fix = repair_lines(r)
    if fix:
        lines += [md(fix[0]), ""] + [f"- {code(line.strip())}" if line.strip().startswith("$") else f"- {md(line.strip())}"
                                     for line in fix[1:]] + [""]


def render_markdown(report: Report) -> str:
    c = report.counts()
    lines = [f"# sgproof report: {md(report.spec_name or report.spec)}", "",
             f"**{c['proven']} proven, {c['refuted']} refuted, {c['errors']} errors** "
             f"of {len(report.results)} invariants.", "", "## Scope", ""]
    lines += _table(("", ""), scope_rows(report))
    lines += ["", "## Assumptions and warnings", ""]
    lines += [f"- {md(a)}" for a in assumption_lines(report)]
    lines += [f"- ⚠️ Warning: {md(w)}" for w in report.assumptions.warnings]
    if not report.assumptions.warnings:
        lines.append("- No warnings.")
    lines += ["", "## Summary", ""]
    lines += _table(("invariant", "kind", "verdict", "seconds", "description"),
                    [(md(r.id), md(r.kind), f"{ICONS[r.status]} {VERDICT_WORDS[r.status]}", f"{r.seconds:.3f}",
                      md(headline(r))) for r in report.results], raw=5)
    fm = report.flow_map
    if fm is not None:
        lines += ["", "## Flows between the spec's groups", ""]
        if fm.edges:
            lines += ["```mermaid", render_mermaid(fm), "```", ""]
            lines += _table(("from", "to", "services", "example flow"),
                            [(e.end_text("src"), e.end_text("dst"),
                              e.services if e.status == "allowed" else f"unknown: {e.services}",
                              code(e.example) if e.example else "")
                             for e in fm.edges], raw=(3,))
            lines.append("")
        elif fm.complete:
            lines += [f"Proven: no flow goes between any two of the groups {md(', '.join(fm.groups) or '(none)')}.",
                      ""]
        lines += [f"- {md(x)}" for x in fm.legend()]
        lines += [f"- {md(e)}" for e in fm.errors]
    lines += ["", "## Invariants", ""]
    for r in report.results:
        _result(report, r, lines)
    return "\n".join(lines).rstrip("\n") + "\n"
