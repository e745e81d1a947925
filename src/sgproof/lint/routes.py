"""Routing rules: blackhole routes, and path elements that no route table uses."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Network
from .model import Finding


def blackholes(net: Network) -> Iterator[Finding]:
    rt = net.routing
    if rt is None:
        return
    for t in sorted(rt.tables.values(), key=lambda t: t.id):
        seen: set[str] = set()
        for r in t.routes:
            if not r.blackhole or r.origin in seen:
                continue
            seen.add(r.origin)  # a prefix-list route is one route, whatever its entries
            place = r.tf_address or t.tf_address or r.origin
            yield Finding("route-blackhole", "medium", t.id, place,
                          f"{t.id} route {r.dest} -> {r.target} is a blackhole (its target is gone): packets to "
                          f"{r.dest} are dropped; delete the route or point it at a live target",
                          ({"route": r.text(), "place": r.origin},), r.tf_address or t.tf_address)


def unused_targets(net: Network) -> Iterator[Finding]:
    rt = net.routing
    if rt is None:
        return
    used = {r.target for t in rt.tables.values() for r in t.routes}
    items: list[tuple[str, str, str | None]] = []
    items += [(n.id, "NAT gateway", n.tf_address) for n in rt.nats.values() if n.available]
    items += [(p.id, "active VPC peering connection", p.tf_address) for p in rt.peerings.values() if p.active]
    items += [(e.id, f"{e.type} VPC endpoint", e.tf_address) for e in rt.endpoints.values()
              if e.type in ("Gateway", "GatewayLoadBalancer")]
    for ident, what, tf in sorted(items):
        if ident in used:
            continue
        yield Finding("route-unused-target", "low", ident, tf or ident,
                      f"{ident} ({what}) is the target of no route in any route table: nothing can use it",
                      (), tf)
