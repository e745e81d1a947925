"""lint's fast paths against its z3 paths on generated networks: the box arithmetic of the NACL rules and
of sg-redundant-rule must give exactly the findings z3 gives (the same entries, rules and evidence; for a
broken return path the same request entry and protocol family, each witness replayed by the evaluator)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgproof.lint import nacl, sg
from sgproof.lint.model import Finding
from sgproof.sources.snapshot import build_network

from . import netgen

CIDRS4 = ["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/17", "10.0.128.0/17",
          "10.0.1.0/24", "10.0.1.10/32", "203.0.113.0/24", "255.255.255.255/32"]
CIDRS6 = ["::/0", "::/1", "2600:1f18:aaaa:aa00::/56", "2600:1f18:aaaa:aa01::/64"]
PORTS = [(0, 65535), (0, 0), (22, 22), (0, 1023), (1024, 65535), (1024, 32767), (32768, 65535), (443, 443),
         (80, 8080), (65535, 65535), (1000, 2000)]
ICMPS = [(-1, -1), (8, -1), (0, -1), (8, 0), (0, 0), (128, -1), (129, -1), (3, 4)]


def entries() -> Any:
    """Up to nine entries of every protocol kind, including GRE and protocol 0."""
    return netgen.nacl_entries(numbers=st.lists(st.integers(1, 400), min_size=1, max_size=9, unique=True),
                               protos=("-1", "-1", "6", "6", "17", "1", "58", "47", "0"), v6_one_in=4,
                               cidrs4=CIDRS4, cidrs6=CIDRS6, ports=PORTS, icmps=ICMPS)


@st.composite
def nacl_network(draw: Any) -> dict[str, Any]:
    """A generated network whose first subnet gets a NACL of up to nine entries of every kind."""
    doc: dict[str, Any] = draw(netgen.network())
    sid = doc["Subnets"][0]["SubnetId"]
    for a in doc["NetworkAcls"]:
        a["Associations"] = [x for x in a["Associations"] if x["SubnetId"] != sid]
    doc["NetworkAcls"].append({"NetworkAclId": "acl-f0000000000000001", "VpcId": doc["Subnets"][0]["VpcId"],
                               "IsDefault": False, "Associations": [{"SubnetId": sid}], "Entries": draw(entries())})
    return doc


def _broken_key(f: Finding) -> tuple[str, str, str]:
    proto = f.evidence[0]["witness"]["protocol"]
    family = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}.get(proto, "other")
    return f.resource, f.place, family


def _sorted(fs: Any) -> list[Finding]:
    return sorted(fs, key=Finding.sort_key)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=nacl_network(), eph=st.sampled_from([(1024, 65535), (32768, 60999), (0, 65535)]))
def test_nacl_boxes_agree_with_z3(doc: dict[str, Any], eph: tuple[int, int]) -> None:
    net = build_network(doc, "<gen>")
    assert _sorted(nacl.shadowed(net)) == _sorted(nacl.shadowed(net, solver=True))
    assert _sorted(nacl.redundant(net)) == _sorted(nacl.redundant(net, solver=True))
    fast = sorted(_broken_key(f) for f in nacl.broken_return(net, eph))
    slow = sorted(_broken_key(f) for f in nacl.broken_return(net, eph, solver=True))
    assert fast == slow


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network())
def test_sg_cover_boxes_agree_with_z3(doc: dict[str, Any]) -> None:
    net = build_network(doc, "<gen>")
    assert _sorted(sg.redundant(net)) == _sorted(sg.redundant(net, solver=True))


@st.composite
def grouped_network(draw: Any) -> dict[str, Any]:
    """A generated network where every interface carries a group and NACLs are often open, so that many
    groups take part and some of their rules are alive."""
    doc: dict[str, Any] = draw(netgen.network())
    n = len(doc["SecurityGroups"])
    for k, e in enumerate(doc["NetworkInterfaces"]):
        if e.get("InterfaceType") == "interface" and not e["Groups"]:
            e["Groups"] = [{"GroupId": netgen.SG_IDS[k % n]}]
    if draw(st.booleans()):
        for a in doc["NetworkAcls"]:
            a["Entries"] = [{"RuleNumber": 100, "Protocol": "-1", "Egress": eg, "RuleAction": "allow",
                             "CidrBlock": "0.0.0.0/0"} for eg in (False, True)]
    return doc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=grouped_network())
def test_batched_dead_rules_agree_with_one_group_at_a_time(doc: dict[str, Any]) -> None:
    """Checker.rules_use_batch (every group of a direction in one solver) against Checker.rules_use (one
    group and direction per solver): the same rules are proven dead."""
    from sgproof.encode.check import Checker
    from sgproof.spec.parse import Spec

    net = build_network(doc, "<gen>")
    checker = Checker(net, Spec("<lint>", "lint", None, (1024, 65535), {}, ()))
    carried = {g for e in net.enis if e.hosts for g in e.groups}
    for egress in (False, True):
        rules = [r for gid in sorted(carried) for r in (net.sgs[gid].egress if egress else net.sgs[gid].ingress)]
        batch, why = checker.rules_use_batch(rules)
        assert why is None
        single: list[Any] = []
        for gid in sorted(carried):
            dead, why = checker.rules_use(list(net.sgs[gid].egress if egress else net.sgs[gid].ingress))
            assert why is None
            single += dead
        assert sorted(map(id, batch)) == sorted(map(id, single))
