"""Contract 4.5 and 4.6, one rule per test; each verdict flips when the rule is implemented wrong.

Every verdict is computed twice, by the z3 checker and by brute force through the plain evaluator
(tests/oracle.py), and both must give the contract's answer.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.encode.check import Checker
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

from . import oracle
from .builders import SUB_A, SUB_B, VPC, allow_all_nacl, base, eni, entry, perm, sg

SG_OPEN = "sg-00000000000000001"
VPC2, VPC3 = "vpc-00000000000000002", "vpc-00000000000000003"
SUB_C, SUB_D, SUB_T = "subnet-0000000000000000c", "subnet-0000000000000000d", "subnet-0000000000000000e"
IGW, EIGW, VGW = "igw-00000000000000001", "eigw-00000000000000001", "vgw-00000000000000001"
NAT, NAT_ENI = "nat-00000000000000001", "eni-nat"
PCX, PCX2 = "pcx-00000000000000001", "pcx-00000000000000002"
TGW = "tgw-00000000000000001"
ATT1, ATT2, ATT3, ATT_VPN = "tgw-attach-001", "tgw-attach-002", "tgw-attach-003", "tgw-attach-vpn"
WEB, APP, OTHER = "eni-web", "eni-app", "eni-other"
AZ1, AZ2 = "us-east-1a", "us-east-1b"
INTERNET4 = "198.51.100.7"  # an external address (no VPC holds it)
ONPREM = "192.168.0.0/16"


# ---- builders ---------------------------------------------------------------------------------
def route(dest: str, target: str, *, state: str = "active", origin: str = "CreateRoute") -> dict[str, Any]:
    r: dict[str, Any] = {"State": state, "Origin": origin}
    if dest.startswith("pl-"):
        r["DestinationPrefixListId"] = dest
    else:
        r["DestinationIpv6CidrBlock" if ":" in dest else "DestinationCidrBlock"] = dest
    key = {"nat-": "NatGatewayId", "tgw-": "TransitGatewayId", "pcx-": "VpcPeeringConnectionId",
           "eigw": "EgressOnlyInternetGatewayId", "eni-": "NetworkInterfaceId"}.get(target[:4], "GatewayId")
    r[key] = target
    return r


def local(vpc: str = VPC) -> list[dict[str, Any]]:
    cidr = {VPC: "10.0.0.0/16", VPC2: "10.9.0.0/16", VPC3: "10.8.0.0/16"}[vpc]
    out = [route(cidr, "local", origin="CreateRouteTable")]
    if vpc == VPC:
        out.append(route("2600:1f18:1:100::/56", "local", origin="CreateRouteTable"))
    return out


def table(tid: str, routes: list[dict[str, Any]], subnets: tuple[str, ...] = (), *, main: bool = False,
          vpc: str = VPC) -> dict[str, Any]:
    assocs: list[dict[str, Any]] = [{"RouteTableId": tid, "Main": False, "SubnetId": s,
                                     "AssociationState": {"State": "associated"}} for s in subnets]
    if main:
        assocs.append({"RouteTableId": tid, "Main": True, "AssociationState": {"State": "associated"}})
    return {"RouteTableId": tid, "VpcId": vpc, "Routes": local(vpc) + routes, "Associations": assocs}


def open_sg(gid: str = SG_OPEN, vpc: str = VPC) -> dict[str, Any]:
    return sg(gid, "open-" + gid[-1], [perm("-1", cidr="0.0.0.0/0", cidr6="::/0")]) | {"VpcId": vpc}


def web_app(public_routes: list[dict[str, Any]] | None = None, private_routes: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    """One VPC: WEB in SUB_A (public IPv4, IPv6), APP in SUB_B (private only); SGs admit everything.

    SUB_A's table (rtb-a, explicit) has public_routes; SUB_B uses the main table with private_routes.
    """
    doc = base([open_sg()], [eni(WEB, SUB_A, ["10.0.1.10"], [SG_OPEN], ipv6=["2600:1f18:1:101::10"], public="54.1.1.1"),
                             eni(APP, SUB_B, ["10.0.2.10"], [SG_OPEN], ipv6=["2600:1f18:1:102::10"])])
    doc["Subnets"][0]["AvailabilityZone"] = AZ1
    doc["Subnets"][1]["AvailabilityZone"] = AZ1
    doc["RouteTables"] = [table("rtb-a", public_routes or [], (SUB_A,)),
                          table("rtb-main", private_routes or [], main=True)]
    doc["InternetGateways"] = [{"InternetGatewayId": IGW, "Attachments": [{"VpcId": VPC, "State": "available"}]}]
    doc.update(copy.deepcopy(extra))
    return doc


def onprem_over_vgw() -> dict[str, Any]:
    """web_app with APP's table sending on-premises (ONPREM) to a virtual private gateway: unknown."""
    return web_app(private_routes=[route(ONPREM, VGW)],
                   VpnGateways=[{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPC, "State": "attached"}]}])


def add_vpc(doc: dict[str, Any], vpc: str, cidr: str, subnet: str, subnet_cidr: str, eni_id: str, ip: str,
            routes: list[dict[str, Any]], az: str = AZ1) -> None:
    """A second (or third) VPC with one subnet, one open ENI and a main table with routes."""
    doc["Vpcs"].append({"VpcId": vpc, "CidrBlock": cidr})
    doc["Subnets"].append({"SubnetId": subnet, "VpcId": vpc, "CidrBlock": subnet_cidr, "AvailabilityZone": az})
    doc["NetworkAcls"].append(allow_all_nacl("acl-" + vpc[-17:], True, []) | {"VpcId": vpc})
    gid = "sg-" + vpc[-17:]
    doc["SecurityGroups"].append(open_sg(gid, vpc))
    doc["NetworkInterfaces"].append(eni(eni_id, subnet, [ip], [gid]) | {"VpcId": vpc})
    doc["RouteTables"].append(table("rtb-" + vpc[-4:], routes, main=True, vpc=vpc))


def peering(pid: str, req: tuple[str, str], acc: tuple[str, str], status: str = "active") -> dict[str, Any]:
    return {"VpcPeeringConnectionId": pid, "Status": {"Code": status},
            "RequesterVpcInfo": {"VpcId": req[0], "CidrBlock": req[1], "CidrBlockSet": [{"CidrBlock": req[1]}]},
            "AccepterVpcInfo": {"VpcId": acc[0], "CidrBlock": acc[1], "CidrBlockSet": [{"CidrBlock": acc[1]}]}}


# ---- running ----------------------------------------------------------------------------------
def run(doc: dict[str, Any], body: str, kind: str = "deny", settings: str = "") -> tuple[str, Any]:
    """The verdict of one invariant; the z3 checker and the brute-force oracle must agree on it."""
    text = f"sgproof: 1\n{settings}invariants:\n  - id: t\n    allow_empty: true\n    {kind}: {body}\n"
    net = build_network(doc, "<test>")
    spec = load_spec_text(text, "<test>")
    inv = spec.invariants[0]
    want = oracle.verdict(net, spec, inv)
    if os.environ.get("SGPROOF_ROUTING_ORACLE_ONLY"):  # the evaluator alone (while the encoding is in progress)
        return want, None
    got = Checker(net, spec).check(inv)
    assert got.status != "error", got.error
    assert got.status == want, f"z3 says {got.status}, the evaluator (brute force) says {want}"
    return got.status, got


def v(doc: dict[str, Any], body: str, kind: str = "deny", settings: str = "") -> str:
    return run(doc, body, kind, settings)[0]


def warnings(doc: dict[str, Any], body: str) -> str:
    """The report's warnings (assumptions.warnings in JSON) for a deny invariant on doc."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "net.json").write_text(json.dumps(doc))
        (Path(tmp) / "spec.yaml").write_text(f"sgproof: 1\ninvariants:\n  - id: t\n    deny: {body}\n")
        res = CliRunner().invoke(main, ["verify", str(Path(tmp) / "spec.yaml"), "--snapshot",
                                        str(Path(tmp) / "net.json"), "--format", "json", "--jobs", "1", "--quiet"])
    assert res.exit_code in (0, 1), res.stderr
    return "\n".join(json.loads(res.stdout)["assumptions"]["warnings"])


TO_NET = "{from: {eni: %s}, to: {cidr: %s/32}, ports: tcp/443}"
INET_TO_WEB = "{from: {internet: true}, to: {eni: eni-web}, ports: tcp/443}"


# ---- choosing a route ---------------------------------------------------------------------------
def test_subnet_uses_its_explicit_table_not_the_main_one() -> None:
    # the main table routes to the internet; SUB_A's own table does not
    doc = web_app(public_routes=[], private_routes=[route("0.0.0.0/0", IGW)])
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"
    assert v(doc, INET_TO_WEB) == "proven"
    # without the explicit association SUB_A falls back to the main table
    doc["RouteTables"][0]["Associations"] = []
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "proven"
    assert v(doc, INET_TO_WEB) == "refuted"


def test_longest_prefix_wins() -> None:
    # /24 to the internet gateway beats /0 to an instance (an unmodelled target: unknown)
    doc = web_app(public_routes=[route("0.0.0.0/0", "eni-0000000000000dead"), route("198.51.100.0/24", IGW)])
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "proven"
    assert v(doc, TO_NET % (WEB, "203.0.113.5"), "reach") == "refuted"
    # the other way round: the /24 goes nowhere modelled, the rest of the internet is reachable
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW), route("198.51.100.0/24", "eni-0000000000000dead")])
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"
    assert v(doc, TO_NET % (WEB, "203.0.113.5"), "reach") == "proven"


def _pl(pid: str, cidr: str, name: str = "pl") -> dict[str, Any]:
    return {"PrefixListId": pid, "PrefixListName": name, "AddressFamily": "IPv4", "Entries": [{"Cidr": cidr}]}


def test_equal_length_static_beats_propagated() -> None:
    prop = route("198.51.100.0/24", VGW, origin="EnableVgwRoutePropagation")
    vgw = [{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPC, "State": "attached"}]}]
    doc = web_app(public_routes=[route("198.51.100.0/24", IGW), prop], VpnGateways=vgw)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "proven"
    # a static route to the VPN gateway beats a propagated one to the internet gateway: unknown
    doc = web_app(public_routes=[route("198.51.100.0/24", VGW),
                                 route("198.51.100.0/24", IGW, origin="EnableVgwRoutePropagation")], VpnGateways=vgw)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"


def test_equal_length_static_beats_prefix_list_beats_propagated() -> None:
    pls = [_pl("pl-00000000000000001", "198.51.100.0/24")]
    vgw = [{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPC, "State": "attached"}]}]
    # prefix list (to igw) beats propagated (to vgw)
    doc = web_app(public_routes=[route("pl-00000000000000001", IGW),
                                 route("198.51.100.0/24", VGW, origin="EnableVgwRoutePropagation")],
                  VpnGateways=vgw, ManagedPrefixLists=pls)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "proven"
    # static (to vgw: unknown) beats prefix list (to igw)
    doc = web_app(public_routes=[route("pl-00000000000000001", IGW), route("198.51.100.0/24", VGW)],
                  VpnGateways=vgw, ManagedPrefixLists=pls)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"
    assert v(doc, TO_NET % (WEB, INTERNET4)) == "refuted"  # unknown counts as a route for deny


def test_propagated_route_never_overrides_local() -> None:
    vgw = [{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPC, "State": "attached"}]}]
    doc = web_app(public_routes=[route("10.0.2.0/24", VGW, origin="EnableVgwRoutePropagation")], VpnGateways=vgw)
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "proven"


def test_two_tied_routes_with_different_targets_are_unknown() -> None:
    # two prefix lists holding the same /24: one to the internet gateway, one to a gateway endpoint;
    # each alone would carry the flow, but AWS's choice between them is not defined
    pls = [_pl("pl-00000000000000001", "198.51.100.0/24"), _pl("pl-00000000000000002", "198.51.100.0/24", "svc")]
    vpce = [{"VpcEndpointId": "vpce-00000000000000001", "VpcEndpointType": "Gateway", "VpcId": VPC,
             "ServiceName": "com.amazonaws.us-east-1.s3", "RouteTableIds": ["rtb-a"], "State": "available"}]
    one_route = [route("pl-00000000000000001", IGW)]
    doc = web_app(public_routes=one_route, ManagedPrefixLists=pls, VpcEndpoints=vpce)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "proven"
    doc = web_app(public_routes=[*one_route, route("pl-00000000000000002", "vpce-00000000000000001")],
                  ManagedPrefixLists=pls, VpcEndpoints=vpce)
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"
    assert v(doc, TO_NET % (WEB, INTERNET4)) == "refuted"


def test_tied_routes_are_a_warning() -> None:
    pls = [_pl("pl-00000000000000001", "198.51.100.0/24"), _pl("pl-00000000000000002", "198.51.100.0/24", "svc")]
    vpce = [{"VpcEndpointId": "vpce-00000000000000001", "VpcEndpointType": "Gateway", "VpcId": VPC,
             "ServiceName": "com.amazonaws.us-east-1.s3", "RouteTableIds": ["rtb-a"], "State": "available"}]
    doc = web_app(public_routes=[route("pl-00000000000000001", IGW), route("pl-00000000000000002",
                                                                           "vpce-00000000000000001")],
                  ManagedPrefixLists=pls, VpcEndpoints=vpce)
    assert warnings(doc, TO_NET % (WEB, INTERNET4))


def test_blackhole_beats_a_shorter_active_route() -> None:
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW), route("198.51.100.0/24", IGW, state="blackhole")])
    assert v(doc, TO_NET % (WEB, INTERNET4)) == "proven"
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"
    assert v(doc, TO_NET % (WEB, "203.0.113.5"), "reach") == "proven"


def test_no_route_drops() -> None:
    doc = web_app(public_routes=[])
    assert v(doc, "{from: {eni: eni-web}, to: {internet: true}}") == "proven"
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    assert v(doc, "{from: {eni: eni-web}, to: {internet: true}}") == "refuted"


# ---- inside a VPC -------------------------------------------------------------------------------
def test_same_vpc_goes_by_local() -> None:
    doc = web_app()
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "proven"
    assert v(doc, "{from: {eni: eni-app}, to: {eni: eni-web}, ports: tcp/443}", "reach") == "proven"


def test_route_more_specific_than_local_is_unknown() -> None:
    # SUB_A sends SUB_B's block through an appliance (an ENI next hop): not modelled
    doc = web_app(public_routes=[route("10.0.2.0/24", "eni-0000000000000dead")])
    # (IPv6 still goes by local: a dual-stack pair reaches when either family does)
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "proven"
    doc["RouteTables"][0]["Routes"].append(route("2600:1f18:1:102::/64", "eni-0000000000000dead"))
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "refuted"
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}") == "refuted"
    # the reply direction too: APP's table sends WEB's address (10.0.1.10) through the appliance
    doc = web_app(private_routes=[route("10.0.1.0/24", "eni-0000000000000dead"),
                                  route("2600:1f18:1:101::/64", "eni-0000000000000dead")])
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "refuted"
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-app}, ports: tcp/443}") == "refuted"


# ---- between VPCs: peering ----------------------------------------------------------------------
def _peered(status: str = "active", back: bool = True) -> dict[str, Any]:
    doc = web_app(private_routes=[route("10.9.0.0/16", PCX)],
                  VpcPeeringConnections=[peering(PCX, (VPC, "10.0.0.0/16"), (VPC2, "10.9.0.0/16"), status)])
    add_vpc(doc, VPC2, "10.9.0.0/16", SUB_C, "10.9.1.0/24", OTHER, "10.9.1.10",
            [route("10.0.0.0/16", PCX)] if back else [])
    return doc


A_TO_C = "{from: {eni: eni-app}, to: {eni: eni-other}, ports: tcp/443}"


def test_peering_carries_when_active() -> None:
    assert v(_peered(), A_TO_C, "reach") == "proven"
    assert v(_peered(), A_TO_C) == "refuted"
    assert v(_peered("pending-acceptance"), A_TO_C, "reach") == "refuted"
    assert v(_peered("pending-acceptance"), A_TO_C) == "proven"


def test_the_reply_route_is_checked() -> None:
    # OTHER's table has no route back to 10.0.0.0/16: no connection forms
    assert v(_peered(back=False), A_TO_C) == "proven"
    assert v(_peered(back=False), A_TO_C, "reach") == "refuted"


def test_peering_carries_only_to_the_peers_cidr_blocks() -> None:
    # VPC2 has a second block 10.10.0.0/16 that the peering does not hold
    doc = _peered()
    doc["Vpcs"][1]["CidrBlockAssociationSet"] = [{"CidrBlock": "10.9.0.0/16"}, {"CidrBlock": "10.10.0.0/16"}]
    doc["Subnets"].append({"SubnetId": SUB_D, "VpcId": VPC2, "CidrBlock": "10.10.1.0/24", "AvailabilityZone": AZ1})
    doc["NetworkInterfaces"].append(eni("eni-far", SUB_D, ["10.10.1.10"], ["sg-" + VPC2[-17:]]) | {"VpcId": VPC2})
    doc["RouteTables"][1]["Routes"].append(route("10.10.0.0/16", PCX))
    doc["RouteTables"][2]["Routes"][0] = route("10.9.0.0/16", "local", origin="CreateRouteTable")
    doc["RouteTables"][2]["Routes"].append(route("10.10.0.0/16", "local", origin="CreateRouteTable"))
    assert v(doc, "{from: {eni: eni-app}, to: {eni: eni-far}, ports: tcp/443}") == "proven"
    assert v(doc, A_TO_C, "reach") == "proven"


def test_peering_joins_only_its_two_vpcs_and_is_not_transitive() -> None:
    # VPC(A) -pcx1- VPC2(B) -pcx2- VPC3(C); A routes C's block to pcx1, C routes A's block to pcx2
    doc = web_app(private_routes=[route("10.9.0.0/16", PCX), route("10.8.0.0/16", PCX)],
                  VpcPeeringConnections=[peering(PCX, (VPC, "10.0.0.0/16"), (VPC2, "10.9.0.0/16")),
                                         peering(PCX2, (VPC2, "10.9.0.0/16"), (VPC3, "10.8.0.0/16"))])
    add_vpc(doc, VPC2, "10.9.0.0/16", SUB_C, "10.9.1.0/24", OTHER, "10.9.1.10",
            [route("10.0.0.0/16", PCX), route("10.8.0.0/16", PCX2)])
    add_vpc(doc, VPC3, "10.8.0.0/16", SUB_D, "10.8.1.0/24", "eni-third", "10.8.1.10",
            [route("10.9.0.0/16", PCX2), route("10.0.0.0/16", PCX2)])
    assert v(doc, A_TO_C, "reach") == "proven"
    assert v(doc, "{from: {eni: eni-app}, to: {eni: eni-third}}") == "proven"
    assert v(doc, "{from: {eni: eni-third}, to: {eni: eni-app}}") == "proven"
    # a peering carries only between its own two VPCs: VPC routing VPC3's block to VPC2-VPC3's peering
    doc["RouteTables"][1]["Routes"][-1] = route("10.8.0.0/16", PCX2)
    doc["RouteTables"][3]["Routes"][-1] = route("10.0.0.0/16", PCX2)
    assert v(doc, "{from: {eni: eni-app}, to: {eni: eni-third}}") == "proven"
    assert v(doc, "{from: {eni: eni-third}, to: {eni: eni-app}}") == "proven"


# ---- internet gateways ----------------------------------------------------------------------
def test_igw_does_not_carry_traffic_to_a_private_address() -> None:
    # a host without a public address in a subnet whose table routes 0.0.0.0/0 to the igw
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    doc["NetworkInterfaces"][0].pop("Association")
    assert v(doc, INET_TO_WEB) == "proven"
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    assert v(doc, INET_TO_WEB) == "refuted"


def test_external_source_reaching_a_private_host_is_proven_denied() -> None:
    """The false alarm this product exists to end: SG admits 0.0.0.0/0, but no route brings anyone in."""
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    assert v(doc, "{from: {internet: true}, to: {eni: eni-app}}") == "proven"
    del doc["RouteTables"]  # routing open: the alarm rule checkers raise
    assert v(doc, "{from: {internet: true}, to: {eni: eni-app}}") == "refuted"


def test_igw_needs_the_public_address_of_the_sending_private_address() -> None:
    from sgproof.semantics import Endpoint, Flow, evaluate

    # the ENI's primary 10.0.1.10 has no public address; its secondary 10.0.1.11 has an Elastic IP
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    w = doc["NetworkInterfaces"][0]
    w.pop("Association")
    w["PrivateIpAddresses"].append({"PrivateIpAddress": "10.0.1.11", "Primary": False,
                                    "Association": {"PublicIp": "54.1.1.11"}})
    status, res = run(doc, TO_NET % (WEB, INTERNET4))
    assert status == "refuted"
    assert res is None or res.counterexample.flow.src.text() == "10.0.1.11"
    net = build_network(doc, "<test>")
    i = next(k for k, e in enumerate(net.enis) if e.id == WEB)
    ext = Endpoint(None, 4, int.from_bytes(bytes([198, 51, 100, 7]), "big"))
    primary = Endpoint(i, 4, int.from_bytes(bytes([10, 0, 1, 10]), "big"))
    secondary = Endpoint(i, 4, int.from_bytes(bytes([10, 0, 1, 11]), "big"))
    assert evaluate(net, Flow(secondary, ext, 6, 443, 40000)).allowed
    bad = evaluate(net, Flow(primary, ext, 6, 443, 40000))
    assert not bad.allowed and [s.gate for s in bad.blocked_by] == ["route"]
    # without any public address the ENI has no IPv4 internet path at all
    w["PrivateIpAddresses"].pop()
    assert v(doc, TO_NET % (WEB, INTERNET4)) == "proven"


def test_ipv6_via_igw_needs_no_public_address() -> None:
    doc = web_app(private_routes=[route("::/0", IGW), route("0.0.0.0/0", IGW)])
    assert v(doc, "{from: {eni: eni-app}, to: {cidr: '2606:4700::1/128'}, ports: tcp/443}", "reach") == "proven"
    assert v(doc, "{from: {cidr: '2606:4700::/32'}, to: {eni: eni-app}, ports: tcp/443}") == "refuted"
    assert v(doc, TO_NET % (APP, INTERNET4)) == "proven"  # IPv4 without a public address goes nowhere


def test_egress_only_gateway_carries_outbound_ipv6_admits_no_inbound() -> None:
    eigw = [{"EgressOnlyInternetGatewayId": EIGW, "Attachments": [{"VpcId": VPC, "State": "attached"}]}]
    doc = web_app(private_routes=[route("::/0", EIGW)], EgressOnlyInternetGateways=eigw)
    assert v(doc, "{from: {eni: eni-app}, to: {cidr: '2606:4700::1/128'}, ports: tcp/443}", "reach") == "proven"
    assert v(doc, "{from: {cidr: '2606:4700::/32'}, to: {eni: eni-app}}") == "proven"
    assert v(doc, "{from: {cidr: '2606:4700::/32'}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "refuted"


# ---- NAT gateways ---------------------------------------------------------------------------
def nat_doc(nat_table: list[dict[str, Any]] | None = None, nat_nacl: list[dict[str, Any]] | None = None,
            private: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """NAT in SUB_A (its table: 0.0.0.0/0 -> igw by default), APP in SUB_B behind it (main table)."""
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)] if nat_table is None else nat_table,
                  private_routes=[route("0.0.0.0/0", NAT)] if private is None else private)
    doc["NatGateways"] = [{"NatGatewayId": NAT, "SubnetId": SUB_A, "VpcId": VPC, "State": "available",
                           "ConnectivityType": "public",
                           "NatGatewayAddresses": [{"NetworkInterfaceId": NAT_ENI, "PrivateIp": "10.0.1.50",
                                                    "PublicIp": "54.1.1.50"}]}]
    nat_eni = eni(NAT_ENI, SUB_A, ["10.0.1.50"], [], public="54.1.1.50")
    nat_eni["InterfaceType"] = "nat_gateway"
    doc["NetworkInterfaces"].append(nat_eni)
    if nat_nacl is not None:
        doc["NetworkAcls"] = [allow_all_nacl("acl-00000000000000001", True, [SUB_B]),
                              {"NetworkAclId": "acl-00000000000000002", "VpcId": VPC, "IsDefault": False,
                               "Associations": [{"SubnetId": SUB_A}], "Entries": nat_nacl}]
    return doc


def _nacl(ingress: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return ingress + (egress if egress is not None else [entry(100, True, "allow")])


def test_nat_carries_tcp_out_and_nothing_in() -> None:
    doc = nat_doc()
    assert v(doc, TO_NET % (APP, INTERNET4), "reach") == "proven"
    assert v(doc, "{from: {eni: eni-app}, to: {cidr: " + INTERNET4 + "/32}, ports: udp/53}", "reach") == "proven"
    assert v(doc, "{from: {eni: eni-app}, to: {cidr: " + INTERNET4 + "/32}, ports: icmp/8}", "reach") == "proven"
    assert v(doc, "{from: {internet: true}, to: {eni: eni-app}}") == "proven"


def test_nat_drops_protocol_47() -> None:
    doc = nat_doc()
    assert v(doc, "{from: {eni: eni-app}, to: {internet: true}, ports: proto/47}") == "proven"
    assert v(doc, "{from: {eni: eni-web}, to: {internet: true}, ports: proto/47}") == "refuted"  # via the igw


def test_nat_subnet_nacl_denying_the_return_on_ephemeral_ports_refutes_reach() -> None:
    deny_return = _nacl([entry(100, False, "allow", cidr="10.0.0.0/16"),
                         entry(200, False, "deny", "6", ports=(1024, 65535)), entry(300, False, "allow")])
    assert v(nat_doc(nat_nacl=deny_return), TO_NET % (APP, INTERNET4), "reach") == "refuted"
    assert v(nat_doc(nat_nacl=deny_return), TO_NET % (APP, INTERNET4)) == "proven"
    assert v(nat_doc(nat_nacl=_nacl([entry(100, False, "allow")])), TO_NET % (APP, INTERNET4), "reach") == "proven"


def test_nat_subnet_nacl_applies_on_the_request_legs() -> None:
    # inbound leg A -> N: SUB_A's NACL refuses tcp/443 from SUB_B
    deny_in = _nacl([entry(90, False, "deny", "6", "10.0.2.0/24", ports=(443, 443)), entry(100, False, "allow")])
    assert v(nat_doc(nat_nacl=deny_in), TO_NET % (APP, INTERNET4)) == "proven"
    # outbound leg N -> E: SUB_A's NACL refuses tcp/443 to the internet (but not into the VPC)
    deny_out = _nacl([entry(100, False, "allow")], [entry(80, True, "allow", cidr="10.0.0.0/16"),
                                                    entry(90, True, "deny", "6", ports=(443, 443)),
                                                    entry(100, True, "allow")])
    assert v(nat_doc(nat_nacl=deny_out), TO_NET % (APP, INTERNET4)) == "proven"
    # reply leg N -> A: SUB_A's NACL refuses everything back into SUB_B
    deny_back = _nacl([entry(100, False, "allow")], [entry(90, True, "deny", cidr="10.0.2.0/24"),
                                                     entry(100, True, "allow")])
    assert v(nat_doc(nat_nacl=deny_back), TO_NET % (APP, INTERNET4)) == "proven"


def test_nat_uses_its_own_source_ports() -> None:
    # the client's ports are 1024-2000; SUB_A's NACL admits the return only above 32767:
    # the NAT's own port (any of 1024-65535) gets it through, the client's would not
    nacl = _nacl([entry(100, False, "allow", cidr="10.0.0.0/16"),
                  entry(200, False, "deny", "6", ports=(1024, 32767)), entry(300, False, "allow")])
    narrow = "settings: {ephemeral_ports: 1024-2000}\n"
    assert v(nat_doc(nat_nacl=nacl), TO_NET % (APP, INTERNET4), "reach", narrow) == "proven"


def test_public_nat_needs_its_table_to_route_to_an_igw() -> None:
    doc = nat_doc(nat_table=[])
    assert v(doc, TO_NET % (APP, INTERNET4)) == "proven"
    assert v(doc, TO_NET % (APP, INTERNET4), "reach") == "refuted"


def test_nat64_is_unknown() -> None:
    doc = nat_doc(private=[route("0.0.0.0/0", NAT), route("::/0", NAT)], nat_table=[route("0.0.0.0/0", IGW),
                                                                                    route("::/0", IGW)])
    six = "{from: {eni: eni-app}, to: {cidr: '2606:4700::1/128'}, ports: tcp/443}"
    assert v(doc, six, "reach") == "refuted"
    assert v(doc, six) == "refuted"


def test_nat_gateway_eni_hosts_nothing() -> None:
    """4.6: a deny into the NAT gateway's ENI is proven, a reach to it refuted with the note."""
    doc = nat_doc()
    assert v(doc, "{from: {anywhere: true}, to: {eni: eni-nat}}") == "proven"
    assert v(doc, "{from: {eni: eni-web}, to: {eni: eni-nat}}", "only") == "proven"
    status, res = run(doc, "{from: {eni: eni-web}, to: {eni: eni-nat}, ports: tcp/443}", "reach")
    assert status == "refuted"
    assert res is None or "a NAT gateway accepts no connection" in res.counterexample.note
    status, res = run(doc, "{from: {internet: true}, to: {eni: eni-nat}, ports: tcp/443}", "reach")
    assert status == "refuted"


# ---- paths nobody described: unknown ------------------------------------------------------------
def _unknown_both_ways(doc: dict[str, Any], far: str) -> None:
    out = "{from: {eni: eni-app}, to: {cidr: " + far + "}, ports: tcp/443}"
    inbound = "{from: {cidr: " + far + "}, to: {eni: eni-app}, ports: tcp/443}"
    assert v(doc, out) == "refuted"  # unknown counts as a route for deny ...
    assert v(doc, out, "reach") == "refuted"  # ... and as no route for reach
    assert v(doc, inbound) == "refuted"
    assert v(doc, inbound, "reach") == "refuted"
    assert warnings(doc, out)


def test_vgw_is_unknown() -> None:
    doc = onprem_over_vgw()
    _unknown_both_ways(doc, ONPREM)
    doc["RouteTables"][1]["Routes"].pop()  # without the route nothing goes there
    assert v(doc, "{from: {eni: eni-app}, to: {cidr: " + ONPREM + "}}") == "proven"


def test_peering_to_a_vpc_outside_the_snapshot_is_unknown() -> None:
    doc = web_app(private_routes=[route("172.16.0.0/16", PCX)],
                  VpcPeeringConnections=[peering(PCX, (VPC, "10.0.0.0/16"), ("vpc-0ffffffffffffffff", "172.16.0.0/16"))])
    _unknown_both_ways(doc, "172.16.0.0/16")


def test_behind_one_route_to_a_peering_its_blocks_decide_by_the_source() -> None:
    """Everything to a peering whose far VPC (outside the snapshot) holds 172.16.0.0/16: a source there
    may be answered over it (unknown), any other external source may not (one route, two outcomes)."""
    doc = web_app(private_routes=[route("0.0.0.0/0", PCX)],
                  VpcPeeringConnections=[peering(PCX, (VPC, "10.0.0.0/16"), ("vpc-0ffffffffffffffff", "172.16.0.0/16"))])
    assert v(doc, "{from: {cidr: 172.16.0.0/16}, to: {eni: eni-app}, ports: tcp/443}") == "refuted"
    assert v(doc, "{from: {cidr: 203.0.113.0/24}, to: {eni: eni-app}, ports: tcp/443}") == "proven"


def _tgw(routes: list[dict[str, Any]] | None, vpc_attachments: bool = True, att_az: str = AZ1,
         assoc_c: str = "tgw-rtb-1") -> dict[str, Any]:
    """VPC (APP in SUB_B) and VPC2 (OTHER in SUB_C) joined by a transit gateway, plus a VPN attachment.

    SUB_T (10.0.3.0/24, own NACL) is VPC's attachment subnet; SUB_C is VPC2's.
    """
    doc = web_app(private_routes=[route("10.9.0.0/16", TGW), route(ONPREM, TGW)])
    add_vpc(doc, VPC2, "10.9.0.0/16", SUB_C, "10.9.1.0/24", OTHER, "10.9.1.10", [route("10.0.0.0/16", TGW)])
    doc["Subnets"].append({"SubnetId": SUB_T, "VpcId": VPC, "CidrBlock": "10.0.3.0/24", "AvailabilityZone": att_az})
    atts = [(ATT1, "vpc", VPC), (ATT2, "vpc", VPC2), (ATT_VPN, "vpn", "vpn-00000000000000001")]
    doc["TransitGatewayAttachments"] = [
        {"TransitGatewayAttachmentId": a, "TransitGatewayId": TGW, "ResourceType": t, "ResourceId": r,
         "State": "available"} for a, t, r in atts]
    if vpc_attachments:
        doc["TransitGatewayVpcAttachments"] = [
            {"TransitGatewayAttachmentId": ATT1, "TransitGatewayId": TGW, "VpcId": VPC, "SubnetIds": [SUB_T],
             "State": "available"},
            {"TransitGatewayAttachmentId": ATT2, "TransitGatewayId": TGW, "VpcId": VPC2, "SubnetIds": [SUB_C],
             "State": "available"}]
    if routes is not None:
        tables = [{"TransitGatewayRouteTableId": "tgw-rtb-1", "TransitGatewayId": TGW, "Routes": routes,
                   "Associations": [{"TransitGatewayAttachmentId": ATT1, "State": "associated"},
                                    {"TransitGatewayAttachmentId": ATT_VPN, "State": "associated"}]}]
        assoc = [{"TransitGatewayAttachmentId": ATT2, "State": "associated"}]
        if assoc_c == "tgw-rtb-1":
            tables[0]["Associations"] += assoc
        else:  # VPC2's attachment has its own table, which routes VPC back and nothing else
            tables.append({"TransitGatewayRouteTableId": assoc_c, "TransitGatewayId": TGW, "Associations": assoc,
                           "Routes": [tgw_route("10.0.0.0/16", ATT1)]})
        doc["TransitGatewayRouteTables"] = tables
    return doc


def tgw_route(dest: str, att: str | None, state: str = "active") -> dict[str, Any]:
    return {"DestinationCidrBlock": dest, "State": state, "Type": "static",
            "TransitGatewayAttachments": [] if att is None else
            [{"TransitGatewayAttachmentId": att, "ResourceType": "vpc"}]}


TGW_ROUTES = [tgw_route("10.0.0.0/16", ATT1), tgw_route("10.9.0.0/16", ATT2), tgw_route(ONPREM, ATT_VPN)]


def test_tgw_with_route_tables_carries_between_its_vpcs() -> None:
    doc = _tgw(TGW_ROUTES)
    assert v(doc, A_TO_C, "reach") == "proven"
    assert v(doc, "{from: {eni: eni-other}, to: {eni: eni-app}, ports: tcp/443}", "reach") == "proven"


def test_tgw_route_table_of_the_senders_attachment_decides() -> None:
    # VPC's attachment (ATT1) is associated with tgw-rtb-1 that has no route to VPC2;
    # VPC2's own table (tgw-rtb-2) would route both ways, but it is not the one associated with ATT1
    routes = [tgw_route("10.0.0.0/16", ATT1)]
    doc = _tgw(routes, assoc_c="tgw-rtb-2")
    doc["TransitGatewayRouteTables"][1]["Routes"].append(tgw_route("10.9.0.0/16", ATT2))
    assert v(doc, A_TO_C) == "proven"
    doc = _tgw([*routes, tgw_route("10.9.0.0/16", ATT2)], assoc_c="tgw-rtb-2")
    assert v(doc, A_TO_C, "reach") == "proven"


def test_tgw_longest_prefix_and_blackhole() -> None:
    # 10.0.0.0/8 back to the sender's own attachment, 10.9.0.0/16 to VPC2: the /16 wins
    doc = _tgw([tgw_route("10.0.0.0/8", ATT1), tgw_route("10.9.0.0/16", ATT2)])
    assert v(doc, A_TO_C, "reach") == "proven"
    doc = _tgw([*TGW_ROUTES, tgw_route("10.9.1.0/24", None, "blackhole")])
    assert v(doc, A_TO_C) == "proven"


def test_tgw_route_to_an_attachment_of_another_vpc_drops() -> None:
    doc = _tgw([tgw_route("10.0.0.0/16", ATT1), tgw_route("10.9.0.0/16", ATT3)])
    add_vpc(doc, VPC3, "10.8.0.0/16", SUB_D, "10.8.1.0/24", "eni-third", "10.8.1.10", [route("10.0.0.0/8", TGW)])
    doc["TransitGatewayAttachments"].append({"TransitGatewayAttachmentId": ATT3, "TransitGatewayId": TGW,
                                             "ResourceType": "vpc", "ResourceId": VPC3, "State": "available"})
    doc["TransitGatewayVpcAttachments"].append({"TransitGatewayAttachmentId": ATT3, "TransitGatewayId": TGW,
                                                "VpcId": VPC3, "SubnetIds": [SUB_D], "State": "available"})
    assert v(doc, A_TO_C) == "proven"


def test_tgw_without_route_tables_is_unknown() -> None:
    doc = _tgw(None)
    assert v(doc, A_TO_C) == "refuted"
    assert v(doc, A_TO_C, "reach") == "refuted"
    assert "TransitGatewayRouteTables" in warnings(doc, A_TO_C)


# a transit gateway route table item without Routes (and without Associations, as
# describe_transit_gateway_route_tables returns it) is routing not collected: unknown


def test_tgw_route_table_item_without_routes_or_associations_is_unknown() -> None:
    doc = _tgw(TGW_ROUTES)
    for t in doc["TransitGatewayRouteTables"]:
        del t["Routes"], t["Associations"]
    # what describe_transit_gateway_attachments says: each attachment's association
    for a in doc["TransitGatewayAttachments"]:
        a["Association"] = {"TransitGatewayRouteTableId": "tgw-rtb-1", "State": "associated"}
    assert v(doc, A_TO_C) == "refuted"
    assert v(doc, A_TO_C, "reach") == "refuted"


def test_tgw_without_vpc_attachments_is_unknown_for_reach() -> None:
    doc = _tgw(TGW_ROUTES, vpc_attachments=False)
    assert v(doc, A_TO_C) == "refuted"
    assert v(doc, A_TO_C, "reach") == "refuted"


def test_tgw_needs_an_attachment_subnet_in_the_senders_zone() -> None:
    doc = _tgw(TGW_ROUTES, att_az=AZ2)
    assert v(doc, A_TO_C) == "proven"


def test_tgw_attachment_subnet_nacls_apply() -> None:
    doc = _tgw(TGW_ROUTES)
    doc["NetworkAcls"][0]["Associations"] = [{"SubnetId": SUB_A}, {"SubnetId": SUB_B}]
    deny_back = [entry(100, False, "allow"), entry(90, True, "deny", cidr="10.0.2.0/24"), entry(100, True, "allow")]
    doc["NetworkAcls"].append({"NetworkAclId": "acl-0000000000000000t", "VpcId": VPC, "IsDefault": False,
                               "Associations": [{"SubnetId": SUB_T}], "Entries": deny_back})
    # the reply leaves SUB_T towards APP (nacl-tgw-reply-out): denied
    assert v(doc, A_TO_C) == "proven"
    doc["NetworkAcls"][-1]["Entries"] = [entry(100, False, "allow"), entry(100, True, "allow")]
    assert v(doc, A_TO_C, "reach") == "proven"


def test_tgw_to_vpn_is_unknown() -> None:
    _unknown_both_ways(_tgw(TGW_ROUTES), ONPREM)


def test_behind_one_route_to_a_tgw_its_own_routes_decide_by_the_source() -> None:
    """The app's table sends everything to the transit gateway, whose routes lead ONPREM to the VPN
    (unknown) and no other external source anywhere: one route of the VPC's table, two outcomes back."""
    doc = _tgw(TGW_ROUTES)
    routes = doc["RouteTables"][1]["Routes"]
    at = routes.index(route(ONPREM, TGW))
    routes[at] = route("0.0.0.0/0", TGW)
    assert v(doc, "{from: {cidr: " + ONPREM + "}, to: {eni: eni-app}, ports: tcp/443}") == "refuted"
    assert v(doc, "{from: {cidr: 203.0.113.0/24}, to: {eni: eni-app}, ports: tcp/443}") == "proven"


# ---- gateway endpoints ------------------------------------------------------------------------
def test_gateway_endpoint_carries_to_its_prefix_list() -> None:
    pls = [_pl("pl-00000000000000063", "52.216.0.0/15", "com.amazonaws.us-east-1.s3")]
    vpce = [{"VpcEndpointId": "vpce-00000000000000001", "VpcEndpointType": "Gateway", "VpcId": VPC,
             "ServiceName": "com.amazonaws.us-east-1.s3", "RouteTableIds": ["rtb-main"], "State": "available"}]
    doc = web_app(private_routes=[route("pl-00000000000000063", "vpce-00000000000000001")],
                  ManagedPrefixLists=pls, VpcEndpoints=vpce)
    assert v(doc, TO_NET % (APP, "52.216.1.1"), "reach") == "proven"
    assert v(doc, TO_NET % (APP, INTERNET4)) == "proven"


# ---- the report -------------------------------------------------------------------------------
def test_assumptions_routing_is_the_bare_token(tmp_path: Path) -> None:
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    spec = tmp_path / "spec.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {from: {internet: true}, to: {eni: eni-app}}\n")
    for d, token in ((doc, "modelled"), ({k: x for k, x in doc.items() if k != "RouteTables"}, "open")):
        (tmp_path / "net.json").write_text(json.dumps(d))
        res = CliRunner().invoke(main, ["verify", str(spec), "--snapshot", str(tmp_path / "net.json"),
                                        "--format", "json", "--jobs", "1", "--quiet"])
        assert res.exit_code in (0, 1), res.stderr
        assert json.loads(res.stdout)["assumptions"]["routing"] == token


# contract 4.5: the inbound path needs B's VPC to have an internet gateway (a detached one carries
# nothing in AWS)


def test_a_detached_internet_gateway_carries_nothing() -> None:
    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    doc["InternetGateways"][0]["Attachments"] = []  # detached: the route shows it as a blackhole in AWS
    assert v(doc, INET_TO_WEB, "reach") == "refuted"
    assert v(doc, TO_NET % (WEB, INTERNET4), "reach") == "refuted"


# ---- traces and witnesses (contract 5) ------------------------------------------------------------
def _flow(doc: dict[str, Any], src: str, dst: str, proto: int = 6, value: int = 443, sport: int = 40000,
          nport: int = 40000) -> Any:
    import ipaddress

    from sgproof.semantics import Endpoint, Flow, evaluate

    net = build_network(doc, "<test>")
    ix = {e.id: i for i, e in enumerate(net.enis)}

    def ep(x: str) -> Endpoint:
        name, _, addr = x.partition("@")
        a = ipaddress.ip_address(addr)
        return Endpoint(ix[name] if name else None, a.version, int(a))

    return evaluate(net, Flow(ep(src), ep(dst), proto, value, sport, nport))


def test_trace_gates_follow_the_path_order_through_a_nat_gateway() -> None:
    got = _flow(nat_doc(), "eni-app@10.0.2.10", "@" + INTERNET4)
    assert got.allowed
    assert [s.gate for s in got.steps] == ["sg-egress", "route", "nacl-out", "nacl-nat-in", "nat", "nacl-nat-out",
                                           "nacl-nat-reply-in", "nacl-nat-reply-out", "nacl-reply-in"]
    route = next(s for s in got.steps if s.gate == "route")
    assert (route.id, route.rule) == ("rtb-main", f"0.0.0.0/0 -> {NAT}")
    nat = next(s for s in got.steps if s.gate == "nat")
    assert nat.id == NAT and nat.rule == f"0.0.0.0/0 -> {IGW}"


def test_trace_gates_follow_the_path_order_through_a_transit_gateway() -> None:
    got = _flow(_tgw(TGW_ROUTES), "eni-app@10.0.2.10", "eni-other@10.9.1.10")
    assert got.allowed
    # SUB_C is both OTHER's subnet and VPC2's attachment subnet: as AWS evaluates NACLs for transit
    # gateways, nothing is checked from the gateway into it (no nacl-in), and both of its directions on
    # the way towards the gateway (nacl-reply-out, nacl-tgw-reply-in)
    assert [s.gate for s in got.steps] == ["sg-egress", "route", "nacl-out", "nacl-tgw-in", "sg-ingress",
                                           "route-reply", "nacl-reply-out", "nacl-tgw-reply-in",
                                           "nacl-tgw-reply-out", "nacl-reply-in"]


def test_igw_refusal_says_why() -> None:
    doc = web_app(private_routes=[route("0.0.0.0/0", IGW)])
    got = _flow(doc, "eni-app@10.0.2.10", "@" + INTERNET4)
    step = next(s for s in got.steps if s.gate == "route")
    assert step.verdict == "deny" and "igw needs a public IPv4 address on the ENI" in step.text
    eigw = [{"EgressOnlyInternetGatewayId": EIGW, "Attachments": [{"VpcId": VPC, "State": "attached"}]}]
    doc = web_app(private_routes=[route("::/0", EIGW)], EgressOnlyInternetGateways=eigw)
    got = _flow(doc, "@2606:4700::1", "eni-app@2600:1f18:1:102::10")
    step = next(s for s in got.steps if s.gate == "route-reply")
    assert step.verdict == "deny" and "egress-only gateway admits no inbound connection" in step.text


def test_reach_refutation_names_the_routing_gate() -> None:
    if os.environ.get("SGPROOF_ROUTING_ORACLE_ONLY"):
        pytest.skip("needs the encoding")
    _, res = run(nat_doc(nat_table=[]), TO_NET % (APP, INTERNET4), "reach")
    assert "nat" in [s.gate for s in res.counterexample.blocked_by]


def test_witnesses_a_person_can_try() -> None:
    """An internet source is globally routable and aims at the public address; on-premises ones come from
    the route's range."""
    if os.environ.get("SGPROOF_ROUTING_ORACLE_ONLY"):
        pytest.skip("needs the encoding")
    import ipaddress

    doc = web_app(public_routes=[route("0.0.0.0/0", IGW)])
    _, res = run(doc, INET_TO_WEB)
    cx = res.counterexample
    assert cx.flow.dst.text() == "54.1.1.1"
    assert ipaddress.ip_address(cx.flow.src.text()).is_global
    vgw = [{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPC, "State": "attached"}]}]
    _, res = run(web_app(private_routes=[route(ONPREM, VGW)], VpnGateways=vgw),
                 "{from: {internet: true}, to: {eni: eni-app}, ports: tcp/443}")
    assert ipaddress.ip_address(res.counterexample.flow.src.text()) in ipaddress.ip_network(ONPREM)


def test_vpc_without_main_table_is_an_input_error(tmp_path: Path) -> None:
    doc = web_app()
    doc["RouteTables"][1]["Associations"] = []
    (tmp_path / "net.json").write_text(json.dumps(doc))
    (tmp_path / "spec.yaml").write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {anywhere: true}}\n")
    res = CliRunner().invoke(main, ["verify", str(tmp_path / "spec.yaml"), "--snapshot", str(tmp_path / "net.json")])
    assert res.exit_code == 2
    assert VPC in res.stderr and "main route table" in res.stderr and "Traceback" not in res.stderr


# AWS (docs: 'Network ACLs for transit gateways', same subnet for instances and the attachment)
# evaluates that subnet's NACL inbound (source address) as well as outbound on traffic from the
# instances to the transit gateway (the contract's 'a leg inside one subnet passes no NACL' is not AWS)


def test_tgw_attachment_in_the_senders_subnet_still_applies_its_inbound_nacl() -> None:
    doc = _tgw(TGW_ROUTES)
    doc["TransitGatewayVpcAttachments"][0]["SubnetIds"] = [SUB_B]  # APP's own subnet
    doc["NetworkAcls"][0]["Associations"] = [{"SubnetId": SUB_A}, {"SubnetId": SUB_T}]
    doc["NetworkAcls"].append({"NetworkAclId": "acl-0000000000000000b", "VpcId": VPC, "IsDefault": False,
                               "Associations": [{"SubnetId": SUB_B}],
                               "Entries": [entry(90, False, "deny", cidr="10.0.2.0/24"), entry(100, False, "allow"),
                                           entry(100, True, "allow")]})
    # APP -> attachment (same subnet): AWS checks the inbound rules against APP's address, which rule 90 denies
    assert v(doc, A_TO_C) == "proven"


# AWS (docs: 'Network ACLs for transit gateways') evaluates neither inbound nor outbound rules on
# traffic from the transit gateway to instances in the attachment's own subnet


def test_tgw_to_an_instance_in_the_attachment_subnet_crosses_no_nacl() -> None:
    doc = _tgw(TGW_ROUTES)  # VPC2's attachment subnet is SUB_C, OTHER's own subnet
    vpc2_acl = doc["NetworkAcls"][1]
    vpc2_acl["Entries"] = [entry(90, False, "deny", cidr="10.0.0.0/16"), entry(100, False, "allow"),
                           entry(100, True, "allow")]
    # the transit gateway delivers into SUB_C unfiltered; the reply leaves OTHER -> attachment (out: to
    # 10.0.2.10, allowed; in: from 10.9.1.10, allowed)
    assert v(doc, A_TO_C) == "refuted"
    assert v(doc, A_TO_C, "reach") == "proven"


def test_peering_delivers_to_its_peer_vpc_only_even_when_blocks_overlap() -> None:
    # VPC2 and VPC3 both use 10.9.0.0/16 (as AWS allows for unpeered VPCs); VPC peers with each.
    # APP's table sends 10.9.0.0/16 to VPC2's peering: a host of VPC3 at 10.9.2.10 is never reached
    doc = web_app(private_routes=[route("10.9.0.0/16", PCX)],
                  VpcPeeringConnections=[peering(PCX, (VPC, "10.0.0.0/16"), (VPC2, "10.9.0.0/16")),
                                         peering(PCX2, (VPC, "10.0.0.0/16"), (VPC3, "10.9.0.0/16"))])
    add_vpc(doc, VPC2, "10.9.0.0/16", SUB_C, "10.9.1.0/24", OTHER, "10.9.1.10", [route("10.0.0.0/16", PCX)])
    add_vpc(doc, VPC3, "10.9.0.0/16", SUB_D, "10.9.2.0/24", "eni-third", "10.9.2.10", [route("10.0.0.0/16", PCX2)])
    doc["RouteTables"][-1]["Routes"][0] = route("10.9.0.0/16", "local", origin="CreateRouteTable")
    assert v(doc, A_TO_C, "reach") == "proven"
    assert v(doc, "{from: {eni: eni-app}, to: {eni: eni-third}}") == "proven"


def _map_checker(doc: dict[str, Any], groups: dict[str, str]) -> Checker:
    """A checker of doc for a spec naming `groups` (name: selector), whose one invariant uses the first."""
    first = next(iter(groups))
    text = ("sgproof: 1\ngroups:\n" + "".join(f"  {k}: {v}\n" for k, v in groups.items())
            + f"invariants:\n  - id: t\n    deny: {{from: {first}, to: {first}, ports: tcp/443}}\n")
    return Checker(build_network(doc, "<test>"), load_spec_text(text, "<test>"))


def test_flow_map_draws_a_pair_reached_only_over_unmodelled_routes_as_unknown() -> None:
    # app reaches on-premises only through a virtual private gateway (unknown): a deny counts the flow,
    # so the map may not say "no flow", and nothing connects for certain, so it may not draw services
    from sgproof.explain import flowmap

    doc = onprem_over_vgw()
    groups = {"app": "{eni: eni-app}", "web": "{eni: eni-web}", "onprem": "{cidr: '" + ONPREM + "'}"}
    checker = _map_checker(doc, groups)
    edges = {(e.src, e.dst): e for e in flowmap.flow_map(checker, budget_seconds=3600).edges}
    out = edges[("app", "onprem")]
    assert out.status == "unknown" and out.services == flowmap.UNMODELLED_ONLY and out.example
    assert edges[("onprem", "app")].status == "unknown"
    assert edges[("app", "web")].status == "allowed" and edges[("app", "web")].services == "all traffic"
    # web admits only ssh: app reaches "web or on-premises" on tcp/22 for certain, and on everything else
    # only over the unmodelled route, which the label says instead of drawing it
    doc["SecurityGroups"].append(sg("sg-00000000000000022", "ssh", [perm("tcp", 22, cidr="10.0.0.0/16")]))
    doc["NetworkInterfaces"][0]["Groups"] = [{"GroupId": "sg-00000000000000022", "GroupName": "ssh"}]
    checker = _map_checker(doc, groups | {"web": "{any_of: [{eni: eni-web}, {cidr: '" + ONPREM + "'}]}"})
    edge = next(e for e in flowmap.flow_map(checker, budget_seconds=3600).edges if (e.src, e.dst) == ("app", "web"))
    assert edge.status == "allowed" and edge.example == "tcp 10.0.2.10:1024 -> 10.0.1.10:22"
    assert edge.services == "tcp/22 (at least; more may pass over a route sgproof does not model)"


def test_flow_map_example_connects_for_certain() -> None:
    # a found flow over the unmodelled route whose service is drawn (web connects on it for certain) is
    # not the example: the example is a flow that connects
    from sgproof.explain import flowmap
    from sgproof.semantics import Endpoint, Flow
    from sgproof.spec import Invariant, ServiceSet

    doc = onprem_over_vgw()
    checker = _map_checker(doc, {"app": "{eni: eni-app}", "far": "{any_of: [{eni: eni-web}, {cidr: '" + ONPREM + "'}]}"})
    _, selectors = flowmap.map_groups(checker)
    inv = Invariant("flow:app->far", "deny", "", selectors["app"], selectors["far"], ServiceSet.everything(), "all",
                    True, 0, "")
    src, dst = checker.sides(inv)
    app, web = (next(i for i, e in enumerate(checker.net.enis) if e.id == x) for x in (APP, WEB))
    a, w = checker.net.enis[app].private[0][1], checker.net.enis[web].private[0][1]
    onprem = Endpoint(None, 4, (192 << 24) + (168 << 16) + 1)
    over_vgw = checker.replayed(inv, Flow(Endpoint(app, 4, a), onprem, 6, 443, 1024), src, dst)
    local = checker.replayed(inv, Flow(Endpoint(app, 4, a), Endpoint(web, 4, w), 6, 443, 1024), src, dst)
    assert any(st.verdict == "unknown" for st in over_vgw.trace)
    found = [over_vgw, local]
    assert flowmap._example(checker, found, flowmap._services(checker, found)) == local.flow.text()
    # with no such flow found, the example is made from a found pair that connects on a drawn service
    shown = flowmap._example(checker, [over_vgw, dataclasses.replace(local, trace=over_vgw.trace)],
                             flowmap._services(checker, found))
    assert "10.0.2.10" in shown and "-> 10.0.1.10" in shown, shown
