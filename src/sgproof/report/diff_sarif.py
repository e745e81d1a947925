"""`sgproof diff` as SARIF 2.1.0: one result per added group, located at the Terraform resource of its cause."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .audit import spec_uri
from .diff_model import ChangeGroup, DiffReport, ports_text
from .diff_text import blocked_text, cause_text
from .sarif import SCHEMA

RULE_ID = "diff-added-connection"


def _location(report: DiffReport, g: ChangeGroup) -> dict[str, Any]:
    path = report.new.get("path") or "network"
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": spec_uri(str(path))}}}
    located = next((c for c in g.cause if c.get("tf_address")), None)
    if located is not None:
        loc["logicalLocations"] = [{"fullyQualifiedName": located["tf_address"], "kind": "resource"}]
    elif g.cause:
        loc["logicalLocations"] = [{"fullyQualifiedName": str(g.cause[0]["id"]), "kind": "resource"}]
    return loc


def _fingerprint(g: ChangeGroup) -> str:
    key = f"{','.join(g.src.enis) or ','.join(g.src.external)}>{','.join(g.dst.enis) or ','.join(g.dst.external)}"
    key += f"/{g.family}/{g.protocol}/{ports_text(g.services)}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _message(g: ChangeGroup) -> str:
    lines = [f"New connection: {g.src.text} -> {g.dst.text} on ipv{g.family} {g.protocol_json()} "
             f"{ports_text(g.services)}.", f"Witness: {g.witness.flow.text()} (allowed in NEW).",
             f"Blocked in OLD: {blocked_text(g.blocked)}."]
    lines += [f"Cause: {cause_text(c)}" for c in g.cause]
    return "\n".join(lines)


def sarif_diff_document(report: DiffReport) -> dict[str, Any]:
    rule = {
        "id": RULE_ID, "name": "DiffAddedConnection",
        "shortDescription": {"text": "a connection the new network allows and the old one did not"},
        "fullDescription": {"text": "sgproof diff: a group of connections (source class, destination class, "
                                    "family, protocol, ports) that NEW allows and OLD blocked, with a witness "
                                    "flow and the rules that differ on its path."},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["security", "network", "aws"], "precision": "very-high"},
    }
    results = [{"ruleId": RULE_ID, "level": "warning", "kind": "review",
                "message": {"text": _message(g)}, "locations": [_location(report, g)],
                "partialFingerprints": {"sgproofDiff/v1": _fingerprint(g)},
                "properties": {"group": g.as_json()}} for g in report.added]
    notes = [{"level": "warning", "message": {"text": w}} for w in report.assumptions.warnings]
    invocation: dict[str, Any] = {"executionSuccessful": report.undecided is None}
    if notes:
        invocation["toolConfigurationNotifications"] = notes
    return {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sgproof", "version": report.version, "semanticVersion": report.version,
                                "rules": [rule]}},
            "invocations": [invocation],
            "results": results,
            "properties": {"old": report.old, "new": report.new, "complete": report.complete,
                           "summary": report.summary(), "removed": [g.as_json() for g in report.removed]},
        }],
    }


def render_diff_sarif(report: DiffReport) -> str:
    return json.dumps(sarif_diff_document(report), indent=2) + "\n"
