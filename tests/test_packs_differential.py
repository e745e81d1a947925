"""Every config finding's `exposed` must equal brute force on generated networks: some representative flow
of the invariant, allowed by the plain evaluator, that the flagged rule admits (or whose request the
flagged NACL entry decides). Independent of the z3 encoding (tests/oracle.py's representatives)."""

from __future__ import annotations

import dataclasses
import os
from itertools import product
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgproof.encode.check import Checker
from sgproof.model import PORTED, Network, SgRule
from sgproof.packs import CONTROLS
from sgproof.packs.findings import config_findings, flagged
from sgproof.semantics import Endpoint, Flow, evaluate
from sgproof.semantics.evaluate import matches, peer_matches
from sgproof.sources.snapshot import build_network
from sgproof.spec import Invariant, Spec, load_spec
from sgproof.spec.select import Selection

from . import netgen, oracle

EXAMPLES = int(os.environ.get("SGPROOF_PACK_DIFF_EXAMPLES", "60"))


def _spec(inv_id: str) -> Spec:
    spec = load_spec("pack:cis-aws-networking" if inv_id.startswith("cis-") else "pack:fsbp-ec2")
    return dataclasses.replace(spec, invariants=tuple(i for i in spec.invariants if i.id == inv_id))


def brute_exposed(net: Network, spec: Spec, inv: Invariant, resource: str, target: Any) -> bool:
    sel = Selection(net, spec)
    src, dst = sel.evaluate(inv.src), sel.evaluate(inv.dst)
    eps = oracle.endpoints(net, spec)
    svcs = oracle.services(net, inv, spec.ephemeral)
    ports = oracle.sports(net, spec.ephemeral)
    srcs = [(k, a) for k, a in eps if oracle._selected(src, k, a)]
    dsts = [(k, a) for k, a in eps if oracle._selected(dst, k, a)]
    for (s, sa), (d, da) in product(srcs, dsts):
        s_ext, d_ext = not isinstance(s, int), not isinstance(d, int)
        if s == d or (s_ext and d_ext):
            continue
        for (f1, a1, pub1), (f2, a2, pub2) in product(sa, da):
            if f1 != f2 or pub1 or (pub2 and not s_ext):
                continue
            for p, v in svcs:
                for sp in ports if p in PORTED else [0]:
                    flow = Flow(Endpoint(None if s_ext else s, f1, a1), Endpoint(None if d_ext else d, f2, a2),
                                p, v, sp)
                    verdict = evaluate(net, flow)
                    if not verdict.allowed:
                        continue
                    if isinstance(target, SgRule):
                        own, far = (flow.src, flow.dst) if target.egress else (flow.dst, flow.src)
                        if (own.eni is not None and target.sg_id in net.enis[own.eni].groups
                                and matches(target.match, p, v) and peer_matches(net, target, far)):
                            return True
                    elif any(st.gate == "nacl-in" and st.id == resource and st.rule == target.number
                             for st in verdict.steps):
                        return True
    return False


@st.composite
def case(draw: Any) -> tuple[dict[str, Any], str]:
    doc = draw(netgen.network())
    if draw(st.booleans()):
        doc["SecurityGroups"][0]["GroupName"] = "default"
    if draw(st.booleans()):  # an unrestricted rule, which the literal checks flag
        group = draw(st.sampled_from(doc["SecurityGroups"]))
        proto, ports = draw(st.sampled_from([("tcp", (22, 22)), ("tcp", (0, 65535)), ("-1", None),
                                             ("udp", (3389, 3389)), ("tcp", (3306, 3306)), ("tcp", (80, 443))]))
        cidr = draw(st.sampled_from(["0.0.0.0/0", "::/0"]))
        item: dict[str, Any] = {"IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                                "UserIdGroupPairs": []}
        if ports:
            item["FromPort"], item["ToPort"] = ports
        item["Ipv6Ranges" if ":" in cidr else "IpRanges"].append({"CidrIpv6" if ":" in cidr else "CidrIp": cidr})
        group["IpPermissions"] = [*group["IpPermissions"], item]
    return doc, draw(st.sampled_from(sorted(CONTROLS)))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=case())
def test_exposed_equals_brute_force(c: tuple[dict[str, Any], str]) -> None:
    doc, inv_id = c
    net = build_network(doc, "<generated>")
    spec = _spec(inv_id)
    inv = spec.invariants[0]
    checker = Checker(net, spec)
    result = checker.check(inv)
    assert result.status != "error", result.error
    found = config_findings(checker, inv, CONTROLS[inv_id].literal)
    targets = flagged(net, CONTROLS[inv_id].literal)
    assert len(found) == len(targets)
    for f, (resource, target) in zip(found, targets, strict=True):
        want = brute_exposed(net, spec, inv, resource, target)
        assert f.exposed == want, (inv_id, resource, f.rule, f.reason, f.witness and f.witness.flow.text())
        if f.exposed:
            assert result.status == "refuted"
        else:
            assert f.reason
