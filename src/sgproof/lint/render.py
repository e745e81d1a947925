"""Lint findings in every output format of verify: text, json, sarif, junit, markdown, html."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from .model import Finding, LintReport
from .registry import RULES

LEVELS = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def _plain(text: str) -> str:
    """Text from the network with control characters (terminal escapes) made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _md(text: str) -> str:
    """Markdown-safe text: HTML-escaped, with table and code metacharacters escaped."""
    out = html.escape(_plain(text), quote=True)
    return re.sub(r"([\\`*_{}\[\]|<>#!~])", r"\\\1", out)


def _evidence_line(ev: dict[str, Any]) -> str:
    return json.dumps(ev, sort_keys=True)


def render_text(rep: LintReport) -> str:
    lines = [f"sgproof {rep.version} lint — {rep.source.kind} {rep.source.path or ''}".rstrip()]
    for f in rep.findings:
        lines.append(f"{f.severity.upper():8} {f.rule} {f.resource} at {f.place}")
        lines.append(f"  {_plain(f.message)}")
        for ev in f.evidence:
            lines.append(f"    evidence: {_plain(_evidence_line(ev))}")
    for w in rep.warnings:
        lines.append(f"warning: {_plain(w)}")
    counts = ", ".join(f"{r}: {n}" for r, n in rep.as_json()["summary"]["by_rule"].items() if n)
    lines.append(f"summary: {len(rep.findings)} finding(s)" + (f" ({counts})" if counts else "")
                 + f" from {len(rep.rules)} rule(s) in {rep.seconds:.2f}s")
    return "\n".join(lines) + "\n"


def render_json(rep: LintReport) -> str:
    return json.dumps(rep.as_json(), indent=2) + "\n"


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256(f"{f.rule}\x00{f.resource}\x00{f.place}".encode()).hexdigest()[:32]


def render_sarif(rep: LintReport) -> str:
    rules = [{"id": r.id, "shortDescription": {"text": r.summary},
              "defaultConfiguration": {"level": LEVELS[r.severity]},
              "properties": {"tags": ["network", "aws", "hygiene"], "severity": r.severity}}
             for r in RULES.values() if r.id in rep.rules]
    index = {r["id"]: k for k, r in enumerate(rules)}
    uri = rep.source.path or "network"
    results = []
    for f in rep.findings:
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}},
                               "logicalLocations": [{"fullyQualifiedName": f.place, "name": f.resource}]}
        results.append({"ruleId": f.rule, "ruleIndex": index[f.rule], "level": LEVELS[f.severity],
                        "message": {"text": f.message}, "locations": [loc],
                        "partialFingerprints": {"sgproofFinding/v1": _fingerprint(f)},
                        "properties": {"severity": f.severity, "evidence": list(f.evidence)}})
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "sgproof", "version": rep.version, "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, indent=2) + "\n"


def render_junit(rep: LintReport) -> str:
    parts = []
    for rid in rep.rules:
        mine = [f for f in rep.findings if f.rule == rid]
        body = "".join(
            f'<failure type="{xml_escape(f.severity)}" message="{xml_escape(f.message, {chr(34): "&quot;"})}">'
            f"{xml_escape(f.place)}\n" + "\n".join(xml_escape(_evidence_line(e)) for e in f.evidence) + "</failure>"
            for f in mine)
        parts.append(f'  <testcase classname="sgproof.lint" name="{xml_escape(rid)}">{body}</testcase>')
    n_fail = sum(1 for rid in rep.rules if any(f.rule == rid for f in rep.findings))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites><testsuite name="sgproof lint" tests="{len(rep.rules)}" failures="{n_fail}" errors="0">\n'
            + "\n".join(parts) + "\n</testsuite></testsuites>\n")


def render_markdown(rep: LintReport) -> str:
    lines = [f"# sgproof lint: {len(rep.findings)} finding(s)", ""]
    if rep.findings:
        lines += ["| severity | rule | resource | place | finding |", "|---|---|---|---|---|"]
        for f in rep.findings:
            lines.append(f"| {f.severity} | {f.rule} | {_md(f.resource)} | {_md(f.place)} | {_md(f.message)} |")
        lines += ["", "## Evidence", ""]
        for n, f in enumerate(rep.findings, 1):
            lines.append(f"{n}. **{f.rule}** {_md(f.resource)}: {_md(f.message)}")
            for ev in f.evidence:
                lines.append(f"   - {_md(_evidence_line(ev))}")
    else:
        lines.append("No findings.")
    if rep.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_md(w)}" for w in rep.warnings]
    return "\n".join(lines) + "\n"


def render_html(rep: LintReport) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(f.severity)}</td><td>{e(f.rule)}</td><td><code>{e(f.resource)}</code></td>"
                   f"<td><code>{e(f.place)}</code></td><td>{e(_plain(f.message))}"
                   + "".join(f"<br><small>{e(_plain(_evidence_line(x)))}</small>" for x in f.evidence)
                   + "</td></tr>" for f in rep.findings)
    warn = "".join(f"<li>{e(_plain(w))}</li>" for w in rep.warnings)
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>sgproof lint</title></head><body>"
            f"<h1>sgproof lint: {len(rep.findings)} finding(s)</h1>"
            "<table><thead><tr><th>severity</th><th>rule</th><th>resource</th><th>place</th><th>finding</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            + (f"<h2>Warnings</h2><ul>{warn}</ul>" if warn else "") + "</body></html>\n")


RENDERERS: dict[str, Callable[[LintReport], str]] = {
    "text": render_text, "json": render_json, "sarif": render_sarif, "junit": render_junit,
    "markdown": render_markdown, "html": render_html,
}
