"""The optimised engine (slicing, rule pruning, class merging) against the plain encoding and the
evaluator, on generated networks of a few hundred ENIs where brute force is out of reach; the
networks come unrouted and routed (public, private-with-NAT and isolated tiers, a peering)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from sgproof.encode.check import Checker
from sgproof.semantics import Endpoint, connection_exists
from sgproof.sources.snapshot import build_network, read_document
from sgproof.spec import load_spec

from .benchgen import load_generator

ROOT = Path(__file__).resolve().parents[1]


def _local(vpc: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = {vpc["CidrBlock"]} | {a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])}
    out = [{"DestinationCidrBlock": b, "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}
           for b in sorted(blocks)]
    out += [{"DestinationIpv6CidrBlock": a["Ipv6CidrBlock"], "GatewayId": "local", "State": "active",
             "Origin": "CreateRouteTable"} for a in vpc.get("Ipv6CidrBlockAssociationSet", [])]
    return out


def add_routing(doc: dict[str, Any]) -> dict[str, Any]:
    """Route a generated network as AWS accounts usually are: public subnets (Tier tag) via an internet
    gateway, app subnets via a NAT gateway in the first public subnet, db subnets by the main table
    (local only); the peering's two VPCs route each other's blocks through it."""
    tier = {s["SubnetId"]: dict((t["Key"], t["Value"]) for t in s.get("Tags", [])).get("Tier", "db")
            for s in doc["Subnets"]}
    peer_routes: dict[str, list[dict[str, Any]]] = {}
    for p in doc.get("VpcPeeringConnections", []):
        for me, other in (("RequesterVpcInfo", "AccepterVpcInfo"), ("AccepterVpcInfo", "RequesterVpcInfo")):
            peer_routes.setdefault(p[me]["VpcId"], []).extend(
                {"DestinationCidrBlock": b["CidrBlock"], "VpcPeeringConnectionId": p["VpcPeeringConnectionId"],
                 "State": "active", "Origin": "CreateRoute"} for b in p[other].get("CidrBlockSet", []))
    doc["RouteTables"], doc["InternetGateways"], doc["NatGateways"] = [], [], []
    for k, vpc in enumerate(doc["Vpcs"]):
        vid = vpc["VpcId"]
        igw, nat = f"igw-{k:017d}", f"nat-{k:017d}"
        doc["InternetGateways"].append({"InternetGatewayId": igw, "Attachments": [{"VpcId": vid, "State": "available"}]})
        subs = [s for s in doc["Subnets"] if s["VpcId"] == vid]
        public = [s["SubnetId"] for s in subs if tier[s["SubnetId"]] == "public"]
        app = [s["SubnetId"] for s in subs if tier[s["SubnetId"]] == "app"]
        local, peers = _local(vpc), peer_routes.get(vid, [])

        def table(tid: str, routes: list[dict[str, Any]], subnets: list[str], main: bool = False) -> None:
            assoc = [{"RouteTableId": tid, "SubnetId": s, "Main": False} for s in subnets]
            doc["RouteTables"].append({"RouteTableId": tid, "VpcId": vid, "Routes": local + routes,  # noqa: B023
                                       "Associations": assoc + ([{"RouteTableId": tid, "Main": True}] if main else [])})
        table(f"rtb-{k:08d}main", peers, [], main=True)
        table(f"rtb-{k:08d}pub", [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw},
                                  {"DestinationIpv6CidrBlock": "::/0", "GatewayId": igw}], public)
        if public:
            nat_ip = next(s for s in subs if s["SubnetId"] == public[0])["CidrBlock"].rsplit(".", 1)[0] + ".3"
            doc["NatGateways"].append({"NatGatewayId": nat, "SubnetId": public[0], "VpcId": vid, "State": "available",
                                       "NatGatewayAddresses": [{"NetworkInterfaceId": f"eni-nat{k:014d}",
                                                                "PrivateIp": nat_ip}]})
            doc["NetworkInterfaces"].append({
                "NetworkInterfaceId": f"eni-nat{k:014d}", "SubnetId": public[0], "VpcId": vid, "Groups": [],
                "InterfaceType": "nat_gateway", "PrivateIpAddress": nat_ip, "RequesterManaged": True,
                "PrivateIpAddresses": [{"PrivateIpAddress": nat_ip, "Primary": True}],
                "Association": {"PublicIp": f"54.239.{k}.3"}})
            table(f"rtb-{k:08d}app", [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat}, *peers], app)
    return doc


@pytest.fixture(scope="module", params=[(300, 3, "none"), (500, 11, "none"), (300, 3, "bench"), (400, 7, "tiers")],
                ids=["300-enis", "500-enis", "300-enis-bench-routing", "400-enis-tier-routing"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """bench/generate.py's network: unrouted, with the generator's routing, or with add_routing's tiers."""
    n, seed, routing = request.param
    out = tmp_path_factory.mktemp(f"net{n}")
    load_generator().write(out, n, seed, routing=routing == "bench")
    spec = load_spec(str(out / "spec.yaml"))
    doc = read_document(str(out / "network.json"))
    if routing == "tiers":
        doc = add_routing(json.loads(json.dumps(doc)))
        assert doc["RouteTables"] and doc["NatGateways"]
    net = build_network(doc, str(out / "network.json"))
    assert (net.routing is not None) == (routing != "none")
    return net, spec


def test_optimised_verdicts_equal_the_plain_encoding(generated) -> None:  # type: ignore[no-untyped-def]
    net, spec = generated
    fast, plain = Checker(net, spec), Checker(net, spec, optimise=False)
    for inv in spec.invariants:
        a, b = fast.check(inv), plain.check(inv)
        assert a.status != "error" and b.status != "error", (inv.id, a.error, b.error)
        assert a.status == b.status, f"{inv.id}: optimised {a.status}, plain {b.status}"


def test_proofs_survive_random_flows(generated) -> None:  # type: ignore[no-untyped-def]
    """No sampled flow contradicts a proof: deny/only proofs admit none, reach proofs connect each."""
    net, spec = generated
    checker = Checker(net, spec)
    rng = random.Random(5)
    for inv in spec.invariants:
        if checker.check(inv).status != "proven":
            continue
        src = checker.selection.evaluate(inv.src)
        dst = checker.selection.evaluate(inv.dst)
        if inv.kind == "only":
            src = checker.selection.evaluate_not(src)
        srcs, dsts = sorted(src.enis), sorted(dst.enis)
        if not srcs or not dsts:
            continue
        for _ in range(150):
            s, d = rng.choice(srcs), rng.choice(dsts)
            if s == d:
                continue
            proto, ivs = rng.choice(inv.services.by_proto)
            lo, hi = rng.choice(ivs)
            value = rng.randint(lo, hi)
            pairs = [(a, b) for a in net.enis[s].private for b in net.enis[d].private if a[0] == b[0]]
            connects = any(
                connection_exists(net, Endpoint(s, a[0], a[1]), Endpoint(d, b[0], b[1]), proto, value, spec.ephemeral)[0]
                for a, b in pairs
            )
            if inv.kind == "reach":
                assert connects, f"{inv.id}: {net.enis[s].id} -> {net.enis[d].id} {proto}/{value} is blocked"
            else:
                assert not connects, f"{inv.id}: {net.enis[s].id} -> {net.enis[d].id} {proto}/{value} connects"
