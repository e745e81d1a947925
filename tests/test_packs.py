"""Compliance packs (contract 8): per control, a compliant network, one the literal check flags but no flow
can use (exposed: false, proven), and one exposed through a combination no single-rule check sees
(refuted, no config finding); an exposed finding carries a witness that replays."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sgproof.encode.check import Checker
from sgproof.packs import CONTROLS
from sgproof.packs.findings import add_config_findings
from sgproof.report.model import Result
from sgproof.run import verify
from sgproof.semantics import evaluate
from sgproof.sources import SourceInfo
from sgproof.sources.snapshot import build_network
from sgproof.spec import load_spec

from .builders import ALL_OUT, SUB_A, SUB_B, VPC, allow_all_nacl, base, eni, entry, perm, sg

WEB, OPEN, OTHER = "sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003"
DEFAULT = "sg-0000000000000000d"
ACL_A, ACL_B = "acl-0000000000000000a", "acl-0000000000000000b"
PUBLIC = "54.0.0.10"
V6 = "2600:1f18:1:101::10"


def run(doc: dict[str, Any], inv_id: str) -> Result:
    """One pack invariant over a snapshot document, with its config findings."""
    pack = "pack:cis-aws-networking" if inv_id.startswith("cis-") else "pack:fsbp-ec2"
    spec = load_spec(pack)
    spec = dataclasses.replace(spec, invariants=tuple(i for i in spec.invariants if i.id == inv_id))
    assert spec.invariants, inv_id
    net = build_network(doc, "<t>")
    checker = Checker(net, spec)
    rep = add_config_findings(verify(spec, net, SourceInfo("snapshot", "<t>"), 1, checker=checker), checker)
    r = rep.results[0]
    assert r.status != "error", r.error
    assert r.control == CONTROLS[inv_id].control
    for f in r.config_findings or ():
        if f.exposed:
            assert f.witness is not None and f.reason is None
            assert evaluate(net, f.witness.flow).allowed  # the witness replays
        else:
            assert f.witness is None and f.reason
    return r


def nacls(entries_b: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """ACL_A (allow all) on SUB_A; ACL_B on SUB_B with the given entries (allow all when None)."""
    a = allow_all_nacl(ACL_A, True, [SUB_A])
    b = allow_all_nacl(ACL_B, False, [SUB_B])
    if entries_b is not None:
        b["Entries"] = entries_b
    return [a, b]


def routes(to_igw: bool) -> dict[str, Any]:
    local = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable",
              "State": "active"},
             {"DestinationIpv6CidrBlock": "2600:1f18:1:100::/56", "GatewayId": "local",
              "Origin": "CreateRouteTable", "State": "active"}]
    igw = [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "Origin": "CreateRoute", "State": "active"},
           {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1", "Origin": "CreateRoute", "State": "active"}]
    return {"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": VPC, "Associations": [{"Main": True}],
                             "Routes": local + (igw if to_igw else [])}],
            "InternetGateways": [{"InternetGatewayId": "igw-1",
                                  "Attachments": [{"VpcId": VPC, "State": "available"}]}]}


def host(groups: list[str], subnet: str = SUB_B) -> dict[str, Any]:
    """An internet-facing host: a public IPv4 address and an IPv6 address."""
    ip, v6 = ("10.0.2.10", "2600:1f18:1:102::10") if subnet == SUB_B else ("10.0.1.10", V6)
    return eni("eni-0000000000000000h", subnet, [ip], groups, ipv6=[v6], public=PUBLIC)


# (invariant, protocol, port, the unrestricted peer the control names, two halves that cover it)
SG_CONTROLS = [
    ("fsbp-ec2.13", "tcp", 22, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("fsbp-ec2.13", "tcp", 22, "::/0", ("::/1", "8000::/1")),
    ("fsbp-ec2.14", "tcp", 3389, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("fsbp-ec2.18", "tcp", 8443, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("fsbp-ec2.18", "udp", 53, "::/0", ("::/1", "8000::/1")),
    ("fsbp-ec2.19", "tcp", 3306, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("fsbp-ec2.19", "tcp", 9200, "::/0", ("::/1", "8000::/1")),
    ("fsbp-ec2.53", "tcp", 3389, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("fsbp-ec2.54", "tcp", 22, "::/0", ("::/1", "8000::/1")),
    ("cis-5.2", "udp", 3389, "0.0.0.0/0", ("0.0.0.0/1", "128.0.0.0/1")),
    ("cis-5.3", "tcp", 22, "::/0", ("::/1", "8000::/1")),
]


def _open(proto: str, port: int, cidr: str) -> dict[str, Any]:
    return perm(proto, port, cidr6=cidr) if ":" in cidr else perm(proto, port, cidr=cidr)


def _web() -> dict[str, Any]:
    """A compliant public web group: 80 and 443 from everywhere, nothing else."""
    return sg(WEB, "web", [perm("tcp", 80, cidr="0.0.0.0/0", cidr6="::/0"),
                           perm("tcp", 443, cidr="0.0.0.0/0", cidr6="::/0")])


@pytest.mark.parametrize(("inv", "proto", "port", "cidr", "halves"), SG_CONTROLS)
def test_sg_control_compliant(inv: str, proto: str, port: int, cidr: str, halves: tuple[str, str]) -> None:
    admin = sg(OPEN, "admin", [_open(proto, port, "10.0.0.0/16" if ":" not in cidr else "2600:1f18:1:100::/56")])
    r = run(base([_web(), admin], [host([WEB, OPEN])], nacls()), inv)
    assert r.status == "proven" and r.config_findings == ()


@pytest.mark.parametrize(("inv", "proto", "port", "cidr", "halves"), SG_CONTROLS)
@pytest.mark.parametrize("blocker", ["no-eni", "nacl", "no-route"])
def test_sg_control_flagged_not_exposed(inv: str, proto: str, port: int, cidr: str, halves: tuple[str, str],
                                        blocker: str) -> None:
    opened = sg(OPEN, "open", [_open(proto, port, cidr)])
    extra: dict[str, Any] = {}
    groups = [WEB, OPEN]
    acl = nacls()
    if blocker == "no-eni":
        groups = [WEB]
    elif blocker == "nacl":
        deny_cidr = "::/0" if ":" in cidr else "0.0.0.0/0"
        acl = nacls([entry(50, False, "deny", "6" if proto == "tcp" else "17", deny_cidr, (port, port)),
                     *[e for e in allow_all_nacl(ACL_B, False, [])["Entries"]]])
    else:
        extra = routes(to_igw=False)
    r = run(base([_web(), opened], [host(groups)], acl, **extra), inv)
    assert r.status == "proven"
    assert r.config_findings is not None and len(r.config_findings) == 1
    f = r.config_findings[0]
    assert (f.resource, f.direction, f.exposed, f.witness) == (OPEN, "ingress", False, None)
    assert f.rule == f"{proto} {port} from {cidr}"
    want = {"no-eni": "attached to no ENI", "nacl": "a NACL denies", "no-route": "no route"}[blocker]
    assert f.reason is not None and f"{want}" in f.reason, f.reason
    peer = f.item["Ipv6Ranges" if ":" in cidr else "IpRanges"][0]
    assert peer == ({"CidrIpv6": cidr} if ":" in cidr else {"CidrIp": cidr})
    assert (f.item["IpProtocol"], f.item["FromPort"], f.item["ToPort"]) == (proto, port, port)


@pytest.mark.parametrize(("inv", "proto", "port", "cidr", "halves"), SG_CONTROLS)
def test_sg_control_exposed_by_combination(inv: str, proto: str, port: int, cidr: str,
                                           halves: tuple[str, str]) -> None:
    # two groups on one ENI, each open to half of the address space: no single rule is unrestricted
    low = sg(OPEN, "low-half", [_open(proto, port, halves[0])])
    high = sg(OTHER, "high-half", [_open(proto, port, halves[1])])
    r = run(base([_web(), low, high], [host([WEB, OPEN, OTHER])], nacls(), **routes(to_igw=True)), inv)
    assert r.status == "refuted" and r.config_findings == ()
    assert r.counterexample is not None and r.counterexample.flow.value == port


@pytest.mark.parametrize(("inv", "proto", "port", "cidr", "halves"), SG_CONTROLS)
def test_sg_control_exposed_finding_has_witness(inv: str, proto: str, port: int, cidr: str,
                                                halves: tuple[str, str]) -> None:
    opened = sg(OPEN, "open", [_open(proto, port, cidr)])
    r = run(base([_web(), opened], [host([WEB, OPEN])], nacls(), **routes(to_igw=True)), inv)
    assert r.status == "refuted"
    assert r.config_findings is not None and [f.exposed for f in r.config_findings] == [True]
    w = r.config_findings[0].witness
    assert w is not None and w.flow.value == port and w.flow.dst.family == (6 if ":" in cidr else 4)
    doc = r.config_findings[0].as_json()
    assert set(doc) >= {"resource", "direction", "rule", "item", "exposed", "witness", "reason"}
    assert doc["witness"]["allowed"] is True and doc["reason"] is None


# ---- NACL controls ---------------------------------------------------------------------------------

NACL_CONTROLS = [("fsbp-ec2.21", 22), ("fsbp-ec2.21", 3389), ("cis-5.1", 22), ("cis-5.1", 3389)]


def _admin_open(port: int) -> dict[str, Any]:
    return sg(OPEN, "admin-open", [perm("tcp", port, cidr="0.0.0.0/0")])


@pytest.mark.parametrize(("inv", "port"), NACL_CONTROLS)
def test_nacl_control_compliant(inv: str, port: int) -> None:
    # the NACL admits only 443 and the replies; the group may say what it likes
    b = [entry(100, False, "allow", "6", "0.0.0.0/0", (443, 443)),
         entry(100, True, "allow"), entry(32767, False, "deny"), entry(32767, True, "deny")]
    r = run(base([_admin_open(port)], [host([OPEN])], nacls(b)), inv)
    assert r.status == "proven"
    found = r.config_findings or ()
    assert found and {f.resource for f in found} == {ACL_A}  # ACL_A allows all, but on no ENI
    assert {f.reason for f in found} == {"attached to no ENI (its subnets hold no ENI of the invariant)"}


@pytest.mark.parametrize(("inv", "port"), NACL_CONTROLS)
@pytest.mark.parametrize("blocker", ["sg", "earlier-entry", "no-route"])
def test_nacl_control_flagged_not_exposed(inv: str, port: int, blocker: str) -> None:
    groups = [_admin_open(port)]
    extra: dict[str, Any] = {}
    b = None
    if blocker == "sg":
        groups = [sg(OPEN, "closed", [perm("tcp", port, cidr="10.0.0.0/16")])]
    elif blocker == "earlier-entry":
        b = [entry(50, False, "deny", "6", "0.0.0.0/0", (port, port)),
             *allow_all_nacl(ACL_B, False, [])["Entries"]]
    else:
        extra = routes(to_igw=False)
    r = run(base(groups, [host([OPEN])], nacls(b), **extra), inv)
    assert r.status == "proven"
    mine = [f for f in r.config_findings or () if f.resource == ACL_B]
    assert [f.rule for f in mine] == ([100, 101] if inv == "cis-5.1" else [100])
    f = mine[0]
    assert f.exposed is False and f.witness is None and f.direction == "ingress"
    assert f.item == {"RuleNumber": 100, "Egress": False, "RuleAction": "allow", "Protocol": "-1",
                      "CidrBlock": "0.0.0.0/0"}
    want = {"sg": "no security group of the destination admits it", "earlier-entry": "an earlier entry decides",
            "no-route": "no route"}[blocker]
    assert f.reason is not None and f"{want}: e.g. tcp 1.0.0.1:1024 -> {PUBLIC}:" in f.reason, f.reason
    if blocker != "sg":  # the group admits only `port`: the example of its block names that port
        assert f"{want}: e.g. tcp 1.0.0.1:1024 -> {PUBLIC}:{port} " in f.reason, f.reason


@pytest.mark.parametrize(("inv", "port"), NACL_CONTROLS)
def test_nacl_control_exposed_by_combination(inv: str, port: int) -> None:
    halves = [entry(100, False, "allow", "6", "0.0.0.0/1", (port, port)),
              entry(110, False, "allow", "6", "128.0.0.0/1", (port, port)),
              entry(100, True, "allow"), entry(32767, False, "deny"), entry(32767, True, "deny")]
    acl = nacls(halves)
    acl[0]["Associations"] = []  # no allow-all ACL anywhere: ACL_B's entries are all there is
    acl[0]["Entries"] = halves
    r = run(base([_admin_open(port)], [host([OPEN])], acl, **routes(to_igw=True)), inv)
    assert r.status == "refuted" and r.config_findings == ()


@pytest.mark.parametrize(("inv", "port"), NACL_CONTROLS)
def test_nacl_control_exposed_finding(inv: str, port: int) -> None:
    r = run(base([_admin_open(port)], [host([OPEN])], nacls(), **routes(to_igw=True)), inv)
    assert r.status == "refuted"
    mine = {f.rule: f for f in r.config_findings or () if f.resource == ACL_B}
    assert mine[100].exposed is True and mine[100].witness is not None
    assert any(s.gate == "nacl-in" and s.rule == 100 for s in mine[100].witness.trace)
    if inv == "cis-5.1":
        # ::/0 entry 101 is flagged too, but the group admits IPv4 only
        assert mine[101].exposed is False and mine[101].reason is not None
        assert mine[101].reason.startswith("no security group of the destination admits it")


def test_nacl_entry_shadowed_by_an_earlier_allow_is_not_exposed() -> None:
    # #90 admits tcp/22 first: the flow is #90's, not #100's (each entry answers for what it decides)
    b = [entry(90, False, "allow", "6", "0.0.0.0/0", (22, 22)), *allow_all_nacl(ACL_B, False, [])["Entries"]]
    r = run(base([_admin_open(22)], [host([OPEN])], nacls(b)), "fsbp-ec2.21")
    mine = {f.rule: f for f in r.config_findings or () if f.resource == ACL_B}
    assert r.status == "refuted" and mine[90].exposed is True
    assert mine[100].exposed is False and mine[100].reason is not None
    assert mine[100].reason.startswith("an earlier entry decides")


# ---- default security group --------------------------------------------------------------------------

DEFAULT_CONTROLS = ["fsbp-ec2.2-ingress", "fsbp-ec2.2-egress", "cis-5.4-ingress", "cis-5.4-egress"]


def _default(rules: bool) -> dict[str, Any]:
    if not rules:
        return sg(DEFAULT, "default", [], [])
    return sg(DEFAULT, "default", [perm("-1", sg=DEFAULT)], ALL_OUT)


def _client() -> dict[str, Any]:
    return eni("eni-0000000000000000c", SUB_A, ["10.0.1.20"], [OTHER], ipv6=[V6])


@pytest.mark.parametrize("inv", DEFAULT_CONTROLS)
def test_default_sg_compliant(inv: str) -> None:
    # the default group holds no rule and the host in it carries nothing else
    others = sg(OTHER, "client", [], ALL_OUT)
    r = run(base([_default(False), others], [host([DEFAULT]), _client()], nacls()), inv)
    assert r.status == "proven" and r.config_findings == ()


@pytest.mark.parametrize("inv", DEFAULT_CONTROLS)
@pytest.mark.parametrize("blocker", ["no-eni", "nacl"])
def test_default_sg_flagged_not_exposed(inv: str, blocker: str) -> None:
    others = sg(OTHER, "client", [perm("-1", cidr="0.0.0.0/0")], ALL_OUT)
    if blocker == "no-eni":
        enis = [_client()]
        acl = nacls()
    else:
        # two hosts in the default group, each behind a NACL that denies everything
        enis = [host([DEFAULT]), eni("eni-0000000000000000e", SUB_A, ["10.0.1.30"], [DEFAULT])]
        deny = [entry(32767, False, "deny"), entry(32767, True, "deny"), entry(32768, False, "deny", cidr="::/0"),
                entry(32768, True, "deny", cidr="::/0")]
        acl = nacls(deny)
        acl[0]["Entries"] = deny
    r = run(base([_default(True), others], enis, acl), inv)
    assert r.status == "proven"
    direction = "egress" if inv.endswith("egress") else "ingress"
    found = r.config_findings or ()
    assert found and all(f.resource == DEFAULT and f.direction == direction and not f.exposed for f in found)
    want = "attached to no ENI" if blocker == "no-eni" else "a NACL denies"
    assert all(f.reason is not None and f.reason.startswith(want) for f in found), [f.reason for f in found]


@pytest.mark.parametrize("inv", DEFAULT_CONTROLS)
def test_default_sg_exposed_by_combination(inv: str) -> None:
    # the default group holds no rule (a rule checker passes it) but its host also carries open groups
    web = sg(WEB, "web", [perm("tcp", 443, cidr="0.0.0.0/0")], ALL_OUT)
    r = run(base([_default(False), web], [host([DEFAULT, WEB])], nacls()), inv)
    assert r.status == "refuted" and r.config_findings == ()


@pytest.mark.parametrize("inv", DEFAULT_CONTROLS)
def test_default_sg_exposed_finding(inv: str) -> None:
    r = run(base([_default(True)], [host([DEFAULT]), eni("eni-0000000000000000e", SUB_A, ["10.0.1.30"],
                                                          [DEFAULT])], nacls()), inv)
    assert r.status == "refuted"
    found = r.config_findings or ()
    assert found and any(f.exposed for f in found)


def test_no_public_address_is_the_reason() -> None:
    # routing to an internet gateway, but the host has no public IPv4 (and no IPv6 for the ::/0 rule)
    opened = sg(OPEN, "open", [perm("tcp", 22, cidr="0.0.0.0/0", cidr6="::/0")])
    private = eni("eni-0000000000000000p", SUB_B, ["10.0.2.20"], [OPEN])
    r = run(base([opened], [private], nacls(), **routes(to_igw=True)), "fsbp-ec2.13")
    assert r.status == "proven"
    reasons = {f.rule: f.reason for f in r.config_findings or ()}
    assert set(reasons) == {"tcp 22 from 0.0.0.0/0", "tcp 22 from ::/0"}
    assert all(not f.exposed for f in r.config_findings or ())
    assert (reasons["tcp 22 from 0.0.0.0/0"] or "").startswith("no public address: e.g. tcp 1.0.0.1:1024 -> 10.0.2.20:22")
    assert reasons["tcp 22 from ::/0"] == f"no public address: no ENI that carries {OPEN} has an IPv6 address"
    # the same host with a public address is exposed (the twin)
    private["Association"] = {"PublicIp": PUBLIC}
    r = run(base([opened], [private], nacls(), **routes(to_igw=True)), "fsbp-ec2.13")
    assert r.status == "refuted"
    assert [f.exposed for f in r.config_findings or ()] == [True, False]
