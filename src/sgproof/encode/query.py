"""The only z3 code: one symbolic query per invariant over ENI classes and address atoms.

deny/only ask z3 for one allowed flow (sat = refuted). reach asks, per pair of endpoint classes,
for one service that every address pair and every client port fails (sat = refuted).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import z3

from ..model import ANY_PROTO, ICMP, ICMPV6, SERVICE_MAX, Match, Network, Peer
from ..model.addr import Interval, intersect, normalize
from ..semantics.evaluate import ICMP_REPLY
from ..spec.select import EndpointSet
from ..spec.services import ServiceSet
from .prepare import Atoms, EniClass, ranges

Behaviour = tuple[tuple[Match, Peer], ...]  # service-sliced rule contents; () means "admits nothing"


def _rule_overlaps(m: Match, services: ServiceSet) -> bool:
    for proto, ivs in services.by_proto:
        if m.proto in (ANY_PROTO, proto) and intersect(ivs, ((m.lo, m.hi),)):
            return True
    return False


@dataclass(slots=True)
class SideClass:
    """One projected endpoint class of a query side; `beh` None means no security group filters it."""

    subnet_id: str
    beh: Behaviour | None
    mem: frozenset[str]
    private_atoms: tuple[int, ...]
    public_atoms: tuple[int, ...]
    members: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reachable:
    """The groups, external presence and atoms of one side, as seen from the other side's rules."""

    groups: frozenset[str]
    has_ext: bool
    atom_runs: tuple[Interval, ...]
    everything: bool = False  # no pruning (the unoptimised reference encoding)

    def may_match(self, enc: Encoder, peer: Peer) -> bool:
        if self.everything:
            return True
        if peer.kind == "sg":
            if peer.ref in enc.net.unknown_groups:
                return self.has_ext
            return peer.ref in self.groups
        return bool(intersect(self.atom_runs, tuple(normalize(enc.peer_atoms(peer)))))


@dataclass(slots=True)
class Side:
    """A query side: its ENI classes and the external atoms it may use."""

    classes: list[SideClass]
    ext_atoms: list[tuple[int, int]]  # atom index runs

    @property
    def has_ext(self) -> bool:
        return bool(self.ext_atoms)


@dataclass(slots=True)
class Terms:
    """The z3 terms describing one side of a flow: conditions on its class variable, and its atom."""

    ext: Any
    sub: Any
    atom: Any
    mem: dict[str, Any]  # group id -> "the endpoint carries it"
    behs: list[tuple[Behaviour, Any]]  # (rules, condition that the endpoint has exactly these)
    unfiltered: Any  # the endpoint is an ENI with no security group
    nacls: list[tuple[str, Any]]  # (nacl id, condition that the endpoint sits behind it)


def _index_runs(indices: list[int]) -> list[tuple[int, int]]:
    return ranges(indices)


class Encoder:
    """Builds z3 formulas for one network; shared by every invariant of a run."""

    def __init__(self, net: Network, atoms: Atoms, classes: list[EniClass], class_of: list[int],
                 ephemeral: tuple[int, int], port_reps: list[int]):
        self.net = net
        self.atoms = atoms
        self.classes = classes
        self.class_of = class_of
        self.ephemeral = ephemeral
        self.port_reps = port_reps
        self.subnet_idx = {sid: i for i, sid in enumerate(sorted(net.subnets))}
        self._beh_cache: dict[tuple[tuple[str, ...], bool, int], Behaviour | None] = {}
        self._span_cache: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._services_seen: dict[int, ServiceSet] = {}
        self._chain_cache: dict[tuple[str, bool, ServiceSet | None], Any] = {}
        self._placeholder_terms: tuple[Any, Any, Any] | None = None  # made lazily: no z3 state before a fork

    # ---- slicing and projection -------------------------------------------------------------
    def behaviour(self, groups: tuple[str, ...], egress: bool, services: ServiceSet) -> Behaviour | None:
        # keyed by identity (hashing a service set per class is costly); holding each set keeps its id unique
        self._services_seen.setdefault(id(services), services)
        key = (groups, egress, id(services))
        if key in self._beh_cache:
            return self._beh_cache[key]
        if not groups:
            out: Behaviour | None = None
        else:
            seen: dict[tuple[Match, Peer], None] = {}
            for g in groups:
                sg = self.net.sgs[g]
                for rule in sg.egress if egress else sg.ingress:
                    if _rule_overlaps(rule.match, services):
                        seen[(rule.match, rule.peer)] = None
            out = tuple(seen)
        self._beh_cache[key] = out
        return out

    def span(self, family: int, lo: int, hi: int) -> tuple[int, int]:
        key = (family, lo, hi)
        got = self._span_cache.get(key)
        if got is None:
            got = self.atoms.span(family, lo, hi)
            self._span_cache[key] = got
        return got

    def peer_atoms(self, peer: Peer) -> list[tuple[int, int]]:
        if peer.kind == "cidr":
            return [self.span(peer.family, peer.lo, peer.hi)]
        if peer.kind == "pl":
            return [self.span(f, lo, hi) for f, lo, hi in self.net.prefix_lists[peer.ref].cidrs]
        return []

    def ext_atom_runs(self, sel: EndpointSet) -> list[tuple[int, int]]:
        """External atoms of a selection as index runs (selection bounds are atom bounds)."""
        return list(normalize(self.span(fam, lo, hi) for fam in (4, 6) for lo, hi in sel.ext_of(fam)))

    def side(self, sel: EndpointSet) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
        """Base classes (with the selected members) and external atom runs of a selection."""
        by_class: dict[int, list[int]] = defaultdict(list)
        for i in sorted(sel.enis):
            by_class[self.class_of[i]].append(i)
        return by_class, self.ext_atom_runs(sel)

    def filter_side(
        self, base: dict[int, list[int]], ext_runs: list[tuple[int, int]], other_behs: list[Behaviour | None],
        other_has_ext: bool,
    ) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
        """Drop classes and external atoms that no rule of the other side could admit (sound slicing)."""
        if other_has_ext or any(b is None for b in other_behs):
            return base, ext_runs
        refs: set[str] = set()
        atom_runs: list[tuple[int, int]] = []
        unknown = False
        for beh in other_behs:
            assert beh is not None
            for _m, peer in beh:
                if peer.kind == "sg":
                    if peer.ref in self.net.unknown_groups:
                        unknown = True
                    else:
                        refs.add(peer.ref)
                else:
                    atom_runs.extend(self.peer_atoms(peer))
        runs = tuple(normalize(atom_runs))
        kept: dict[int, list[int]] = {}
        for c, members in base.items():
            cls = self.classes[c]
            if refs.intersection(cls.groups) or any(
                intersect(runs, ((a, a),)) for a in (*cls.private_atoms, *cls.public_atoms)
            ):
                kept[c] = members
        ext_kept = ext_runs if unknown else list(intersect(tuple(normalize(ext_runs)), runs))
        return kept, ext_kept

    def project(self, base: dict[int, list[int]], egress: bool, services: ServiceSet,
                relevant: set[str], with_public: bool, other: Reachable, merge: bool = True) -> list[SideClass]:
        """Merge classes that this query cannot tell apart; rules that can match nothing on the other
        side are dropped from behaviours first (they can never fire for this query)."""
        out: dict[tuple[object, ...], SideClass] = {}
        pruned: dict[Behaviour, Behaviour] = {}
        for c, members in base.items():
            cls = self.classes[c]
            beh = self.behaviour(cls.groups, egress, services)
            if beh is not None:
                got = pruned.get(beh)
                if got is None:
                    got = pruned[beh] = tuple(r for r in beh if other.may_match(self, r[1]))
                beh = got
            mem = frozenset(relevant.intersection(cls.groups))
            pub = cls.public_atoms if with_public else ()
            key: tuple[object, ...] = (cls.subnet_id, beh, mem, cls.private_atoms, pub) if merge else (c,)
            sc = out.get(key)
            if sc is None:
                sc = out[key] = SideClass(cls.subnet_id, beh, mem, cls.private_atoms, pub)
            sc.members.extend(members)
        return sorted(out.values(), key=lambda c: (c.beh is None, str(c.beh), c.subnet_id, sorted(c.mem)))

    def reachable(self, base: dict[int, list[int]], ext_runs: list[tuple[int, int]],
                  with_public: bool) -> Reachable:
        """What the endpoints of a side look like to rules on the other side."""
        groups: set[str] = set()
        atoms: list[tuple[int, int]] = list(ext_runs)
        for c in base:
            cls = self.classes[c]
            groups.update(cls.groups)
            atoms.extend((a, a) for a in cls.private_atoms)
            if with_public:
                atoms.extend((a, a) for a in cls.public_atoms)
        return Reachable(frozenset(groups), bool(ext_runs), normalize(atoms))

    # ---- formulas ----------------------------------------------------------------------------
    @staticmethod
    def in_runs(v: Any, runs: list[tuple[int, int]] | tuple[Interval, ...]) -> Any:
        if not runs:
            return z3.BoolVal(False)
        parts = [v == a if a == b else z3.And(v >= a, v <= b) for a, b in runs]
        return parts[0] if len(parts) == 1 else z3.Or(parts)

    def match(self, m: Match, p: Any, x: Any) -> Any:
        conds = []
        if m.proto != ANY_PROTO:
            conds.append(p == m.proto)
        if (m.lo, m.hi) != (0, SERVICE_MAX):
            conds.append(x == m.lo if m.lo == m.hi else z3.And(x >= m.lo, x <= m.hi))
        return z3.And(conds) if conds else z3.BoolVal(True)

    def peer(self, peer: Peer, other: Terms) -> Any:
        if peer.kind == "sg":
            if peer.ref in self.net.unknown_groups:
                return other.ext
            return other.mem.get(peer.ref, z3.BoolVal(False))
        return self.in_runs(other.atom, self.peer_atoms(peer))

    def sg_gate(self, own: Terms, other: Terms, p: Any, x: Any) -> Any:
        alts = [own.ext, own.unfiltered]
        for beh, cond in own.behs:
            rules = [z3.And(self.match(m, p, x), self.peer(peer, other)) for m, peer in beh]
            if rules:
                alts.append(z3.And(cond, z3.Or(rules)))
        return z3.Or(alts)

    def nacl_chain(self, nacl_id: str, egress: bool, remote: Any, p: Any, x: Any,
                   services: ServiceSet | None) -> Any:
        """First-match evaluation of a NACL direction; built once, then instantiated by substitution."""
        key = (nacl_id, egress, services)
        template = self._chain_cache.get(key)
        if template is None:
            nacl = self.net.nacls[nacl_id]
            entries = nacl.egress if egress else nacl.ingress
            if services is not None:
                entries = tuple(e for e in entries if _rule_overlaps(e.match, services))
            out: Any = z3.BoolVal(False)
            r, pp, xx = self._placeholders
            for e in reversed(entries):
                cond = z3.And(self.in_runs(r, [self.span(e.family, e.lo, e.hi)]), self.match(e.match, pp, xx))
                out = z3.If(cond, z3.BoolVal(e.allow), out)
            template = self._chain_cache[key] = out
        r, pp, xx = self._placeholders
        return z3.substitute(template, (r, remote), (pp, p), (xx, x))

    @property
    def _placeholders(self) -> tuple[Any, Any, Any]:
        if self._placeholder_terms is None:
            self._placeholder_terms = (z3.Int("_remote"), z3.Int("_proto"), z3.Int("_value"))
        return self._placeholder_terms

    def nacl_gate(self, own: Terms, egress: bool, remote: Any, p: Any, x: Any, services: ServiceSet | None) -> Any:
        alts = [z3.And(cond, self.nacl_chain(n, egress, remote, p, x, services)) for n, cond in own.nacls]
        return z3.Or(alts) if alts else z3.BoolVal(False)

    def reply(self, p: Any, x: Any, sp: Any) -> tuple[Any, Any]:
        """(needs a reply, reply service value) for the request (p, x, sp)."""
        def typ(t: int) -> Any:
            return z3.And(x >= t * 256, x <= t * 256 + 255)
        v4 = ICMP_REPLY[ICMP]
        v6 = ICMP_REPLY[ICMPV6]
        ported = z3.Or(p == 6, p == 17)
        need = z3.Or(
            ported,
            z3.And(p == ICMP, z3.Or([typ(t) for t in v4])),
            z3.And(p == ICMPV6, z3.Or([typ(t) for t in v6])),
            z3.And(p != ICMP, p != ICMPV6),
        )
        icmp4: Any = z3.IntVal(0)
        for t, r in v4.items():
            icmp4 = z3.If(typ(t), r * 256, icmp4)
        rx = z3.If(ported, sp, z3.If(p == ICMP, icmp4, z3.If(p == ICMPV6, v6[128] * 256, 0)))
        return need, rx

    def request(self, s: Terms, d: Terms, p: Any, x: Any, services: ServiceSet) -> Any:
        """Gates 1-3 for the request: both security groups and both NACLs on the way there."""
        cross = z3.Or(s.ext, d.ext, s.sub != d.sub)
        return z3.And(
            self.sg_gate(s, d, p, x),
            z3.Implies(z3.And(cross, z3.Not(s.ext)), self.nacl_gate(s, True, d.atom, p, x, services)),
            z3.Implies(z3.And(cross, z3.Not(d.ext)), self.nacl_gate(d, False, s.atom, p, x, services)),
            self.sg_gate(d, s, p, x),
        )

    def reply_ok(self, s: Terms, d: Terms, p: Any, x: Any, sp: Any) -> Any:
        """Gate 2 for the reply: both NACLs admit it back with addresses and ports swapped."""
        cross = z3.Or(s.ext, d.ext, s.sub != d.sub)
        need, rx = self.reply(p, x, sp)
        return z3.And(
            z3.Implies(z3.And(cross, need, z3.Not(d.ext)), self.nacl_gate(d, True, s.atom, p, rx, None)),
            z3.Implies(z3.And(cross, need, z3.Not(s.ext)), self.nacl_gate(s, False, d.atom, p, rx, None)),
        )

    def allowed(self, s: Terms, d: Terms, p: Any, x: Any, sp: Any, services: ServiceSet) -> Any:
        return z3.And(self.request(s, d, p, x, services), self.reply_ok(s, d, p, x, sp))

    def service_constraints(self, p: Any, x: Any, sp: Any | None, services: ServiceSet) -> list[Any]:
        lo, hi = self.ephemeral
        boxes = []
        for plo, phi, ivs in services.boxes():
            pc = p == plo if plo == phi else z3.And(p >= plo, p <= phi)
            boxes.append(z3.And(pc, self.in_runs(x, ivs)))
        ported = z3.Or(p == 6, p == 17)
        out = [
            z3.Or(boxes),
            p >= 0, p <= 255, x >= 0, x <= SERVICE_MAX,
            z3.Implies(z3.And(p != 6, p != 17, p != ICMP, p != ICMPV6), x == 0),
        ]
        if sp is not None:
            out.append(z3.If(ported, z3.And(sp >= lo, sp <= hi), sp == 0))
        return out

    def side_terms(self, name: str, side: Side, relevant: set[str], solver: z3.Solver,
                   other_ext: Any) -> tuple[Terms, Any]:
        """A class variable plus conditions on it: which behaviour, NACL, subnet and groups each class
        has, as runs of class indices (classes come sorted so that runs are few)."""
        cls = z3.Int(f"{name}_cls")
        atom = z3.Int(f"{name}_atom")
        sub = z3.Int(f"{name}_sub")
        n = len(side.classes)
        ext = (cls == n) if side.has_ext else z3.BoolVal(False)
        solver.add(cls >= 0, cls <= (n if side.has_ext else n - 1))
        by_beh: dict[Behaviour, list[int]] = defaultdict(list)
        unfiltered: list[int] = []
        by_nacl: dict[str, list[int]] = defaultdict(list)
        by_sub: dict[str, list[int]] = defaultdict(list)
        by_group: dict[str, list[int]] = defaultdict(list)
        by_atoms: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = defaultdict(list)
        for k, c in enumerate(side.classes):
            if c.beh is None:
                unfiltered.append(k)
            else:
                by_beh[c.beh].append(k)
            by_nacl[self.net.subnets[c.subnet_id].nacl_id].append(k)
            by_sub[c.subnet_id].append(k)
            for g in c.mem:
                by_group[g].append(k)
            by_atoms[(c.private_atoms, c.public_atoms)].append(k)
        for sid, ks in by_sub.items():
            solver.add(z3.Implies(self.in_runs(cls, _index_runs(ks)), sub == self.subnet_idx[sid]))
        if side.has_ext:
            solver.add(z3.Implies(ext, z3.And(sub == -1, self.in_runs(atom, side.ext_atoms))))
        for (priv, pub), ks in by_atoms.items():
            atom_c = self.in_runs(atom, ranges(priv))
            if pub:
                atom_c = z3.Or(atom_c, z3.And(other_ext, self.in_runs(atom, ranges(pub))))
            solver.add(z3.Implies(self.in_runs(cls, _index_runs(ks)), atom_c))
        mem = {g: self.in_runs(cls, _index_runs(by_group.get(g, []))) for g in sorted(relevant)}
        behs = [(beh, self.in_runs(cls, _index_runs(ks))) for beh, ks in by_beh.items()]
        nacls = [(nid, self.in_runs(cls, _index_runs(ks))) for nid, ks in sorted(by_nacl.items())]
        return Terms(ext, sub, atom, mem, behs, self.in_runs(cls, _index_runs(unfiltered)), nacls), cls

    def slot_terms(self, name: str, side: Side, relevant: set[str], solver: z3.Solver,
                   with_public: bool) -> tuple[list[Terms], list[Any], Any]:
        """A symbolic side whose every class lists all its atoms in K slots (for universal checks).

        Returns one Terms per slot (sharing class, subnet, NACL, behaviour and membership), the
        per-slot "is a public address" flags, and the class variable. Classes with fewer atoms
        repeat their first one; the external class has one slot.
        """
        base, cls = self.side_terms(name, Side(side.classes, side.ext_atoms), relevant, solver, z3.BoolVal(True))
        atom_lists = [list(c.private_atoms) + (list(c.public_atoms) if with_public else []) for c in side.classes]
        k_slots = max([len(a) for a in atom_lists] + [1])
        slots, pubs = [], []
        for j in range(k_slots):
            atom = z3.Int(f"{name}_slot{j}")
            pub = z3.Bool(f"{name}_pub{j}")
            by_atom: dict[int, list[int]] = defaultdict(list)
            public: list[int] = []
            for k, (c, atoms) in enumerate(zip(side.classes, atom_lists, strict=True)):
                by_atom[atoms[j] if j < len(atoms) else atoms[0]].append(k)
                if len(c.private_atoms) <= j < len(atoms):
                    public.append(k)
            for a, ks in by_atom.items():
                solver.add(z3.Implies(self.in_runs(cls, _index_runs(ks)), atom == a))
            solver.add(pub == self.in_runs(cls, _index_runs(public)))
            if side.has_ext:
                solver.add(z3.Implies(base.ext, z3.And(atom == base.atom, z3.Not(pub))))
            slots.append(Terms(base.ext, base.sub, atom, base.mem, base.behs, base.unfiltered, base.nacls))
            pubs.append(pub)
        return slots, pubs, cls


def referenced_groups(behs: list[Behaviour | None]) -> set[str]:
    return {peer.ref for beh in behs if beh for _m, peer in beh if peer.kind == "sg"}

