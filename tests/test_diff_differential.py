"""`diff` against brute force: the changed connections its groups expand to are exactly those that
evaluating every representative connection in both networks finds."""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sgproof.encode.diff import Differ, spec_cidrs_of
from sgproof.report.diff_model import ChangeGroup
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

from . import netgen
from .diff_oracle import DiffOracle, Key, Point

EXAMPLES = int(os.environ.get("SGPROOF_DIFF_COMMAND_EXAMPLES", "20"))


@st.composite
def mutated(draw: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the network with one or two random changes."""
    new = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 2))):
        # diff asks only the slices a change can reach (encode/diff_slice.py): "join" changes a connection
        # between groups whose rules did not change; "nacl" and "route" reach ENIs no rule change touches
        kinds = ["rule-add", "rule-remove", "rule-widen", "nacl", "eni-add", "eni-regroup", "eni-remove", "pl",
                 "ipv6", "join", "join"]
        kind = draw(st.sampled_from([*kinds, "route", "route"] if "RouteTables" in new else kinds))
        sgs = new["SecurityGroups"]
        if kind == "rule-add":
            g = draw(st.sampled_from(sgs))
            key = draw(st.sampled_from(["IpPermissions", "IpPermissionsEgress"]))
            g[key] = [*g[key], draw(netgen.sg_rule(len(sgs)))]
        elif kind == "rule-remove":
            g = draw(st.sampled_from(sgs))
            key = draw(st.sampled_from(["IpPermissions", "IpPermissionsEgress"]))
            if g[key]:
                g[key] = [r for i, r in enumerate(g[key]) if i != draw(st.integers(0, len(g[key]) - 1))]
        elif kind == "rule-widen":
            g = draw(st.sampled_from(sgs))
            for r in g["IpPermissions"][:1]:
                if r["IpRanges"]:
                    r["IpRanges"] = [{"CidrIp": draw(st.sampled_from(["0.0.0.0/0", "10.0.0.0/8", "203.0.113.0/24"]))}]
                elif "FromPort" in r and r["IpProtocol"] in ("tcp", "udp", "6"):
                    r["FromPort"], r["ToPort"] = 0, 65535
        elif kind == "nacl":
            custom = [n for n in new["NetworkAcls"] if not n["IsDefault"]]
            if custom:
                n = draw(st.sampled_from(custom))
                entries = [e for e in n["Entries"] if e["RuleNumber"] < 32767]
                if entries and draw(st.booleans()):
                    e = draw(st.sampled_from(entries))
                    what = draw(st.sampled_from(["number", "action"]))
                    if what == "number":
                        taken = {x["RuleNumber"] for x in n["Entries"] if x["Egress"] == e["Egress"]}
                        free = [k for k in (5, 150, 250, 301) if k not in taken]
                        if free:
                            e["RuleNumber"] = draw(st.sampled_from(free))
                    else:
                        e["RuleAction"] = "deny" if e["RuleAction"] == "allow" else "allow"
                else:
                    extra = draw(netgen.nacl_entries())
                    taken = {(x["RuleNumber"], x["Egress"]) for x in n["Entries"]}
                    n["Entries"] += [x for x in extra if (x["RuleNumber"], x["Egress"]) not in taken
                                     and x["RuleNumber"] < 32767]
        elif kind == "join":
            # an ENI joins a group that another group's rule names: that rule now admits it, no rule changed
            named = sorted({pair["GroupId"] for g in sgs for key in ("IpPermissions", "IpPermissionsEgress")
                            for r in g[key] for pair in r["UserIdGroupPairs"]} & set(netgen.SG_IDS[:len(sgs)]))
            e = draw(st.sampled_from(new["NetworkInterfaces"]))
            free = [g for g in named if all(x["GroupId"] != g for x in e["Groups"])]
            if free:
                e["Groups"] = [*e["Groups"], {"GroupId": draw(st.sampled_from(free))}]
        elif kind in ("eni-add", "eni-regroup", "eni-remove", "ipv6"):
            enis = new["NetworkInterfaces"]
            if kind == "eni-add":
                e = copy.deepcopy(enis[0])
                ids = {x["NetworkInterfaceId"] for x in enis}
                ips = {p["PrivateIpAddress"] for x in enis for p in x.get("PrivateIpAddresses", [])}
                n = next(k for k in range(77, 99) if f"eni-{k:017d}" not in ids
                         and e["PrivateIpAddress"].rsplit(".", 1)[0] + f".{k}" not in ips)
                ip = e["PrivateIpAddress"].rsplit(".", 1)[0] + f".{n}"
                e.update(NetworkInterfaceId=f"eni-{n:017d}", PrivateIpAddress=ip, InterfaceType="interface",
                         PrivateIpAddresses=[{"PrivateIpAddress": ip, "Primary": True}], Ipv4Prefixes=[],
                         Groups=[{"GroupId": netgen.SG_IDS[k]} for k in
                                 draw(st.sets(st.integers(0, len(sgs) - 1), max_size=2))])
                e.pop("Association", None)
                e.pop("Ipv6Addresses", None)
                enis.append(e)
            elif kind == "eni-regroup":
                e = draw(st.sampled_from(enis))
                e["Groups"] = [{"GroupId": netgen.SG_IDS[k]} for k in draw(st.sets(st.integers(0, len(sgs) - 1),
                                                                                   max_size=2))]
            elif kind == "eni-remove" and len(enis) > 1:
                enis.pop(draw(st.integers(0, len(enis) - 1)))
            elif kind == "ipv6":
                e = draw(st.sampled_from(enis))
                sub = next(s for s in new["Subnets"] if s["SubnetId"] == e["SubnetId"])
                if sub.get("Ipv6CidrBlockAssociationSet") and not e.get("Ipv6Addresses"):
                    prefix = sub["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"].split("::")[0]
                    e["Ipv6Addresses"] = [{"Ipv6Address": prefix + "::99"}]
        elif kind == "route":
            rt = draw(st.sampled_from(new["RouteTables"]))
            dest = draw(st.sampled_from([("DestinationCidrBlock", "0.0.0.0/0"),
                                         ("DestinationIpv6CidrBlock", "::/0"),
                                         ("DestinationCidrBlock", "203.0.113.0/24")]))
            igw = next((g["InternetGatewayId"] for g in new.get("InternetGateways", [])
                        if any(a.get("VpcId") == rt["VpcId"] for a in g.get("Attachments", []))), None)
            kept = [r for r in rt["Routes"] if r.get(dest[0]) != dest[1]]
            if len(kept) == len(rt["Routes"]) and igw is not None:
                kept.append({dest[0]: dest[1], "GatewayId": igw, "Origin": "CreateRoute",
                             "State": draw(st.sampled_from(["active", "active", "blackhole"]))})
            rt["Routes"] = kept
        elif kind == "pl":
            pl = new["ManagedPrefixLists"][0]
            pl["Entries"] = [{"Cidr": c} for c in draw(st.lists(st.sampled_from(netgen.CIDRS4), min_size=1,
                                                                 max_size=2))]
    return new


def _with_routes(doc: dict[str, Any], default: bool) -> dict[str, Any]:
    """The network with a main route table per VPC (local routes, an internet gateway, maybe a default route)."""
    doc = copy.deepcopy(doc)
    tables, igws = [], []
    for k, v in enumerate(doc["Vpcs"]):
        igw = f"igw-{k:017d}"
        routes = [{"DestinationCidrBlock": v["CidrBlock"], "GatewayId": "local", "Origin": "CreateRouteTable",
                   "State": "active"}]
        for assoc in v.get("Ipv6CidrBlockAssociationSet", []):
            routes.append({"DestinationIpv6CidrBlock": assoc["Ipv6CidrBlock"], "GatewayId": "local",
                           "Origin": "CreateRouteTable", "State": "active"})
        if default:
            routes.append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "Origin": "CreateRoute",
                           "State": "active"})
        tables.append({"RouteTableId": f"rtb-{k:017d}", "VpcId": v["VpcId"], "Associations": [{"Main": True}],
                       "Routes": routes})
        igws.append({"InternetGatewayId": igw, "Attachments": [{"VpcId": v["VpcId"], "State": "available"}]})
    doc["RouteTables"] = tables
    doc["InternetGateways"] = igws
    return doc


@st.composite
def network_pair(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = draw(netgen.network())
    if "RouteTables" not in doc and draw(st.integers(0, 2)) == 0:
        doc = _with_routes(doc, draw(st.booleans()))
    new = draw(mutated(doc))
    return (new, doc) if draw(st.booleans()) else (doc, new)


def _inside(key: Key, side: Any) -> bool:
    if isinstance(key, tuple):
        _, f, a = key
        return any(ff == f and lo <= a <= hi for ff, lo, hi in side.ranges)
    return key in side.enis


def _covered(groups: list[ChangeGroup], pt: Point) -> str | None:
    hits = [g.change for g in groups if g.family == pt.family and g.services.contains(pt.proto, pt.value)
            and _inside(pt.src, g.src) and _inside(pt.dst, g.dst)]
    assert len(hits) <= 1, f"{pt} lies in {len(hits)} groups"
    return hits[0] if hits else None


SCOPES = ["to: {anywhere: true}, ports: all", "to: {anywhere: true}, ports: tcp/22",
          "to: {anywhere: true}, ports: [tcp/80, udp/53, icmp]", "from: {internet: true}, to: {anywhere: true}",
          "to: {anywhere: true}, ports: proto/47", "to: {security_group: sg0}, ports: all"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=None if os.environ.get("SGPROOF_SHRINK") else [Phase.explicit, Phase.generate])
@given(pair=network_pair(), scope=st.sampled_from(SCOPES))
def test_diff_groups_equal_brute_force(pair: tuple[dict[str, Any], dict[str, Any]], scope: str) -> None:
    old, new = (build_network(d, f"<{n}>") for d, n in zip(pair, ("old", "new"), strict=True))
    spec = load_spec_text("sgproof: 1\ninvariants:\n  - id: d\n    allow_empty: true\n"
                          f"    deny: {{{scope}}}\n", "<test>")
    inv = spec.invariants[0]
    differ = Differ(old, new, spec, inv.src, inv.dst, inv.services, spec_cidrs_of(inv.src, inv.dst))
    added, c1 = differ.changes("added", 1000)
    removed, c2 = differ.changes("removed", 1000)
    assert c1 and c2
    groups = added + removed
    for g in groups:
        assert g.witness.allowed
        assert g.blocked["verdict"] != "allow"
    ref = DiffOracle(old, new, spec, inv)
    selected = None
    if inv.src is not None or inv.dst is not None:
        selected = _selected(ref, spec, inv)
    for pt in ref.points(selected):
        want = ref.change(pt)
        got = _covered(groups, pt)
        assert got == want, f"{pt}: diff says {got}, brute force says {want}"


def _selected(ref: DiffOracle, spec: Any, inv: Any) -> tuple[set[Key], set[Key]]:
    from sgproof.spec.select import Selection

    out: tuple[set[Key], set[Key]] = (set(), set())
    for net in ref.nets:
        sel = Selection(net, spec)
        for k, s in enumerate((inv.src, inv.dst)):
            es = sel.evaluate(s)
            out[k].update(net.enis[i].id for i in es.enis)
            for key in ref.keys:
                if isinstance(key, tuple):
                    _, f, a = key
                    if any(lo <= a <= hi for lo, hi in es.ext_of(f)):
                        out[k].add(key)
    return out
