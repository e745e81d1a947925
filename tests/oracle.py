"""Brute-force reference for the differential tests: every representative flow through the plain evaluator.

Independent of the z3 encoding: it knows nothing of atoms or classes. Representatives are taken at
every boundary that a rule, NACL entry, prefix list, selector, VPC block, service or routing (route
destinations, peering CIDR blocks, transit gateway routes, private addresses with a public one) draws,
so each region on which every predicate is constant holds at least one of them. Client ports and a NAT
gateway's own source ports are taken at every NACL port boundary. `deny`/`only` count a routing step
`unknown` as allow (`Verdict.allowed`), `reach` as deny (`Verdict.connects`), as contract 4.5 says.
"""

from __future__ import annotations

from itertools import product

from sgproof.model import ICMP, ICMPV6, PORTED, SERVICE_MAX, Network
from sgproof.model.addr import parse_cidr
from sgproof.semantics import Endpoint, Flow, evaluate
from sgproof.semantics.evaluate import ICMP_REPLY
from sgproof.spec import Invariant, Spec
from sgproof.spec.select import EndpointSet, Selection


def _cidr_cuts(net: Network, spec: Spec) -> dict[int, set[int]]:
    cuts: dict[int, set[int]] = {4: set(), 6: set()}

    def add(f: int, lo: int, hi: int) -> None:
        cuts[f].update((lo, hi + 1, hi))

    for v in net.vpcs.values():
        for c in v.cidrs:
            add(*c)
    for sg in net.sgs.values():
        for r in (*sg.ingress, *sg.egress):
            if r.peer.kind == "cidr":
                add(r.peer.family, r.peer.lo, r.peer.hi)
    for pl in net.prefix_lists.values():
        for c in pl.cidrs:
            add(*c)
    for n in net.nacls.values():
        for e in (*n.ingress, *n.egress):
            add(e.family, e.lo, e.hi)
    for f, ivs in net.external.items():
        for lo, hi in ivs:
            add(f, lo, hi)
    rt = net.routing
    if rt is not None:
        for table in rt.tables.values():
            for route in table.routes:
                add(route.family, route.lo, route.hi)
        for p in rt.peerings.values():
            for c in (*p.requester_cidrs, *p.accepter_cidrs):
                add(*c)
        for tt in (rt.tgw_tables or {}).values():
            for tr in tt.routes or ():
                add(tr.family, tr.lo, tr.hi)
        for e in net.enis:
            for private, _public in e.public_map:
                add(4, private, private)

    def walk(sel: object) -> None:
        if sel is None:
            return
        if sel.key == "cidr":  # type: ignore[attr-defined]
            for t in sel.value:  # type: ignore[attr-defined]
                add(*parse_cidr(t))
        for c in sel.children:  # type: ignore[attr-defined]
            walk(c)

    for g in spec.groups.values():
        walk(g)
    for inv in spec.invariants:
        walk(inv.src)
        walk(inv.dst)
    cuts[4] = {c for c in cuts[4] if 0 <= c < 1 << 32}
    cuts[6] = {c for c in cuts[6] if 0 <= c < 1 << 128}
    return cuts


def endpoints(net: Network, spec: Spec) -> list[tuple[object, list[tuple[int, int, bool]]]]:
    """(endpoint key, [(family, address, is_public)]) for every ENI and every external representative."""
    cuts = _cidr_cuts(net, spec)
    out: list[tuple[object, list[tuple[int, int, bool]]]] = []
    for i, e in enumerate(net.enis):
        addrs = []
        for f, lo, hi in e.private:
            pts = {lo, hi} | {c for c in cuts[f] if lo <= c <= hi}
            addrs += [(f, a, False) for a in sorted(pts)]
        addrs += [(4, p, True) for p in e.public]
        out.append((i, addrs))
    for f in (4, 6):
        for lo, hi in net.external.get(f, ()):
            pts = {lo, hi} | {c for c in cuts[f] if lo <= c <= hi}
            for a in sorted(pts):
                out.append((("ext", f, a), [(f, a, False)]))
    return out


def services(net: Network, inv: Invariant, eph: tuple[int, int]) -> list[tuple[int, int]]:
    protos = {6, 17, 1, 58}
    cuts = {0, SERVICE_MAX}
    for sg in net.sgs.values():
        for r in (*sg.ingress, *sg.egress):
            protos.add(r.match.proto)
            cuts.update((r.match.lo, r.match.hi, r.match.hi + 1))
    for n in net.nacls.values():
        for e in (*n.ingress, *n.egress):
            protos.add(e.match.proto)
            cuts.update((e.match.lo, e.match.hi, e.match.hi + 1))
    for p, ivs in inv.services.by_proto:
        protos.add(p)
        for lo, hi in ivs:
            cuts.update((lo, hi, hi + 1))
    for table in ICMP_REPLY.values():
        for t in table:
            cuts.update((t * 256, t * 256 + 255, (t + 1) * 256))
    protos.discard(-1)
    spare = next((p for p in range(2, 256) if p not in protos and p != 255), None)
    if spare is not None:
        protos.add(spare)
    out = []
    for p in sorted(protos):
        values = sorted(c for c in cuts if 0 <= c <= SERVICE_MAX) if p in (6, 17, ICMP, ICMPV6) else [0]
        out += [(p, v) for v in values if inv.services.contains(p, v)]
    return out


NAT_PORTS = (1024, 65535)  # contract 4.5: a NAT gateway's own source ports


def sports(net: Network, eph: tuple[int, int]) -> list[int]:
    cuts = {eph[0], eph[1]}
    for n in net.nacls.values():
        for e in (*n.ingress, *n.egress):
            for c in (e.match.lo, e.match.hi, e.match.hi + 1):
                if eph[0] <= c <= eph[1]:
                    cuts.add(c)
    return sorted(cuts)


def _selected(sel: EndpointSet, key: object, addrs: list[tuple[int, int, bool]]) -> bool:
    if isinstance(key, int):
        return key in sel.enis
    _, f, a = key  # type: ignore[misc]
    return any(lo <= a <= hi for lo, hi in sel.ext_of(f))


def _connects(net: Network, s: object, sa: list[tuple[int, int, bool]], d: object,
              da: list[tuple[int, int, bool]], p: int, v: int, ports: list[int], nports: list[int],
              reach: bool) -> bool | None:
    """Some address pair, client port (and NAT source port) connects; None when no same-family pair exists.

    For reach an `unknown` routing step blocks; for deny/only it admits."""
    src_ext, dst_ext = not isinstance(s, int), not isinstance(d, int)
    any_pair = False
    nat_ports = nports if p in PORTED and not src_ext and dst_ext and net.routing is not None else [0]
    for (f1, a1, pub1), (f2, a2, pub2) in product(sa, da):
        if f1 != f2 or pub1 or (pub2 and not src_ext):
            continue
        any_pair = True
        for sp, npt in product(ports if p in PORTED else [0], nat_ports):
            flow = Flow(Endpoint(None if src_ext else s, f1, a1), Endpoint(None if dst_ext else d, f2, a2),  # type: ignore[arg-type]
                        p, v, sp, npt)
            got = evaluate(net, flow)
            if got.connects if reach else got.allowed:
                return True
    return False if any_pair else None


def verdict(net: Network, spec: Spec, inv: Invariant) -> str:
    """proven or refuted, by enumerating representative flows."""
    sel = Selection(net, spec)
    F = sel.evaluate(inv.src)
    T = sel.evaluate(inv.dst)
    eps = endpoints(net, spec)
    svcs = services(net, inv, spec.ephemeral)
    ports = sports(net, spec.ephemeral)
    nports = sports(net, NAT_PORTS)
    if inv.kind in ("deny", "only"):
        S = sel.evaluate_not(F) if inv.kind == "only" else F
        srcs = [(k, a) for k, a in eps if _selected(S, k, a)]
        dsts = [(k, a) for k, a in eps if _selected(T, k, a)]
        for (s, sa), (d, da) in product(srcs, dsts):
            if s == d or (not isinstance(s, int) and not isinstance(d, int)):
                continue
            for p, v in svcs:
                if _connects(net, s, sa, d, da, p, v, ports, nports, False):
                    return "refuted"
        return "proven"
    srcs = [(k, a) for k, a in eps if _selected(F, k, a)]
    dsts = [(k, a) for k, a in eps if _selected(T, k, a)]
    for (s, sa), (d, da) in product(srcs, dsts):
        if s == d or (not isinstance(s, int) and not isinstance(d, int)):
            continue
        for p, v in svcs:
            got = _connects(net, s, sa, d, da, p, v, ports, nports, True)
            if got is None:
                if isinstance(s, int) and isinstance(d, int):
                    return "refuted"  # two ENIs with no family in common cannot connect
                continue  # an external endpoint need not reach a host without its family
            if not got:
                return "refuted"
    return "proven"


def violations(net: Network, spec: Spec, inv: Invariant, certain: bool = False) -> set[tuple[object, object, int]]:
    """Every (source key, destination key, protocol) of a deny/only invariant with a violating flow
    (`certain`: one that connects, an unknown routing step counting as no route, as for reach)."""
    sel = Selection(net, spec)
    F, T = sel.evaluate(inv.src), sel.evaluate(inv.dst)
    S = sel.evaluate_not(F) if inv.kind == "only" else F
    eps = endpoints(net, spec)
    svcs = services(net, inv, spec.ephemeral)
    ports, nports = sports(net, spec.ephemeral), sports(net, NAT_PORTS)
    srcs = [(k, a) for k, a in eps if _selected(S, k, a)]
    dsts = [(k, a) for k, a in eps if _selected(T, k, a)]
    out: set[tuple[object, object, int]] = set()
    for (s, sa), (d, da) in product(srcs, dsts):
        if s == d or (not isinstance(s, int) and not isinstance(d, int)):
            continue
        for p, v in svcs:
            if (s, d, p) not in out and _connects(net, s, sa, d, da, p, v, ports, nports, certain):
                out.add((s, d, p))
    return out
