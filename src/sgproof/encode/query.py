"""The only z3 code: one symbolic query per invariant over ENI classes and address atoms.

deny/only ask z3 for one allowed flow (sat = refuted). reach asks, per pair of endpoint classes,
for one service that every address pair and every client port fails (sat = refuted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import z3
from z3.z3types import Ast

from ..model import ANY_PROTO, ICMP, ICMPV6, SERVICE_MAX, Match, Network, Peer
from ..model.addr import Interval, IntervalSet, intersect, normalize
from ..semantics.evaluate import ICMP_REPLY
from ..semantics.routing import NAT_PORTS, NAT_PROTOCOLS, TgwLegs
from ..spec.select import EndpointSet
from ..spec.services import ServiceSet
from .prepare import Atoms, EniClass, ranges
from .routes import RouteOutcomes, allowed_in

Behaviour = tuple[tuple[Match, Peer], ...]  # service-sliced rule contents; () means "admits nothing"


def rule_overlaps(m: Match, services: ServiceSet) -> bool:
    """Whether a rule's or entry's protocol and ports meet the services."""
    lo, hi = m.lo, m.hi
    for proto, ivs in services.by_proto:
        if m.proto == ANY_PROTO or m.proto == proto:
            for a, b in ivs:
                if a <= hi and lo <= b:
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
    mapped_atoms: tuple[int, ...] = ()  # private IPv4 atoms with their own public IPv4 (routing only)
    unknown_atoms: tuple[int, ...] = ()  # a plan's unknown address: one atom of these, not all of them
    tags: tuple[bool, ...] = ()  # exception-selection memberships (kept apart only when an invariant has any)
    # `beh` as a union of blocks (the pruned rules of each of its groups): gates are built per block, so a
    # group on many classes is one term; () means the one block `beh`
    blocks: tuple[Behaviour, ...] = ()


class Reachable:
    """The groups, external presence and atoms of one side, as seen from the other side's rules.

    Lives for one invariant: it also holds that invariant's answers per peer and per group (which rules
    of a group can match this side), so that each is worked out once, not once per class."""

    __slots__ = ("_atoms", "_peer", "atom_runs", "behs", "blocks", "canon", "everything", "group_rules", "groups",
                 "has_ext")

    def __init__(self, groups: frozenset[str], has_ext: bool, atom_runs: tuple[Interval, ...],
                 everything: bool = False):
        self.groups = groups
        self.has_ext = has_ext
        self.atom_runs = atom_runs
        self.everything = everything  # no pruning (the unoptimised reference encoding)
        self._atoms = IntervalSet(atom_runs)
        self._peer: dict[int, tuple[Peer, bool]] = {}
        self.group_rules: dict[tuple[str, bool, int], Behaviour] = {}  # Encoder.pruned's, per group
        self.behs: dict[tuple[tuple[str, ...], bool, int], Behaviour | None] = {}  # ... and per group set
        self.canon: dict[Behaviour, Behaviour] = {}
        self.blocks: dict[tuple[tuple[str, ...], bool, int], tuple[Behaviour, ...]] = {}  # ... as group blocks

    def reference(self) -> Reachable:
        """The same side with no pruning at all (the unoptimised encoding)."""
        return Reachable(self.groups, self.has_ext, self.atom_runs, True)

    def may_match(self, enc: Encoder, peer: Peer) -> bool:
        if self.everything:
            return True
        got = self._peer.get(id(peer))
        if got is not None and got[0] is peer:
            return got[1]
        if peer.kind == "sg":
            ok = self.has_ext if peer.ref in enc.net.unknown_groups else peer.ref in self.groups
        else:
            ok = self._atoms.meets_any(enc.peer_atoms(peer))
        self._peer[id(peer)] = (peer, ok)  # the peer is held: its id stays its own
        return ok


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
    ctx: Any = None  # the route context index (RouteOutcomes.contexts), -1 when external
    mapped: Any = None  # the endpoint's address is a private IPv4 with its own public IPv4
    pub: Any = None  # the endpoint's address is its public IPv4 (an external source aims at it)
    ctxs: tuple[int, ...] = ()  # the route contexts this side's classes can be in


# The same z3 terms as z3.Or, z3.And, ==, >= and <= build, made through the C API without the Python
# layer's argument coercion (which costs more than the term itself). Every argument is already a z3
# term of one context, and the constants are Python ints, as the Python layer would coerce them.
def or_(terms: list[Any]) -> Any:
    """z3.Or(terms) for a non-empty list of z3 Booleans of one context."""
    return _nary(z3.Z3_mk_or, terms)


def and_(terms: list[Any]) -> Any:
    """z3.And(terms) for a non-empty list of z3 Booleans of one context."""
    return _nary(z3.Z3_mk_and, terms)


def _nary(make: Any, terms: list[Any]) -> Any:
    ctx = terms[0].ctx
    n = len(terms)
    args = (Ast * n)()
    for i, t in enumerate(terms):
        args[i] = t.as_ast()
    return z3.BoolRef(make(ctx.ref(), n, args), ctx)


_NUMERALS: list[Any] = [None, {}]  # the context of the last query built, and its integer constants


def _int(ctx: Any, value: int) -> Any:
    if _NUMERALS[0] is not ctx:
        _NUMERALS[0], _NUMERALS[1] = ctx, {}
    got = _NUMERALS[1].get(value)
    if got is None:
        got = _NUMERALS[1][value] = z3.IntNumRef(
            z3.Z3_mk_numeral(ctx.ref(), str(value), z3.Z3_mk_int_sort(ctx.ref())), ctx)
    return got


def not_(a: Any) -> Any:
    """z3.Not(a) for a z3 Boolean."""
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), a.as_ast()), ctx)


def implies_(a: Any, b: Any) -> Any:
    """z3.Implies(a, b) for two z3 Booleans of one context."""
    ctx = a.ctx
    return z3.BoolRef(z3.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)


def bool_ite_(c: Any, a: Any, b: Any) -> Any:
    """z3.If(c, a, b) for three z3 Booleans of one context."""
    ctx = c.ctx
    return z3.BoolRef(z3.Z3_mk_ite(ctx.ref(), c.as_ast(), a.as_ast(), b.as_ast()), ctx)


def eq_(v: Any, value: int) -> Any:
    """v == value for an integer z3 term."""
    ctx = v.ctx
    return z3.BoolRef(z3.Z3_mk_eq(ctx.ref(), v.as_ast(), _int(ctx, value).as_ast()), ctx)


def ne_(v: Any, value: int) -> Any:
    """v != value for an integer z3 term (z3's Distinct of the two, as the Python layer builds it)."""
    return _nary(z3.Z3_mk_distinct, [v, _int(v.ctx, value)])


def between_(v: Any, lo: int, hi: int) -> Any:
    """z3.And(v >= lo, v <= hi) for an integer z3 term."""
    ctx = v.ctx
    ref = ctx.ref()
    ge = z3.BoolRef(z3.Z3_mk_ge(ref, v.as_ast(), _int(ctx, lo).as_ast()), ctx)
    le = z3.BoolRef(z3.Z3_mk_le(ref, v.as_ast(), _int(ctx, hi).as_ast()), ctx)
    return and_([ge, le])


def _index_runs(indices: list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    """ranges() of indices, in one pass when they come sorted and distinct (as class and atom lists do)."""
    out: list[tuple[int, int]] = []
    if not indices:
        return out
    lo = hi = indices[0]
    for i in indices[1:]:
        if i == hi + 1:
            hi = i
        elif i > hi + 1:
            out.append((lo, hi))
            lo = hi = i
        else:
            return ranges(indices)  # not sorted and distinct
    out.append((lo, hi))
    return out


class Encoder:
    """Builds z3 formulas for one network; shared by every invariant of a run."""

    def __init__(self, net: Network, atoms: Atoms, classes: list[EniClass], class_of: list[int],
                 ephemeral: tuple[int, int], port_reps: list[int], mapped_cuts: bool = False):
        """`mapped_cuts`: routing outcomes asked with cuts at the mapped addresses too (the reference
        pieces of the unoptimised checker; see `RouteOutcomes`)."""
        self.net = net
        self.atoms = atoms
        self.classes = classes
        self.class_of = class_of
        self.ephemeral = ephemeral
        self.port_reps = port_reps
        self.subnet_idx = {sid: i for i, sid in enumerate(sorted(net.subnets))}
        self._beh_cache: dict[tuple[tuple[str, ...], bool, int], Behaviour | None] = {}
        self._group_cache: dict[tuple[str, bool, int], Behaviour] = {}
        self._span_cache: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._services_seen: dict[int, ServiceSet] = {}
        self._chain_cache: dict[tuple[str, bool, ServiceSet | None], Any] = {}
        self._placeholder_terms: tuple[Any, Any, Any] | None = None  # made lazily: no z3 state before a fork
        self.routes = RouteOutcomes(net, atoms, mapped_cuts) if net.routing is not None else None
        self.z: Any = None  # the z3 context of the query being built (fresh())
        self._reply_cache: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
        self._runs_cache: dict[tuple[int, int], tuple[tuple[Interval, ...], Any]] = {}
        self._run_cache: dict[tuple[int, int, int], tuple[Any, Any]] = {}
        self._gate_cache: dict[tuple[int, ...], tuple[Any, ...]] = {}

    def fresh(self) -> Any:
        """A new z3 context for one query: what z3 answers then depends on that query alone, not on
        which queries this process built before (deterministic witnesses whatever --jobs is)."""
        self.release()
        self.z = z3.Context()
        return self.z

    def release(self) -> None:
        """Let the last query's z3 context and terms go (they are freed once nothing else holds them)."""
        self._chain_cache.clear()
        self._reply_cache.clear()
        self._runs_cache.clear()
        self._run_cache.clear()
        self._gate_cache.clear()
        self._placeholder_terms = None
        self.z = None
        _NUMERALS[0], _NUMERALS[1] = None, {}

    def T(self) -> Any:
        return z3.BoolVal(True, self.z)

    def F(self) -> Any:
        return z3.BoolVal(False, self.z)

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
                    if rule_overlaps(rule.match, services):
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
            if self.net.enis[i].hosts:  # contract 4.6: no flow starts or ends at the others
                by_class[self.class_of[i]].append(i)
        return by_class, self.ext_atom_runs(sel)

    def group_rules(self, group: str, egress: bool, services: ServiceSet) -> Behaviour:
        """One group's distinct rule contents of a direction that meet the services (once per run)."""
        self._services_seen.setdefault(id(services), services)
        key = (group, egress, id(services))
        got = self._group_cache.get(key)
        if got is None:
            sg = self.net.sgs[group]
            got = self._group_cache[key] = tuple(dict.fromkeys(
                (r.match, r.peer) for r in (sg.egress if egress else sg.ingress) if rule_overlaps(r.match, services)))
        return got

    def pruned(self, groups: tuple[str, ...], egress: bool, services: ServiceSet, other: Reachable
               ) -> Behaviour | None:
        """behaviour() without the rules that can match nothing on the other side; worked out per group
        (a group's rules are pruned once per invariant side, whatever number of classes carries it).
        Equal behaviours come back as one object (so that the object's id tells them apart)."""
        key = (groups, egress, id(services))
        cache = other.behs
        if key in cache:
            return cache[key]
        parts: list[Behaviour] = []
        if other.everything:
            out = self.behaviour(groups, egress, services)
        elif not groups:
            out = None
        else:
            for g in groups:
                gk = (g, egress, id(services))
                rules = other.group_rules.get(gk)
                if rules is None:
                    rules = other.group_rules[gk] = tuple(
                        r for r in self.group_rules(g, egress, services) if other.may_match(self, r[1]))
                if rules:
                    parts.append(rules)
            out = parts[0] if len(parts) == 1 else tuple(dict.fromkeys(r for part in parts for r in part))
        if out is not None:
            out = other.canon.setdefault(out, out)
        cache[key] = out
        other.blocks[key] = tuple(parts) if parts or not out else (out,)
        return out

    def pruned_blocks(self, groups: tuple[str, ...], egress: bool, services: ServiceSet, other: Reachable
                      ) -> tuple[Behaviour, ...]:
        """pruned()'s behaviour as its groups' pruned rules, one block per group that keeps any (the
        unoptimised encoding: the behaviour as one block)."""
        self.pruned(groups, egress, services, other)
        return other.blocks[(groups, egress, id(services))]

    def filter_side(
        self, base: dict[int, list[int]], ext_runs: list[tuple[int, int]], other_base: dict[int, list[int]] | list[int],
        other_egress: bool, services: ServiceSet, other_has_ext: bool,
    ) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
        """Drop classes and external atoms that no rule of the other side could admit (sound slicing).

        The other side's rules are gathered once per group it carries (an index by group), and each
        class of this side is kept when it carries a referenced group or owns an atom some rule names."""
        if other_has_ext:
            return base, ext_runs
        other_groups: set[str] = set()
        for c in other_base:
            gs = self.classes[c].groups
            if not gs:
                return base, ext_runs  # an ENI without groups admits everything
            other_groups.update(gs)
        return self.filter_named(base, ext_runs, (peer for g in other_groups
                                                  for _m, peer in self.group_rules(g, other_egress, services)))

    def filter_named(self, base: dict[int, list[int]], ext_runs: list[tuple[int, int]], peers: Iterable[Peer]
                     ) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
        """Keep the classes and external atoms that one of `peers` names: a class that carries a
        referenced group or owns an atom a CIDR or prefix list holds (a group the snapshot does not
        hold names every external address)."""
        refs: set[str] = set()
        atom_runs: list[tuple[int, int]] = []
        unknown = False
        for peer in peers:
            if peer.kind == "sg":
                if peer.ref in self.net.unknown_groups:
                    unknown = True
                else:
                    refs.add(peer.ref)
            else:
                atom_runs.extend(self.peer_atoms(peer))
        runs = IntervalSet(atom_runs)
        kept: dict[int, list[int]] = {}
        for c, members in base.items():
            cls = self.classes[c]
            if not refs.isdisjoint(cls.groups) or any(
                runs.meets(a, a) for a in (*cls.private_atoms, *cls.public_atoms)
            ):
                kept[c] = members
        ext_kept = ext_runs if unknown else list(intersect(tuple(normalize(ext_runs)), runs.runs))
        return kept, ext_kept

    def project(self, base: dict[int, list[int]], egress: bool, services: ServiceSet,
                relevant: set[str], with_public: bool, other: Reachable, merge: bool = True,
                with_tags: bool = False, union: bool = False) -> list[SideClass]:
        """Merge classes that this query cannot tell apart; rules that can match nothing on the other
        side are dropped from behaviours first (they can never fire for this query).

        `union` (existential queries only): classes that differ only in their private addresses merge too,
        and the merged class holds the union of their atoms. A flow exists from some (member, address) of
        the merged class iff it exists from some member: every other term of the query depends on the
        class and on the chosen atom only, never on which member holds the atom. (A universal query must
        not do this: every address of the union is more than every address of one member.) The one place
        where the member matters, never an ENI to itself, is `Checker._not_to_itself`'s business."""
        out: dict[tuple[object, ...], SideClass] = {}
        unions: dict[tuple[object, ...], set[int]] = {}
        for c, members in base.items():
            cls = self.classes[c]
            beh = self.pruned(cls.groups, egress, services, other)
            mem = frozenset(relevant.intersection(cls.groups)) if relevant else frozenset()
            pub = cls.public_atoms if with_public else ()
            mapped = cls.mapped_atoms if self.routes is not None else ()
            tags = cls.tags if with_tags else ()
            # pruned() hands out one object per distinct behaviour: its id stands for it in the key
            own = None if union else cls.private_atoms
            key: tuple[object, ...] = ((cls.subnet_id, None if beh is None else id(beh), mem, own,
                                        pub, mapped, cls.unknown_atoms, tags) if merge else (c,))
            sc = out.get(key)
            if sc is None:
                blocks = self.pruned_blocks(cls.groups, egress, services, other)
                sc = out[key] = SideClass(cls.subnet_id, beh, mem, cls.private_atoms, pub, [], mapped,
                                          cls.unknown_atoms, cls.tags, blocks)
                if union and merge:
                    unions[key] = set(cls.private_atoms)
            elif union and merge:
                unions[key].update(cls.private_atoms)
            sc.members.extend(members)
        for key, atoms in unions.items():
            if len(atoms) != len(out[key].private_atoms):
                out[key].private_atoms = tuple(sorted(atoms))
        texts: dict[int, str] = {}

        def text(beh: Behaviour | None) -> str:
            got = texts.get(id(beh))
            if got is None:
                got = texts[id(beh)] = str(beh)
            return got

        return sorted(out.values(), key=lambda c: (c.beh is None, text(c.beh), c.subnet_id, sorted(c.mem),
                                                   c.private_atoms, c.public_atoms, c.mapped_atoms,
                                                   c.unknown_atoms, c.tags, c.members))

    def referenced(self, base: dict[int, list[int]], egress: bool, services: ServiceSet, other: Reachable
                   ) -> set[str]:
        """The groups that the side's pruned rules reference (each distinct behaviour looked at once)."""
        seen: set[int] = set()
        out: set[str] = set()
        for c in base:
            beh = self.pruned(self.classes[c].groups, egress, services, other)
            if beh and id(beh) not in seen:
                seen.add(id(beh))
                out.update(peer.ref for _m, peer in beh if peer.kind == "sg")
        return out

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
    def in_runs(self, v: Any, runs: list[tuple[int, int]] | tuple[Interval, ...]) -> Any:
        if not runs:
            return self.F()
        if isinstance(runs, tuple) and len(runs) > 4:
            # long immutable runs (route outcomes) recur for every slot pair: one term per variable
            key = (v.get_id(), id(runs))
            got = self._runs_cache.get(key)
            if got is not None and got[0] is runs and got[1].ctx is v.ctx:
                return got[1]
            term = self._in_runs(v, runs)
            self._runs_cache[key] = (runs, term)
            return term
        return self._in_runs(v, runs)

    def _in_runs(self, v: Any, runs: list[tuple[int, int]] | tuple[Interval, ...]) -> Any:
        if len(runs) == 1:
            return self._in_run(v, *runs[0])
        return or_([self._in_run(v, a, b) for a, b in runs])

    def _in_run(self, v: Any, a: int, b: int) -> Any:
        """a <= v <= b (v == a when a == b), one term per (variable, run) in a query: the same class or
        atom run recurs in many tables. Keyed by the variable object's id; the entry holds the object,
        so no other object can take that id while the entry lives, and a hit must be that object."""
        key = (id(v), a, b)
        got = self._run_cache.get(key)
        if got is None or got[0] is not v:
            got = self._run_cache[key] = (v, eq_(v, a) if a == b else between_(v, a, b))
        return got[1]

    def match(self, m: Match, p: Any, x: Any) -> Any:
        conds = []
        if m.proto != ANY_PROTO:
            conds.append(eq_(p, m.proto))
        if (m.lo, m.hi) != (0, SERVICE_MAX):
            conds.append(eq_(x, m.lo) if m.lo == m.hi else between_(x, m.lo, m.hi))
        return and_(conds) if conds else self.T()

    def peer(self, peer: Peer, other: Terms) -> Any:
        if peer.kind == "sg":
            if peer.ref in self.net.unknown_groups:
                return other.ext
            return other.mem.get(peer.ref, self.F())
        return self.in_runs(other.atom, self.peer_atoms(peer))

    def sg_gate(self, own: Terms, other: Terms, p: Any, x: Any) -> Any:
        """Some behaviour of the endpoint admits the flow; a rule shared by many behaviours (one group
        on many classes) is one term, built once per gate. The gate depends on the endpoint's class
        terms and on the other endpoint's atom and groups only, so a reach query's slot pairs that
        share them share one gate (built once per query)."""
        key = (id(own.behs), own.ext.get_id(), own.unfiltered.get_id(), id(other.mem), other.atom.get_id(),
               other.ext.get_id(), p.get_id(), x.get_id())
        cached = self._gate_cache.get(key)
        if cached is not None and cached[0] is own.behs and cached[1] is other.mem:
            return cached[2]
        gate = self._sg_gate(own, other, p, x)
        # the held objects keep every id of the key alive (and so its own)
        self._gate_cache[key] = (own.behs, other.mem, gate, own.ext, own.unfiltered, other.atom, other.ext, p, x)
        return gate

    def _sg_gate(self, own: Terms, other: Terms, p: Any, x: Any) -> Any:
        alts = [own.ext, own.unfiltered]
        rule_terms: dict[int, tuple[tuple[Match, Peer], Any]] = {}  # id of a (match, peer) pair held by a behaviour
        for beh, cond in own.behs:
            rules = []
            for pair in beh:
                got = rule_terms.get(id(pair))
                if got is None or got[0] is not pair:
                    got = rule_terms[id(pair)] = (pair, and_([self.match(pair[0], p, x), self.peer(pair[1], other)]))
                rules.append(got[1])
            if rules:
                alts.append(and_([cond, or_(rules)]))
        return or_(alts)

    def nacl_chain(self, nacl_id: str, egress: bool, remote: Any, p: Any, x: Any,
                   services: ServiceSet | None) -> Any:
        """First-match evaluation of a NACL direction; built once, then instantiated by substitution."""
        key = (nacl_id, egress, services)
        template = self._chain_cache.get(key)
        if template is None:
            nacl = self.net.nacls[nacl_id]
            entries = nacl.egress if egress else nacl.ingress
            if services is not None:
                entries = tuple(e for e in entries if rule_overlaps(e.match, services))
            out: Any = self.F()
            r, pp, xx = self._placeholders
            for e in reversed(entries):
                cond = and_([self.in_runs(r, [self.span(e.family, e.lo, e.hi)]), self.match(e.match, pp, xx)])
                out = bool_ite_(cond, self.T() if e.allow else self.F(), out)
            template = self._chain_cache[key] = out
        r, pp, xx = self._placeholders
        return z3.substitute(template, (r, remote), (pp, p), (xx, x))

    @property
    def _placeholders(self) -> tuple[Any, Any, Any]:
        if self._placeholder_terms is None:
            self._placeholder_terms = (z3.Int("_remote", self.z), z3.Int("_proto", self.z),
                                       z3.Int("_value", self.z))
        return self._placeholder_terms

    def nacl_gate(self, own: Terms, egress: bool, remote: Any, p: Any, x: Any, services: ServiceSet | None) -> Any:
        alts = [and_([cond, self.nacl_chain(n, egress, remote, p, x, services)]) for n, cond in own.nacls]
        return or_(alts) if alts else self.F()

    def reply(self, p: Any, x: Any, sp: Any) -> tuple[Any, Any]:
        """(needs a reply, reply service value) for the request (p, x, sp); the parts that do not depend
        on the client port are built once per query."""
        key = (p.get_id(), x.get_id())
        got = self._reply_cache.get(key)
        if got is None:
            got = self._reply_cache[key] = self._reply_parts(p, x)
        need, ported, icmp_rx = got
        return need, z3.If(ported, sp, icmp_rx)

    def _reply_parts(self, p: Any, x: Any) -> tuple[Any, Any, Any]:
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
        icmp4: Any = z3.IntVal(0, self.z)
        for t, r in v4.items():
            icmp4 = z3.If(typ(t), r * 256, icmp4)
        return need, ported, z3.If(p == ICMP, icmp4, z3.If(p == ICMPV6, v6[128] * 256, 0))

    def chain_at(self, subnet_id: str, egress: bool, remote: Any, p: Any, x: Any,
                 services: ServiceSet | None) -> Any:
        """A NACL leg at a fixed subnet (a NAT gateway's or a transit gateway attachment's)."""
        return self.nacl_chain(self.net.subnets[subnet_id].nacl_id, egress, remote, p, x, services)

    def route_alternatives(self, s: Terms, d: Terms, unknown_allows: bool
                           ) -> tuple[list[Any], dict[tuple[str, str], list[Any]], dict[TgwLegs, list[Any]], Any]:
        """The request's routes, grouped by the legs they add: direct conditions, NAT gateway ones (by
        (nat id, subnet)), transit gateway ones (by attachment subnets); and the reply route condition."""
        direct: list[Any] = []
        nats: dict[tuple[str, str], list[Any]] = defaultdict(list)
        tgws: dict[TgwLegs, list[Any]] = defaultdict(list)
        ro = self.routes
        if ro is None:
            return [self.T()], nats, tgws, self.T()
        reply: list[Any] = []
        s_ext = not z3.is_false(s.ext)
        d_ext = not z3.is_false(d.ext)
        if s_ext:
            direct.append(s.ext)
        if d_ext and s.ctxs:
            reply.append(d.ext)
        for i in s.ctxs:
            for j in d.ctxs:
                for (verdict, legs), runs in ro.to_eni(i, j).items():
                    if allowed_in(verdict, unknown_allows):
                        cond = and_([eq_(s.ctx, i), eq_(d.ctx, j), self.in_runs(d.atom, runs)])
                        (tgws[legs] if legs else direct).append(cond)
                for (verdict, _legs), runs in ro.to_eni(j, i).items():
                    if allowed_in(verdict, unknown_allows):
                        reply.append(and_([eq_(s.ctx, i), eq_(d.ctx, j), self.in_runs(s.atom, runs)]))
            if d_ext:
                for (v0, v1, nat), runs in ro.to_external(i).items():
                    base = and_([eq_(s.ctx, i), d.ext, self.in_runs(d.atom, runs)])
                    if nat is not None:
                        if allowed_in(v0, unknown_allows) and allowed_in(nat[2], unknown_allows):
                            nats[(nat[0], nat[1])].append(base)
                    elif allowed_in(v0, unknown_allows):
                        direct.append(base)
                    elif allowed_in(v1, unknown_allows):
                        direct.append(and_([base, s.mapped]))
        if s_ext:
            for j in d.ctxs:
                for (v0, v1), runs in ro.inbound(j).items():
                    at = [c for v, c in ((v0, not_(d.pub)), (v1, d.pub)) if allowed_in(v, unknown_allows)]
                    if at:
                        reply.append(and_([s.ext, eq_(d.ctx, j), self.in_runs(s.atom, runs), or_(at)]))
        return direct, nats, tgws, (or_(reply) if reply else self.F())

    def connection(self, s: Terms, d: Terms, p: Any, x: Any, services: ServiceSet, sports: list[Any],
                   nports: list[Any], unknown_allows: bool, s_gate: Any = None, d_gate: Any = None) -> Any:
        """Every gate of contract 4 and 4.5 for the request and its reply: the SGs, routing both ways, the
        NACLs on every leg. The reply needs one of `sports` (client ports) and, through a NAT gateway, one
        of `nports` (its source ports). `unknown_allows`: an unknown route counts as a route (deny/only).
        `s_gate`/`d_gate` replace a side's security-group gate (lint: "this one rule admits it")."""
        cross = or_([s.ext, d.ext, s.sub != d.sub])
        s_out = self.nacl_gate(s, True, d.atom, p, x, services)
        d_in = self.nacl_gate(d, False, s.atom, p, x, services)
        req_direct = and_([implies_(and_([cross, not_(s.ext)]), s_out),
                           implies_(and_([cross, not_(d.ext)]), d_in)])
        replies = [self.reply(p, x, sp) for sp in sports]

        def rep_direct(need: Any, rx: Any) -> Any:
            return and_([
                implies_(and_([cross, need, not_(d.ext)]), self.nacl_gate(d, True, s.atom, p, rx, None)),
                implies_(and_([cross, need, not_(s.ext)]), self.nacl_gate(s, False, d.atom, p, rx, None)),
            ])

        direct, nats, tgws, reply_route = self.route_alternatives(s, d, unknown_allows)
        parts = []
        if direct:
            parts.append(and_([or_(direct), req_direct, or_([rep_direct(n, rx) for n, rx in replies])]))
        ported = z3.Or(p == 6, p == 17)
        for (_nat_id, sn), conds in sorted(nats.items()):
            in_sn = eq_(s.sub, self.subnet_idx[sn])
            req = and_([
                or_([eq_(p, proto) for proto in NAT_PROTOCOLS]),
                implies_(not_(in_sn), and_([s_out, self.chain_at(sn, False, s.atom, p, x, services)])),
                self.chain_at(sn, True, d.atom, p, x, services),
            ])
            reps = [implies_(and_([need, not_(in_sn)]), and_([
                self.chain_at(sn, True, s.atom, p, rx, None), self.nacl_gate(s, False, d.atom, p, rx, None)]))
                for need, rx in replies]
            need0, rx0 = replies[0]
            nat_reps = [implies_(need0, self.chain_at(sn, False, d.atom, p, z3.If(ported, np, rx0), None))
                        for np in nports]
            parts.append(and_([or_(conds), req, or_(reps), or_(nat_reps)]))
        for legs, conds in sorted(tgws.items(), key=lambda kv: (kv[0].sender_subnet, kv[0].receiver_subnet)):
            # AWS: towards the gateway the sender's subnet (out) and the attachment subnet (in) are both
            # evaluated, even as one subnet; from the gateway into the attachment's own subnet nothing is
            sa, sb = legs.sender_subnet, legs.receiver_subnet
            not_sa, not_sb = ne_(s.sub, self.subnet_idx[sa]), ne_(d.sub, self.subnet_idx[sb])
            req = and_([s_out, self.chain_at(sa, False, s.atom, p, x, services),
                        implies_(not_sb, and_([self.chain_at(sb, True, d.atom, p, x, services), d_in]))])
            reps = [implies_(need, and_([
                self.nacl_gate(d, True, s.atom, p, rx, None), self.chain_at(sb, False, d.atom, p, rx, None),
                implies_(not_sa, and_([self.chain_at(sa, True, s.atom, p, rx, None),
                                       self.nacl_gate(s, False, d.atom, p, rx, None)]))]))
                for need, rx in replies]
            parts.append(and_([or_(conds), req, or_(reps)]))
        if not parts:
            return self.F()
        s_sg = self.sg_gate(s, d, p, x) if s_gate is None else s_gate
        d_sg = self.sg_gate(d, s, p, x) if d_gate is None else d_gate
        return and_([s_sg, d_sg, reply_route, or_(parts)])

    def nat_port(self, name: str = "nport") -> Any:
        return z3.Int(name, self.z)

    def nat_port_constraints(self, np: Any) -> list[Any]:
        return [np >= NAT_PORTS[0], np <= NAT_PORTS[1]]

    def allowed(self, s: Terms, d: Terms, p: Any, x: Any, sp: Any, services: ServiceSet,
                np: Any | None = None, unknown_allows: bool = True, s_gate: Any = None, d_gate: Any = None) -> Any:
        """Some flow with client port sp (and NAT source port np) gets through; for positive use in a
        satisfiability query (np, when not given, is a fresh variable bounded inside the formula)."""
        extra: list[Any] = []
        if np is None:
            np = self.nat_port("_nport")
            extra = self.nat_port_constraints(np)
        return z3.And(*extra, self.connection(s, d, p, x, services, [sp], [np], unknown_allows, s_gate, d_gate))

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
        """A class variable plus conditions on it: which behaviour, NACL, subnet, route context and groups
        each class has, as runs of class indices (classes come sorted so that runs are few)."""
        Z = self.z
        cls = z3.Int(f"{name}_cls", Z)
        atom = z3.Int(f"{name}_atom", Z)
        sub = z3.Int(f"{name}_sub", Z)
        ctx = z3.Int(f"{name}_ctx", Z)
        n = len(side.classes)
        ext = (cls == n) if side.has_ext else self.F()
        solver.add(cls >= 0, cls <= (n if side.has_ext else n - 1))
        by_block: dict[int, tuple[Behaviour, list[int]]] = {}  # by id: blocks come from one cache
        unfiltered: list[int] = []
        by_nacl: dict[str, list[int]] = defaultdict(list)
        by_sub: dict[str, list[int]] = defaultdict(list)
        by_group: dict[str, list[int]] = defaultdict(list)
        by_atoms: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = defaultdict(list)
        by_mapped: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for k, c in enumerate(side.classes):
            if c.beh is None:
                unfiltered.append(k)
            else:
                for block in c.blocks or (c.beh,):
                    got = by_block.get(id(block))
                    if got is None or got[0] is not block:
                        got = by_block[id(block)] = (block, [])
                    got[1].append(k)
            by_nacl[self.net.subnets[c.subnet_id].nacl_id].append(k)
            by_sub[c.subnet_id].append(k)
            for g in sorted(c.mem):
                by_group[g].append(k)
            by_atoms[(c.private_atoms, c.public_atoms)].append(k)
            if c.mapped_atoms:
                by_mapped[c.mapped_atoms].append(k)
        ctxs: set[int] = set()
        facts = []  # added to the solver at once, in this order
        for sid, ks in by_sub.items():
            conds = [eq_(sub, self.subnet_idx[sid])]
            if self.routes is not None:
                ci = self.routes.subnet_ctx[sid]
                ctxs.add(ci)
                conds.append(eq_(ctx, ci))
            facts.append(implies_(self.in_runs(cls, _index_runs(ks)), and_(conds)))
        if side.has_ext:
            facts.append(implies_(ext, and_([eq_(sub, -1), eq_(ctx, -1), self.in_runs(atom, side.ext_atoms)])))
        pub_conds = []
        for (priv, pub), ks in by_atoms.items():
            atom_c = self.in_runs(atom, _index_runs(priv))
            in_k = self.in_runs(cls, _index_runs(ks))
            if pub:
                atom_c = or_([atom_c, and_([other_ext, self.in_runs(atom, _index_runs(pub))])])
                pub_conds.append(and_([in_k, self.in_runs(atom, _index_runs(pub))]))
            facts.append(implies_(in_k, atom_c))
        if facts:
            solver.add(*facts)
        mapped = or_([and_([self.in_runs(cls, _index_runs(ks)), self.in_runs(atom, _index_runs(m))])
                      for m, ks in by_mapped.items()]) if by_mapped else self.F()
        mem = {g: self.in_runs(cls, _index_runs(by_group.get(g, []))) for g in sorted(relevant)}
        behs = [(block, self.in_runs(cls, _index_runs(ks))) for block, ks in by_block.values()]
        nacls = [(nid, self.in_runs(cls, _index_runs(ks))) for nid, ks in sorted(by_nacl.items())]
        return Terms(ext, sub, atom, mem, behs, self.in_runs(cls, _index_runs(unfiltered)), nacls, ctx, mapped,
                     or_(pub_conds) if pub_conds else self.F(), tuple(sorted(ctxs))), cls

    def slot_terms(self, name: str, side: Side, relevant: set[str], solver: z3.Solver,
                   with_public: bool) -> tuple[list[Terms], list[Any], Any]:
        """A symbolic side whose every class lists all its atoms in K slots (for universal checks).

        Returns one Terms per slot (sharing class, subnet, NACL, behaviour and membership), the
        per-slot "is a public address" flags, and the class variable. Classes with fewer atoms
        repeat their first one; the external class has one slot. A class whose ENIs get their one
        address only at apply time (a plan) has one slot for it whose atom is free within its block:
        a refutation may choose it, so a proof holds for every address AWS could assign.
        """
        base, cls = self.side_terms(name, Side(side.classes, side.ext_atoms), relevant, solver, self.T())
        atom_lists: list[list[int | None]] = []
        for c in side.classes:
            known: list[int | None] = [a for a in c.private_atoms if a not in set(c.unknown_atoms)]
            if c.unknown_atoms:
                known.append(None)  # the choice
            atom_lists.append(known + (list(c.public_atoms) if with_public else []))
        k_slots = max([len(a) for a in atom_lists] + [1])
        slots, pubs = [], []
        first = None
        for j in range(k_slots):
            atom = z3.Int(f"{name}_slot{j}", self.z)
            first = atom if first is None else first
            pub = z3.Bool(f"{name}_pub{j}", self.z)
            by_atom: dict[int | None, list[int]] = defaultdict(list)
            public: list[int] = []
            mapped: list[tuple[int, int]] = []
            for k, (c, atoms) in enumerate(zip(side.classes, atom_lists, strict=True)):
                a = atoms[j] if j < len(atoms) else atoms[0]
                by_atom[a if j < len(atoms) or a is not None else -1].append(k)
                n_priv = len(atoms) - (len(c.public_atoms) if with_public else 0)
                if n_priv <= j < len(atoms):
                    public.append(k)
                if a is not None and a in c.mapped_atoms:
                    mapped.append((k, k))
            facts = []  # added to the solver at once, in this order
            for a, ks in by_atom.items():
                runs = _index_runs(ks)
                if a is None:  # the choice slot: somewhere in the class's unknown block
                    for k in ks:
                        c = side.classes[k]
                        facts.append(implies_(eq_(cls, k), self.in_runs(atom, _index_runs(c.unknown_atoms))))
                elif a == -1:  # a class with fewer slots whose first slot is the choice: repeat it
                    facts.append(implies_(self.in_runs(cls, runs), atom == first))
                else:
                    facts.append(implies_(self.in_runs(cls, runs), eq_(atom, a)))
            facts.append(pub == self.in_runs(cls, _index_runs(public)))
            solver.add(*facts)
            if side.has_ext:
                solver.add(implies_(base.ext, and_([atom == base.atom, not_(pub)])))
            mapped_j = self.in_runs(cls, normalize(mapped)) if mapped else self.F()
            slots.append(Terms(base.ext, base.sub, atom, base.mem, base.behs, base.unfiltered, base.nacls,
                               base.ctx, mapped_j, pub, base.ctxs))
            pubs.append(pub)
        return slots, pubs, cls

