"""The change slice of `diff`: the pairs of endpoints (and services) whose connections can differ
between two networks. No z3.

Every gate of contract section 4 decides a flow from a few facts: the endpoints' own records (subnet,
addresses, groups, whether they host), the rules of their groups (and what those rules' peers name: a
prefix list's entries, a group's members, whether a group is unknown), the NACL and route table of
their subnets, the routing objects their routes name (gateways, NAT gateways and their subnets,
peerings, transit gateways and their attachment subnets), and a few network-wide facts (the VPC
blocks, the external address space, whether routing is modelled). A connection between two endpoints
can change only if one of the facts it reads differs; each difference found below is turned into one
or more rectangles (source side, destination side, services) that hold every connection it can
change. Facts that differ in a way not localised here make the rectangle everything. docs/diff.md
gives the argument that the rectangles are complete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import ANY_PROTO, Eni, Match, Network, SgRule
from ..model.addr import normalize
from ..spec.services import ServiceSet, full_range

Block = tuple[int, int, int]  # (family, lo, hi)


@dataclass(frozen=True, slots=True)
class End:
    """One side of a rectangle: ENI ids (None: every ENI) and whether external addresses belong to it
    (those inside `blocks` only, when given)."""

    enis: frozenset[str] | None
    ext: bool
    blocks: tuple[Block, ...] | None = None

    @property
    def empty(self) -> bool:
        return self.enis is not None and not self.enis and not self.ext


EVERY = End(None, True)
NO_ENI: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rect:
    """Connections from src to dst on services (None: every service) may differ; `why` says which fact."""

    src: End
    dst: End
    services: ServiceSet | None
    why: str


def match_services(m: Match) -> ServiceSet:
    """The services a rule or entry match covers."""
    if m.proto == ANY_PROTO:
        return ServiceSet.everything()
    return ServiceSet.of({m.proto: [(m.lo, m.hi)]}) if m.proto in range(256) else ServiceSet(())


def _eni_key(e: Eni, with_groups: bool) -> tuple[Any, ...]:
    """What the gates read of an ENI (its name, tags and Terraform address play no part)."""
    return (e.subnet_id, e.vpc_id, frozenset(e.groups) if with_groups else None, frozenset(e.private),
            frozenset(e.public), e.hosts, frozenset(e.public_map), e.address_unknown, e.unknown_block)


def _rule_key(net: Network, r: SgRule) -> tuple[Any, ...]:
    """What a rule matches: its match, its peer and what the peer names in this network."""
    p = r.peer
    named: Any = ()
    if p.kind == "pl":
        pl = net.prefix_lists.get(p.ref)
        named = tuple(sorted(pl.cidrs)) if pl is not None else None
    elif p.kind == "sg":
        named = p.ref in net.unknown_groups
    return (r.match, p.kind, p.ref, p.family, p.lo, p.hi, named)


def _rule_keys(net: Network, gid: str, egress: bool) -> dict[tuple[Any, ...], SgRule]:
    sg = net.sgs.get(gid)
    if sg is None:
        return {}
    return {_rule_key(net, r): r for r in (sg.egress if egress else sg.ingress)}


def _nacl_keys(net: Network, subnet_id: str) -> set[tuple[Any, ...]]:
    s = net.subnets.get(subnet_id)
    nacl = net.nacls.get(s.nacl_id) if s is not None else None
    if nacl is None:
        return set()
    return {(e.number, e.egress, e.allow, e.match, e.family, e.lo, e.hi) for e in (*nacl.ingress, *nacl.egress)}


def _table(net: Network, subnet_id: str) -> Any:
    rt = net.routing
    if rt is None or subnet_id not in rt.subnet_table:
        return None
    return rt.tables.get(rt.subnet_table[subnet_id])


def _route_keys(net: Network, subnet_id: str) -> set[tuple[Any, ...]]:
    t = _table(net, subnet_id)
    if t is None:
        return set()
    return {(r.family, r.lo, r.hi, r.target, r.kind, r.rank, r.blackhole) for r in t.routes}


def _targets(net: Network, subnet_id: str) -> set[str]:
    t = _table(net, subnet_id)
    return {r.target for r in t.routes} if t is not None else set()


def _plain(obj: Any) -> Any:
    """A routing object without its Terraform address (which decides nothing)."""
    if obj is None:
        return None
    names = getattr(obj, "__slots__", ())
    return tuple((n, getattr(obj, n)) for n in names if n not in ("tf_address", "tags", "origin"))


class Slicer:
    """Compares two networks and lists the rectangles holding every connection that can differ."""

    def __init__(self, old: Network, new: Network):
        self.nets = (old, new)
        self.by_id = tuple({e.id: e for e in n.enis} for n in self.nets)
        self.members: dict[str, set[str]] = defaultdict(set)  # group id -> ENI ids carrying it, either network
        self.in_subnet: dict[str, set[str]] = defaultdict(set)
        self.in_vpc: dict[str, set[str]] = defaultdict(set)
        for n in self.nets:
            for e in n.enis:
                for g in e.groups:
                    self.members[g].add(e.id)
                self.in_subnet[e.subnet_id].add(e.id)
                self.in_vpc[e.vpc_id].add(e.id)
        self._peer_cache: dict[tuple[Block, ...], End] = {}
        self.rects: list[Rect] = []
        self._seen: set[tuple[End, End, ServiceSet | None]] = set()

    # ---- sides ---------------------------------------------------------------------------------
    def blocks_end(self, blocks: Iterable[Block]) -> End:
        """Every ENI holding an address in one of the blocks (in either network), and whether some
        address of the blocks is external in either network."""
        key = tuple(sorted(set(blocks)))
        got = self._peer_cache.get(key)
        if got is not None:
            return got
        per: dict[int, tuple[tuple[int, int], ...]] = {f: normalize([(lo, hi) for ff, lo, hi in key if ff == f])
                                                       for f in (4, 6)}

        def hit(f: int, lo: int, hi: int) -> bool:
            return any(a <= hi and lo <= b for a, b in per[f])

        ids = set()
        for by in self.by_id:
            for e in by.values():
                if any(hit(f, lo, hi) for f, lo, hi in e.private) or any(hit(4, p, p) for p in e.public):
                    ids.add(e.id)
        ext = any(hit(f, lo, hi) for n in self.nets for f, ivs in n.external.items() for lo, hi in ivs)
        got = self._peer_cache[key] = End(frozenset(ids), ext, key)
        return got

    def peer_end(self, net: Network, key: tuple[Any, ...]) -> End:
        """The endpoints a rule's peer can name (rule key of _rule_key, read in net)."""
        _match, kind, ref, family, lo, hi, named = key
        if kind == "cidr":
            return self.blocks_end([(family, lo, hi)])
        if kind == "pl":
            if named is None:
                return EVERY
            return self.blocks_end(named)
        if named:  # an unknown group names every external address
            return End(NO_ENI, True)
        return End(frozenset(self.members.get(ref, ())), False)

    def add(self, src: End, dst: End, services: ServiceSet | None, why: str) -> None:
        if not (src.empty or dst.empty) and not (services is not None and services.is_empty()):
            key = (src, dst, services)
            if key not in self._seen:  # one query per distinct rectangle
                self._seen.add(key)
                self.rects.append(Rect(src, dst, services, why))

    def star(self, ids: set[str], why: str) -> None:
        if ids:
            end = End(frozenset(ids), False)
            self.add(end, EVERY, None, why)
            self.add(EVERY, end, None, why)

    # ---- the comparison ------------------------------------------------------------------------
    def slice(self) -> list[Rect]:
        old, new = self.nets
        if (old.routing is None) != (new.routing is None):
            return [Rect(EVERY, EVERY, None, "routing is modelled in one network only")]
        if {k: v.cidrs for k, v in old.vpcs.items()} != {k: v.cidrs for k, v in new.vpcs.items()}:
            return [Rect(EVERY, EVERY, None, "the VPCs or their CIDR blocks differ")]
        if old.external != new.external:
            ext = End(NO_ENI, True)
            self.add(ext, End(None, False), None, "the external address space differs")
            self.add(End(None, False), ext, None, "the external address space differs")
        self._enis()
        self._routing()
        self._subnets()
        self._rules()
        return self.rects

    def _enis(self) -> None:
        touched: set[str] = set()
        regrouped: dict[str, set[str]] = defaultdict(set)  # group -> ENIs that carry it in one network only
        for eid in sorted(set(self.by_id[0]) | set(self.by_id[1])):
            a, b = self.by_id[0].get(eid), self.by_id[1].get(eid)
            if a is None or b is None or _eni_key(a, False) != _eni_key(b, False):
                touched.add(eid)
            elif not a.groups or not b.groups:
                if set(a.groups) != set(b.groups):  # no group at all filters nothing (contract 4.1)
                    touched.add(eid)
            elif set(a.groups) != set(b.groups):
                for g in set(a.groups) ^ set(b.groups):
                    regrouped[g].add(eid)
        self.star(touched, "ENIs added, removed, moved or readdressed")
        for g, ids in sorted(regrouped.items()):
            self._membership(g, frozenset(ids))

    def _membership(self, g: str, ids: frozenset[str]) -> None:
        """ENIs that carry g in one network only: g's own rules, and every rule that names g."""
        end = End(ids, False)
        why = f"membership of {g} changed"
        for n in self.nets:
            for egress in (False, True):
                for key in _rule_keys(n, g, egress):
                    peer, svc = self.peer_end(n, key), match_services(key[0])
                    if egress:
                        self.add(end, peer, svc, why)
                    else:
                        self.add(peer, end, svc, why)
            for sg in n.sgs.values():
                for r in (*sg.ingress, *sg.egress):
                    if r.peer.kind == "sg" and r.peer.ref == g and g not in n.unknown_groups:
                        holders = End(frozenset(self.members.get(sg.id, ())), False)
                        if r.egress:
                            self.add(holders, end, match_services(r.match), why)
                        else:
                            self.add(end, holders, match_services(r.match), why)

    def _rules(self) -> None:
        old, new = self.nets
        for gid in sorted(set(old.sgs) | set(new.sgs)):
            holders = End(frozenset(self.members.get(gid, ())), False)
            if holders.empty:
                continue
            for egress in (False, True):
                ko, kn = _rule_keys(old, gid, egress), _rule_keys(new, gid, egress)
                for n, keys, others in ((old, ko, kn), (new, kn, ko)):
                    for key in keys:
                        if key in others:
                            continue
                        peer, svc = self.peer_end(n, key), match_services(key[0])
                        why = f"{gid} {'egress' if egress else 'ingress'} rule {keys[key].text()} changed"
                        if egress:
                            self.add(holders, peer, svc, why)
                        else:
                            self.add(peer, holders, svc, why)

    def _transit(self) -> set[str]:
        """Subnets that carry traffic for others: NAT gateways' and transit gateway attachments'."""
        out: set[str] = set()
        for n in self.nets:
            if n.routing is None:
                continue
            out.update(nat.subnet_id for nat in n.routing.nats.values())
            for att in n.routing.tgw_attachments.values():
                out.update(att.subnet_ids or ())
        return out

    def _routed_to(self, targets: set[str]) -> set[str]:
        """ENIs in subnets whose route table (in either network) has a route to one of the targets."""
        ids: set[str] = set()
        for sid in set(self.in_subnet):
            if any(_targets(n, sid) & targets for n in self.nets):
                ids |= self.in_subnet[sid]
        return ids

    def _routing(self) -> None:
        old, new = self.nets
        if old.routing is None or new.routing is None:
            return
        ro, rn = old.routing, new.routing
        changed: set[str] = set()
        for name in ("gateways", "nats", "peerings", "endpoints"):
            a, b = getattr(ro, name), getattr(rn, name)
            changed.update(k for k in set(a) | set(b) if _plain(a.get(k)) != _plain(b.get(k)))
        ids = self._routed_to(changed)
        tgw = (_plain_map(ro.tgw_attachments) != _plain_map(rn.tgw_attachments)
               or _plain_map(ro.tgw_tables) != _plain_map(rn.tgw_tables)
               or ro.tgw_vpc_attachments != rn.tgw_vpc_attachments)
        if tgw:
            tgws = {a.tgw_id for r in (ro, rn) for a in r.tgw_attachments.values()}
            tgws |= {t.tgw_id for r in (ro, rn) for t in (r.tgw_tables or {}).values()}
            ids |= self._routed_to(tgws)
            for r in (ro, rn):
                for a in r.tgw_attachments.values():
                    if a.resource_type == "vpc" and a.resource_id:
                        ids |= self.in_vpc.get(a.resource_id, set())
        for vpc in set(self.in_vpc):
            flags = [any(t.gateway_associated and t.vpc_id == vpc for t in r.tables.values()) for r in (ro, rn)]
            if flags[0] != flags[1]:
                ids |= self.in_vpc[vpc]
        self.star(ids, "gateways, NAT gateways, peerings or transit gateways changed")

    def _subnets(self) -> None:
        old, new = self.nets
        transit = self._transit()
        for sid in sorted(set(old.subnets) | set(new.subnets)):
            here = self.in_subnet.get(sid, set())
            a, b = old.subnets.get(sid), new.subnets.get(sid)
            same_place = a is not None and b is not None and (a.vpc_id, a.cidrs, a.az) == (b.vpc_id, b.cidrs, b.az)
            nacl_o, nacl_n = _nacl_keys(old, sid), _nacl_keys(new, sid)
            rt_o, rt_n = _route_keys(old, sid), _route_keys(new, sid)
            if same_place and nacl_o == nacl_n and rt_o == rt_n:
                continue
            if sid in transit:
                ids = set(here)
                for n in self.nets:
                    if n.routing is None:
                        continue
                    ids |= self._routed_to({nat.id for nat in n.routing.nats.values() if nat.subnet_id == sid})
                    for att in n.routing.tgw_attachments.values():
                        if sid in (att.subnet_ids or ()) and att.resource_id:
                            ids |= self.in_vpc.get(att.resource_id, set())
                    vpc = n.subnets[sid].vpc_id if sid in n.subnets else None
                    if vpc is not None:
                        ids |= self.in_vpc.get(vpc, set())
                self.star(ids, f"{sid} (a NAT gateway or transit gateway attachment subnet) changed")
                continue
            if not here:
                continue
            if not same_place:
                self.star(here, f"{sid} changed")
                continue
            end = End(frozenset(here), False)
            # a NACL entry decides only packets whose remote address it covers (every leg, request and
            # reply, is decided by the first matching entry: unchanged where no changed entry matches)
            blocks = [(k[4], k[5], k[6]) for k in nacl_o ^ nacl_n]
            # a route decides only packets to addresses inside its block (longest match and ties alike)
            blocks += [(k[0], k[1], k[2]) for k in rt_o ^ rt_n]
            peer = self.blocks_end(blocks)
            self.add(end, peer, None, f"the NACL or route table of {sid} changed")
            self.add(peer, end, None, f"the NACL or route table of {sid} changed")


def _plain_map(d: dict[str, Any] | None) -> Any:
    if d is None:
        return None
    return {k: _plain(v) for k, v in d.items()}


def change_slice(old: Network, new: Network) -> list[Rect]:
    """Rectangles that together hold every connection that differs between old and new."""
    return Slicer(old, new).slice()


def intersect_services(a: ServiceSet, b: ServiceSet | None) -> ServiceSet:
    return a if b is None else a.minus(a.minus(b))


__all__ = ["EVERY", "End", "Rect", "change_slice", "full_range", "intersect_services", "match_services"]
