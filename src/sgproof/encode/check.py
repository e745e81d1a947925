"""Run one invariant: slice, encode, solve, and turn z3's answer into a checked verdict."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import z3

from ..errors import InternalError
from ..model import ICMP, ICMPV6, PORTED, TCP, UDP, NaclEntry, Network, SgRule
from ..model.addr import contains, is_global, normalize, parse_cidr
from ..model.network import NON_HOST_TYPES
from ..remedy.parts import OPEN
from ..remedy.witness import FlowSearch, HostIndex, service_values
from ..report.model import Counterexample, Result, endpoint_info
from ..semantics import Endpoint, Flow, Step, Verdict, connection_exists, evaluate
from ..semantics.evaluate import ServiceCuts, matches, peer_matches, port_representatives
from ..semantics.routing import NAT_PORTS
from ..spec import Invariant, ServiceSet, Spec, describe
from ..spec.parse import Exemption
from ..spec.select import EndpointSet, Selection
from .alike import alike, class_index
from .prepare import SPECIAL_RANGES, build_atoms, build_classes, ranges
from .query import Encoder, Side, SideClass, and_, eq_, not_

ICMP_ECHO = {ICMP: 8 * 256, ICMPV6: 128 * 256}  # echo request, code 0


def live_exemptions(inv: Invariant) -> tuple[Exemption, ...]:
    """The invariant's exceptions that still apply (an expired one does not)."""
    return tuple(ex for ex in inv.exemptions if not ex.expired)


def selector_cidrs(*sels: Any) -> list[str]:
    """Every CIDR the selectors name (they draw atom boundaries)."""
    out: list[str] = []

    def walk(sel: Any) -> None:
        if sel is None:
            return
        if sel.key == "cidr":
            out.extend(sel.value)
        for c in sel.children:
            walk(c)

    for sel in sels:
        walk(sel)
    return out


def spec_cidrs(spec: Spec) -> list[str]:
    """The CIDRs of the spec's groups, invariants and exceptions."""
    sels: list[Any] = list(spec.groups.values())
    for inv in spec.invariants:
        sels += [inv.src, inv.dst, *(s for ex in inv.exemptions for s in (ex.src, ex.dst))]
    return selector_cidrs(*sels)


def statement(inv: Invariant) -> str:
    src = inv.src.text if inv.src else "anywhere"
    dst = inv.dst.text if inv.dst else "anywhere"
    svc = describe(inv.services)
    if inv.kind == "deny":
        return f"no endpoint of {src} can open a connection to any endpoint of {dst} on {svc}"
    if inv.kind == "only":
        return f"every connection into {dst} on {svc} comes from {src}"
    return f"every endpoint of {src} can connect to every endpoint of {dst} on {svc}"


# z3 resource units one readable-witness preference may spend (each check adds this much to the
# solver's count): a few seconds of one core, the same on every machine and under any load.
PREFERENCE_RLIMIT = 10_000_000


# Large queries look for a model by bit-blasting first (`Checker._decide`): z3's arithmetic solver
# spends time on every bound of a class index that grows with the classes, where a SAT solver over
# bit-vectors finds the refuting choice several times sooner (heterogeneous 100k, one reach: 42 s
# against 10 s). The bit-vector translation (nla2bv) is an under-approximation, so only its "sat" is
# used; any other answer is decided again by the exact solver, which alone proves. Bounded in z3's
# resource units, so that the path taken never depends on load.
FINDER_CLASSES = 12_000  # classes on the two sides together, from which the model finder runs first
FINDER_RLIMIT = 400_000_000
FINDER_TACTICS = ("simplify", "propagate-values", "solve-eqs", "nla2bv", "bit-blast", "sat")


# Every query is simplified before z3's SMT core sees it: constants propagated, variables that an
# equation fixes solved away (each side's class index fixes its atom, subnet and route context). The
# core then works on a fraction of the terms: friendly 10k app-tier -> internet's exactness question
# 0.21 s -> 0.025 s. Every step is an equivalence-preserving rewrite; a model is mapped back through
# the rewrites by z3, and each witness is replayed all the same.
SOLVER_TACTICS = ("simplify", "propagate-values", "solve-eqs", "smt")


# A query with this many classes on its two sides together first asks the plain evaluator for a
# refutation among a bounded set of endpoint pairs (`Checker._searched`, `_reach_search`): on the
# heterogeneous benchmark building and solving such a query takes a second or two, the search a few
# milliseconds when it finds one and about as much as a small query's solving when it does not.
# A found flow is used only when it is one the solver's readable-model preferences would also have
# settled on; it is replayed like the solver's. Finding nothing proves nothing: the solver then decides.
SEARCH_CLASSES = 400
SEARCH_MISSES = 24  # deny/only: endpoint pairs in a row that yield no flow
SEARCH_PAIRS = 48  # reach: class pairs tried


@dataclass(slots=True)
class _Query:
    solver: z3.Solver
    side_s: Side
    side_d: Side
    s_cls: Any
    d_cls: Any
    s_atom: Any
    d_atom: Any
    p: Any
    x: Any
    sp: Any
    np: Any
    assume: tuple[Any, ...] = ()  # literals that apply the invariant's exceptions
    matched: tuple[Any, ...] = ()  # per exception: a literal asking for a violation it accepts


_Sides = tuple[Side, Side, set[str], set[str]]  # a query's two sides and the groups each side's rules name


class Checker:
    """Prepared once per network and spec; checks invariants one by one."""

    def __init__(self, net: Network, spec: Spec, timeout_ms: int = 120_000, optimise: bool = True):
        self.optimise = optimise  # False: no slicing, pruning or merging (a reference for tests)
        self.finder_classes = FINDER_CLASSES  # tests set 0 to run the model finder on every query
        self.search_classes = SEARCH_CLASSES  # tests set 0 to let the plain evaluator's search go first always
        self.alike = True  # violations(): fill groups with flows alike each model (tests compare False)
        self.net = net
        self.spec = spec
        self.timeout_ms = timeout_ms
        self.selection = Selection(net, spec)
        self.atoms = build_atoms(net, spec_cidrs(spec))
        # the selections of every live exception: classes never mix members and non-members of one
        self.exception_sets: list[EndpointSet] = []
        self._exception_index: dict[Any, int] = {}
        for inv in spec.invariants:
            for ex in inv.exemptions:
                for sel in (ex.src, ex.dst):
                    if not ex.expired and sel is not None and sel.norm not in self._exception_index:
                        self._exception_index[sel.norm] = len(self.exception_sets)
                        self.exception_sets.append(self.selection.evaluate(sel))
        tags = [tuple(i in es.enis for es in self.exception_sets) for i in range(len(net.enis))] \
            if self.exception_sets else None
        classes, class_of = build_classes(net, self.atoms, tags)
        self.enc = Encoder(net, self.atoms, classes, class_of, spec.ephemeral,
                           port_representatives(net, *spec.ephemeral), mapped_cuts=not optimise)
        self.nat_reps = port_representatives(net, *NAT_PORTS)
        # the rule boundaries by protocol of this network (explain.enumerate.allowed_services), filled
        # as asked: the flow map and --all ask them for every pair they check
        self.rule_cuts = ServiceCuts(net)

    def warm(self) -> None:
        """Evaluate every selector of the spec now (before worker processes fork)."""
        for inv in self.spec.invariants:
            self.sides(inv)

    def sides(self, inv: Invariant) -> tuple[EndpointSet, EndpointSet]:
        """The endpoints each end of a flow of the invariant ranges over: for only, the source is every
        endpoint outside `from` (both evaluations cached)."""
        src = self.selection.evaluate(inv.src)
        dst = self.selection.evaluate(inv.dst)
        return (self.selection.evaluate_not(src) if inv.kind == "only" else src), dst

    def check(self, inv: Invariant) -> Result:
        start = time.perf_counter()
        try:
            return self._check(inv, start)
        except InternalError as exc:
            return self._result(inv, start, "error", error=f"internal error: {exc}")

    def _result(self, inv: Invariant, start: float, status: str, **kw: Any) -> Result:
        if inv.exemptions and "exceptions" not in kw:
            kw["exceptions"] = self._exceptions_report(inv, None, ())
        return Result(inv.id, inv.kind, status, inv.description, statement(inv), inv.where, inv.line,
                      time.perf_counter() - start, **kw)

    def _selections(self, inv: Invariant) -> tuple[EndpointSet, EndpointSet] | str:
        """`sides`, or the error of a selector that matches nothing where the invariant does not allow it."""
        if not inv.allow_empty:
            for role, sel in (("from", inv.src), ("to", inv.dst)):
                if sel is not None and self.selection.evaluate(sel).is_empty():
                    return (f"{sel.where}: the {role} selector {sel.text!r} matches no endpoint "
                            "(add allow_empty: true to the invariant if that is intended)")
        return self.sides(inv)

    def _check(self, inv: Invariant, start: float) -> Result:
        sels = self._selections(inv)
        if isinstance(sels, str):
            return self._result(inv, start, "error", error=sels)
        src, dst = sels
        if inv.kind == "reach":
            return self._reach(inv, start, src, dst)
        return self._exists(inv, start, src, dst)

    # ---- deny / only ---------------------------------------------------------------------------
    def _exists_query(self, inv: Invariant, src: EndpointSet, dst: EndpointSet, union: bool = False,
                      sides: _Sides | None = None) -> _Query | None:
        """Slice both sides and build the solver; None when no flow can exist at all. `union`: classes
        that differ only in their addresses merge (`Encoder.project`); not for enumerating violations,
        whose groups are the unmerged classes. `sides`: `_exists_sides` of the same arguments, when
        the caller has them already."""
        return self._build_exists(inv.services, src, dst, exemptions=live_exemptions(inv), union=union, sides=sides)

    def _exists_sides(self, svc: ServiceSet, src: EndpointSet, dst: EndpointSet, exemptions: bool = False,
                      union: bool = False) -> _Sides | None:
        """The two sliced and projected sides of a deny/only query (what its classes are, before any
        term is built); None when no flow can exist at all."""
        enc = self.enc
        base_s, ext_s = enc.side(src)
        base_d, ext_d = enc.side(dst)
        if self.optimise:
            base_s, ext_s = enc.filter_side(base_s, ext_s, base_d, False, svc, bool(ext_d))
            base_d, ext_d = enc.filter_side(base_d, ext_d, base_s, True, svc, bool(ext_s))
        side_s, side_d, rel_s, rel_d = self._project_sides(svc, base_s, ext_s, base_d, ext_d, exemptions, union)
        if self.optimise:
            # a class whose rules admit nothing from the other side cannot take part in a flow
            side_s.classes = [c for c in side_s.classes if c.beh != ()]
            side_d.classes = [c for c in side_d.classes if c.beh != ()]
        if not (side_s.classes or side_s.has_ext) or not (side_d.classes or side_d.has_ext):
            return None
        if not side_s.classes and not side_d.classes:
            return None  # external to external never enters the network
        return side_s, side_d, rel_s, rel_d

    def _build_exists(self, svc: ServiceSet, src: EndpointSet, dst: EndpointSet,
                      rules: list[SgRule] | None = None, exemptions: tuple[Exemption, ...] = (),
                      union: bool = False, sides: _Sides | None = None) -> _Query | None:
        """The deny/only query; with `rules` (of one direction), the flow must match one of them in place of
        its side's group gate (egress rules on the source side, ingress rules on the destination side)."""
        enc = self.enc
        got = sides or self._exists_sides(svc, src, dst, bool(exemptions), union)
        if got is None:
            return None
        side_s, side_d, rel_s, rel_d = got
        solver, (p, x, sp, np), (s_terms, s_cls), (d_terms, d_cls) = self._frame(side_s, side_d, rel_s, rel_d, svc)
        s_gate = d_gate = None
        if rules:
            egress = rules[0].egress
            own, other = (s_terms, d_terms) if egress else (d_terms, s_terms)
            gate = z3.And(z3.Or([z3.And(enc.match(r.match, p, x), enc.peer(r.peer, other)) for r in rules]),
                          z3.Not(own.ext))
            s_gate, d_gate = (gate, None) if egress else (None, gate)
        solver.add(enc.allowed(s_terms, d_terms, p, x, sp, svc, np, s_gate=s_gate, d_gate=d_gate))
        assume, matched = self._exception_literals(solver, exemptions, side_s, s_terms, s_cls, side_d, d_terms,
                                                   d_cls, p, x)
        return _Query(solver, side_s, side_d, s_cls, d_cls, s_terms.atom, d_terms.atom, p, x, sp, np, assume,
                      matched)

    def _solver(self, Z: z3.Context) -> z3.Solver:
        """A query's solver: z3's SMT core after SOLVER_TACTICS (the unoptimised reference: the core
        alone), within the checker's timeout."""
        solver = z3.Then(*SOLVER_TACTICS, ctx=Z).solver() if self.optimise and SOLVER_TACTICS else z3.Solver(ctx=Z)
        solver.set("timeout", self.timeout_ms)
        return solver

    # ---- exceptions (contract 8) ----------------------------------------------------------------
    def _frame(self, side_s: Side, side_d: Side, rel_s: set[str], rel_d: set[str], svc: ServiceSet
               ) -> tuple[z3.Solver, tuple[Any, Any, Any, Any], tuple[Any, Any], tuple[Any, Any]]:
        """A fresh solver holding one flow between the two sides: its protocol, value, client port and
        NAT port (p, x, sport, nport) within the services, each end's terms and class index; never two
        external ends, one address family, and never an ENI to itself."""
        enc = self.enc
        Z = enc.fresh()
        solver = self._solver(Z)
        p, x, sp, np = z3.Ints("p x sport nport", Z)
        s_terms, s_cls = enc.side_terms("src", side_s, rel_s, solver, enc.F())
        d_terms, d_cls = enc.side_terms("dst", side_d, rel_d, solver, s_terms.ext)
        n4 = self.atoms.n4
        solver.add(z3.Not(z3.And(s_terms.ext, d_terms.ext)))
        solver.add((s_terms.atom < n4) == (d_terms.atom < n4))
        solver.add(*self._not_to_itself(side_s, side_d, s_cls, s_terms.atom, d_cls, d_terms.atom))
        solver.add(*enc.service_constraints(p, x, sp, svc))
        solver.add(*enc.nat_port_constraints(np))
        return solver, (p, x, sp, np), (s_terms, s_cls), (d_terms, d_cls)

    def _not_to_itself(self, side_s: Side, side_d: Side, s_cls: Any, s_atom: Any, d_cls: Any, d_atom: Any
                       ) -> list[Any]:
        """Never an ENI to itself. An ENI on both sides is the only choice of the pair (its source class,
        its destination class) exactly when both chosen atoms are ones that no other member of the
        classes holds; any other choice of atoms has two different ENIs behind it (`_pick_pair` finds
        them). When the classes are that one ENI (the usual case), the atoms need not be named."""
        enc = self.enc
        at_d = {e: j for j, c in enumerate(side_d.classes) for e in c.members}
        holders: dict[tuple[int, int], Counter[int]] = {}

        def exclusive(side: Side, which: int, k: int, eni: int) -> tuple[int, ...]:
            cnt = holders.get((which, k))
            if cnt is None:
                cnt = holders[(which, k)] = Counter(
                    a for m in side.classes[k].members for a in enc.classes[enc.class_of[m]].private_atoms)
            return tuple(a for a in enc.classes[enc.class_of[eni]].private_atoms if cnt[a] == 1)

        out = []
        for k, c in enumerate(side_s.classes):
            for e in c.members:
                j = at_d.get(e)
                if j is None:
                    continue
                if len(c.members) == 1 and len(side_d.classes[j].members) == 1:
                    out.append(not_(and_([eq_(s_cls, k), eq_(d_cls, j)])))
                    continue
                xs = exclusive(side_s, 0, k, e)
                xd = exclusive(side_d, 1, j, e) if xs else ()
                if xs and xd:
                    out.append(not_(and_([eq_(s_cls, k), eq_(d_cls, j), enc.in_runs(s_atom, ranges(xs)),
                                          enc.in_runs(d_atom, ranges(xd))])))
        return out

    def _accepts_side(self, sel: Any, side: Side, terms: Any, cls: Any) -> Any:
        """The side's endpoint is in an exception's selection (classes are split by it: exact)."""
        enc = self.enc
        if sel is None:
            return enc.T()
        j = self._exception_index[sel.norm]
        ks = [k for k, c in enumerate(side.classes) if c.tags and c.tags[j]]
        alts = [enc.in_runs(cls, ranges(ks))] if ks else []
        if side.has_ext:
            alts.append(z3.And(terms.ext, enc.in_runs(terms.atom, enc.ext_atom_runs(self.exception_sets[j]))))
        return z3.Or(alts) if alts else enc.F()

    def _exception_literals(self, solver: z3.Solver, exemptions: tuple[Exemption, ...], side_s: Side, s_terms: Any,
                            s_cls: Any, side_d: Side, d_terms: Any, d_cls: Any, p: Any, x: Any
                            ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """Per live exception: a literal under which its flows are no violation, and one asking for a
        violation it accepts (`matched`)."""
        enc = self.enc
        assume, matched = [], []
        for k, ex in enumerate(exemptions):
            svc = [z3.And(p == proto, enc.in_runs(x, ivs)) for proto, ivs in ex.services.by_proto]
            acc = z3.And(self._accepts_side(ex.src, side_s, s_terms, s_cls),
                         self._accepts_side(ex.dst, side_d, d_terms, d_cls), z3.Or(svc) if svc else enc.F())
            a, m = z3.Bool(f"except{k}", enc.z), z3.Bool(f"matched{k}", enc.z)
            solver.add(z3.Implies(a, z3.Not(acc)), z3.Implies(m, acc))
            assume.append(a)
            matched.append(m)
        return tuple(assume), tuple(matched)

    def _exceptions_report(self, inv: Invariant, solver: z3.Solver | None, matched: tuple[Any, ...]
                           ) -> tuple[dict[str, Any], ...]:
        """{reason, until, matched, expired} per except item; `matched` asks the solver for a violation the
        item accepts (never for an expired one, which no longer applies)."""
        out = []
        live = iter(matched)
        for ex in inv.exemptions:
            hit = False
            if not ex.expired:
                lit = next(live, None)
                hit = solver is not None and lit is not None and solver.check(lit) == z3.sat
            out.append({"reason": ex.reason, "until": ex.until.isoformat() if ex.until else None,
                        "matched": hit, "expired": ex.expired})
        return tuple(out)

    def accepted(self, inv: Invariant, flow: Flow) -> bool:
        """Whether a live exception of the invariant accepts the flow (for the replay)."""
        def inside(sel: Any, ep: Endpoint) -> bool:
            if sel is None:
                return True
            es = self.exception_sets[self._exception_index[sel.norm]]
            if ep.eni is not None:
                return ep.eni in es.enis
            return any(lo <= ep.address <= hi for lo, hi in es.ext_of(ep.family))

        return any(inside(ex.src, flow.src) and inside(ex.dst, flow.dst) and ex.services.contains(flow.proto, flow.value)
                   for ex in live_exemptions(inv))

    def _project_sides(self, svc: ServiceSet, base_s: dict[int, list[int]], ext_s: list[tuple[int, int]],
                       base_d: dict[int, list[int]], ext_d: list[tuple[int, int]], with_tags: bool = False,
                       union: bool = False) -> tuple[Side, Side, set[str], set[str]]:
        """Project both sides against each other: behaviours keep only rules that can match the other
        side, and membership bits only for groups that those rules reference and the side carries."""
        enc = self.enc
        seen_by_src = enc.reachable(base_d, ext_d, with_public=False)  # src egress sees dst private addresses
        seen_by_dst = enc.reachable(base_s, ext_s, with_public=False)
        merge = self.optimise
        if not merge:
            seen_by_src = seen_by_src.reference()
            seen_by_dst = seen_by_dst.reference()
        rel_s = enc.referenced(base_d, False, svc, seen_by_dst) & seen_by_dst.groups
        rel_d = enc.referenced(base_s, True, svc, seen_by_src) & seen_by_src.groups
        side_s = Side(enc.project(base_s, True, svc, rel_s, False, seen_by_src, merge, with_tags, union), ext_s)
        side_d = Side(enc.project(base_d, False, svc, rel_d, bool(ext_s), seen_by_dst, merge, with_tags, union),
                      ext_d)
        return side_s, side_d, rel_s, rel_d

    def _readable_model(self, solver: z3.Solver, p: Any, s_atom: Any, d_atom: Any, services: ServiceSet,
                        aim_public: Any, assume: tuple[Any, ...], ext: tuple[Any, Any]) -> Any:
        """The model of a sat solver, preferring a flow a person can try (contract 5): tcp or udp, or the
        ICMP of the flow's address family; external addresses that are globally routable (`ext`: the
        terms "the source / destination is external"; an ENI's own address is what it is); an external
        source aiming at the ENI's public address. Each preference is asked for a moment only and given
        up when it cannot hold; otherwise z3's first model stands."""
        n4 = self.atoms.n4
        enc = self.enc
        special = self.special_runs
        prefs = []
        protos = {proto for proto, _ in services.by_proto}
        if not (protos <= {TCP, UDP, ICMP} or protos <= {TCP, UDP, ICMPV6}):
            prefs.append(z3.Or(p == TCP, p == UDP, z3.And(p == ICMP, s_atom < n4), z3.And(p == ICMPV6, s_atom >= n4)))
        prefs.append(z3.And(z3.Implies(ext[0], z3.Not(enc.in_runs(s_atom, special))),
                            z3.Implies(ext[1], z3.Not(enc.in_runs(d_atom, special))))
                     if special else enc.T())
        if aim_public is not None:
            prefs.append(aim_public)
        if not prefs:
            return solver.model()
        first = solver.model()
        if all(z3.is_true(first.eval(pref, model_completion=True)) for pref in prefs):
            return first  # z3's own answer is already readable: no further solving
        # A budget of z3's resource units, not of seconds: a wall-clock budget gives up sooner on a
        # loaded machine, and the witness would then depend on the load (contract 5: the same input gives
        # the same report). The wall-clock timeout stays as the last resort.
        solver.set("rlimit", PREFERENCE_RLIMIT)
        try:
            for k in range(len(prefs), 0, -1):
                solver.push()
                solver.add(*prefs[:k])
                try:
                    if solver.check(*assume) == z3.sat:
                        return solver.model()
                finally:
                    solver.pop()
        finally:
            solver.set("rlimit", 0)
        return first  # no preference can hold: z3's first model stands (it is a model of the same assertions)

    @property
    def special_runs(self) -> tuple[tuple[int, int], ...]:
        """Atom runs of the special-purpose ranges, external or not (the preference applies to external
        endpoints only through their atoms: a VPC's own private range is never external)."""
        got = getattr(self, "_special", None)
        if got is None:
            out = []
            for text in SPECIAL_RANGES:
                f, lo, hi = parse_cidr(text)
                out.append(self.atoms.span(f, lo, hi))
            got = self._special = normalize(out)
        return got

    def _ext_terms(self, q: _Query) -> tuple[Any, Any]:
        """"The source is external", "the destination is external" (the class past the ENI classes)."""
        def ext(side: Side, cls: Any) -> Any:
            return cls == len(side.classes) if side.has_ext else self.enc.F()

        return ext(q.side_s, q.s_cls), ext(q.side_d, q.d_cls)

    def _aim_public(self, q: _Query) -> Any:
        """An external source aims at the destination's public address when its class has one."""
        ks = [k for k, c in enumerate(q.side_d.classes) if c.public_atoms]
        if not ks or not q.side_s.has_ext:
            return None
        n = len(q.side_s.classes)
        pub_runs = [self.enc.in_runs(q.d_atom, ranges(q.side_d.classes[k].public_atoms)) for k in ks]
        return z3.Implies(z3.And(q.s_cls == n, self.enc.in_runs(q.d_cls, ranges(ks))), z3.Or(pub_runs))

    def _witness(self, inv: Invariant, q: _Query, src: EndpointSet, dst: EndpointSet) -> tuple[Counterexample, dict[str, int]]:
        m = self._readable_model(q.solver, q.p, q.s_atom, q.d_atom, inv.services, self._aim_public(q), q.assume,
                                 self._ext_terms(q))

        def val(t: Any) -> int:
            return int(m.eval(t, model_completion=True).as_long())

        values = {"s_cls": val(q.s_cls), "d_cls": val(q.d_cls), "p": val(q.p), "x": val(q.x)}
        s_ep, d_ep = self._pick_pair(q.side_s, values["s_cls"], val(q.s_atom), q.side_d, values["d_cls"],
                                     val(q.d_atom))
        return self.replayed(inv, Flow(s_ep, d_ep, values["p"], values["x"], val(q.sp), val(q.np)), src, dst), values

    def replayed(self, inv: Invariant, flow: Flow, src: EndpointSet, dst: EndpointSet) -> Counterexample:
        """A deny/only violation (from the solver's model or the plain evaluator's search) as it is listed:
        replayed through the plain evaluator, in its readable form, and replayed again."""
        verdict = evaluate(self.net, flow)
        self._replay_checks(inv, flow, verdict.allowed, src, dst)
        flow, verdict = self._readable_flow(flow, verdict, inv)
        self._replay_checks(inv, flow, verdict.allowed, src, dst)
        s, d = flow.src, flow.dst
        return Counterexample(flow, endpoint_info(self.net, s.eni, s.family, s.address),
                              endpoint_info(self.net, d.eni, d.family, d.address), True, verdict.steps)

    def _value_candidates(self, flow: Flow, steps: tuple[Step, ...], services: ServiceSet) -> list[int]:
        """Service values a reader expects, best first: the port the deciding rule names, the lowest of
        the invariant's first range (echo request for ICMP), then the solver's own."""
        ivs = dict(services.by_proto).get(flow.proto, ())
        out: list[int] = []
        if flow.proto in ICMP_ECHO:
            out.append(ICMP_ECHO[flow.proto])
        for st in steps:
            if st.gate in ("sg-ingress", "sg-egress") and st.verdict == "allow":
                rule = self._rule_of(st)
                if rule is not None:
                    for lo, hi in ivs:
                        if lo <= rule.match.hi and rule.match.lo <= hi:
                            out.append(max(lo, rule.match.lo))
                            break
        if ivs:
            out.append(ivs[0][0])
        out.append(flow.value)
        if flow.proto in PORTED:
            # port 0 is no port a person can try: a well-known one of the protocol, else port 1
            known = 443 if flow.proto == TCP else 53
            out = [(known if services.contains(flow.proto, known) else 1) if v == 0 else v for v in out]
        seen: list[int] = []
        for v in out:
            if v not in seen and services.contains(flow.proto, v):
                seen.append(v)
        return seen

    def _rule_of(self, st: Step) -> SgRule | None:
        sg = self.net.sgs.get(st.id)
        if sg is None:
            return None
        for r in (*sg.ingress, *sg.egress):
            if r.text() == st.rule and r.egress == (st.gate == "sg-egress"):
                return r
        return None

    def _readable_flow(self, flow: Flow, verdict: Verdict, inv: Invariant,
                       services: ServiceSet | None = None) -> tuple[Flow, Verdict]:
        """The same violation with the values a person expects, each chosen in a fixed order (so the same
        inputs always give the same witness) and kept only if the flow is still a violation."""
        for v in self._value_candidates(flow, verdict.steps, services or inv.services):
            cand = replace(flow, value=v)
            got = evaluate(self.net, cand)
            if got.allowed and not self.accepted(inv, cand):
                flow, verdict = cand, got
                break
        if flow.proto in PORTED:
            for sp in self.enc.port_reps or [self.spec.ephemeral[0]]:
                cand = replace(flow, sport=sp)
                got = evaluate(self.net, cand)
                if got.allowed:
                    flow, verdict = cand, got
                    break
            if self.net.routing is not None and any(s.gate == "nat" for s in verdict.steps):
                for npt in self.nat_reps:
                    cand = replace(flow, nport=npt)
                    got = evaluate(self.net, cand)
                    if got.allowed:
                        flow, verdict = cand, got
                        break
            else:
                flow = replace(flow, nport=0)
        return flow, verdict

    def _covered(self, src: EndpointSet, dst: EndpointSet) -> dict[str, Any]:
        return {"source_enis": len(src.enis), "source_external": bool(src.ext[0] or src.ext[1]),
                "destination_enis": len(dst.enis), "destination_external": bool(dst.ext[0] or dst.ext[1]),
                "eni_classes": len(self.enc.classes), "address_atoms": self.atoms.n}

    def _decide(self, solver: z3.Solver, assume: tuple[Any, ...], classes: int) -> tuple[Any, z3.Solver]:
        """The solver's answer, and the solver whose model to read when it is sat: for a query of at
        least `finder_classes` classes the bit-blasting model finder's, when it finds one (it may miss
        a model, never invent one: every witness is replayed all the same); otherwise the exact one's."""
        if classes >= self.finder_classes:
            finder = z3.Then(*FINDER_TACTICS, ctx=solver.ctx).solver()
            finder.set("rlimit", FINDER_RLIMIT)
            ref = solver.ctx.ref()  # the assertions copied through the C API: no Python object for each
            vec = z3.Z3_solver_get_assertions(ref, solver.solver)
            z3.Z3_ast_vector_inc_ref(ref, vec)
            try:
                for i in range(z3.Z3_ast_vector_size(ref, vec)):
                    z3.Z3_solver_assert(ref, finder.solver, z3.Z3_ast_vector_get(ref, vec, i))
            finally:
                z3.Z3_ast_vector_dec_ref(ref, vec)
            found = finder.check(*assume)
            finder.set("rlimit", 0)
            if found == z3.sat:
                return found, finder
        return solver.check(*assume), solver

    def _exists(self, inv: Invariant, start: float, src: EndpointSet, dst: EndpointSet) -> Result:
        covered = self._covered(src, dst)
        sides = self._exists_sides(inv.services, src, dst, bool(live_exemptions(inv)), True)
        if sides is None:
            # slicing left no source that a destination's rules could admit (or no endpoint at all)
            return self._result(inv, start, "proven", covered={**covered, "decided_by": "slicing"})
        found = self._searched(inv, sides[0], sides[1])
        if found is not None:
            return self._result(inv, start, "refuted", counterexample=self.replayed(inv, found, src, dst),
                                covered={**covered, "decided_by": "evaluator"})
        q = self._exists_query(inv, src, dst, union=True, sides=sides)
        assert q is not None  # the sides were there
        covered["decided_by"] = "z3"
        answer, model_solver = self._decide(q.solver, q.assume, len(q.side_s.classes) + len(q.side_d.classes))
        if answer == z3.unsat:
            return self._result(inv, start, "proven", covered=covered,
                                exceptions=self._exceptions_report(inv, q.solver, q.matched))
        if answer != z3.sat:
            return self._result(inv, start, "error", covered=covered,
                                error=f"the solver could not decide ({q.solver.reason_unknown()}); this is not a proof")
        cx, _ = self._witness(inv, replace(q, solver=model_solver), src, dst)
        return self._result(inv, start, "refuted", counterexample=cx, covered=covered,
                            exceptions=self._exceptions_report(inv, q.solver, q.matched))

    # ---- refutations the plain evaluator finds first ------------------------------------------
    @property
    def hosts(self) -> HostIndex:
        """The host ENIs by group, subnet and address, for every search of the plain evaluator (each
        index built when first asked for, in the process that asks)."""
        got = getattr(self, "_hosts", None)
        if got is None:
            got = self._hosts = HostIndex(self.net, self.selection)
        return got

    def _searching(self, inv: Invariant, side_s: Side, side_d: Side) -> bool:
        """Whether the query is large enough for the plain evaluator's search to go first (never for the
        unoptimised reference, nor with a live exception: its report asks the solver what it accepts)."""
        return (self.optimise and not live_exemptions(inv)
                and len(side_s.classes) + len(side_d.classes) >= self.search_classes)

    def _searched(self, inv: Invariant, side_s: Side, side_d: Side) -> Flow | None:
        """A deny/only violation that the plain evaluator finds before any term is built (the flow map's
        search, `FlowSearch.violations`), when it is as readable as the solver's would be."""
        if not self._searching(inv, side_s, side_d):
            return None
        got = FlowSearch(self, inv, OPEN).violations(1, SEARCH_MISSES, keep=self._plain_enough)
        return got[0] if got else None

    def _plain_enough(self, flow: Flow) -> bool:
        """Whether a found flow meets every preference `_readable_model` asks of a model: tcp or udp, or the
        ICMP of its address family; external addresses outside the special-purpose ranges; an external
        source aimed at the ENI's public address when the ENI has one."""
        fam = flow.src.family
        if flow.proto not in (TCP, UDP) and (flow.proto, fam) not in ((ICMP, 4), (ICMPV6, 6)):
            return False
        for ep in (flow.src, flow.dst):
            if ep.eni is None and self._is_special(ep):
                return False
        if flow.src.eni is None and flow.dst.eni is not None:
            public = self.net.enis[flow.dst.eni].public
            if public and not (fam == 4 and flow.dst.address in public):
                return False
        return True

    def _is_special(self, ep: Endpoint) -> bool:
        return contains(self.special_runs, self.atoms.index(ep.family, ep.address))

    def violations(self, inv: Invariant, limit: int, seed: Counterexample | None = None, union: bool = False
                   ) -> tuple[list[Counterexample], bool]:
        """Every distinct violation of a deny/only invariant, one flow per (source class, destination
        class, protocol: tcp, udp, icmp, icmpv6 or any other); each found group is blocked in the solver
        before asking again. After each model, flows alike it that the plain evaluator admits fill further
        groups without a solver call (`alike`; `self.alike = False` asks the solver for every group).
        `seed`: a violation already found and replayed (the refuted result's counterexample), the first
        group; when the flows alike it fill more groups than the limit, the list is known to be cut and no
        solver is built. Returns the flows and whether the list is complete (the solver said unsat before
        the limit). `union`: classes that differ only in their addresses merge, as for a deny's check
        (`Encoder.project`); the flows are then one per merged class pair (the flow map's questions)."""
        if inv.kind == "reach":
            raise ValueError("violations() enumerates deny and only invariants")
        sels = self._selections(inv)
        if isinstance(sels, str):
            return [], True
        src, dst = sels
        sides = self._exists_sides(inv.services, src, dst, bool(live_exemptions(inv)), union)
        if sides is None:
            return [], True
        side_s, side_d = sides[0], sides[1]
        index_s, index_d = class_index(side_s), class_index(side_d)
        n_s, n_d = len(side_s.classes), len(side_d.classes)
        named = (ICMP, TCP, UDP, ICMPV6)

        def key_of(flow: Flow) -> tuple[int, int, int] | None:
            ks = n_s if flow.src.eni is None else index_s.get(flow.src.eni)
            kd = n_d if flow.dst.eni is None else index_d.get(flow.dst.eni)
            if ks is None or kd is None:
                return None
            return ks, kd, flow.proto if flow.proto in named else -1

        found: list[Counterexample] = []
        seen: set[tuple[int, int, int]] = set()
        new: list[tuple[int, int, int]] = []

        def take(cx: Counterexample, key: tuple[int, int, int]) -> None:
            """The group of a violation, then those of the flows alike it and alike those in turn
            (breadth first), up to one more than the limit."""
            found.append(cx)
            seen.add(key)
            new.append(key)
            todo = [cx] if self.alike else []
            while todo and len(found) <= limit:
                for k, more in alike(self, inv, todo.pop(0), src, dst, index_s, index_d, key_of, seen):
                    if len(found) > limit:
                        break
                    found.append(more)
                    seen.add(k)
                    new.append(k)
                    todo.append(more)

        if seed is not None:
            key = key_of(seed.flow)
            if key is None:
                raise InternalError(f"{inv.id}: the counterexample {seed.flow.text()} is outside the query's classes")
            take(seed, key)
            if len(found) > limit:
                return found[:limit], False  # one group more than the limit: the list is cut
        q = self._exists_query(inv, src, dst, union, sides=sides)
        if q is None:
            raise InternalError(f"{inv.id}: the query vanished after its sides were found")
        while True:
            # tcp, udp, icmp and icmpv6 each form a group; every other protocol number forms one more.
            # The groups of one destination class and protocol go in as one constraint over runs of
            # source classes (a hundred single blocks at once made the next check take 3.3 s, as runs 0.4 s).
            by_end: dict[tuple[int, int], list[int]] = {}
            for ks, kd, kp in new:
                by_end.setdefault((kd, kp), []).append(ks)
            for (kd, kp), sources in by_end.items():
                same_proto = q.p == kp if kp != -1 else z3.And([q.p != n for n in named])
                q.solver.add(z3.Not(z3.And(self.enc.in_runs(q.s_cls, ranges(sorted(sources))), q.d_cls == kd,
                                           same_proto)))
            new.clear()
            if len(found) > limit:
                return found[:limit], False
            if len(found) == limit:
                return found, q.solver.check(*q.assume) == z3.unsat
            answer = q.solver.check(*q.assume)
            if answer == z3.unsat:
                return found, True
            if answer != z3.sat:
                return found, False
            cx, v = self._witness(inv, q, src, dst)
            key = (v["s_cls"], v["d_cls"], v["p"] if v["p"] in named else -1)
            if key_of(cx.flow) != key:
                raise InternalError(f"{inv.id}: the witness {cx.flow.text()} is not of the solver's classes")
            take(cx, key)

    def rules_use(self, rules: list[SgRule]) -> tuple[list[SgRule], str | None]:
        """Which of some rules of one group and direction no allowed flow can use: each solver answer is a
        flow that every other gate admits and one of the remaining rules matches (replayed, and every
        remaining rule it matches is alive), until unsat proves the rest dead. Returns the dead rules,
        and the solver's reason when it could not decide (then nothing is called dead)."""
        if not rules:
            return [], None
        egress, gid = rules[0].egress, rules[0].sg_id
        assert all(r.egress == egress and r.sg_id == gid for r in rules)
        members = frozenset(i for i in self.selection.carriers(gid) if self.net.enis[i].hosts)
        if not members:
            return list(rules), None
        own = EndpointSet(members, ((), ()))
        every = self.selection.everything()
        src, dst = (own, every) if egress else (every, own)
        left = list(rules)
        while left:
            parts: dict[int, list[tuple[int, int]]] = {}
            for r in left:
                for p in (range(256) if r.match.proto == -1 else [r.match.proto]):
                    parts.setdefault(p, []).append((r.match.lo, r.match.hi))
            q = self._build_exists(ServiceSet.of(parts), src, dst, left)
            if q is None:
                return left, None
            answer = q.solver.check()
            if answer == z3.unsat:
                return left, None
            if answer != z3.sat:
                return [], str(q.solver.reason_unknown())
            m = q.solver.model()
            vals = [int(m.eval(t, model_completion=True).as_long())
                    for t in (q.s_cls, q.s_atom, q.d_cls, q.d_atom, q.p, q.x, q.sp, q.np)]
            s_ep, d_ep = self._pick_pair(q.side_s, vals[0], vals[1], q.side_d, vals[2], vals[3])
            flow = Flow(s_ep, d_ep, *vals[4:])
            other = flow.dst if egress else flow.src
            used = [r for r in left if matches(r.match, flow.proto, flow.value) and peer_matches(self.net, r, other)]
            if not used or not evaluate(self.net, flow).allowed:
                raise InternalError(f"lint: the flow {flow.text()} that uses a rule of {gid} does not replay "
                                    "through the plain evaluator")
            left = [r for r in left if r not in used]
        return [], None

    def rules_use_batch(self, rules: list[SgRule]) -> tuple[list[SgRule], str | None]:
        """`rules_use` for rules of many groups (one direction) in one incremental solver: the own side's
        classes are kept unmerged, so each knows its groups exactly; a rule admits a flow only from a
        class that carries its group, under an activation literal. Each sat answer is replayed and
        retires every remaining rule it uses; unsat under the remaining literals proves them dead."""
        if not rules:
            return [], None
        egress = rules[0].egress
        assert all(r.egress == egress for r in rules)
        groups = {r.sg_id for r in rules}
        members = frozenset(i for i, e in enumerate(self.net.enis) if e.hosts and groups.intersection(e.groups))
        if not members:
            return list(rules), None
        enc = self.enc
        parts: dict[int, list[tuple[int, int]]] = {}
        for r in rules:
            for p in (range(256) if r.match.proto == -1 else [r.match.proto]):
                parts.setdefault(p, []).append((r.match.lo, r.match.hi))
        svc = ServiceSet.of(parts)
        own_sel = EndpointSet(members, ((), ()))
        every = self.selection.everything()
        base_o, ext_o = enc.side(own_sel)
        base_t, ext_t = enc.side(every)
        # a flow must match one of the rules (they replace the own side's group gate): only what their
        # peers name can be the other end
        asked = tuple(dict.fromkeys((r.match, r.peer) for r in rules))
        base_t, ext_t = (base_t, ext_t) if ext_o else enc.filter_named(base_t, ext_t, (peer for _m, peer in asked))
        seen_by_own = enc.reachable(base_t, ext_t, with_public=False)
        seen_by_other = enc.reachable(base_o, ext_o, with_public=False)
        pub_o = not egress and bool(ext_t)  # a destination shows its public addresses to external sources
        # membership bits: the groups one side's rules name, among those the other side carries
        rel_t = enc.referenced(base_o, egress, svc, seen_by_own) & seen_by_own.groups
        rel_o = enc.referenced(base_t, not egress, svc, seen_by_other) & seen_by_other.groups
        side_o = Side(enc.project(base_o, egress, svc, rel_o, pub_o, seen_by_own, merge=False), ext_o)
        side_t = Side(enc.project(base_t, not egress, svc, rel_t, False, seen_by_other), ext_t)
        side_o.classes = [c for c in side_o.classes if c.beh != ()]
        side_t.classes = [c for c in side_t.classes if c.beh != ()]
        if not side_o.classes or not (side_t.classes or side_t.has_ext):
            return list(rules), None
        side_s, side_d, rel_s, rel_d = (side_o, side_t, rel_o, rel_t) if egress else (side_t, side_o, rel_t, rel_o)
        solver, (p, x, sp, np), (s_terms, s_cls), (d_terms, d_cls) = self._frame(side_s, side_d, rel_s, rel_d, svc)
        own, other, own_cls = (s_terms, d_terms, s_cls) if egress else (d_terms, s_terms, d_cls)
        by_group: dict[str, list[int]] = {}
        for k, c in enumerate(side_o.classes):
            for g in enc.classes[enc.class_of[c.members[0]]].groups:
                by_group.setdefault(g, []).append(k)
        acts = [z3.Bool(f"use{k}", solver.ctx) for k in range(len(rules))]
        gate = z3.And(z3.Or([z3.And(a, enc.in_runs(own_cls, ranges(by_group.get(r.sg_id, []))),
                                    enc.match(r.match, p, x), enc.peer(r.peer, other))
                             for a, r in zip(acts, rules, strict=True)]), z3.Not(own.ext))
        s_gate, d_gate = (gate, None) if egress else (None, gate)
        solver.add(enc.allowed(s_terms, d_terms, p, x, sp, svc, np, s_gate=s_gate, d_gate=d_gate))
        left = list(range(len(rules)))
        while left:
            on = set(left)
            answer = solver.check(*[a if k in on else z3.Not(a) for k, a in enumerate(acts)])
            if answer == z3.unsat:
                return [rules[k] for k in left], None
            if answer != z3.sat:
                return [], str(solver.reason_unknown())
            m = solver.model()
            vals = [int(m.eval(t, model_completion=True).as_long())
                    for t in (s_cls, s_terms.atom, d_cls, d_terms.atom, p, x, sp, np)]
            s_ep, d_ep = self._pick_pair(side_s, vals[0], vals[1], side_d, vals[2], vals[3])
            flow = Flow(s_ep, d_ep, *vals[4:])
            me, them = (flow.src, flow.dst) if egress else (flow.dst, flow.src)
            mine = set(self.net.enis[me.eni].groups) if me.eni is not None else set()
            used = [k for k in left if rules[k].sg_id in mine and matches(rules[k].match, flow.proto, flow.value)
                    and peer_matches(self.net, rules[k], them)]
            if not used or not evaluate(self.net, flow).allowed:
                raise InternalError(f"lint: the flow {flow.text()} that uses a rule does not replay through the "
                                    "plain evaluator")
            left = [k for k in left if k not in used]
        return [], None

    def config_exposure(self, inv: Invariant, rule: SgRule | None = None, nacl: str | None = None,
                        entry: NaclEntry | None = None) -> Counterexample | str | None:
        """A flow of a deny/only invariant that uses an SG rule (the rule admits it in place of its side's
        group gate) or a NACL's inbound entry (the first entry to match the request from an external
        source into the destination subnet), replayed; None when no allowed flow of the invariant uses it
        (proven); the solver's reason as a string when it could not decide."""
        sels = self._selections(inv)
        if isinstance(sels, str):
            return sels
        src, dst = sels
        if rule is not None:
            members = frozenset(i for i in self.selection.carriers(rule.sg_id) if self.net.enis[i].hosts)
            if rule.egress:
                src = EndpointSet(src.enis & members, ((), ()))
            else:
                dst = EndpointSet(dst.enis & members, ((), ()))
            match = rule.match
        else:
            assert nacl is not None and entry is not None and not entry.egress
            subnets = {sub.id for sub in self.net.subnets.values() if sub.nacl_id == nacl}  # default ACLs too
            dst = EndpointSet(frozenset(i for i in dst.enis if self.net.enis[i].subnet_id in subnets), ((), ()))
            src = EndpointSet(frozenset(), src.ext)
            match = entry.match
        protos = range(256) if match.proto == -1 else [match.proto]
        svc = inv.services.minus(inv.services.minus(ServiceSet.of({p: [(match.lo, match.hi)] for p in protos})))
        if svc.is_empty() or src.is_empty() or dst.is_empty():
            return None
        q = self._build_exists(svc, src, dst, [rule] if rule is not None else None)
        if q is None:
            return None
        if entry is not None:
            enc = self.enc
            lower = [e for e in self.net.nacls[nacl or ""].ingress if e.number < entry.number and e.family == entry.family]
            here = z3.And(enc.match(entry.match, q.p, q.x), enc.in_runs(q.s_atom, [enc.span(entry.family, entry.lo,
                                                                                                   entry.hi)]))
            earlier = [z3.And(enc.match(e.match, q.p, q.x), enc.in_runs(q.s_atom, [enc.span(e.family, e.lo, e.hi)]))
                       for e in lower]
            q.solver.add(here, *[z3.Not(c) for c in earlier])
        answer = q.solver.check()
        if answer == z3.unsat:
            return None
        if answer != z3.sat:
            return str(q.solver.reason_unknown())
        m = self._readable_model(q.solver, q.p, q.s_atom, q.d_atom, svc, self._aim_public(q), (), self._ext_terms(q))

        def val(t: Any) -> int:
            return int(m.eval(t, model_completion=True).as_long())

        s_ep, d_ep = self._pick_pair(q.side_s, val(q.s_cls), val(q.s_atom), q.side_d, val(q.d_cls), val(q.d_atom))

        def uses(flow: Flow, verdict: Verdict) -> bool:
            if not verdict.allowed:
                return False
            if rule is not None:
                other = flow.dst if rule.egress else flow.src
                return matches(rule.match, flow.proto, flow.value) and peer_matches(self.net, rule, other)
            assert entry is not None
            return any(st.gate == "nacl-in" and st.id == nacl and st.rule == entry.number and st.verdict == "allow"
                       for st in verdict.steps)

        flow = Flow(s_ep, d_ep, val(q.p), val(q.x), val(q.sp), val(q.np))
        verdict = evaluate(self.net, flow)
        if not uses(flow, verdict):
            what = rule.text() if rule is not None else f"{nacl} entry {entry.number if entry else ''}"
            raise InternalError(f"{inv.id}: the flow {flow.text()} that uses {what} does not replay through the "
                                "plain evaluator")
        nicer, nicer_verdict = self._readable_flow(flow, verdict, inv, svc)
        if uses(nicer, nicer_verdict):
            flow, verdict = nicer, nicer_verdict
        self._replay_checks(inv, flow, verdict.allowed, src, dst)
        return Counterexample(flow, endpoint_info(self.net, flow.src.eni, flow.src.family, flow.src.address),
                              endpoint_info(self.net, flow.dst.eni, flow.dst.family, flow.dst.address), True,
                              verdict.steps)

    def _external(self, atom: int) -> Endpoint:
        """An external address inside the atom (not its first address, which reads like a network)."""
        fam, lo, hi = self.atoms.bounds(atom)
        return Endpoint(None, fam, lo if lo == hi else lo + 1)



    def _candidates(self, side: Side, k: int, atom: int) -> list[Endpoint]:
        """Concrete endpoints of class k at an address in the atom (one per ENI; three at most, the first
        members that hold such an address: in a class merged over its atoms, most members do not)."""
        if k >= len(side.classes):
            return [self._external(atom)]
        fam, lo, hi = self.atoms.bounds(atom)
        out: list[Endpoint] = []
        for i in side.classes[k].members:
            e = self.net.enis[i]
            found = next((Endpoint(i, fam, max(a, lo)) for f, a, b in e.private if f == fam and a <= hi and b >= lo),
                         None)
            if found is None and fam == 4:
                found = next((Endpoint(i, fam, pub) for pub in e.public if lo <= pub <= hi), None)
            if found is not None:
                out.append(found)
                if len(out) == 3:
                    break
        return out

    def _pick_pair(self, side_s: Side, ks: int, atom_s: int, side_d: Side, kd: int,
                   atom_d: int) -> tuple[Endpoint, Endpoint]:
        """Two different endpoints of the chosen classes at addresses in the chosen atoms."""
        for s_ep in self._candidates(side_s, ks, atom_s):
            for d_ep in self._candidates(side_d, kd, atom_d):
                if s_ep.eni is None or d_ep.eni is None or s_ep.eni != d_ep.eni:
                    return s_ep, d_ep
        raise InternalError(f"no two distinct endpoints in the chosen classes (atoms {atom_s}, {atom_d})")

    def _replay_checks(self, inv: Invariant, flow: Flow, allowed: bool, src: EndpointSet, dst: EndpointSet) -> None:
        """The counterexample must replay through the plain evaluator and fit the invariant."""
        want = inv.kind != "reach"
        if allowed != want:
            raise InternalError(
                f"{inv.id}: z3's counterexample {flow.text()} is {'allowed' if allowed else 'blocked'} "
                "by the plain evaluator"
            )
        for ep, sel, role in ((flow.src, src, "source"), (flow.dst, dst, "destination")):
            inside = (ep.eni in sel.enis) if ep.eni is not None else any(
                lo <= ep.address <= hi for lo, hi in sel.ext_of(ep.family))
            if not inside:
                raise InternalError(f"{inv.id}: counterexample {role} {ep.text()} is outside the selection")
        if not inv.services.contains(flow.proto, flow.value):
            raise InternalError(f"{inv.id}: counterexample service is outside the invariant's ports")
        if self.accepted(inv, flow):
            raise InternalError(f"{inv.id}: counterexample {flow.text()} is accepted by one of its exceptions")
        if flow.proto in PORTED and not self.spec.ephemeral[0] <= flow.sport <= self.spec.ephemeral[1]:
            raise InternalError(f"{inv.id}: counterexample client port is outside the ephemeral range")

    # ---- reach --------------------------------------------------------------------------------
    def _reach(self, inv: Invariant, start: float, src: EndpointSet, dst: EndpointSet) -> Result:
        """One query: some pair of endpoint classes and some service that every address pair and
        every client port fails. No slicing drops an endpoint here: each must be shown to connect."""
        enc = self.enc
        svc = inv.services
        covered = self._covered(src, dst)
        hostless = self._hostless_pair(src, dst, svc)
        if hostless is not None and not self.accepted(inv, hostless.flow):
            covered["decided_by"] = "selection"
            return self._result(inv, start, "refuted", counterexample=hostless, covered=covered)
        base_s, ext_s = enc.side(src)
        base_d, ext_d = enc.side(dst)
        exemptions = live_exemptions(inv)
        side_s, side_d, rel_s, rel_d = self._project_sides(svc, base_s, ext_s, base_d, ext_d, bool(exemptions))
        if not (side_s.classes or side_s.has_ext) or not (side_d.classes or side_d.has_ext) or not (
            side_s.classes or side_d.classes
        ):
            # no pair of endpoints to connect (external to external never enters the network)
            return self._result(inv, start, "proven", covered={**covered, "decided_by": "selection"})
        found = self._reach_search(inv, side_s, side_d, src, dst)
        if found is not None:
            return self._result(inv, start, "refuted", counterexample=found, covered={**covered,
                                                                                     "decided_by": "evaluator"})
        covered["decided_by"] = "z3"
        Z = enc.fresh()
        solver = self._solver(Z)
        p, x = z3.Ints("p x", Z)
        n4 = self.atoms.n4
        s_slots, s_pubs, s_cls = enc.slot_terms("src", side_s, rel_s, solver, False)
        d_slots, d_pubs, d_cls = enc.slot_terms("dst", side_d, rel_d, solver, bool(ext_s))
        s_ext, d_ext = s_slots[0].ext, d_slots[0].ext
        solver.add(z3.Not(z3.And(s_ext, d_ext)))
        solver.add(*self._not_to_itself(side_s, side_d, s_cls, s_slots[0].atom, d_cls, d_slots[0].atom))
        solver.add(*enc.service_constraints(p, x, None, svc))
        ported = z3.Or(p == 6, p == 17)
        reps = enc.port_reps or [self.spec.ephemeral[0]]
        sports = [z3.If(ported, r, 0) for r in reps]
        nports = [z3.IntVal(n, Z) for n in self.nat_reps]
        compatible = []
        for st, spub in zip(s_slots, s_pubs, strict=True):
            for dt, dpub in zip(d_slots, d_pubs, strict=True):
                usable = z3.And((st.atom < n4) == (dt.atom < n4), z3.Not(spub), z3.Implies(dpub, s_ext))
                compatible.append(usable)
                conn = enc.connection(st, dt, p, x, svc, sports, nports, unknown_allows=False)
                solver.add(z3.Implies(usable, z3.Not(conn)))
        # an external endpoint only needs the hosts that have an address of its family
        solver.add(z3.Implies(z3.Or(s_ext, d_ext), z3.Or(compatible)))
        # a pair an exception accepts need not connect
        assume, matched = self._exception_literals(solver, exemptions, side_s, s_slots[0], s_cls, side_d, d_slots[0],
                                                   d_cls, p, x)
        answer, model_solver = self._decide(solver, assume, len(side_s.classes) + len(side_d.classes))
        if answer == z3.unsat:
            return self._result(inv, start, "proven", covered=covered,
                                exceptions=self._exceptions_report(inv, solver, matched))
        if answer != z3.sat:
            return self._result(inv, start, "error", covered=covered,
                                error=f"the solver could not decide ({solver.reason_unknown()}); this is not a proof")
        m = self._readable_model(model_solver, p, s_slots[0].atom, d_slots[0].atom, svc, None, assume,
                                 (s_ext, d_ext))

        def val(t: Any) -> int:
            return int(m.eval(t, model_completion=True).as_long())

        ks, kd = val(s_cls), val(d_cls)
        sc = side_s.classes[ks] if ks < len(side_s.classes) else None
        dc = side_d.classes[kd] if kd < len(side_d.classes) else None
        ext_atom = val(s_slots[0].atom) if sc is None else val(d_slots[0].atom)
        if sc is not None and dc is not None and not any(
            (a < n4) == (b < n4) for a in sc.private_atoms for b in dc.private_atoms
        ):
            cx = self._no_common_family(sc, dc, svc)
        else:
            chosen = (self._chosen(sc, s_slots, val), self._chosen(dc, d_slots, val))
            cx = self._reach_witness(inv, sc, dc, val(p), val(x), ext_atom, src, dst, chosen)
        return self._result(inv, start, "refuted", counterexample=cx, covered=covered,
                            exceptions=self._exceptions_report(inv, solver, matched))

    def _hostless_pair(self, src: EndpointSet, dst: EndpointSet, svc: ServiceSet) -> Counterexample | None:
        """A reach pair with an endpoint that hosts nothing (contract 4.6) is refuted as it stands."""
        net = self.net
        for mine, other, outgoing in ((src, dst, True), (dst, src, False)):
            for i in sorted(mine.enis):
                e = net.enis[i]
                if e.hosts:
                    continue
                fams = {f for f, _, _ in e.private}
                peer: Endpoint | None = None
                for j in sorted(other.enis):
                    if j != i:
                        common = [(f, lo) for f, lo, _ in net.enis[j].private if f in fams]
                        if common:
                            peer = Endpoint(j, common[0][0], common[0][1])
                            break
                if peer is None:
                    for f in sorted(fams):
                        ivs = other.ext_of(f)
                        if ivs:
                            peer = self._external_in(f, ivs)
                            break
                if peer is None:
                    continue
                f, a, _ = next(x for x in e.private if x[0] == peer.family)
                me = Endpoint(i, f, a)
                s_ep, d_ep = (me, peer) if outgoing else (peer, me)
                proto, ivs = svc.by_proto[0]
                flow = Flow(s_ep, d_ep, proto, ivs[0][0], self.spec.ephemeral[0])
                return Counterexample(flow, endpoint_info(net, s_ep.eni, s_ep.family, s_ep.address),
                                      endpoint_info(net, d_ep.eni, d_ep.family, d_ep.address), False, (),
                                      note=NON_HOST_TYPES[e.interface_type])
        return None

    def _external_in(self, family: int, ivs: tuple[tuple[int, int], ...]) -> Endpoint:
        """A readable external address among the intervals (a globally routable one when there is)."""
        for lo, hi in ivs:
            a = self.atoms.index(family, lo)
            b = self.atoms.index(family, hi)
            for atom in range(a, b + 1):
                ep = self._external(atom)
                if is_global(family, ep.address):
                    return ep
        return self._external(self.atoms.index(family, ivs[0][0]))

    def _atoms_of(self, c: SideClass, with_public: bool) -> list[int]:
        return list(c.private_atoms) + (list(c.public_atoms) if with_public else [])

    def _no_common_family(self, sc: SideClass | None, dc: SideClass | None, svc: Any) -> Counterexample:
        assert sc is not None and dc is not None
        s_i, d_i = self._distinct_members(sc, dc)
        se, de = self.net.enis[s_i], self.net.enis[d_i]
        f1, a1, _ = se.private[0]
        f2, a2, _ = de.private[0]
        proto, ivs = svc.by_proto[0]
        flow = Flow(Endpoint(s_i, f1, a1), Endpoint(d_i, f2, a2), proto, ivs[0][0], self.spec.ephemeral[0])
        return Counterexample(flow, endpoint_info(self.net, s_i, f1, a1), endpoint_info(self.net, d_i, f2, a2),
                              False, (), note=f"{se.id} and {de.id} have no address family in common")

    @staticmethod
    def _chosen(c: SideClass | None, slots: list[Any], val: Any) -> int | None:
        """The atom the refutation chose for a plan's unknown address (its slot follows the known ones)."""
        if c is None or not c.unknown_atoms:
            return None
        known = [a for a in c.private_atoms if a not in set(c.unknown_atoms)]
        return int(val(slots[len(known)].atom))

    def _reach_search(self, inv: Invariant, side_s: Side, side_d: Side, src: EndpointSet, dst: EndpointSet
                      ) -> Counterexample | None:
        """A blocked (source, destination, service) that the plain evaluator finds among SEARCH_PAIRS class
        pairs, before any term is built; None when it finds none (which proves nothing).

        The pairs: each class whose rules admit nothing from the other side (its pruned behaviour is
        empty) with the other side's external address and first classes; then each destination class
        with a source class in turn. A pair refutes as the solver's refutation is replayed: every address
        pair of one ENI of each class (one address per atom) fails for every client port, on one of the
        invariant's readable service values (`service_values`, tcp and udp first). Classes of a plan's
        unknown address and special-purpose external addresses are left to the solver, whose witness
        would prefer others."""
        if not self._searching(inv, side_s, side_d):
            return None
        n4 = self.atoms.n4
        ss = [c for c in side_s.classes if not c.unknown_atoms]
        ds = [c for c in side_d.classes if not c.unknown_atoms]
        ext_s = self._readable_ext_atoms(src) if side_s.has_ext else []
        ext_d = self._readable_ext_atoms(dst) if side_d.has_ext else []
        cands: list[tuple[SideClass | None, SideClass | None, int]] = []  # (source, destination, external atom)
        for c in ds:
            if c.beh == ():
                cands += [(None, c, a) for a in ext_s] + [(sc, c, -1) for sc in ss[:2]]
        for c in ss:
            if c.beh == ():
                cands += [(c, None, a) for a in ext_d] + [(c, dc, -1) for dc in ds[:2]]
        for turn in range(min(len(ds), SEARCH_PAIRS)):  # each destination class with the next source class
            cands += [(None, ds[turn], a) for a in ext_s] + ([(ss[turn % len(ss)], ds[turn], -1)] if ss else [])
        values = service_values(inv.services)
        tried: set[tuple[int, int, int]] = set()
        for sc, dc, ext_atom in cands:
            key = (id(sc), id(dc), ext_atom)
            if key in tried:
                continue
            if len(tried) >= SEARCH_PAIRS:
                break
            tried.add(key)
            if sc is not None and dc is not None:
                if not any(a != b for a in sc.members[:2] for b in dc.members[:2]):
                    continue
                if not any((a < n4) == (b < n4) for a in sc.private_atoms for b in dc.private_atoms):
                    return self._no_common_family(sc, dc, inv.services)
            pairs = self._reach_pairs(sc, dc, ext_atom)
            fams = {s.family for s, _ in pairs}
            for proto, value in values:
                if not pairs or proto not in (TCP, UDP, ICMP, ICMPV6) or (proto == ICMP and fams != {4}) or (
                        proto == ICMPV6 and fams != {6}):
                    continue
                if not any(connection_exists(self.net, s, d, proto, value, self.spec.ephemeral)[0]
                           for s, d in pairs):
                    return self._reach_witness(inv, sc, dc, proto, value, ext_atom, src, dst)
        return None

    def external_ends(self, side: EndpointSet) -> list[Endpoint]:
        """One readable external address of the side per address family it has (`_external_in`)."""
        return [self._external_in(fam, side.ext_of(fam)) for fam in (4, 6) if side.ext_of(fam)]

    def _readable_ext_atoms(self, side: EndpointSet) -> list[int]:
        """The atom of the external address a witness would take, per family, when it is outside the
        special-purpose ranges."""
        return [self.atoms.index(ep.family, ep.address) for ep in self.external_ends(side) if not self._is_special(ep)]

    def _reach_pairs(self, sc: SideClass | None, dc: SideClass | None, ext_atom: int,
                     chosen: tuple[int | None, int | None] = (None, None)) -> list[tuple[Endpoint, Endpoint]]:
        """The address pairs a reach refutation between the classes (or a class and the external atom)
        must fail on: one address per atom of one ENI of each class, of a family in common."""
        if sc is None:
            assert dc is not None
            s_ep = self._external(ext_atom)
            return [(s_ep, d) for d in self._all_endpoints(dc, None, s_ep.family, True, chosen[1])]
        if dc is None:
            d_ep = self._external(ext_atom)
            return [(s, d_ep) for s in self._all_endpoints(sc, None, d_ep.family, False, chosen[0])]
        s_i, d_i = self._distinct_members(sc, dc)
        s_eps = self._all_endpoints(sc, s_i, None, False, chosen[0])
        d_all = self._all_endpoints(dc, d_i, None, False, chosen[1])
        return [(s, d) for s in s_eps for d in d_all if s.family == d.family]

    def _reach_witness(self, inv: Invariant, sc: SideClass | None, dc: SideClass | None, proto: int, value: int,
                       ext_atom: int, src: EndpointSet, dst: EndpointSet,
                       chosen: tuple[int | None, int | None] = (None, None)) -> Counterexample:
        """Every address pair of the chosen endpoints fails in the plain evaluator too; show the first."""
        pairs = self._reach_pairs(sc, dc, ext_atom, chosen)
        first = None
        for s, d in pairs:
            ok, flow = connection_exists(self.net, s, d, proto, value, self.spec.ephemeral)
            if ok:
                raise InternalError(f"{inv.id}: z3 says blocked, but the plain evaluator connects {flow.text()}")
            first = first or flow
        if first is None:
            raise InternalError(f"{inv.id}: reach counterexample without an address pair (atom {ext_atom})")
        verdict = evaluate(self.net, first)
        self._replay_checks(inv, first, verdict.connects, src, dst)
        return Counterexample(
            first, endpoint_info(self.net, first.src.eni, first.src.family, first.src.address),
            endpoint_info(self.net, first.dst.eni, first.dst.family, first.dst.address), False, verdict.steps,
            note=f"blocked for every client port in {self.spec.ephemeral[0]}-{self.spec.ephemeral[1]}"
            + (f" and all {len(pairs)} address pairs" if len(pairs) > 1 else ""),
        )

    @staticmethod
    def _distinct_members(sc: SideClass, dc: SideClass) -> tuple[int, int]:
        """One ENI of each class, different from each other (the query excludes same-ENI pairs)."""
        for s_i in sc.members[:2]:
            for d_i in dc.members[:2]:
                if s_i != d_i:
                    return s_i, d_i
        raise InternalError("a reach pair without two distinct endpoints")

    def _all_endpoints(self, c: SideClass | None, eni: int | None, family: int | None,
                       with_public: bool, chosen: int | None = None) -> list[Endpoint]:
        """One address per atom of an ENI of the class (the atoms stand for all its addresses); of the
        block where a plan's ENI gets its one address, only the chosen atom."""
        assert c is not None
        i = eni if eni is not None else c.members[0]
        e = self.net.enis[i]
        out = []
        unknown = set(c.unknown_atoms)
        for atom in self._atoms_of(c, with_public):
            if atom in unknown and atom != chosen:
                continue
            f, lo, hi = self.atoms.bounds(atom)
            if family is not None and f != family:
                continue
            for ff, a, b in e.private:
                if ff == f and a <= hi and b >= lo:
                    # a plan's unknown block holds only addresses AWS may assign (the reader left out
                    # the subnet's first four and its last)
                    out.append(Endpoint(i, f, max(a, lo)))
                    break
            else:
                for pub in e.public:
                    if f == 4 and lo <= pub <= hi:
                        out.append(Endpoint(i, f, pub))
                        break
        return out
