"""An auditor's report as one self-contained HTML file: inline CSS and SVG, a print stylesheet."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

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
from .picture import render_svg
from .repair import repair_lines
from .safe import clean, printable

CSS = """
:root { --ink: #1b1f24; --muted: #57606a; --ok: #1a7f37; --bad: #b3261e; --warn: #9a6700; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 70rem; padding: 2rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; } td.hash { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
code { font-family: ui-monospace, "SFMono-Regular", monospace; font-size: .9em; background: #f6f8fa;
       padding: 0 .2rem; border-radius: 3px; }
.proven { color: var(--ok); } .refuted { color: var(--bad); } .error { color: var(--warn); }
.verdict { font-weight: bold; text-transform: uppercase; letter-spacing: .03em; }
.inv { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px; padding: .2rem 1rem;
       margin: 1rem 0; }
.inv.proven { border-left-color: var(--ok); } .inv.refuted { border-left-color: var(--bad); }
.inv.error { border-left-color: var(--warn); } section.inv { color: var(--ink); }
.warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .3rem .6rem; border-radius: 4px; }
tr.block td { background: #ffebe9; font-weight: bold; }
.summary { font-size: 1.1rem; } .muted { color: var(--muted); }
figure { margin: 1rem 0; } figcaption { color: var(--muted); font-size: .9rem; }
svg.flowmap { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; } .inv, figure, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  th, tr.block td, .warn, code { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(text: object) -> str:
    return escape(str(text))


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]], css: list[str] | None = None) -> str:
    out = ["<table>"]
    if any(head):
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for i, row in enumerate(rows):
        cls = f' class="{css[i]}"' if css and css[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _flow(cx: Counterexample) -> str:
    out = [f"<p>Flow <code>{_e(cx.flow.text())}</code> — <b>{'allowed' if cx.allowed else 'blocked'}</b><br>",
           f"source: {_e(endpoint_text(cx, 'src'))}<br>destination: {_e(endpoint_text(cx, 'dst'))}</p>"]
    if cx.note:
        out.append(f"<p class=\"muted\">{_e(cx.note)}</p>")
    if cx.trace:
        rows = trace_rows(cx)
        out.append(_table(("#", "gate", "resource", "rule", "verdict"), list(rows),
                          ["block" if r[4] != "allow" else "" for r in rows]))
    return "\n".join(out)


def _result(report: Report, r: Result) -> str:
    out = [f'<section class="inv {r.status}" id="inv-{_e(r.id)}">',
           f'<h3>{_e(r.id)} <span class="verdict {r.status}">{_e(VERDICT_WORDS[r.status])}</span></h3>',
           f"<p>{_e(headline(r))}</p>",
           f"<p><b>Invariant</b> ({_e(r.kind)}, severity {_e(r.severity)}, <code>{_e(r.where)}</code>): {_e(r.statement)}. "
           f"<span class=\"muted\">Checked in {r.seconds:.3f} s.</span></p>"]
    found = finding_lines(r)
    if found:
        out.append("<ul>" + "".join(f"<li>{_e(line.removeprefix('- '))}</li>" for line in found) + "</ul>")
    if r.status == "error":
        out.append(f'<p class="warn">Not checked: {_e(r.error)}</p>')
    elif r.status == "proven":
        a = report.assumptions
        out.append(f"<p>Proven for every address, port and ENI of the snapshot that the selectors cover. It rests "
                   f"on: routing {_e(a.routing)}; client ports {_e(a.ephemeral_ports)}"
                   f"{'; the warnings above' if a.warnings else ''}.</p>")
        if r.covered:
            out.append(_table(("covered", ""), covered_rows(r)))
    elif r.violations:
        out.append(f"<p><b>{_e(violations_note(r))}</b></p>")
        for n, pair in enumerate(class_pairs(r), 1):
            out.append(f"<h4>Violation group {n}: {_e(pair.source)} → {_e(pair.destination)}</h4>")
            out.append(f"<p>Open on: <code>{_e(pair.services)}</code></p>")
            out += [_flow(v.counterexample) for v in pair.traced]
            if pair.others:
                out.append(f"<details><summary>{len(pair.others)} more flow(s) of this class pair</summary><ul>"
                           + "".join(f"<li><code>{_e(t)}</code></li>" for t in pair.others) + "</ul></details>")
    elif r.counterexample is not None:
        if r.violations_complete is not None:
            out.append(f"<p><b>{_e(violations_note(r))}</b></p>")
        out.append("<h4>Counterexample</h4>")
        out.append(_flow(r.counterexample))
    fix = repair_lines(r)
    if fix:
        out.append(f"<h4>{_e(fix[0])}</h4><ul>" + "".join(
            f"<li><code>{_e(line.strip())}</code></li>" if line.strip().startswith("$") else f"<li>{_e(line.strip())}</li>"
            for line in fix[1:]) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    report = clean(report, printable)  # control characters shown as escapes; `_e` escapes the rest
    c = report.counts()
    title = f"sgproof report: {report.spec_name or report.spec}"
    a = report.assumptions
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f'<p class="summary"><span class="proven">{c["proven"]} proven</span>, '
             f'<span class="refuted">{c["refuted"]} refuted</span>, <span class="error">{c["errors"]} errors</span>'
             f" of {len(report.results)} invariants.</p>",
             "<h2>Scope</h2>"]
    rows = scope_rows(report)
    hashed = ' class="hash"'
    parts.append("<table>" + "".join(
        f"<tr><th>{_e(k)}</th><td{hashed if k == 'Input file' else ''}>{_e(v)}</td></tr>"
        for k, v in rows) + "</table>")
    parts.append("<h2>Assumptions and warnings</h2><ul>")
    parts += [f"<li>{_e(x)}</li>" for x in assumption_lines(report)]
    parts.append("</ul>")
    parts += [f'<p class="warn">Warning: {_e(w)}</p>' for w in a.warnings] or ["<p>No warnings.</p>"]
    parts.append("<h2>Summary</h2>")
    parts.append("<table><tr><th>invariant</th><th>kind</th><th>verdict</th><th>seconds</th><th>description</th>"
                 "</tr>" + "".join(
                     f'<tr><td><a href="#inv-{_e(r.id)}">{_e(r.id)}</a></td><td>{_e(r.kind)}</td>'
                     f'<td class="verdict {r.status}">{_e(VERDICT_WORDS[r.status])}</td><td>{r.seconds:.3f}</td>'
                     f"<td>{_e(headline(r))}</td></tr>" for r in report.results) + "</table>")
    fm = report.flow_map
    if fm is not None:
        parts.append("<h2>Flows between the spec's groups</h2>")
        parts.append(f"<figure>{render_svg(fm)}<figcaption>"
                     + " ".join(_e(x) for x in fm.legend()) + "</figcaption></figure>")
        if fm.edges:
            parts.append(_table(("from", "to", "services", "example flow"),
                                [(e.end_text("src"), e.end_text("dst"),
                                  e.services if e.status == "allowed" else f"unknown: {e.services}", e.example)
                                 for e in fm.edges]))
        parts += [f'<p class="warn">{_e(x)}</p>' for x in fm.errors]
    parts.append("<h2>Invariants</h2>")
    parts += [_result(report, r) for r in report.results]
    parts.append(f'<p class="muted">Generated by sgproof {_e(report.version)} (Z3 {_e(report.z3_version)}) '
                 f"at {_e(report.started_at)}.</p></body></html>")
    return "\n".join(parts) + "\n"
