"""Shortcuts of the evaluator's callers against the plain loops they stand for, on generated networks:
`connection_exists` stops at the first ports when a gate that reads no port blocks, and
`connected_services` asks the protocols no rule names once for all of them."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from sgproof.explain.enumerate import allowed_services, connected_services
from sgproof.model import PORTED
from sgproof.semantics import Endpoint, Flow, evaluate
from sgproof.semantics.evaluate import (
    NAT_PORTS,
    ServiceCuts,
    connection_exists,
    port_representatives,
)
from sgproof.sources.snapshot import build_network
from sgproof.spec import ServiceSet

from . import netgen

EXAMPLES = int(os.environ.get("SGPROOF_DIFF_EXAMPLES", "300")) // 3
EPH = (1024, 65535)
# ephemeral ranges whose first port the generator's NACL port ranges (22, 53, 80-443, 1024-65535, ...)
# can single out, so that the first client port tried is blocked where a later one passes
EPHEMERALS = (EPH, (22, 3306), (53, 1023), (443, 2000))


def _endpoints(net) -> list[Endpoint]:  # type: ignore[no-untyped-def]
    """An address of each family of every ENI (public ones too), and one external address per family."""
    out = [Endpoint(i, f, lo) for i, e in enumerate(net.enis) for f, lo, _hi in e.private]
    out += [Endpoint(i, 4, p) for i, e in enumerate(net.enis) for p in e.public]
    out += [Endpoint(None, 4, (8 << 24) + 8), Endpoint(None, 6, (0x2600 << 112) + 1)]
    return out


def _every_port(net, src: Endpoint, dst: Endpoint, proto: int, value: int,  # type: ignore[no-untyped-def]
                eph: tuple[int, int]) -> bool:
    ports = port_representatives(net, *eph) if proto in PORTED else [0]
    nat = proto in PORTED and net.routing is not None and src.eni is not None and dst.eni is None
    nports = port_representatives(net, *NAT_PORTS) if nat else [0]
    return any(evaluate(net, Flow(src, dst, proto, value, sp, npt)).connects for sp in ports for npt in nports)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network())
def test_connection_exists_equals_trying_every_port(doc: dict) -> None:
    net = build_network(doc, "<generated>")
    eps = _endpoints(net)
    for a in eps:
        for b in eps:
            if a.family != b.family or (a.eni is None and b.eni is None) or (a.eni is not None and a.eni == b.eni):
                continue
            for eph in EPHEMERALS:
                for proto, value in ((6, 443), (6, 22), (17, 53), (1, 8 * 256), (58, 128 * 256), (47, 0)):
                    ok, flow = connection_exists(net, a, b, proto, value, eph)
                    assert ok == _every_port(net, a, b, proto, value, eph), (a, b, proto, value, eph)
                    assert not ok or evaluate(net, flow).connects


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network())
def test_connected_services_equals_each_protocol_alone(doc: dict) -> None:
    net = build_network(doc, "<generated>")
    cuts = ServiceCuts(net)
    everything = ServiceSet.everything()
    some = ServiceSet.of({6: [(1, 1023)], 47: [(0, 0)], 50: [(0, 0)], 1: [(0, 0xFFFF)], 99: [(0, 0)]})
    eps = _endpoints(net)
    for a in eps[:4]:
        for b in eps:
            if a.family != b.family or (a.eni is None and b.eni is None) or (a.eni is not None and a.eni == b.eni):
                continue
            for within in (everything, some):
                parts: dict[int, list[tuple[int, int]]] = {}
                for proto, _ in within.by_proto:
                    for p, ivs in allowed_services(net, a, b, proto, within, EPH).by_proto:
                        parts.setdefault(p, []).extend(ivs)
                assert connected_services(net, a, b, within, EPH, cuts) == ServiceSet.of(parts), (a, b)


def test_a_reply_blocked_at_the_first_client_port_is_tried_on_the_others() -> None:
    """The reply enters the client's subnet on the client port: a NACL that denies the low end of the
    ephemeral range stops the first port tried, and a later one must still connect. The same NACL
    denying the request instead (an inbound entry of the server's subnet) stops every port."""
    from .builders import SUB_A, SUB_B, base, eni, entry, perm, sg

    def doc(where: str) -> dict:  # type: ignore[type-arg]
        deny = entry(10, False, "deny", "6", ports=(1024, 2000) if where == "reply" else (443, 443))
        entries = [deny] + [entry(n, e, "allow") for e in (False, True) for n in (100,)]
        acl = {"NetworkAclId": "acl-0000000000000000a", "VpcId": "vpc-00000000000000001", "IsDefault": False,
               "Associations": [{"SubnetId": SUB_A if where == "reply" else SUB_B}], "Entries": entries}
        rest = {"NetworkAclId": "acl-00000000000000001", "VpcId": "vpc-00000000000000001", "IsDefault": True,
                "Associations": [{"SubnetId": SUB_B if where == "reply" else SUB_A}],
                "Entries": [entry(100, e, "allow") for e in (False, True)]}
        return base([sg("sg-00000000000000001", "open", [perm("-1", cidr="0.0.0.0/0")])],
                    [eni("eni-0000000000000000a", SUB_A, ["10.0.1.10"], ["sg-00000000000000001"]),
                     eni("eni-0000000000000000b", SUB_B, ["10.0.2.10"], ["sg-00000000000000001"])], [acl, rest])

    a, b = Endpoint(0, 4, (10 << 24) + (1 << 8) + 10), Endpoint(1, 4, (10 << 24) + (2 << 8) + 10)
    net = build_network(doc("reply"), "<test>")
    ok, flow = connection_exists(net, a, b, 6, 443, EPH)
    assert ok and flow.sport == 2001
    net = build_network(doc("request"), "<test>")
    assert connection_exists(net, a, b, 6, 443, EPH) == (False, Flow(a, b, 6, 443, 1024, 0))
