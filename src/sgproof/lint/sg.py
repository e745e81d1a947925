"""Security group rules: redundant rules, unused groups, references to empty or unknown groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import z3

from ..model import Network, SecurityGroup, SgRule
from ..model.addr import family_max
from ..semantics.evaluate import peer_blocks
from . import boxes
from .model import Finding
from .nacl import _check, _Packets


def _members(net: Network) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(net.enis):
        for g in e.groups:
            out[g].append(i)
    return out


def _rule_ev(r: SgRule) -> dict[str, Any]:
    out: dict[str, Any] = {"group": r.sg_id, "direction": "egress" if r.egress else "ingress", "rule": r.text(),
                           "place": r.origin}
    if r.description:
        out["description"] = r.description
    return out


def _place(sg: SecurityGroup, r: SgRule | None = None) -> tuple[str, str | None]:
    tf = (r.tf_address if r else None) or sg.tf_address
    if tf:
        return tf, tf
    return (r.origin if r else _sg_place(sg)), None


def _sg_place(sg: SecurityGroup) -> str:
    return f"SecurityGroups[GroupId={sg.id}]"


def _in_blocks(pk: _Packets, blocks: list[tuple[int, int, int]]) -> Any:
    parts = [z3.And(pk.a >= lo, pk.a <= hi) for f, lo, hi in blocks if f == pk.family]
    return z3.Or(parts) if parts else z3.BoolVal(False, pk.z)


def redundant(net: Network, solver: bool = False) -> Iterator[Finding]:
    """An SG rule whose every flow other rules of the same group (and direction) already admit.

    Coverage is taken only where it is exact for every endpoint at an address: address rules cover
    address rules and the member addresses of a referenced group; a group reference covers the members
    of the group it names when they carry it. Nothing else is taken as covering (no finding is a guess).
    """
    members = _members(net)
    for sg in sorted(net.sgs.values(), key=lambda g: g.id):
        for egress in (False, True):
            rules = list(sg.egress if egress else sg.ingress)
            for k, r in enumerate(rules):
                others = [o for j, o in enumerate(rules) if j != k and not (o.content() == r.content() and j > k)]
                covering = _covering(net, r, others, members, solver)
                if covering is None:
                    continue
                place, tf = _place(sg, r)
                word = "egress" if egress else "ingress"
                names = "; ".join(o.text() for o in covering)
                yield Finding("sg-redundant-rule", "low", sg.id, place,
                              f"{sg.id} ({sg.name}) {word} rule {r.text()} admits nothing the group's other "
                              f"rules do not already admit ({names})", tuple(_rule_ev(o) for o in covering), tf)


def _may_overlap(net: Network, r: SgRule, o: SgRule) -> bool:
    """A cheap necessary condition for o to admit some flow of r: their protocols and ports meet, and an
    address rule's blocks meet r's (group references are left to the solver)."""
    a, b = r.match, o.match
    if a.proto != -1 and b.proto != -1 and a.proto != b.proto:
        return False
    both_ported = a.proto in (6, 17) or b.proto in (6, 17)
    if both_ported and (a.hi < b.lo or b.hi < a.lo):
        return False
    if r.peer.kind != "sg" and o.peer.kind != "sg":
        return any(f1 == f2 and lo1 <= hi2 and lo2 <= hi1 for f1, lo1, hi1 in peer_blocks(net, r.peer)
                   for f2, lo2, hi2 in peer_blocks(net, o.peer))
    return True


def _covering(net: Network, r: SgRule, others: list[SgRule], members: dict[str, list[int]], solver: bool = False
              ) -> list[SgRule] | None:
    """The other rules that together cover r, or None when some flow of r is admitted by r alone."""
    others = [o for o in others if _may_overlap(net, r, o)]
    if not others:
        return None
    if r.peer.kind == "sg":
        if r.peer.ref in net.unknown_groups:
            return None  # taken to match every external address: nothing else is known to cover that
        mem = members.get(r.peer.ref, [])
        if not mem:
            return None  # an empty reference is sg-reference-empty's finding
        by_groups: dict[tuple[str, ...], list[tuple[int, int, int]]] = defaultdict(list)
        for i in mem:
            e = net.enis[i]
            by_groups[tuple(sorted(e.groups))].extend(e.private)
        cases: list[tuple[set[str] | None, list[tuple[int, int, int]]]] = [
            (set(gs), blocks) for gs, blocks in sorted(by_groups.items())]
    else:
        cases = [(None, peer_blocks(net, r.peer))]
    if solver:
        return _covering_z3(net, r, others, cases)
    used: list[SgRule] = []
    for fam in (4, 6):
        for groups, blocks in cases:
            mine = [(lo, hi) for f, lo, hi in blocks if f == fam]
            if not mine:
                continue
            region = boxes.intersect_all(boxes.space(fam), [boxes.match_box(r.match, lo, hi) for lo, hi in mine])
            cover: list[tuple[SgRule, list[boxes.Box]]] = []
            for o in others:
                if o.peer.kind == "sg":
                    applies = groups is not None and o.peer.ref in groups and o.peer.ref not in net.unknown_groups
                    ivs = [(0, family_max(fam))] if applies else []
                else:
                    ivs = [(lo, hi) for f, lo, hi in peer_blocks(net, o.peer) if f == fam]
                cover.append((o, [boxes.match_box(o.match, lo, hi) for lo, hi in ivs]))
            if boxes.minus_all(region, (b for _, bs in cover for b in bs)):
                return None
            for o, bs in cover:
                if o not in used and any(boxes.touches(region, b) for b in bs):
                    used.append(o)
    return used


def _covering_z3(net: Network, r: SgRule, others: list[SgRule],
                 cases: list[tuple[set[str] | None, list[tuple[int, int, int]]]]) -> list[SgRule] | None:
    """The same question asked of z3 (the reference the box arithmetic is tested against)."""
    used: list[SgRule] = []
    for fam in (4, 6):
        pk = _Packets(fam)
        for groups, blocks in cases:
            if not any(f == fam for f, _, _ in blocks):
                continue
            cover = []
            for o in others:
                if o.peer.kind == "sg":
                    applies = groups is not None and o.peer.ref in groups and o.peer.ref not in net.unknown_groups
                    cond = z3.BoolVal(applies, pk.z)
                else:
                    cond = _in_blocks(pk, peer_blocks(net, o.peer))
                cover.append((o, z3.And(cond, pk.match(o.match, pk.p, pk.x))))
            s = pk.solver()
            s.add(_in_blocks(pk, blocks), pk.match(r.match, pk.p, pk.x), *[z3.Not(c) for _, c in cover])
            if _check(s, f"whether {r.sg_id} rule {r.text()} is covered"):
                return None
            for o, c in cover:
                t = pk.solver()
                t.add(_in_blocks(pk, blocks), pk.match(r.match, pk.p, pk.x), c)
                if o not in used and _check(t, "an overlap"):
                    used.append(o)
    return used


def unused(net: Network) -> Iterator[Finding]:
    members = _members(net)
    referenced = {r.peer.ref for sg in net.sgs.values() for r in (*sg.ingress, *sg.egress) if r.peer.kind == "sg"}
    for sg in sorted(net.sgs.values(), key=lambda g: g.id):
        if sg.id in members or sg.id in referenced or sg.name == "default":
            continue  # AWS does not let anyone delete a VPC's default group
        place, tf = _place(sg)
        yield Finding("sg-unused", "low", sg.id, place,
                      f"{sg.id} ({sg.name}) is attached to no network interface and no rule references it: "
                      "delete it", (), tf)


def references(net: Network) -> Iterator[Finding]:
    members = _members(net)
    for sg in sorted(net.sgs.values(), key=lambda g: g.id):
        for r in (*sg.ingress, *sg.egress):
            if r.peer.kind != "sg":
                continue
            place, tf = _place(sg, r)
            word = "egress" if r.egress else "ingress"
            if r.peer.ref in net.unknown_groups:
                yield Finding("sg-reference-unknown", "high", sg.id, place,
                              f"{sg.id} ({sg.name}) {word} rule {r.text()} names {r.peer.ref}, a group the snapshot "
                              "does not hold (another account, or deleted); proofs take it to match every "
                              "external address", (_rule_ev(r),), tf)
            elif not members.get(r.peer.ref):
                other = net.sgs[r.peer.ref]
                yield Finding("sg-reference-empty", "medium", sg.id, place,
                              f"{sg.id} ({sg.name}) {word} rule {r.text()} names {r.peer.ref} ({other.name}), which "
                              "no network interface carries: it matches nothing", (_rule_ev(r),), tf)


