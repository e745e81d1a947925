"""sgproof lint (contract 7): one network per rule where the finding must appear, and a twin where it
must not; the CLI's exit codes and formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.lint import run_lint
from sgproof.sources import SourceInfo
from sgproof.sources.snapshot import build_network

from .builders import SUB_A, SUB_B, VPC, allow_all_nacl, base, eni, entry, perm, sg

SG1, SG2, SG3 = "sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003"
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def findings(doc: dict[str, Any], rule: str) -> list[Any]:
    rep = run_lint(build_network(doc, "<t>"), SourceInfo("snapshot", "<t>"), (1024, 65535), (rule,))
    return list(rep.findings)


def _nacl(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    star = [entry(32767, e, "deny") for e in (False, True)] + [entry(32768, e, "deny", cidr="::/0") for e in (False, True)]
    return [allow_all_nacl("acl-00000000000000001", True, []),
            {"NetworkAclId": "acl-00000000000000002", "VpcId": VPC, "IsDefault": False,
             "Associations": [{"SubnetId": SUB_B}], "Entries": entries + star}]


TWO = [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])]
GROUPS = [sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 5432, sg=SG1)])]


def test_entry_shadowed_by_the_union_of_two_earlier_entries() -> None:
    out = [entry(n, True, "allow") for n in (100,)]
    shadowed = _nacl([entry(10, False, "allow", "6", "10.0.0.0/17", ports=(0, 65535)),
                      entry(20, False, "deny", "6", "10.0.128.0/17", ports=(0, 65535)),
                      entry(30, False, "deny", "6", "10.0.0.0/16", ports=(22, 22)), *out])
    got = findings(base(GROUPS, TWO, shadowed), "nacl-shadowed-entry")
    assert [f.place for f in got] == ["NetworkAcls[1].Entries[2]"]
    assert [e["entry"] for e in got[0].evidence] == [10, 20]
    twin = _nacl([entry(10, False, "allow", "6", "10.0.0.0/17", ports=(0, 65535)),
                  entry(20, False, "deny", "6", "10.0.128.0/18", ports=(0, 65535)),
                  entry(30, False, "deny", "6", "10.0.0.0/16", ports=(22, 22)), *out])
    assert findings(base(GROUPS, TWO, twin), "nacl-shadowed-entry") == []


def test_redundant_entry_is_decided_the_same_without_it() -> None:
    out = [entry(100, True, "allow")]
    doc = base(GROUPS, TWO, _nacl([entry(10, False, "allow", "6", "10.0.1.0/24", ports=(5432, 5432)),
                                  entry(20, False, "allow", "6", "10.0.0.0/16", ports=(0, 65535)), *out]))
    got = findings(doc, "nacl-redundant-entry")
    assert [f.place for f in got] == ["NetworkAcls[1].Entries[0]"]
    twin = base(GROUPS, TWO, _nacl([entry(10, False, "allow", "6", "10.0.1.0/24", ports=(5432, 5432)),
                                   entry(20, False, "allow", "6", "10.0.0.0/16", ports=(0, 1000)), *out]))
    assert findings(twin, "nacl-redundant-entry") == []


def test_broken_return_only_for_ipv6() -> None:
    inbound = [entry(100, False, "allow", "6", "0.0.0.0/0", ports=(443, 443)),
               entry(101, False, "allow", "6", "::/0", ports=(443, 443))]
    replies4 = [entry(100, True, "allow", "6", "0.0.0.0/0", ports=(1024, 65535))]
    got = findings(base(GROUPS, TWO, _nacl(inbound + replies4)), "nacl-broken-return")
    msgs = [f.message for f in got]
    assert len(got) == 1 and "tcp requests inbound to port 443" in msgs[0] and "::" in msgs[0], msgs
    assert "1024-65535" in msgs[0]
    twin = inbound + replies4 + [entry(101, True, "allow", "6", "::/0", ports=(1024, 65535))]
    assert findings(base(GROUPS, TWO, _nacl(twin)), "nacl-broken-return") == []


def test_broken_return_when_only_some_client_ports_return_is_not_a_finding() -> None:
    inbound = [entry(100, False, "allow", "6", "0.0.0.0/0", ports=(443, 443))]
    partial = [entry(100, True, "allow", "6", "0.0.0.0/0", ports=(32768, 65535))]
    assert findings(base(GROUPS, TWO, _nacl(inbound + partial)), "nacl-broken-return") == []


def test_echo_request_without_echo_reply_is_broken() -> None:
    nacl = _nacl([entry(100, False, "allow", "1", "0.0.0.0/0", icmp=(8, -1)),
                  entry(100, True, "allow", "1", "0.0.0.0/0", icmp=(3, -1))])
    got = findings(base(GROUPS, TWO, nacl), "nacl-broken-return")
    assert len(got) == 1 and "type 8" in got[0].message and "type 0" in got[0].message


def test_rule_covered_by_two_other_rules_of_the_group() -> None:
    covered = sg(SG2, "db", [perm("tcp", 5432, cidr="10.0.0.0/16"),
                             perm("tcp", 0, 6000, cidr="10.0.0.0/17"), perm("tcp", 5000, 65535, cidr="10.0.0.0/16")])
    got = findings(base([sg(SG1, "app", []), covered], TWO), "sg-redundant-rule")
    assert [f.place for f in got] == ["SecurityGroups[1].IpPermissions[0].IpRanges[0]"]
    assert len(got[0].evidence) == 2
    twin = sg(SG2, "db", [perm("tcp", 5432, cidr="10.0.0.0/16"),
                          perm("tcp", 0, 5000, cidr="10.0.0.0/17"), perm("tcp", 5500, 65535, cidr="10.0.0.0/16")])
    assert findings(base([sg(SG1, "app", []), twin], TWO), "sg-redundant-rule") == []


def test_group_reference_covered_by_the_cidr_holding_every_member() -> None:
    db = sg(SG2, "db", [perm("tcp", 5432, sg=SG1), perm("tcp", 5432, cidr="10.0.1.0/24")])
    got = findings(base([sg(SG1, "app", []), db], TWO), "sg-redundant-rule")
    assert [f.place for f in got] == ["SecurityGroups[1].IpPermissions[0].UserIdGroupPairs[0]"]
    # a member outside the block: the reference admits something the CIDR rule does not
    three = [*TWO, eni("eni-3", SUB_B, ["10.0.2.30"], [SG1])]
    assert findings(base([sg(SG1, "app", []), db], three), "sg-redundant-rule") == []


def test_dead_rule_blocked_by_a_nacl_and_its_twin() -> None:
    blocking = _nacl([entry(100, False, "deny", "6", "10.0.1.0/24", ports=(5432, 5432)),
                      entry(110, False, "allow"), entry(100, True, "allow")])
    def ingress(doc: dict[str, Any]) -> list[Any]:
        return [f for f in findings(doc, "sg-dead-rule") if "5432" in f.message]

    got = ingress(base(GROUPS, TWO, blocking))
    assert [f.resource for f in got] == [SG2]
    assert "nacl-in" in json.dumps(got[0].evidence[-1])
    assert ingress(base(GROUPS, TWO, _nacl([entry(110, False, "allow"), entry(100, True, "allow")]))) == []


def test_dead_rule_when_no_route_carries_its_flows() -> None:
    extra = {"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": VPC, "Associations": [{"Main": True}],
                              "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local",
                                          "Origin": "CreateRouteTable", "State": "active"}]}]}
    web = sg(SG3, "web", [perm("tcp", 443, cidr="203.0.113.0/24")])
    enis = [*TWO, eni("eni-3", SUB_A, ["10.0.1.30"], [SG3])]

    def https(doc: dict[str, Any]) -> list[str]:
        return [f.message for f in findings(doc, "sg-dead-rule") if "ingress rule tcp 443" in f.message]

    assert len(https(base([*GROUPS, web], enis, **extra))) == 1
    # without routing (no RouteTables) the internet is taken to reach it: not dead
    assert https(base([*GROUPS, web], enis)) == []
    routed = json.loads(json.dumps(extra))
    routed["RouteTables"][0]["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1",
                                               "Origin": "CreateRoute", "State": "active"})
    enis[2]["Association"] = {"PublicIp": "54.0.0.3"}
    routed["InternetGateways"] = [{"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": VPC, "State": "available"}]}]
    assert https(base([*GROUPS, web], enis, **routed)) == []


def test_unused_group_and_references() -> None:
    groups = [*GROUPS, sg(SG3, "orphan", []),
              sg("sg-00000000000000004", "refs", [perm("tcp", 22, sg=SG3), perm("tcp", 22, sg="sg-0ffffffffffffffff")])]
    enis = [*TWO, eni("eni-4", SUB_A, ["10.0.1.40"], ["sg-00000000000000004"])]
    doc = base(groups, enis)
    assert findings(doc, "sg-unused") == []  # SG3 is referenced
    empty = findings(doc, "sg-reference-empty")
    assert [f.resource for f in empty] == ["sg-00000000000000004"] and SG3 in empty[0].message
    unknown = findings(doc, "sg-reference-unknown")
    assert len(unknown) == 1 and "sg-0ffffffffffffffff" in unknown[0].message
    lone = base([*GROUPS, sg(SG3, "orphan", [])], TWO)
    assert [f.resource for f in findings(lone, "sg-unused")] == [SG3]


def _routed(routes: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    rts = [{"RouteTableId": "rtb-1", "VpcId": VPC, "Associations": [{"Main": True}],
            "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable",
                        "State": "active"}, *routes]}]
    return base(GROUPS, TWO, RouteTables=rts, **more)


def test_blackhole_route() -> None:
    got = findings(_routed([{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "Origin": "CreateRoute",
                             "State": "blackhole"}]), "route-blackhole")
    assert len(got) == 1 and "nat-1" in got[0].message
    assert findings(_routed([]), "route-blackhole") == []


def test_unused_nat_gateway_and_its_twin() -> None:
    nat = [{"NatGatewayId": "nat-1", "SubnetId": SUB_A, "VpcId": VPC, "State": "available"}]
    got = findings(_routed([], NatGateways=nat), "route-unused-target")
    assert [f.resource for f in got] == ["nat-1"]
    used = _routed([{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "Origin": "CreateRoute",
                     "State": "active"}], NatGateways=nat)
    assert findings(used, "route-unused-target") == []


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    net = str(ROOT / "examples" / "three-tier" / "network.json")
    res = runner.invoke(main, ["lint", "--snapshot", net, "--format", "json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    assert doc["summary"]["findings"] == len(doc["findings"]) > 0
    assert set(doc["findings"][0]) >= {"rule", "severity", "resource", "place", "message", "evidence"}
    res = runner.invoke(main, ["lint", "--snapshot", net, "--format", "sarif"])
    sarif = json.loads(res.output)
    if SCHEMA.is_file():
        jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    assert len(sarif["runs"][0]["results"]) == doc["summary"]["findings"]
    res = runner.invoke(main, ["lint", "--snapshot", net, "--rule", "route-blackhole"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["lint", "--snapshot", net, "--rule", "no-such-rule"])
    assert res.exit_code == 2 and "no-such-rule" in res.output
    for fmt in ("markdown", "html", "junit", "text"):
        assert runner.invoke(main, ["lint", "--snapshot", net, "--format", fmt]).exit_code == 1


def test_packets_to_client_ports_that_may_be_replies_are_not_requests() -> None:
    # outbound tcp to 1024-65535 is what replies to inbound ssh look like: not a request whose replies
    # are denied, though no inbound entry admits a client port
    out = [entry(100, True, "allow", "6", "0.0.0.0/0", ports=(1024, 65535))]
    ssh = [entry(100, False, "allow", "6", "0.0.0.0/0", ports=(22, 22))]
    assert [f for f in findings(base(GROUPS, TWO, _nacl(out + ssh)), "nacl-broken-return")
            if "outbound" in f.message] == []
    # the twin: nothing comes in, so nothing going out can be a reply
    got = findings(base(GROUPS, TWO, _nacl(out)), "nacl-broken-return")
    assert len(got) == 1 and "tcp requests outbound" in got[0].message
