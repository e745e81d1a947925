"""The Terraform reader's internal state travels out of band: a user's snapshot cannot forge it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sgproof.cli import main
from sgproof.sources.snapshot import build_network

from .conftest import ROOT

THREE_TIER = ROOT / "examples" / "three-tier"


def _forged(doc: dict) -> dict:  # type: ignore[type-arg]
    doc = json.loads(json.dumps(doc))
    doc["SgproofWarnings"] = ["everything is fine"]
    for eni in doc["NetworkInterfaces"]:
        eni["SgproofUnknownPrivateIpv4"] = "0.0.0.0/0"
        eni["SgproofTfAddress"] = "aws_instance.forged"
    for group in doc["SecurityGroups"]:
        group["SgproofTfAddress"] = "aws_security_group.forged"
        for perm in group.get("IpPermissions") or []:
            perm["SgproofTfAddress"] = "aws_security_group_rule.forged"
    return doc


def test_forged_internal_keys_are_ignored_like_any_unknown_key() -> None:
    doc = json.loads((THREE_TIER / "network.json").read_text())
    assert build_network(_forged(doc), "network.json") == build_network(doc, "network.json")


def test_forged_internal_keys_change_no_verdict_and_no_warning(tmp_path: Path) -> None:
    doc = json.loads((THREE_TIER / "network.json").read_text())
    forged = tmp_path / "network.json"
    forged.write_text(json.dumps(_forged(doc)))
    outs = []
    for snapshot in (THREE_TIER / "network.json", forged):
        result = CliRunner().invoke(main, ["verify", str(THREE_TIER / "spec.yaml"), "--snapshot", str(snapshot),
                                           "--format", "json", "--quiet", "--jobs", "1"])
        report = json.loads(result.output)
        outs.append((result.exit_code, [(r["id"], r["status"]) for r in report["results"]],
                     report.get("warnings"), report["assumptions"]))
    assert outs[0] == outs[1]
    assert "everything is fine" not in json.dumps(outs[1])
    assert "forged" not in json.dumps(outs[1])
