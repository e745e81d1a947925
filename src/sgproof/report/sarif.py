"""SARIF 2.1.0 as GitHub code scanning reads it: a rule per invariant, a result per violation."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .audit import spec_uri, where_column
from .model import Counterexample, Report, Result
from .text import step_resource, step_rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# a refutation's level and the score code-scanning dashboards sort by, from the invariant's severity
LEVEL = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}
SCORE = {"low": "2.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


def _rule(r: Result) -> dict[str, Any]:
    short = r.description or r.statement
    return {
        "id": r.id,
        "name": "".join(w.capitalize() for w in r.id.replace("_", "-").split("-") if w) or r.id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": f"{r.kind}: {r.statement}"},
        "defaultConfiguration": {"level": LEVEL.get(r.severity, "error")},
        "help": {"text": f"sgproof {r.kind} invariant: {r.statement}. A refutation names a concrete flow that "
                         "the security groups and network ACLs allow, with the rule at every gate."},
        "properties": {"tags": ["security", "network", "aws"], "precision": "very-high", "kind": r.kind,
                       "severity": r.severity, "security-severity": SCORE.get(r.severity, "8.0")},
    }


def _location(report: Report, r: Result, cx: Counterexample | None = None) -> dict[str, Any]:
    found = _tf_location(report, cx) if cx is not None else None
    if found is not None:
        return {"physicalLocation": {"artifactLocation": {"uri": spec_uri(found[0])},
                                     "region": {"startLine": found[1]}}}
    return {"physicalLocation": {
        "artifactLocation": {"uri": spec_uri(report.spec)},
        "region": {"startLine": max(r.line, 1), "startColumn": where_column(r)},
    }}


def _tf_location(report: Report, cx: Counterexample) -> tuple[str, int] | None:
    """Where the Terraform resource of the trace's deciding rule is declared, for a plan source."""
    if report.source.kind != "terraform" or not report.source.path:
        return None
    from ..sources.terraform import resource_location

    steps = [s for s in cx.trace if s.tf_address]
    steps.sort(key=lambda s: s.gate != "sg-ingress")
    for s in steps:
        found = resource_location(report.source.path, str(s.tf_address))
        if found is not None:
            return found
    return None


def flow_class(cx: Counterexample) -> str:
    """What identifies a violation across runs: its endpoints' ENIs (or external family) and protocol."""
    f = cx.flow
    src = cx.src.eni or f"external-ipv{f.src.family}"
    dst = cx.dst.eni or f"external-ipv{f.dst.family}"
    return f"{src}>{dst}/{f.proto}"


def fingerprint(invariant: str, cls: str) -> str:
    return hashlib.sha256(f"{invariant}\x00{cls}".encode()).hexdigest()[:32]


def _message(r: Result, cx: Counterexample, services: str = "") -> str:
    verb = "is allowed" if cx.allowed else "is blocked"
    lines = [f"{r.id} refuted: {cx.flow.text()} {verb}."]
    if services:
        lines[0] += f" Services open between these classes: {services}."
    lines.append(f"Claim: {r.statement}.")
    for n, s in enumerate(cx.trace, 1):
        lines.append(f"{n}. {s.gate} {step_resource(s)} {step_rule(s)} => {s.verdict}")
    if cx.note:
        lines.append(f"Note: {cx.note}")
    return "\n".join(lines)


def _results(report: Report, r: Result) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if r.status == "error":
        out.append({"ruleId": r.id, "level": "error", "kind": "fail",
                    "message": {"text": f"{r.id} could not be checked: {r.error}"},
                    "locations": [_location(report, r)],
                    "partialFingerprints": {"sgproofInvariant/v1": fingerprint(r.id, "error")}})
        return out
    if r.status != "refuted":
        return out
    items: list[tuple[Counterexample, str]] = [(v.counterexample, v.services) for v in r.violations]
    if not items and r.counterexample is not None:
        items = [(r.counterexample, "")]
    seen: dict[str, int] = {}
    for cx, services in items:
        cls = flow_class(cx)
        seen[cls] = seen.get(cls, 0) + 1
        if seen[cls] > 1:
            cls += f"#{seen[cls]}"
        out.append({"ruleId": r.id, "level": LEVEL.get(r.severity, "error"), "kind": "fail",
                    "message": {"text": _message(r, cx, services)},
                    "locations": [_location(report, r, cx)],
                    "partialFingerprints": {"sgproofFlow/v1": fingerprint(r.id, cls)},
                    "properties": {"flow": cx.as_json()}})
    return out


def _driver(version: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "sgproof", "version": version, "semanticVersion": version,
            "rules": rules}


def sarif_document(report: Report) -> dict[str, Any]:
    rules = [_rule(r) for r in report.results]
    results = [res for r in report.results for res in _results(report, r)]
    notes = [{"level": "warning", "message": {"text": w}} for w in report.assumptions.warnings]
    invocation: dict[str, Any] = {"executionSuccessful": True, "startTimeUtc": _utc(report.started_at)}
    if notes:
        invocation["toolConfigurationNotifications"] = notes
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": _driver(report.version, rules)},
            "invocations": [invocation],
            "results": results,
            "properties": {"spec": report.spec, "source": report.source.as_json(),
                           "assumptions": report.assumptions.as_json(), "summary": report.counts(),
                           "seconds": report.times_json(),
                           "z3": report.z3_version},
        }],
    }


def _utc(stamp: str) -> str:
    return stamp.replace("+00:00", "Z")


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_document(report), indent=2) + "\n"


def render_sarif_error(message: str, spec: str | None, version: str, file: str | None = None,
                       line: int | None = None, column: int | None = None) -> str:
    """A SARIF log for a run that stopped on bad input: a failed invocation carrying the message,
    located at the file (and line and column) the error names, else at the spec."""
    note: dict[str, Any] = {"level": "error", "message": {"text": message}}
    where = file or spec
    if where:
        physical: dict[str, Any] = {"artifactLocation": {"uri": spec_uri(where)}}
        if line is not None:
            physical["region"] = {"startLine": line, **({"startColumn": column} if column else {})}
        note["locations"] = [{"physicalLocation": physical}]
    doc = {"$schema": SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": _driver(version, [])},
        "invocations": [{"executionSuccessful": False, "exitCode": 2, "toolExecutionNotifications": [note]}],
        "results": [],
    }]}
    return json.dumps(doc, indent=2) + "\n"
