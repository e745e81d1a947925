"""The pack surfaces of contract 8 through the CLI: pack:NAME as SPEC, include:, sgproof packs, and the
config_findings in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.packs import CONTROLS, pack_names
from sgproof.spec import load_spec
from sgproof.spec.parse import load_spec_text

from .builders import SUB_A, allow_all_nacl, base, eni, perm, sg

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-blog" / "network.json")

# Security Hub's published severities (FSBP); CIS publishes none, so its controls are high
SEVERITIES = {"FSBP EC2.2": "high", "FSBP EC2.13": "high", "FSBP EC2.14": "high", "FSBP EC2.18": "high",
              "FSBP EC2.19": "critical", "FSBP EC2.21": "medium", "FSBP EC2.53": "high", "FSBP EC2.54": "high",
              "CIS 5.1": "high", "CIS 5.2": "high", "CIS 5.3": "high", "CIS 5.4": "high"}


def _cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_packs_ship_every_control_with_its_published_severity() -> None:
    assert pack_names() == ["cis-aws-networking", "fsbp-ec2"]
    seen = set()
    for name in pack_names():
        spec = load_spec(f"pack:{name}")
        for inv in spec.invariants:
            ctl = CONTROLS[inv.id]
            assert inv.control == ctl.control and inv.severity == ctl.severity == SEVERITIES[ctl.control]
            assert inv.kind == "deny" and inv.allow_empty and inv.where.startswith(f"pack:{name}:")
            seen.add(ctl.control)
    assert seen == set(SEVERITIES)


def test_packs_command_lists_ids_and_titles() -> None:
    code, out, _ = _cli("packs")
    assert code == 0
    for ctl in CONTROLS.values():
        assert ctl.control in out and ctl.title in out
    code, out, _ = _cli("packs", "--format", "json")
    data = json.loads(out)
    assert [p["pack"] for p in data["packs"]] == ["pack:cis-aws-networking", "pack:fsbp-ec2"]
    ec2_19 = next(c for p in data["packs"] for c in p["controls"] if c["control"] == "FSBP EC2.19")
    assert ec2_19["severity"] == "critical" and "9300" in ec2_19["literal_check"]


def test_verify_a_pack_as_spec() -> None:
    code, out, _ = _cli("verify", "pack:fsbp-ec2", "--snapshot", SEED, "--format", "json", "--jobs", "1")
    doc = json.loads(out)
    assert doc["spec"] == "pack:fsbp-ec2"
    by_id = {r["id"]: r for r in doc["results"]}
    assert set(by_id) == {i for i in CONTROLS if i.startswith("fsbp-")}
    ec2_21 = by_id["fsbp-ec2.21"]
    assert ec2_21["control"] == "FSBP EC2.21" and ec2_21["severity"] == "medium" and ec2_21["status"] == "proven"
    [f] = ec2_21["config_findings"]
    assert f["exposed"] is False and f["witness"] is None and f["reason"]
    assert f["item"]["CidrBlock"] == "0.0.0.0/0" and f["rule"] == 100
    # the default group's egress rule is flagged, but with routing modelled nothing uses it: the host in
    # the default group has no public address for the internet gateway (exit 0: proofs decide it)
    assert by_id["fsbp-ec2.2-egress"]["status"] == "proven" and code == 0
    egress = by_id["fsbp-ec2.2-egress"]["config_findings"][0]
    assert egress["exposed"] is False and "no public address" in egress["reason"]
    # a proven control whose findings are all unexposed exits 0
    code, out, _ = _cli("verify", "pack:fsbp-ec2", "--snapshot", SEED, "--only", "fsbp-ec2.21", "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["config_findings"][0]["exposed"] is False


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "sarif", "junit"])
def test_config_findings_in_every_format(fmt: str) -> None:
    code, out, _ = _cli("verify", "pack:fsbp-ec2", "--snapshot", SEED, "--only", "fsbp-ec2.21", "--format", fmt)
    assert code == 0
    if fmt in ("text", "markdown", "html"):
        assert "FSBP EC2.21" in out and "not exposed" in out and "acl-0c1d2e3f4a5b60001" in out


def test_unknown_pack_is_an_input_error() -> None:
    code, _, err = _cli("verify", "pack:nope", "--snapshot", SEED)
    assert code == 2 and "pack:nope" in err and "pack:fsbp-ec2" in err and "Traceback" not in err


def test_include_adds_the_pack_and_clashing_ids_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("sgproof: 1\ninclude: [pack:cis-aws-networking]\ninvariants:\n"
                    "  - id: mine\n    control: internal NET-7\n    deny: {to: {anywhere: true}, ports: tcp/23}\n")
    parsed = load_spec(str(spec))
    assert [i.id for i in parsed.invariants] == ["mine", "cis-5.1", "cis-5.2", "cis-5.3", "cis-5.4-ingress",
                                                 "cis-5.4-egress"]
    code, out, _ = _cli("verify", str(spec), "--snapshot", SEED, "--format", "json")
    by_id = {r["id"]: r for r in json.loads(out)["results"]}
    assert by_id["mine"]["control"] == "internal NET-7" and "config_findings" not in by_id["mine"]
    assert "config_findings" in by_id["cis-5.1"]
    spec.write_text("sgproof: 1\ninclude: [pack:cis-aws-networking]\ninvariants:\n"
                    "  - id: cis-5.2\n    deny: {to: {anywhere: true}, ports: tcp/22}\n")
    code, _, err = _cli("verify", str(spec), "--snapshot", SEED)
    assert code == 2 and f"{spec}:2:" in err and "cis-5.2" in err and f"{spec}:4:5" in err


def test_control_must_be_a_string() -> None:
    with pytest.raises(Exception, match="control"):
        load_spec_text("sgproof: 1\ninvariants:\n  - id: a\n    control: [x]\n    deny: {to: {anywhere: true}}\n",
                       "<t>")


def test_a_user_invariant_borrowing_a_pack_control_gets_no_findings(tmp_path: Path) -> None:
    # findings belong to the shipped invariant (id and control), not to whoever quotes the control
    doc = base([sg("sg-00000000000000001", "open", [perm("tcp", 22, cidr="0.0.0.0/0")])],
               [eni("eni-00000000000000001", SUB_A, ["10.0.1.10"], ["sg-00000000000000001"], public="54.0.0.1")],
               [allow_all_nacl("acl-00000000000000001", True, [SUB_A])])
    snap = tmp_path / "n.json"
    snap.write_text(json.dumps(doc))
    spec = tmp_path / "s.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: ssh\n    control: FSBP EC2.13\n"
                    "    deny: {from: {internet: true}, to: {anywhere: true}, ports: tcp/22}\n")
    code, out, _ = _cli("verify", str(spec), "--snapshot", str(snap), "--format", "json")
    r = json.loads(out)["results"][0]
    assert code == 1 and r["control"] == "FSBP EC2.13" and "config_findings" not in r
    code, out, _ = _cli("verify", "pack:fsbp-ec2", "--only", "fsbp-ec2.13", "--snapshot", str(snap), "--format",
                        "json")
    [f] = json.loads(out)["results"][0]["config_findings"]
    assert code == 1 and f["exposed"] is True and f["witness"]["dst"]["address"] == "54.0.0.1"
    assert f["witness"]["dst_port"] == 22 and f["witness"]["src"]["external"] is True
