"""Differential reachability: every connection NEW allows that OLD does not, and the reverse.

Both networks are encoded over one atom partition (the union of their cuts and the spec's CIDRs).
ENIs are matched by id; a joint class is a set of ENIs that both networks treat alike (alike in OLD
and alike in NEW; an ENI missing from a network is "absent" there). One solver per direction asks for
a connection (source joint class, destination joint class, atoms, protocol, service value) that the
allowing network admits for some address pair and client port while the other network blocks it for
every address pair of that family and every client port representative. Groups are enumerated like
`verify --all`; each found group is expanded exactly with the plain evaluator and blocked before the
next check, so an unsat answer proves that no other connection changed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import z3

from ..errors import InternalError
from ..model import ANY_PROTO, ICMP, ICMPS, ICMPV6, PORTED, SERVICE_MAX, TCP, UDP, Network
from ..model.addr import Interval, format_interval, intersect, normalize
from ..report.diff_model import ChangeGroup, ClassInfo
from ..report.model import Counterexample, endpoint_info, step_json
from ..semantics import Endpoint, Flow, Step, evaluate
from ..semantics.evaluate import ICMP_REPLY, nacl_decision, port_representatives
from ..semantics.routing import NAT_PORTS
from ..sources import no_cycle_collection
from ..spec import ServiceSet, Spec
from ..spec.parse import Selector
from ..spec.select import Selection
from ..spec.services import full_range
from .diff_slice import EVERY, End, Rect, change_slice, intersect_services
from .prepare import Atoms, build_atoms, build_classes, ranges
from .query import Encoder, Side, SideClass, Terms

NAMED = (ICMP, TCP, UDP, ICMPV6)
# gates whose decision does not depend on the client port (the request's SGs and NACLs, routing)
SPORT_FREE = frozenset({"sg-egress", "sg-ingress", "nacl-out", "nacl-in", "nacl-tgw-in", "nacl-tgw-out",
                        "nacl-nat-in", "nacl-nat-out", "nat", "route", "route-reply"})
NAMES = ("OLD", "NEW")


def union_atoms(nets: Iterable[Network], spec_cidrs: list[str]) -> Atoms:
    """One atom partition that draws every boundary of every network given."""
    cuts4: set[int] = set()
    cuts6: set[int] = set()
    for net in nets:
        a = build_atoms(net, spec_cidrs)
        cuts4.update(a.starts4)
        cuts6.update(a.starts6)
    return Atoms(cuts4, cuts6)


@dataclass(slots=True)
class _Net:
    """One of the two networks, prepared over the shared atoms."""

    name: str
    net: Network
    enc: Encoder
    index: dict[str, int]  # ENI id -> index into net.enis
    selection: Selection
    ext_runs: list[tuple[int, int]]  # atoms that are external endpoints here
    relevant: set[str]
    reps: list[int]
    nat_reps: list[int]
    _addr_cache: dict[tuple[int, int, bool], list[int]] = field(default_factory=dict)

    def addresses(self, eni: int, family: int, with_public: bool, atoms: Atoms) -> list[int]:
        """One address per atom of the ENI in this family (the atom stands for all its addresses)."""
        key = (eni, family, with_public)
        got = self._addr_cache.get(key)
        if got is None:
            seen: dict[int, int] = {}
            e = self.net.enis[eni]
            for f, lo, hi in e.private:
                if f != family:
                    continue
                a, b = atoms.span(f, lo, hi) if lo != hi else (atoms.index(f, lo),) * 2
                for atom in range(a, b + 1):
                    seen.setdefault(atom, max(lo, atoms.bounds(atom)[1]))
            if with_public and family == 4:
                for p in e.public:
                    seen.setdefault(atoms.index(4, p), p)
            got = sorted(seen.values())
            self._addr_cache[key] = got
        return got


@dataclass(frozen=True, slots=True)
class _Joint:
    """A joint class: its class index in OLD and in NEW (None where absent) and its ENI ids; in a query
    side, the classes merged into it (`span`: every ENI id of them, selected or not)."""

    classes: tuple[int | None, int | None]
    ids: tuple[str, ...]
    span: frozenset[str] = frozenset()
    keys: tuple[tuple[int | None, int | None], ...] = ()  # the side's joint classes merged for one query

    @property
    def members(self) -> tuple[tuple[int | None, int | None], ...]:
        return self.keys or (self.classes,)


JointKey = tuple[int | None, int | None]  # a joint class: its class index in OLD and in NEW


@dataclass(frozen=True, slots=True)
class _Cover:
    """What a found group covers, by joint class keys: blocked in every later query of its direction."""

    change: str
    srcs: frozenset[JointKey]
    dsts: frozenset[JointKey]
    s_ext: tuple[Interval, ...]  # the external atoms it holds on either side (every one the query had)
    d_ext: tuple[Interval, ...]
    family: int
    proto: int


def _named_groups(a: Side, b: Side, relevant: set[str]) -> set[str]:
    """The groups some rule of the two sides names (the only memberships a query needs as terms)."""
    out: set[str] = set()
    for side in (a, b):
        for c in side.classes:
            for _m, peer in c.beh or ():
                if peer.kind == "sg" and peer.ref in relevant:
                    out.add(peer.ref)
    return out


def _holds(end: End, ep: tuple[str, Any], family: int) -> bool:
    """Whether a slice's end holds an endpoint of _changed (("eni", id) or ("ext", address))."""
    kind, ref = ep
    if kind == "eni":
        return end.enis is None or ref in end.enis
    return end.ext and (end.blocks is None or any(f == family and lo <= ref <= hi for f, lo, hi in end.blocks))


def _same_proto(p: Any, proto: int) -> Any:
    """The protocol group of proto: itself when named, else every protocol that is not named."""
    return p == proto if proto in NAMED else z3.And([p != q for q in NAMED])


@dataclass(slots=True)
class _SideQ:
    """One side of a direction's query: its joint classes (members selected for this side) and external atoms."""

    joints: list[_Joint]
    ext_runs: list[tuple[int, int]]

    @property
    def n(self) -> int:
        return len(self.joints)


class Differ:
    """Prepared once for a pair of networks and a scope; lists added and removed change groups."""

    def __init__(self, old: Network, new: Network, spec: Spec, src: Selector | None, dst: Selector | None,
                 services: ServiceSet, spec_cidrs: list[str], timeout_ms: int = 120_000, sliced: bool = True):
        self.spec = spec
        self.services = services
        self.ephemeral = spec.ephemeral
        self.timeout_ms = timeout_ms
        self.atoms = union_atoms((old, new), spec_cidrs)
        self.nets = (self._prepare("OLD", old), self._prepare("NEW", new))
        self.joints = self._joint_classes()
        self.sliced = sliced
        self._rects: list[Rect] | None = None
        self.queries = 0  # solver queries asked (one per slice and direction)
        self._covers: list[_Cover] = []  # what the groups found so far hold
        self._values_cache: dict[int, list[tuple[int, int]]] = {}
        self._z: Any = None
        self._sides: dict[int, _SideQ] = {}
        self.src_sel, self.dst_sel = src, dst
        self.group_names = {name: (self.nets[0].selection.evaluate(sel), self.nets[1].selection.evaluate(sel))
                            for name, sel in spec.groups.items()}
        self.undecided: str | None = None
        self._signatures: dict[int, tuple[int, ...]] | None = None
        from ..model.addr import parse_cidr

        self._spec_blocks = [parse_cidr(c) for c in spec_cidrs]

    # ---- preparation ----------------------------------------------------------------------------
    def _prepare(self, name: str, net: Network) -> _Net:
        classes, class_of = build_classes(net, self.atoms)
        reps = port_representatives(net, *self.ephemeral)
        nat_reps = port_representatives(net, *NAT_PORTS)
        enc = Encoder(net, self.atoms, classes, class_of, self.ephemeral, reps)
        ext_runs = list(normalize(self.atoms.span(f, lo, hi) for f in (4, 6) for lo, hi in net.external.get(f, ())))
        relevant = {r.peer.ref for sg in net.sgs.values() for r in (*sg.ingress, *sg.egress)
                    if r.peer.kind == "sg" and r.peer.ref not in net.unknown_groups}
        return _Net(name, net, enc, {e.id: i for i, e in enumerate(net.enis)}, Selection(net, self.spec), ext_runs,
                    relevant, reps, nat_reps)

    def _class_in(self, x: _Net, eni_id: str) -> int | None:
        i = x.index.get(eni_id)
        if i is None or not x.net.enis[i].hosts:  # contract 4.6: no flow starts or ends at it
            return None
        c = x.enc.class_of[i]
        return c if x.enc.classes[c].private_atoms else None  # an ENI without an address hosts nothing

    def _joint_classes(self) -> list[_Joint]:
        ids = sorted(set(self.nets[0].index) | set(self.nets[1].index))
        by_key: dict[tuple[int | None, int | None], list[str]] = defaultdict(list)
        for eid in ids:
            key = (self._class_in(self.nets[0], eid), self._class_in(self.nets[1], eid))
            if key != (None, None):
                by_key[key].append(eid)
        order = sorted(by_key, key=lambda k: (-1 if k[0] is None else k[0], -1 if k[1] is None else k[1]))
        return [_Joint(k, tuple(by_key[k])) for k in order]

    def _likeness(self, j: _Joint) -> tuple[Any, ...]:
        """What every gate of both networks can tell about a joint class: per network its subnet, groups,
        and the address blocks (signatures) of its atoms, with whether each private atom maps to a public
        IPv4. A class whose address is unknown until apply keeps its own atoms."""
        if self._signatures is None:
            self._signatures = self._atom_signatures()
        sig = self._signatures
        out: list[Any] = []
        for x, c in zip(self.nets, j.classes, strict=True):
            if c is None:
                out.append(None)
                continue
            cls = x.enc.classes[c]
            if cls.unknown_atoms:
                out.append((c,))
                continue
            mapped = set(cls.mapped_atoms)
            out.append((cls.subnet_id, cls.groups,
                        frozenset((sig.get(a, ()), a in mapped) for a in cls.private_atoms),
                        frozenset(sig.get(a, ()) for a in cls.public_atoms)))
        return tuple(out)

    def _place(self, j: _Joint) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Where a joint class sits in each network: subnet and groups ("" where absent)."""
        out = []
        for x, c in zip(self.nets, j.classes, strict=True):
            cls = x.enc.classes[c] if c is not None else None
            out.append((cls.subnet_id, cls.groups) if cls is not None else ("", ()))
        return tuple(out)

    def _side(self, sel: Selector | None) -> _SideQ:
        """The joint classes with members this selector picks (in either network) and its external atoms."""
        picked: set[str] = set()
        ext4: list[Interval] = []
        ext6: list[Interval] = []
        for x in self.nets:
            es = x.selection.evaluate(sel)
            picked.update(x.net.enis[i].id for i in es.enis)
            ext4 += es.ext[0]
            ext6 += es.ext[1]
        merged: dict[tuple[Any, ...], list[_Joint]] = defaultdict(list)
        for j in self.joints:
            members = tuple(i for i in j.ids if i in picked)
            if members:
                merged[self._likeness(j)].append(_Joint(j.classes, members, frozenset(j.ids)))
        # joint classes that no predicate of either network tells apart are one class of the query: the
        # first stands for all (its atoms for theirs), and a group found for it holds every ENI of them
        joints = [_Joint(js[0].classes, tuple(i for j in js for i in j.ids), frozenset().union(*(j.span for j in js)))
                  for js in merged.values()]
        joints.sort(key=self._place)  # classes alike in subnet and groups get adjacent indices: short runs
        runs = list(normalize([self.atoms.span(4, lo, hi) for lo, hi in normalize(ext4)]
                              + [self.atoms.span(6, lo, hi) for lo, hi in normalize(ext6)]))
        return _SideQ(joints, runs)

    def _side_classes(self, x: _Net, k: int, side: _SideQ, egress: bool, with_public: bool,
                      services: ServiceSet) -> Side:
        """The encoder's view of a side in network x: one class per joint class (a stand-in where absent)."""
        enc = x.enc
        out: list[SideClass] = []
        filler = next(iter(sorted(x.net.subnets)))
        for j in side.joints:
            c = j.classes[k]
            if c is None:
                out.append(SideClass(filler, (), frozenset(), (0,), ()))
                continue
            cls = enc.classes[c]
            beh = enc.behaviour(cls.groups, egress, services)
            mem = frozenset(x.relevant.intersection(cls.groups))
            mapped = cls.mapped_atoms if enc.routes is not None else ()
            out.append(SideClass(cls.subnet_id, beh, mem, cls.private_atoms,
                                 cls.public_atoms if with_public else (), [], mapped, cls.unknown_atoms))
        return Side(out, side.ext_runs)

    # ---- the query --------------------------------------------------------------------------------
    def changes(self, change: str, limit: int) -> tuple[list[ChangeGroup], bool]:
        """Every group of one direction ("added": NEW allows, OLD does not), up to `limit` groups;
        returns the groups and whether the list is complete (the last check of every slice was unsat).

        Sliced, only the rectangles of change_slice are asked (each over its own sides and services);
        a connection outside all of them is the same in both networks (docs/diff.md)."""
        if not self._sides:
            self._sides = {0: self._side(self.src_sel), 1: self._side(self.dst_sel)}
        side_s, side_d = self._sides[0], self._sides[1]
        found: list[ChangeGroup] = []
        covered = self._covers
        for rect in self.rects():
            rs, rd = self._restrict(side_s, rect.src), self._restrict(side_d, rect.dst)
            svc = intersect_services(self.services, rect.services)
            if svc.is_empty():
                continue
            self.queries += 1
            if not self._query(change, rs, rd, svc, limit, found, covered):
                return found, False
        return found, True

    def rects(self) -> list[Rect]:
        """The slices to ask: every pair, or the rectangles that hold every connection that may differ."""
        if self._rects is None:
            if not self.sliced:
                self._rects = [Rect(EVERY, EVERY, None, "unsliced")]
            else:
                self._rects = change_slice(self.nets[0].net, self.nets[1].net)
        return self._rects

    def _restrict(self, side: _SideQ, end: End) -> _SideQ:
        """The side's joint classes with an ENI of the rectangle's end (every member of a joint class
        behaves alike in both networks, so one member in the end stands for all), and its external atoms
        when the end has them."""
        joints = side.joints if end.enis is None else [
            j for j in side.joints if not end.enis.isdisjoint(j.span)]
        runs = side.ext_runs if end.ext else []
        if runs and end.blocks is not None:
            spans = normalize(self.atoms.span(f, lo, hi) for f, lo, hi in end.blocks)
            runs = list(intersect(tuple(normalize(runs)), tuple(spans)))
        return _SideQ(joints, runs)

    def _query(self, change: str, side_s: _SideQ, side_d: _SideQ, svc: ServiceSet, limit: int,
               found: list[ChangeGroup], covered: list[_Cover]) -> bool:
        """One direction over one slice; appends the groups found and what they cover. Returns whether
        the slice is complete (unsat at the end)."""
        pk, nk = (1, 0) if change == "added" else (0, 1)
        pos, neg = self.nets[pk], self.nets[nk]
        if not pos.net.enis or not (side_s.joints or side_d.joints):
            return True
        if not (side_s.joints or side_s.ext_runs) or not (side_d.joints or side_d.ext_runs):
            return True
        side_s, side_d = self._merged(change, side_s, side_d, svc, True), self._merged(change, side_d, side_s, svc, False)
        Z = self._context()
        solver = z3.Solver(ctx=Z)
        solver.set("timeout", self.timeout_ms)
        p, x, sp = (z3.Int(n, Z) for n in ("p", "x", "sport"))
        n4 = self.atoms.n4
        cs = self._side_classes(pos, pk, side_s, True, False, svc)
        cd = self._side_classes(pos, pk, side_d, False, bool(side_s.ext_runs), svc)
        relevant = _named_groups(cs, cd, pos.relevant)
        ps, s_cls = pos.enc.side_terms("P_src", cs, relevant, solver, pos.enc.F())
        pd, d_cls = pos.enc.side_terms("P_dst", cd, relevant, solver, ps.ext)
        solver.add(z3.Not(z3.And(ps.ext, pd.ext)))
        fam4 = ps.atom < n4
        solver.add(fam4 == (pd.atom < n4))
        single_d = {j.ids[0]: k for k, j in enumerate(side_d.joints) if len(j.ids) == 1}
        for k, j in enumerate(side_s.joints):
            if len(j.ids) == 1 and j.ids[0] in single_d:
                solver.add(z3.Not(z3.And(s_cls == k, d_cls == single_d[j.ids[0]])))
        solver.add(self._present(pos, pk, side_s, s_cls, ps), self._present(pos, pk, side_d, d_cls, pd))
        solver.add(*pos.enc.service_constraints(p, x, sp, svc))
        solver.add(pos.enc.allowed(ps, pd, p, x, sp, svc))
        if neg.net.enis:
            self._blocked_everywhere(solver, neg, nk, side_s, side_d, s_cls, d_cls, ps, pd, p, x, fam4, svc)

        def block(cover: _Cover) -> None:
            ss = [k for k, j in enumerate(side_s.joints) if j.classes in cover.srcs]
            ds = [k for k, j in enumerate(side_d.joints) if j.classes in cover.dsts]  # a merged class: all or none
            s_in = [pos.enc.in_runs(s_cls, ranges(ss))] if ss else []
            d_in = [pos.enc.in_runs(d_cls, ranges(ds))] if ds else []
            if cover.s_ext and side_s.ext_runs and intersect(tuple(side_s.ext_runs), cover.s_ext):
                s_in.append(z3.And(s_cls == side_s.n, pos.enc.in_runs(ps.atom, cover.s_ext)))
            if cover.d_ext and side_d.ext_runs and intersect(tuple(side_d.ext_runs), cover.d_ext):
                d_in.append(z3.And(d_cls == side_d.n, pos.enc.in_runs(pd.atom, cover.d_ext)))
            if s_in and d_in:
                solver.add(z3.Not(z3.And(z3.Or(s_in), z3.Or(d_in), fam4 == (cover.family == 4),
                                         _same_proto(p, cover.proto))))

        for cover in covered:
            if cover.change == change:
                block(cover)
        while True:
            answer = solver.check()
            if answer == z3.unsat:
                return True
            if answer != z3.sat:
                self.undecided = f"the solver could not decide ({solver.reason_unknown()}); the list is not complete"
                return False
            if len(found) >= limit:
                return False
            m = solver.model()

            def val(t: Any, m: Any = m) -> int:
                return int(m.eval(t, model_completion=True).as_long())

            ks, kd, proto, value = val(s_cls), val(d_cls), val(p), val(x)
            family = 4 if val(ps.atom) < n4 else 6
            groups, srcs, dsts = self._groups(change, pos, neg, side_s, side_d, ks, kd, family, proto, value,
                                              val(ps.atom), val(pd.atom))
            found.extend(groups)
            cover = _Cover(change, frozenset(m for k in srcs if k < side_s.n for m in side_s.joints[k].members),
                           frozenset(m for k in dsts if k < side_d.n for m in side_d.joints[k].members),
                           tuple(side_s.ext_runs) if any(k >= side_s.n for k in srcs) else (),
                           tuple(side_d.ext_runs) if any(k >= side_d.n for k in dsts) else (), family, proto)
            covered.append(cover)
            block(cover)

    def _merged(self, change: str, side: _SideQ, other: _SideQ, svc: ServiceSet, is_src: bool) -> _SideQ:
        """The side with the joint classes that this query cannot tell apart made one: alike per network in
        subnet, rules sliced to the query's services, the memberships some rule of the query names, and the
        address blocks of their atoms. Merged are only classes whose every slice (on this side) has services
        inside the query's (so outside them nothing of theirs can differ, and a group found for the merged
        class holds every ENI of it exactly) and that earlier groups hold alike."""
        if len(side.joints) < 2:
            return side
        wide: set[str] = set()
        for r in self.rects():
            end = r.src if is_src else r.dst
            if r.services is None or not r.services.minus(svc).is_empty():
                if end.enis is None:
                    return side
                wide |= end.enis
        named: list[set[str]] = []
        for k, x in enumerate(self.nets):
            got: set[str] = set()
            for sd, egress in ((side, is_src), (other, not is_src)):
                for j in sd.joints:
                    c = j.classes[k]
                    if c is not None:
                        for _m, peer in x.enc.behaviour(x.enc.classes[c].groups, egress, svc) or ():
                            if peer.kind == "sg":
                                got.add(peer.ref)
            named.append(got)
        covers = [c for c in self._covers if c.change == change]
        merged: dict[tuple[Any, ...], list[_Joint]] = defaultdict(list)
        for j in side.joints:
            if not j.span.isdisjoint(wide):
                merged[("own", j.classes)].append(j)
                continue
            held = frozenset(i for i, c in enumerate(covers) if j.classes in (c.srcs if is_src else c.dsts))
            key: list[Any] = [held]
            for k, (x, c) in enumerate(zip(self.nets, j.classes, strict=True)):
                cls = x.enc.classes[c] if c is not None else None
                if cls is None or cls.unknown_atoms:
                    key.append(c)
                    continue
                key.append((cls.subnet_id, x.enc.behaviour(cls.groups, is_src, svc),
                            frozenset(named[k].intersection(cls.groups)), self._atom_part(cls)))
            merged[tuple(key)].append(j)
        if len(merged) == len(side.joints):
            return side
        joints = [js[0] if len(js) == 1 else
                  _Joint(js[0].classes, tuple(i for j in js for i in j.ids), frozenset().union(*(j.span for j in js)),
                         tuple(m for j in js for m in j.members))
                  for js in merged.values()]
        joints.sort(key=self._place)
        return _SideQ(joints, side.ext_runs)

    def _atom_part(self, cls: Any) -> tuple[Any, ...]:
        """What the address predicates of both networks can tell about a class's atoms."""
        if self._signatures is None:
            self._signatures = self._atom_signatures()
        sig = self._signatures
        mapped = set(cls.mapped_atoms)
        return (frozenset((sig.get(a, ()), a in mapped) for a in cls.private_atoms),
                frozenset(sig.get(a, ()) for a in cls.public_atoms))

    def _context(self) -> Any:
        """One z3 context for both encoders and every query of this pair (the two networks meet in one
        solver; formulas built once, such as NACL chains, serve every slice)."""
        if self._z is None:
            self.nets[1].enc.fresh()
            self._z = self.nets[0].enc.fresh()
            self.nets[1].enc.z = self._z
        return self._z

    def _present(self, x: _Net, k: int, side: _SideQ, cls: Any, t: Terms) -> Any:
        """The endpoint exists in network x: its joint class has an ENI class there, or its atom is external there."""
        here = [i for i, j in enumerate(side.joints) if j.classes[k] is not None]
        # the side's atom is one of its external runs already: only those that are external in x count
        ext_here = list(intersect(tuple(side.ext_runs), tuple(x.ext_runs))) if side.ext_runs else []
        return z3.Or(z3.And(z3.Not(t.ext), x.enc.in_runs(cls, ranges(here))),
                     z3.And(t.ext, x.enc.in_runs(t.atom, ext_here)))

    def _blocked_everywhere(self, solver: z3.Solver, neg: _Net, nk: int, side_s: _SideQ, side_d: _SideQ,
                            s_cls: Any, d_cls: Any, ps: Terms, pd: Terms, p: Any, x: Any, fam4: Any,
                            services: ServiceSet) -> None:
        """In the other network, every address pair of the family and every client port fails (or an endpoint
        is missing there)."""
        enc = neg.enc
        n4 = self.atoms.n4
        cs = self._side_classes(neg, nk, side_s, True, False, services)
        cd = self._side_classes(neg, nk, side_d, False, bool(side_s.ext_runs), services)
        relevant = _named_groups(cs, cd, neg.relevant)
        s_slots, s_pubs, ns_cls = enc.slot_terms("N_src", cs, relevant, solver, False)
        d_slots, d_pubs, nd_cls = enc.slot_terms("N_dst", cd, relevant, solver, bool(side_s.ext_runs))
        solver.add(ns_cls == s_cls, nd_cls == d_cls)
        solver.add(z3.Implies(ps.ext, s_slots[0].atom == ps.atom), z3.Implies(pd.ext, d_slots[0].atom == pd.atom))
        ported = z3.Or(p == TCP, p == UDP)
        sports = [z3.If(ported, r, 0) for r in neg.reps or [self.ephemeral[0]]]
        nports = [z3.IntVal(n, enc.z) for n in neg.nat_reps]
        blocked = []
        for st, spub in zip(s_slots, s_pubs, strict=True):
            for dt, dpub in zip(d_slots, d_pubs, strict=True):
                usable = z3.And((st.atom < n4) == fam4, (dt.atom < n4) == fam4, z3.Not(spub),
                                z3.Implies(dpub, ps.ext))
                # an unknown route counts as a route for diff (contract 4.5): "blocked" must not rest on it
                conn = enc.connection(st, dt, p, x, services, sports, nports, unknown_allows=True)
                blocked.append(z3.Implies(usable, z3.Not(conn)))
        here = z3.And(self._present(neg, nk, side_s, s_cls, ps), self._present(neg, nk, side_d, d_cls, pd))
        solver.add(z3.Implies(here, z3.And(blocked)))

    # ---- expanding a found group with the plain evaluator ------------------------------------------
    def _groups(self, change: str, pos: _Net, neg: _Net, side_s: _SideQ, side_d: _SideQ, ks: int, kd: int,
                family: int, proto: int, value: int, atom_s: int, atom_d: int
                ) -> tuple[list[ChangeGroup], list[int], list[int]]:
        """The found group, exact: its services (and, for an external side, its addresses) by evaluation.

        Between two ENI classes, the other classes of one side that change in exactly the same way
        towards the same class join the group (often one rule opens a port to many classes). Returns
        the groups and the source and destination classes they cover."""
        s_ext, d_ext = ks >= side_s.n, kd >= side_d.n
        s_id, d_id = self._pair(side_s, ks, side_d, kd)
        protos, spare = self._protocols(proto)
        witness_atom = atom_s if s_ext else atom_d
        by_addr: dict[ServiceSet, list[int]] = defaultdict(list)
        witness_svc = None
        if not (s_ext or d_ext):
            witness_svc = self._changed(pos, neg, ("eni", s_id), ("eni", d_id), family, protos, spare)
            by_addr[witness_svc] = []
        else:
            for rep, alike in self._ext_classes(side_s.ext_runs if s_ext else side_d.ext_runs, family):
                addr = self._ext_address(rep)
                ends = (("ext", addr), ("eni", d_id)) if s_ext else (("eni", s_id), ("ext", addr))
                svc = self._changed(pos, neg, ends[0], ends[1], family, protos, spare)
                if not svc.is_empty():
                    by_addr[svc].extend(alike)
                if witness_atom in alike:
                    witness_svc = svc
            for atoms in by_addr.values():
                atoms.sort()
        if witness_svc is None or not witness_svc.contains(proto, value):
            raise InternalError(f"diff: the solver found a connection {change} on {proto_text(proto, value)} that "
                                "the plain evaluator does not confirm")
        srcs, dsts = [ks], [kd]
        if not (s_ext or d_ext):
            d_key, s_key = side_d.joints[kd].classes, side_s.joints[ks].classes
            srcs = self._alike(pos, neg, side_s, ks, d_id, True, family, proto, value, protos, spare, witness_svc,
                               lambda j: self._covered(change, j, d_key, family, proto))
            if len(srcs) == 1:
                dsts = self._alike(pos, neg, side_d, kd, s_id, False, family, proto, value, protos, spare,
                                   witness_svc, lambda j: self._covered(change, s_key, j, family, proto))
        out = []
        for svc, atoms in sorted(by_addr.items(), key=lambda kv: kv[1][:1]):
            if svc == witness_svc:
                w_atom, w_proto, w_value = witness_atom, proto, value
            else:
                w_atom = atoms[0]
                w_proto, ivs = svc.by_proto[0]
                w_value = ivs[0][0]
            echo = {ICMP: 8 * 256, ICMPV6: 128 * 256}.get(w_proto)
            if echo is not None and svc.contains(w_proto, echo):
                w_value = echo  # ICMP witnesses are echo requests where the group holds them
            out.append(self._group(change, pos, neg, side_s, side_d, srcs, dsts, s_id, d_id, family, svc, w_proto,
                                   w_value, w_atom, atoms))
        return out, srcs, dsts

    def _alike(self, pos: _Net, neg: _Net, side: _SideQ, k: int, other_id: str | None, is_src: bool, family: int,
               proto: int, value: int, protos: list[int], spare: int | None, svc: ServiceSet,
               covered: Callable[[JointKey], bool]) -> list[int]:
        """Classes of `side` whose changed services towards (or from) other_id are exactly svc (and whose
        pair with it no earlier group holds)."""
        out = [k]
        for k2, j in enumerate(side.joints):
            rep = next((i for i in j.ids if i != other_id), None)
            if k2 == k or rep is None or covered(j.classes):
                continue
            ends: tuple[tuple[str, Any], tuple[str, Any]] = (("eni", rep), ("eni", other_id)) if is_src else (
                ("eni", other_id), ("eni", rep))
            if not self._connects(pos, *ends, family, proto, value) or self._connects(neg, *ends, family, proto,
                                                                                       value):
                continue  # quick test on the witness's service before the whole set
            if self._changed(pos, neg, *ends, family, protos, spare) == svc:
                out.append(k2)
        return out

    def _covered(self, change: str, s_key: JointKey, d_key: JointKey, family: int, proto: int) -> bool:
        """Whether an earlier group of this direction holds the pair of joint classes (ENI classes only)."""
        named = proto in NAMED
        return any(c.change == change and c.family == family and (c.proto == proto if named else c.proto not in NAMED)
                   and s_key in c.srcs and d_key in c.dsts for c in self._covers)

    def _pair(self, side_s: _SideQ, ks: int, side_d: _SideQ, kd: int) -> tuple[str | None, str | None]:
        """Two different ENI ids standing for the chosen classes (None for the external side)."""
        s_ids = side_s.joints[ks].ids if ks < side_s.n else (None,)
        d_ids = side_d.joints[kd].ids if kd < side_d.n else (None,)
        for s in s_ids[:2]:
            for d in d_ids[:2]:
                if s is None or d is None or s != d:
                    return s, d
        raise InternalError("diff: a class pair without two distinct endpoints")

    def _ext_classes(self, runs: list[tuple[int, int]], family: int) -> list[tuple[int, list[int]]]:
        """The external atoms of the runs in one family, grouped by the address blocks of both networks that
        hold them (atoms in no different block behave alike everywhere): (representative, atoms)."""
        n4 = self.atoms.n4
        atoms = [a for lo, hi in runs for a in range(lo, hi + 1) if (a < n4) == (family == 4)]
        if self._signatures is None:
            self._signatures = self._atom_signatures()
        by_sig: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for a in atoms:
            by_sig[self._signatures.get(a, ())].append(a)
        return [(alike[0], alike) for alike in by_sig.values()]

    def _atom_signatures(self) -> dict[int, tuple[int, ...]]:
        """For every external atom and every atom of an ENI, the blocks that contain it: each rule peer,
        prefix list entry, NACL entry, external range, VPC block, routing block (routes, peering blocks,
        mapped private addresses) of either network and spec CIDR. Two atoms in the same blocks are alike
        to every predicate on addresses (a route lookup, too: the same routes contain them). Public IPs
        cut the external space too, but no predicate on external addresses names them."""
        from bisect import bisect_left, bisect_right

        from ..model.addr import parse_cidr
        from .prepare import SPECIAL_RANGES
        from .routes import routing_blocks

        used = {a for x in self.nets for lo, hi in x.ext_runs for a in range(lo, hi + 1)}
        for x in self.nets:
            for cls in x.enc.classes:
                used.update(cls.private_atoms, cls.public_atoms)
        ext = sorted(used)
        blocks: set[tuple[int, int, int]] = set(self._spec_blocks)
        for x in self.nets:
            net = x.net
            for v in net.vpcs.values():
                blocks.update(v.cidrs)
            for sg in net.sgs.values():
                for r in (*sg.ingress, *sg.egress):
                    if r.peer.kind == "cidr":
                        blocks.add((r.peer.family, r.peer.lo, r.peer.hi))
            for pl in net.prefix_lists.values():
                blocks.update(pl.cidrs)
            for nacl in net.nacls.values():
                blocks.update((e.family, e.lo, e.hi) for e in (*nacl.ingress, *nacl.egress))
            for f, ivs in net.external.items():
                blocks.update((f, lo, hi) for lo, hi in ivs)
            blocks.update(routing_blocks(net))
        blocks.update(parse_cidr(c) for c in SPECIAL_RANGES)
        sigs: dict[int, list[int]] = defaultdict(list)
        for n, (f, lo, hi) in enumerate(sorted(blocks)):
            a, b = self.atoms.span(f, lo, hi)
            for atom in ext[bisect_left(ext, a):bisect_right(ext, b)]:
                sigs[atom].append(n)
        return {a: tuple(v) for a, v in sigs.items()}

    def _ext_address(self, atom: int) -> int:
        """An address inside the atom that a person can try: globally routable where the atom has one,
        else its second address (its first reads like a network address). Every address of an atom
        behaves alike in both networks."""
        f, lo, hi = self.atoms.bounds(atom)
        start = lo if lo == hi else lo + 1
        cand = start
        for rlo, rhi in _RESERVED[f]:
            if rlo <= cand <= rhi:
                cand = rhi + 2  # past the range and past the next network address
        return cand if cand <= hi else start

    def _protocols(self, proto: int) -> tuple[list[int], int | None]:
        """The protocol numbers of proto's group that some rule names, and one stand-in for all the
        others (every unnamed protocol that no rule mentions behaves like every other one)."""
        if proto in NAMED:
            return [proto], None
        mentioned = set()
        for x in self.nets:
            for m in _matches(x.net):
                if m.proto != ANY_PROTO and m.proto not in NAMED:
                    mentioned.add(m.proto)
        inside = {q for q, _ in self.services.by_proto if q not in NAMED}
        spare = next((q for q in sorted(inside) if q not in mentioned), None)
        return sorted(mentioned & inside), spare

    def _values(self, proto: int) -> list[tuple[int, int]]:
        """Segments of the service value on which every rule and entry of both networks is constant."""
        got = self._values_cache.get(proto)
        if got is None:
            got = self._values_cache[proto] = self._segments(proto)
        return got

    def _segments(self, proto: int) -> list[tuple[int, int]]:
        ivs = next((v for q, v in self.services.by_proto if q == proto), ())
        cuts: set[int] = set()
        for x in self.nets:
            for m in _matches(x.net):
                if m.proto == proto:
                    cuts.update((m.lo, m.hi + 1))
        if proto in ICMP_REPLY:
            for t in ICMP_REPLY[proto]:
                cuts.update((t * 256, (t + 1) * 256))
        out = []
        for lo, hi in ivs:
            points = sorted({lo, *(c for c in cuts if lo < c <= hi)})
            out += [(a, b - 1) for a, b in zip(points, [*points[1:], hi + 1], strict=True)]
        return out

    def _changed(self, pos: _Net, neg: _Net, s: tuple[str, Any], d: tuple[str, Any], family: int,
                 protos: list[int], spare: int | None) -> ServiceSet:
        """The (protocol, value) pairs on which pos connects s to d and neg does not.

        Services that no slice holding the pair names cannot differ (change_slice): they are skipped. A
        slice's services are unions of rule matches, and every segment lies inside or outside each match."""
        found: dict[int, list[Interval]] = defaultdict(list)
        may = self._may_change(s, d, family)
        for q in [*protos, *([spare] if spare is not None else [])]:
            for lo, hi in self._values(q) if q in (*PORTED, *ICMPS) else [(0, 0)]:
                if may is not None and not may.contains(q, lo):
                    continue
                if self._connects(pos, s, d, family, q, lo) and not self._connects(neg, s, d, family, q, lo):
                    found[q].append((lo, hi))
        if spare is not None and spare in found:
            mentioned = set(protos)
            for q, _ in self.services.by_proto:
                if q not in NAMED and q not in mentioned:
                    found[q] = list(full_range(q))
        return ServiceSet.of(dict(found))

    def _may_change(self, s: tuple[str, Any], d: tuple[str, Any], family: int) -> ServiceSet | None:
        """The services on which the pair's connections may differ: the union of the services of every
        slice that holds both ends (None: every service)."""
        out = ServiceSet(())
        for r in self.rects():
            if _holds(r.src, s, family) and _holds(r.dst, d, family):
                if r.services is None:
                    return None
                out = out.union(r.services)
        return out

    def _endpoints(self, x: _Net, end: tuple[str, Any], family: int, other_ext: bool) -> list[Endpoint]:
        kind, ref = end
        if kind == "ext":
            if not any(lo <= self.atoms.index(family, ref) <= hi for lo, hi in x.ext_runs):
                return []
            return [Endpoint(None, family, ref)]
        i = x.index.get(ref)
        if i is None or self._class_in(x, ref) is None:
            return []
        return [Endpoint(i, family, a) for a in x.addresses(i, family, other_ext, self.atoms)]

    def _connects(self, x: _Net, s: tuple[str, Any], d: tuple[str, Any], family: int, proto: int,
                  value: int) -> bool:
        for s_ep in self._endpoints(x, s, family, False):
            for d_ep in self._endpoints(x, d, family, s[0] == "ext"):
                if s_ep.eni is not None and s_ep.eni == d_ep.eni:
                    continue
                if self._flow_ok(x, s_ep, d_ep, proto, value) is not None:
                    return True
        return False

    def _flow_ok(self, x: _Net, s: Endpoint, d: Endpoint, proto: int, value: int) -> Flow | None:
        """A flow (with some client port) that x allows, or None."""
        nports = x.nat_reps if proto in PORTED and x.net.routing is not None and d.eni is None else [0]
        for port in (x.reps or [self.ephemeral[0]]) if proto in PORTED else [0]:
            for nport in nports:
                flow = Flow(s, d, proto, value, port, nport)
                verdict = evaluate(x.net, flow)
                if verdict.allowed:  # an unknown route counts as a route for diff
                    return flow
                if all(step.gate in SPORT_FREE for step in verdict.blocked_by):
                    return None  # blocked where neither port plays a part: no other port gets through
        return None

    # ---- one group: labels, witness, blocking step, cause ---------------------------------------------
    def _group(self, change: str, pos: _Net, neg: _Net, side_s: _SideQ, side_d: _SideQ, srcs: list[int],
               dsts: list[int],
               s_id: str | None, d_id: str | None, family: int, svc: ServiceSet, proto: int, value: int,
               ext_atom: int, ext_atoms: list[int]) -> ChangeGroup:
        addr = self._ext_address(ext_atom)
        s_end: tuple[str, Any] = ("ext", addr) if s_id is None else ("eni", s_id)
        d_end: tuple[str, Any] = ("ext", addr) if d_id is None else ("eni", d_id)
        flow = None
        for s_ep in self._endpoints(pos, s_end, family, False):
            for d_ep in self._endpoints(pos, d_end, family, s_id is None):
                if flow is None and not (s_ep.eni is not None and s_ep.eni == d_ep.eni):
                    flow = self._flow_ok(pos, s_ep, d_ep, proto, value)
        if flow is None:
            raise InternalError(f"diff: no flow of the {change} group replays as allowed in {pos.name}")
        if self._connects(neg, s_end, d_end, family, proto, value):
            raise InternalError(f"diff: the {change} witness {flow.text()} also connects in {neg.name}")
        verdict = evaluate(pos.net, flow)
        witness = Counterexample(flow, endpoint_info(pos.net, flow.src.eni, family, flow.src.address),
                                 endpoint_info(pos.net, flow.dst.eni, family, flow.dst.address), True, verdict.steps)
        other, blocked = self._in_other(pos, neg, flow)
        cause = tuple(cause_items(pos, neg, flow, other.flow if other is not None else None, verdict.steps,
                                  other.trace if other is not None else ()))
        ext = _ext_ranges(self.atoms, ext_atoms)
        src = self._info(side_s, srcs, pos, ext)
        dst = self._info(side_d, dsts, pos, ext)
        return ChangeGroup(change, src, dst, family, svc, witness, other, blocked, cause)

    def _info(self, side: _SideQ, ks: list[int], pos: _Net, ext: tuple[tuple[int, int, int], ...]) -> ClassInfo:
        k = ks[0]
        if k >= side.n:
            shown = tuple(format_interval(*r) for r in ext)
            return ClassInfo("external addresses " + ", ".join(shown[:4])
                             + (f" and {len(shown) - 4} more ranges" if len(shown) > 4 else ""), (), shown, ext)
        j = side.joints[k]
        names = [n for n, sets in self.group_names.items()
                 if any(x.index.get(j.ids[0]) in es.enis for x, es in zip(self.nets, sets, strict=True))]
        ids = j.ids
        x = pos if pos.index.get(ids[0]) is not None else next(n for n in self.nets if ids[0] in n.index)
        e = x.net.enis[x.index[ids[0]]]
        groups = ", ".join(g if x.net.sgs[g].name == g else f"{g} ({x.net.sgs[g].name})" for g in e.groups)
        who = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
        text = (f"{', '.join(names)}: " if names else "") + f"{who} [{groups or 'no security group'}] in {e.subnet_id}"
        if len(ks) > 1:
            ids = tuple(sorted({i for k2 in ks for i in side.joints[k2].ids}))
            text = f"{len(ids)} ENIs in {len(ks)} classes alike here, e.g. {text}"
        return ClassInfo(text, ids, ())

    def _in_other(self, pos: _Net, neg: _Net, flow: Flow) -> tuple[Counterexample | None, dict[str, Any]]:
        """The witness in the other network: the same endpoints (at the same addresses where they still
        hold them) and its first blocking step, or why an endpoint does not exist there."""
        ends = []
        for ep, role in ((flow.src, "source"), (flow.dst, "destination")):
            if ep.eni is None:
                if not any(lo <= ep.address <= hi for lo, hi in neg.net.external.get(ep.family, ())):
                    return None, {"gate": "endpoint", "id": ep.text(), "verdict": "no-match",
                                  "reason": f"{ep.text()} is not an external address in {neg.name}"}
                ends.append(ep)
                continue
            eid = pos.net.enis[ep.eni].id
            i = neg.index.get(eid)
            if i is None:
                return None, {"gate": "endpoint", "id": eid, "verdict": "no-match",
                              "reason": f"{eid} does not exist in {neg.name}"}
            e = neg.net.enis[i]
            holds = any(f == ep.family and lo <= ep.address <= hi for f, lo, hi in e.private) or (
                ep.family == 4 and ep.address in e.public)
            if holds:
                ends.append(Endpoint(i, ep.family, ep.address))
                continue
            other = neg.addresses(i, ep.family, role == "destination" and flow.src.eni is None, self.atoms)
            if not other:
                return None, {"gate": "endpoint", "id": eid, "verdict": "no-match",
                              "reason": f"{eid} has no IPv{ep.family} address in {neg.name}"}
            ends.append(Endpoint(i, ep.family, other[0]))
        oflow = Flow(ends[0], ends[1], flow.proto, flow.value, flow.sport, flow.nport)
        verdict = evaluate(neg.net, oflow)
        if verdict.allowed:
            raise InternalError(f"diff: {oflow.text()} is allowed in {neg.name}, yet every client port was blocked")
        cx = Counterexample(oflow, endpoint_info(neg.net, ends[0].eni, oflow.src.family, ends[0].address),
                            endpoint_info(neg.net, ends[1].eni, oflow.dst.family, ends[1].address), False,
                            verdict.steps)
        step = cx.blocked_by[0]
        out = step_json(step)
        if step.text:
            out["text"] = step.text
        return cx, out


def _reserved() -> dict[int, tuple[Interval, ...]]:
    """Address ranges that are not globally routable (RFC 6890 and the documentation ranges)."""
    from ..model.addr import parse_cidr

    v4 = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
          "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
          "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3"]
    v6 = ["::/3", "4000::/2", "8000::/1", "2001::/23", "2001:db8::/32", "2002::/16"]
    return {f: normalize((lo, hi) for _f, lo, hi in map(parse_cidr, cidrs)) for f, cidrs in ((4, v4), (6, v6))}


_RESERVED = _reserved()


def proto_text(proto: int, value: int) -> str:
    from ..model import proto_name

    return f"{proto_name(proto)} {value}" if proto in (*PORTED, *ICMPS) else proto_name(proto)


def _matches(net: Network) -> Iterable[Any]:
    for sg in net.sgs.values():
        for r in (*sg.ingress, *sg.egress):
            yield r.match
    for nacl in net.nacls.values():
        for e in (*nacl.ingress, *nacl.egress):
            yield e.match


def _ext_ranges(atoms: Atoms, chosen: list[int]) -> tuple[tuple[int, int, int], ...]:
    """Address ranges covered by atoms, merged where adjacent."""
    per: dict[int, list[Interval]] = defaultdict(list)
    for a in chosen:
        f, lo, hi = atoms.bounds(a)
        per[f].append((lo, hi))
    return tuple((f, lo, hi) for f in (4, 6) for lo, hi in normalize(per.get(f, ())))


# ---- cause: what differs between the two networks on the witness's path --------------------------------
def cause_items(pos: _Net, neg: _Net, flow: Flow, oflow: Flow | None, trace: tuple[Step, ...] = (),
                otrace: tuple[Step, ...] = ()) -> list[dict[str, Any]]:
    """The rules, entries and memberships that differ between the networks on the witness's path.

    `change` says what the allowing network has that the other lacks ("added" when NEW allows)."""
    new_side = pos.name == "NEW"
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(item: dict[str, Any]) -> None:
        key = repr(sorted(item.items()))
        if key not in seen:
            seen.add(key)
            out.append(item)

    def present(in_pos: bool) -> str:
        """The change word for something only the allowing (in_pos) or only the blocking network has."""
        return "added" if in_pos == new_side else "removed"

    for ep in (flow.src, flow.dst):
        if ep.eni is None:
            if oflow is None and not any(lo <= ep.address <= hi for lo, hi in neg.net.external.get(ep.family, ())):
                add({"kind": "external", "id": ep.text(), "change": present(True),
                     "reason": f"an external address in {pos.name} only"})
            continue
        e = pos.net.enis[ep.eni]
        oi = neg.index.get(e.id)
        if oi is None:
            add({"kind": "eni", "id": e.id, "change": present(True), **_tf(e.tf_address)})
            continue
        oe = neg.net.enis[oi]
        if oe.subnet_id != e.subnet_id:
            add({"kind": "eni-subnet", "id": e.id, "change": "changed", pos.name.lower(): e.subnet_id,
                 neg.name.lower(): oe.subnet_id, **_tf(e.tf_address)})
        if set(oe.private) != set(e.private) or set(oe.public) != set(e.public):
            add({"kind": "eni-addresses", "id": e.id, "change": "changed", **_tf(e.tf_address)})
        for g in sorted(set(e.groups) - set(oe.groups)):
            add({"kind": "membership", "id": g, "eni": e.id, "change": present(True), **_tf(e.tf_address)})
        for g in sorted(set(oe.groups) - set(e.groups)):
            add({"kind": "membership", "id": g, "eni": e.id, "change": present(False), **_tf(oe.tf_address)})
    # security group rules on the path: the egress rules of the source's groups, the ingress of the destination's
    for ep, oep, other, oother, egress in ((flow.src, oflow.src if oflow else None, flow.dst,
                                            oflow.dst if oflow else None, True),
                                           (flow.dst, oflow.dst if oflow else None, flow.src,
                                            oflow.src if oflow else None, False)):
        if ep.eni is None or oep is None or oep.eni is None or oother is None:
            continue
        e, oe = pos.net.enis[ep.eni], neg.net.enis[oep.eni]
        for g in sorted(set(e.groups) & set(oe.groups)):
            assert oflow is not None
            _sg_diff(pos, neg, g, egress, flow, other, oflow, oother, add, present)
    if oflow is not None:
        _nacl_diffs(pos, neg, flow, oflow, add, present)
        _route_diffs(pos, neg, trace, otrace, add)
    return out


def _route_diffs(pos: _Net, neg: _Net, trace: tuple[Step, ...], otrace: tuple[Step, ...], add: Any) -> None:
    """Routing steps of the witness that decide differently (another route wins, or none) in the two networks."""
    for gate in ("route", "route-reply", "nat"):
        here = next((s for s in trace if s.gate == gate), None)
        there = next((s for s in otrace if s.gate == gate), None)
        if here is None and there is None:
            continue
        key = (here.id, here.rule, here.verdict) if here else None
        okey = (there.id, there.rule, there.verdict) if there else None
        if key == okey:
            continue
        item: dict[str, Any] = {"kind": "route", "gate": gate, "id": (here or there).id,  # type: ignore[union-attr]
                                "change": "changed"}
        for name, st in ((pos.name.lower(), here), (neg.name.lower(), there)):
            item[name] = None if st is None else f"{st.rule} ({st.verdict})" if st.rule else st.verdict
        tf = (here.tf_address if here else None) or (there.tf_address if there else None)
        add({**item, **_tf(tf)})


def _tf(address: str | None) -> dict[str, str]:
    return {"tf_address": address} if address else {}


def _rule_hits(net: Network, g: str, egress: bool, flow: Flow, other: Endpoint) -> list[Any]:
    from ..semantics.evaluate import matches, peer_matches

    sg = net.sgs[g]
    return [r for r in (sg.egress if egress else sg.ingress)
            if matches(r.match, flow.proto, flow.value) and peer_matches(net, r, other)]


def _sg_diff(pos: _Net, neg: _Net, g: str, egress: bool, flow: Flow, other: Endpoint, oflow: Flow,
             oother: Endpoint, add: Any, present: Any) -> None:
    direction = "egress" if egress else "ingress"
    hits = _rule_hits(pos.net, g, egress, flow, other)
    ohits = _rule_hits(neg.net, g, egress, oflow, oother)
    sg, osg = pos.net.sgs[g], neg.net.sgs[g]
    contents = {r.content() for r in (sg.egress if egress else sg.ingress)}
    ocontents = {r.content() for r in (osg.egress if egress else osg.ingress)}
    for r in hits:
        if r.content() not in ocontents:
            add({"kind": "sg-rule", "id": g, "direction": direction, "rule": r.text(), "change": present(True),
                 **_desc(r), **_tf(r.tf_address)})
    for r in ohits:
        if r.content() not in contents:
            add({"kind": "sg-rule", "id": g, "direction": direction, "rule": r.text(), "change": present(False),
                 **_desc(r), **_tf(r.tf_address)})
    # a rule both networks hold that matches in one only: its prefix list differs (a peer group's
    # members differ too, but those are the endpoints' own memberships, listed already)
    hit_contents = {r.content() for r in hits}
    ohit_contents = {r.content() for r in ohits}
    for r in [*hits, *ohits]:
        both = r.content() in contents and r.content() in ocontents
        if both and r.peer.kind == "pl" and (r.content() in hit_contents) != (r.content() in ohit_contents):
            pl, opl = pos.net.prefix_lists[r.peer.ref], neg.net.prefix_lists[r.peer.ref]
            new, old = (pl, opl) if pos.name == "NEW" else (opl, pl)
            add({"kind": "prefix-list", "id": pl.id, "name": pl.name, "change": "changed",
                 "entries_added": [format_interval(*c) for c in sorted(set(new.cidrs) - set(old.cidrs))],
                 "entries_removed": [format_interval(*c) for c in sorted(set(old.cidrs) - set(new.cidrs))],
                 "via": f"{g} {direction} {r.text()}", **_tf(new.tf_address or old.tf_address)})


def _desc(r: Any) -> dict[str, str]:
    return {"description": r.description} if r.description else {}


def _nacl_diffs(pos: _Net, neg: _Net, flow: Flow, oflow: Flow, add: Any, present: Any) -> None:
    """NACL entries that differ on the path, up to the entry that decides in either network."""
    from ..semantics.evaluate import reply_service

    legs: list[tuple[Endpoint, Endpoint, Endpoint, Endpoint, bool, bool]] = []
    same = (flow.src.eni is not None and flow.dst.eni is not None
            and pos.net.enis[flow.src.eni].subnet_id == pos.net.enis[flow.dst.eni].subnet_id)
    osame = (oflow.src.eni is not None and oflow.dst.eni is not None
             and neg.net.enis[oflow.src.eni].subnet_id == neg.net.enis[oflow.dst.eni].subnet_id)
    if same and osame:
        return
    reply = reply_service(flow.proto, flow.value, flow.sport)
    # (own endpoint, remote, own in other, remote in other, egress, is_reply)
    legs.append((flow.src, flow.dst, oflow.src, oflow.dst, True, False))
    legs.append((flow.dst, flow.src, oflow.dst, oflow.src, False, False))
    if reply is not None:
        legs.append((flow.dst, flow.src, oflow.dst, oflow.src, True, True))
        legs.append((flow.src, flow.dst, oflow.src, oflow.dst, False, True))
    for own, remote, oown, oremote, egress, is_reply in legs:
        if own.eni is None or oown.eni is None:
            continue
        nid = pos.net.subnets[pos.net.enis[own.eni].subnet_id].nacl_id
        onid = neg.net.subnets[neg.net.enis[oown.eni].subnet_id].nacl_id
        subnet = pos.net.enis[own.eni].subnet_id
        if nid != onid:
            add({"kind": "nacl-association", "id": subnet, "change": "changed", pos.name.lower(): nid,
                 neg.name.lower(): onid, **_tf(pos.net.subnets[subnet].tf_address)})
            continue
        proto, value = (reply if is_reply and reply is not None else (flow.proto, flow.value))
        nacl, onacl = pos.net.nacls[nid], neg.net.nacls[onid]
        d = nacl_decision(nacl, egress, remote, proto, value)
        od = nacl_decision(onacl, egress, oremote, proto, value)
        if d == od and d is not None:
            continue
        upto = max(d.number if d else 1 << 20, od.number if od else 1 << 20)
        entries = nacl.egress if egress else nacl.ingress
        oentries = onacl.egress if egress else onacl.ingress
        key = {(e.number, e.allow, e.match, e.family, e.lo, e.hi) for e in entries}
        okey = {(e.number, e.allow, e.match, e.family, e.lo, e.hi) for e in oentries}
        direction = "egress" if egress else "ingress"
        for es, remote_ep, other_keys, in_pos in ((entries, remote, okey, True), (oentries, oremote, key, False)):
            for e in es:
                k = (e.number, e.allow, e.match, e.family, e.lo, e.hi)
                if k in other_keys or e.number > upto:
                    continue
                if e.family == remote_ep.family and e.lo <= remote_ep.address <= e.hi and (
                        e.match.proto in (ANY_PROTO, proto) and e.match.lo <= value <= e.match.hi):
                    add({"kind": "nacl-entry", "id": nid, "direction": direction, "rule": e.number,
                         "entry": e.text(), "change": present(in_pos), **_tf(e.tf_address)})


def spec_cidrs_of(*sels: Selector | None, groups: dict[str, Selector] | None = None) -> list[str]:
    """Every CIDR a selector (or the spec's groups) names: they draw atom boundaries."""
    from .check import selector_cidrs

    return selector_cidrs(*sels, *(groups or {}).values())


def group_order(g: ChangeGroup) -> tuple[Any, ...]:
    """Groups from external addresses first, then by their classes, family and protocol."""
    named = {TCP: 0, UDP: 1, ICMP: 2, ICMPV6: 3}
    return (not g.src.is_external, g.src.text, g.dst.text, g.family, named.get(g.protocol, 4), g.protocol)


def run_diff(old: Network, new: Network, spec: Spec, src: Selector | None, dst: Selector | None,
             services: ServiceSet, limit: int) -> tuple[list[ChangeGroup], list[ChangeGroup], bool, bool, str | None,
                                                        float]:
    """Both directions: (added, removed, complete, truncated, undecided reason, seconds)."""
    t0 = time.perf_counter()
    d = Differ(old, new, spec, src, dst, services, spec_cidrs_of(src, dst, groups=spec.groups))
    added, c1 = d.changes("added", limit)
    removed, c2 = d.changes("removed", limit)
    added.sort(key=group_order)
    removed.sort(key=group_order)
    truncated = (not c1 or not c2) and d.undecided is None
    return added, removed, c1 and c2, truncated, d.undecided, time.perf_counter() - t0


__all__ = ["SERVICE_MAX", "Differ", "cause_items", "run_diff", "union_atoms"]


# ---- the two inputs ----------------------------------------------------------------------------------
@no_cycle_collection()
def load_side(path: str) -> tuple[Network, dict[str, Any]]:
    """One side of `diff OLD NEW`: a snapshot (file or directory), or a Terraform plan read as the network
    after it."""
    from ..sources import snapshot as snap
    from ..sources import terraform as tf

    doc = snap.read_document(path)
    if "resource_changes" in doc:
        plan = tf.load_plan(path)
        return snap.build_network(tf.plan_to_snapshot(plan, path, None), path), {"kind": "terraform", "path": path}
    return snap.build_network(doc, path), {"kind": "snapshot", "path": path}


def plan_before(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan rewritten so that applying it changes nothing: every resource as it was before."""
    out = dict(plan)
    changes = []
    for rc in plan.get("resource_changes") or []:
        if not isinstance(rc, dict) or rc.get("mode", "managed") != "managed":
            changes.append(rc)
            continue
        change = rc.get("change") or {}
        before = change.get("before") if isinstance(change, dict) else None
        if before is None or rc.get("previous_address"):
            continue  # created by the plan, or moved (prior_state holds it at its old address)
        changes.append({**rc, "change": {"actions": ["no-op"], "before": before, "after": before,
                                         "after_unknown": {}}})
    out["resource_changes"] = changes
    return out


@no_cycle_collection()
def load_plan_pair(plan_path: str, live: str | None) -> tuple[Network, Network, dict[str, Any], dict[str, Any]]:
    """`diff --terraform PLAN [--snapshot LIVE]`: the network before the plan and after it."""
    from ..sources import snapshot as snap
    from ..sources import terraform as tf

    base = snap.read_document(live) if live else None
    plan = tf.load_plan(plan_path)
    after = snap.build_network(tf.plan_to_snapshot(plan, plan_path, base), plan_path)
    before = snap.build_network(tf.plan_to_snapshot(plan_before(plan), plan_path, base), plan_path)
    info: dict[str, Any] = {"kind": "terraform", "path": plan_path}
    if live:
        info["snapshot"] = live
    return before, after, {**info, "state": "before"}, {**info, "state": "after"}


def _scope_spec(spec_path: str | None, src: str | None, dst: str | None, ports: str | None) -> Spec:
    """A spec with the lent groups and settings and one invariant holding --from, --to and --ports."""
    import yaml

    from ..errors import InputError
    from ..spec import load_spec
    from ..spec.parse import load_spec_text

    raw: dict[str, Any] = {}
    if spec_path:
        load_spec(spec_path)  # every problem of the spec itself, at its line and column
        with open(spec_path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    body: dict[str, Any] = {}
    for flag, text, key in (("--from", src, "from"), ("--to", dst, "to"), ("--ports", ports, "ports")):
        if text is None:
            continue
        try:
            body[key] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(flag, None, "a YAML value", str(exc).replace("\n", " ")) from None
    body.setdefault("to", {"anywhere": True})
    doc: dict[str, Any] = {"sgproof": 1, "invariants": [{"id": "diff", "allow_empty": True, "deny": body}]}
    for key in ("settings", "groups"):
        if isinstance(raw, dict) and key in raw:
            doc[key] = raw[key]
    return load_spec_text(yaml.safe_dump(doc, sort_keys=False), spec_path or "<diff options>")


def diff_report(old_path: str | None, new_path: str | None, terraform: str | None, snapshot: str | None,
                spec_path: str | None, src: str | None, dst: str | None, ports: str | None,
                max_changes: int) -> Any:
    """Everything `sgproof diff` does short of printing: read both networks, compare, report."""
    from .. import __version__
    from ..errors import SgproofError
    from ..report.diff_model import DiffReport
    from ..report.model import Assumptions

    if max_changes < 1:
        raise SgproofError("--max-changes takes a number of groups, 1 or more")
    if terraform:
        if old_path or new_path:
            raise SgproofError("diff takes OLD NEW, or --terraform PLAN [--snapshot LIVE], not both")
        old, new, old_info, new_info = load_plan_pair(terraform, snapshot)
    else:
        if not (old_path and new_path):
            raise SgproofError("diff needs OLD and NEW (each a snapshot or a plan), or --terraform PLAN")
        if snapshot:
            raise SgproofError("--snapshot goes with --terraform; OLD and NEW are given as arguments")
        old, old_info = load_side(old_path)
        new, new_info = load_side(new_path)
    spec = _scope_spec(spec_path, src, dst, ports)
    inv = spec.invariants[0]
    added, removed, complete, truncated, undecided, seconds = run_diff(
        old, new, spec, inv.src, inv.dst, inv.services, max_changes)
    from ..semantics.routing import routing_warnings

    warnings: list[str] = []
    for name, net in (("OLD", old), ("NEW", new)):
        warnings += [f"{name}: {w}" for w in net.warnings]
        if any(e.address_unknown for e in net.enis):
            warnings.append(f"{name}: some ENIs get their private address only at apply time")
        if net.routing is None:
            warnings.append(f"{name}: no RouteTables: routing is open (any two endpoints are taken to have a "
                            "route both ways)")
        else:
            warnings += [f"{name}: {w}" for w in routing_warnings(net)]
        hostless = sum(1 for e in net.enis if not e.hosts)
        if hostless:
            warnings.append(f"{name}: {hostless} ENI(s) host nothing (NAT gateway, transit gateway or Gateway Load "
                            "Balancer interfaces): no connection starts or ends at them")
    if undecided:
        warnings.append(undecided)
    routing = "modelled" if old.routing is not None or new.routing is not None else "open"
    assumptions = Assumptions(routing, f"{spec.ephemeral[0]}-{spec.ephemeral[1]}", tuple(warnings),
                              sum(1 for e in new.enis if not e.hosts))
    scope = {"from": src or "anywhere", "to": dst or "anywhere", "ports": ports or "all"}
    return DiffReport(old_info, new_info, assumptions, tuple(added), tuple(removed), complete, truncated,
                      max_changes, __version__, z3.get_version_string(), seconds, scope, undecided)
