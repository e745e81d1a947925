"""The network's parts (contract 9) and the transforms that open or close them.

A part is one thing an auditor can point at and ask to keep as it is: a security group's ingress or
egress rule set, a network ACL's entries, a route table's routes, or a group's membership (which ENIs a
reference to the group matches). Opening a part makes it admit everything; closing it makes it admit
nothing. Both are plain rewrites of the frozen Network, so the engine and the plain evaluator see the
transformed network exactly as they would see a snapshot that said so.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import ANY_PROTO, Match, Nacl, NaclEntry, Network, Peer, SecurityGroup, SgRule
from ..model.addr import V4_MAX, V6_MAX

KINDS = ("sg-ingress", "sg-egress", "nacl", "route-table", "membership")
OPEN, CLOSE = "open", "close"
ORIGIN = "sgproof --explain"  # the origin of every rule or entry a transform writes


@dataclass(frozen=True, slots=True, order=True)
class Part:
    """One part of a network: `kind` is one of KINDS, `id` the group, ACL or route table id."""

    kind: str
    id: str

    def text(self) -> str:
        return f"{self.kind} {self.id}"


_ANYWHERE = (Peer("cidr", "0.0.0.0/0", 4, 0, V4_MAX), Peer("cidr", "::/0", 6, 0, V6_MAX))


def _open_rules(sg_id: str, egress: bool) -> tuple[SgRule, ...]:
    return tuple(SgRule(sg_id, egress, Match(ANY_PROTO), peer, ORIGIN) for peer in _ANYWHERE)


def _open_entries(egress: bool) -> tuple[NaclEntry, ...]:
    return (NaclEntry(100, egress, True, Match(ANY_PROTO), 4, 0, V4_MAX, "0.0.0.0/0", ORIGIN),
            NaclEntry(101, egress, True, Match(ANY_PROTO), 6, 0, V6_MAX, "::/0", ORIGIN))


class Parts:
    """Every part of one network, and the network with a set of them opened or closed."""

    def __init__(self, net: Network):
        self.net = net
        # group id -> the groups holding a rule that references it
        self.referenced_by: dict[str, set[str]] = defaultdict(set)
        for sg in net.sgs.values():
            for rule in (*sg.ingress, *sg.egress):
                if rule.peer.kind == "sg" and rule.peer.ref in net.sgs:
                    self.referenced_by[rule.peer.ref].add(sg.id)
        out = [Part(k, g) for g in net.sgs for k in ("sg-ingress", "sg-egress")]
        out += [Part("nacl", n) for n in net.nacls]
        if net.routing is not None:
            out += [Part("route-table", t) for t in net.routing.tables]
        out += [Part("membership", g) for g in self.referenced_by]
        self.all: tuple[Part, ...] = tuple(sorted(out, key=order_key))
        # group id -> the known groups its rules reference (a membership part rewrites those rules)
        self.refs = {sg.id: frozenset(r.peer.ref for r in (*sg.ingress, *sg.egress)
                                       if r.peer.kind == "sg" and r.peer.ref in net.sgs) for sg in net.sgs.values()}
        # one rewritten group per (group, ingress whole, egress whole, memberships it references, mode):
        # explanations ask for many networks that differ in a few parts only
        self._sg_cache: dict[tuple[str, bool, bool, frozenset[str], bool], SecurityGroup] = {}

    def network(self, parts: Iterable[Part], mode: str) -> Network:
        """The network with every part in `parts` opened (mode OPEN) or closed (mode CLOSE)."""
        return self._build(set(parts), mode, None, None)

    def network_plus(self, base: frozenset[Part], base_net: Network, part: Part, mode: str) -> Network:
        """network(base | {part}, mode), given base_net = network(base, mode): only what `part` touches
        is rewritten (the explainer asks for one such network per candidate part)."""
        return self._build(set(base) | {part}, mode, base_net, part)

    def _build(self, chosen: set[Part], mode: str, base_net: Network | None, part: Part | None) -> Network:
        net = self.net
        by_kind: dict[str, set[str]] = defaultdict(set)
        for p in chosen:
            by_kind[p.kind].add(p.id)
        opening = mode == OPEN
        members = by_kind["membership"]
        if part is None:
            touched = set(by_kind["sg-ingress"]) | by_kind["sg-egress"]
            for g in members:
                touched |= self.referenced_by.get(g, set())
        elif part.kind in ("sg-ingress", "sg-egress"):
            touched = {part.id}
        elif part.kind == "membership":
            touched = set(self.referenced_by.get(part.id, set()))
        else:
            touched = set()
        sgs = net.sgs if base_net is None else base_net.sgs
        if touched:
            sgs = dict(sgs)
            for gid in touched:
                key = (gid, gid in by_kind["sg-ingress"], gid in by_kind["sg-egress"], self.refs[gid] & members,
                       opening)
                got = self._sg_cache.get(key)
                if got is None:
                    sg = net.sgs[gid]
                    got = self._sg_cache[key] = dataclasses.replace(
                        sg, ingress=self._rules(sg, False, key[1], key[3], opening),
                        egress=self._rules(sg, True, key[2], key[3], opening))
                sgs[gid] = got
        nacls = net.nacls if base_net is None else base_net.nacls
        moved = by_kind["nacl"] if part is None else {part.id} if part.kind == "nacl" else set()
        if moved:
            nacls = dict(nacls)
            for nid in moved:
                nacls[nid] = _nacl(net.nacls[nid], opening)
        routing = net.routing
        if routing is not None and by_kind["route-table"]:
            tables = frozenset(by_kind["route-table"])
            routing = (dataclasses.replace(routing, open_tables=routing.open_tables | tables) if opening
                       else dataclasses.replace(routing, closed_tables=routing.closed_tables | tables))
        return dataclasses.replace(net, sgs=sgs, nacls=nacls, routing=routing)

    @staticmethod
    def _rules(sg: SecurityGroup, egress: bool, whole: bool, members: frozenset[str], opening: bool
               ) -> tuple[SgRule, ...]:
        if whole:
            return _open_rules(sg.id, egress) if opening else ()
        out: list[SgRule] = []
        for rule in sg.egress if egress else sg.ingress:
            if rule.peer.kind == "sg" and rule.peer.ref in members:
                if opening:  # the reference matches every endpoint
                    out += [dataclasses.replace(rule, peer=peer, origin=ORIGIN) for peer in _ANYWHERE]
                # closing: the reference matches nothing, so the rule admits nothing
            else:
                out.append(rule)
        return tuple(out)


def _nacl(nacl: Nacl, opening: bool) -> Nacl:
    if opening:
        return dataclasses.replace(nacl, ingress=_open_entries(False), egress=_open_entries(True))
    return dataclasses.replace(nacl, ingress=(), egress=())  # no entry matches: every packet is denied


def order_key(p: Part) -> tuple[int, str]:
    return KINDS.index(p.kind), p.id
