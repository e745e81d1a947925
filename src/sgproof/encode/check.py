"""Run one invariant: slice, encode, solve, and turn z3's answer into a checked verdict."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import z3

from ..errors import InternalError
from ..model import ICMP, ICMPV6, PORTED, TCP, UDP, Network
from ..report.model import Counterexample, Result, endpoint_info
from ..semantics import Endpoint, Flow, connection_exists, evaluate
from ..semantics.evaluate import port_representatives
from ..spec import Invariant, ServiceSet, Spec, describe
from ..spec.select import EndpointSet, Selection
from .prepare import build_atoms, build_classes
from .query import Encoder, Side, SideClass, referenced_groups


def spec_cidrs(spec: Spec) -> list[str]:
    out: list[str] = []

    def walk(sel: Any) -> None:
        if sel is None:
            return
        if sel.key == "cidr":
            out.extend(sel.value)
        for c in sel.children:
            walk(c)

    for g in spec.groups.values():
        walk(g)
    for inv in spec.invariants:
        walk(inv.src)
        walk(inv.dst)
    return out


def statement(inv: Invariant) -> str:
    src = inv.src.text if inv.src else "anywhere"
    dst = inv.dst.text if inv.dst else "anywhere"
    svc = describe(inv.services)
    if inv.kind == "deny":
        return f"no endpoint of {src} can open a connection to any endpoint of {dst} on {svc}"
    if inv.kind == "only":
        return f"every connection into {dst} on {svc} comes from {src}"
    return f"every endpoint of {src} can connect to every endpoint of {dst} on {svc}"


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


class Checker:
    """Prepared once per network and spec; checks invariants one by one."""

    def __init__(self, net: Network, spec: Spec, timeout_ms: int = 120_000, optimise: bool = True):
        self.optimise = optimise  # False: no slicing, pruning or merging (a reference for tests)
        self.net = net
        self.spec = spec
        self.timeout_ms = timeout_ms
        self.selection = Selection(net, spec)
        self.atoms = build_atoms(net, spec_cidrs(spec))
        classes, class_of = build_classes(net, self.atoms)
        self.enc = Encoder(net, self.atoms, classes, class_of, spec.ephemeral,
                           port_representatives(net, *spec.ephemeral))

    def warm(self) -> None:
        """Evaluate every selector of the spec now (before worker processes fork)."""
        for inv in self.spec.invariants:
            src = self.selection.evaluate(inv.src)
            self.selection.evaluate(inv.dst)
            if inv.kind == "only":
                self.selection.evaluate_not(src)

    def check(self, inv: Invariant) -> Result:
        start = time.perf_counter()
        try:
            return self._check(inv, start)
        except InternalError as exc:
            return self._result(inv, start, "error", error=f"internal error: {exc}")

    def _result(self, inv: Invariant, start: float, status: str, **kw: Any) -> Result:
        return Result(inv.id, inv.kind, status, inv.description, statement(inv), inv.where, inv.line,
                      time.perf_counter() - start, **kw)

    def _selections(self, inv: Invariant) -> tuple[EndpointSet, EndpointSet] | str:
        src = self.selection.evaluate(inv.src)
        dst = self.selection.evaluate(inv.dst)
        if not inv.allow_empty:
            for role, sel, es in (("from", inv.src, src), ("to", inv.dst, dst)):
                if sel is not None and es.is_empty():
                    return (f"{sel.where}: the {role} selector {sel.text!r} matches no endpoint "
                            "(add allow_empty: true to the invariant if that is intended)")
        return src, dst

    def _check(self, inv: Invariant, start: float) -> Result:
        sels = self._selections(inv)
        if isinstance(sels, str):
            return self._result(inv, start, "error", error=sels)
        src, dst = sels
        if inv.kind == "only":
            src = self.selection.evaluate_not(src)
        if inv.kind == "reach":
            return self._reach(inv, start, src, dst)
        return self._exists(inv, start, src, dst)

    # ---- deny / only ---------------------------------------------------------------------------
    def _exists_query(self, inv: Invariant, src: EndpointSet, dst: EndpointSet) -> _Query | None:
        """Slice both sides and build the solver; None when no flow can exist at all."""
        enc = self.enc
        svc = inv.services
        base_s, ext_s = enc.side(src)
        base_d, ext_d = enc.side(dst)
        if self.optimise:
            d_behs = [enc.behaviour(enc.classes[c].groups, False, svc) for c in base_d]
            base_s, ext_s = enc.filter_side(base_s, ext_s, d_behs, bool(ext_d))
            s_behs = [enc.behaviour(enc.classes[c].groups, True, svc) for c in base_s]
            base_d, ext_d = enc.filter_side(base_d, ext_d, s_behs, bool(ext_s))
        side_s, side_d, rel_s, rel_d = self._project_sides(svc, base_s, ext_s, base_d, ext_d)
        if self.optimise:
            # a class whose rules admit nothing from the other side cannot take part in a flow
            side_s.classes = [c for c in side_s.classes if c.beh != ()]
            side_d.classes = [c for c in side_d.classes if c.beh != ()]
        if not (side_s.classes or side_s.has_ext) or not (side_d.classes or side_d.has_ext):
            return None
        if not side_s.classes and not side_d.classes:
            return None  # external to external never enters the network
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        p, x, sp = z3.Ints("p x sport")
        s_terms, s_cls = enc.side_terms("src", side_s, rel_s, solver, z3.BoolVal(False))
        d_terms, d_cls = enc.side_terms("dst", side_d, rel_d, solver, s_terms.ext)
        n4 = self.atoms.n4
        solver.add(z3.Not(z3.And(s_terms.ext, d_terms.ext)))
        solver.add((s_terms.atom < n4) == (d_terms.atom < n4))
        single_d = {c.members[0]: k for k, c in enumerate(side_d.classes) if len(c.members) == 1}
        for k, c in enumerate(side_s.classes):
            if len(c.members) == 1 and c.members[0] in single_d:
                solver.add(z3.Not(z3.And(s_cls == k, d_cls == single_d[c.members[0]])))
        solver.add(*enc.service_constraints(p, x, sp, svc))
        solver.add(enc.allowed(s_terms, d_terms, p, x, sp, svc))
        return _Query(solver, side_s, side_d, s_cls, d_cls, s_terms.atom, d_terms.atom, p, x, sp)

    def _project_sides(self, svc: ServiceSet, base_s: dict[int, list[int]], ext_s: list[tuple[int, int]],
                       base_d: dict[int, list[int]], ext_d: list[tuple[int, int]]
                       ) -> tuple[Side, Side, set[str], set[str]]:
        """Project both sides against each other: behaviours keep only rules that can match the other
        side, and membership bits only for groups that those rules reference and the side carries."""
        enc = self.enc
        seen_by_src = enc.reachable(base_d, ext_d, with_public=False)  # src egress sees dst private addresses
        seen_by_dst = enc.reachable(base_s, ext_s, with_public=False)
        merge = self.optimise
        if not merge:
            seen_by_src = replace(seen_by_src, everything=True)
            seen_by_dst = replace(seen_by_dst, everything=True)
        proj_s = enc.project(base_s, True, svc, set(), False, seen_by_src)
        proj_d = enc.project(base_d, False, svc, set(), bool(ext_s), seen_by_dst)
        rel_s = referenced_groups([c.beh for c in proj_d]) & seen_by_dst.groups
        rel_d = referenced_groups([c.beh for c in proj_s]) & seen_by_src.groups
        side_s = Side(enc.project(base_s, True, svc, rel_s, False, seen_by_src, merge), ext_s)
        side_d = Side(enc.project(base_d, False, svc, rel_d, bool(ext_s), seen_by_dst, merge), ext_d)
        return side_s, side_d, rel_s, rel_d

    def _readable_model(self, solver: z3.Solver, p: Any, atom: Any, services: ServiceSet) -> Any:
        """The model of a sat solver, preferring one a reader expects: tcp or udp, or the ICMP of the
        flow's address family. Only asked when the ports admit anything else, and only for a moment;
        otherwise (or when no such flow exists) z3's first model stands."""
        protos = {proto for proto, _ in services.by_proto}
        if protos <= {TCP, UDP, ICMP} or protos <= {TCP, UDP, ICMPV6}:
            return solver.model()
        n4 = self.atoms.n4
        solver.push()
        solver.add(z3.Or(p == TCP, p == UDP, z3.And(p == ICMP, atom < n4), z3.And(p == ICMPV6, atom >= n4)))
        solver.set("timeout", 2000)
        try:
            if solver.check() == z3.sat:
                return solver.model()
        finally:
            solver.set("timeout", self.timeout_ms)
            solver.pop()
        if solver.check() != z3.sat:
            raise InternalError("the solver's answer changed between two identical checks")
        return solver.model()

    def _witness(self, inv: Invariant, q: _Query, src: EndpointSet, dst: EndpointSet) -> tuple[Counterexample, dict[str, int]]:
        m = self._readable_model(q.solver, q.p, q.s_atom, inv.services)

        def val(t: Any) -> int:
            return int(m.eval(t, model_completion=True).as_long())

        values = {"s_cls": val(q.s_cls), "d_cls": val(q.d_cls), "p": val(q.p), "x": val(q.x)}
        s_ep, d_ep = self._pick_pair(q.side_s, values["s_cls"], val(q.s_atom), q.side_d, values["d_cls"],
                                     val(q.d_atom))
        flow = Flow(s_ep, d_ep, values["p"], values["x"], val(q.sp))
        verdict = evaluate(self.net, flow)
        self._replay_checks(inv, flow, verdict.allowed, src, dst)
        cx = Counterexample(flow, endpoint_info(self.net, s_ep.eni, s_ep.family, s_ep.address),
                            endpoint_info(self.net, d_ep.eni, d_ep.family, d_ep.address), True, verdict.steps)
        return cx, values

    def _covered(self, src: EndpointSet, dst: EndpointSet) -> dict[str, Any]:
        return {"source_enis": len(src.enis), "source_external": bool(src.ext[0] or src.ext[1]),
                "destination_enis": len(dst.enis), "destination_external": bool(dst.ext[0] or dst.ext[1]),
                "eni_classes": len(self.enc.classes), "address_atoms": self.atoms.n}

    def _exists(self, inv: Invariant, start: float, src: EndpointSet, dst: EndpointSet) -> Result:
        covered = self._covered(src, dst)
        q = self._exists_query(inv, src, dst)
        if q is None:
            # slicing left no source that a destination's rules could admit (or no endpoint at all)
            return self._result(inv, start, "proven", covered={**covered, "decided_by": "slicing"})
        covered["decided_by"] = "z3"
        answer = q.solver.check()
        if answer == z3.unsat:
            return self._result(inv, start, "proven", covered=covered)
        if answer != z3.sat:
            return self._result(inv, start, "error", covered=covered,
                                error=f"the solver could not decide ({q.solver.reason_unknown()}); this is not a proof")
        cx, _ = self._witness(inv, q, src, dst)
        return self._result(inv, start, "refuted", counterexample=cx, covered=covered)

    def violations(self, inv: Invariant, limit: int) -> tuple[list[Counterexample], bool]:
        """Every distinct violation of a deny/only invariant, one flow per (source class, destination
        class, protocol: tcp, udp, icmp, icmpv6 or any other); each found group is blocked in the solver before asking again. Returns the
        flows and whether the list is complete (the solver said unsat before the limit)."""
        if inv.kind == "reach":
            raise ValueError("violations() enumerates deny and only invariants")
        sels = self._selections(inv)
        if isinstance(sels, str):
            return [], True
        src, dst = sels
        if inv.kind == "only":
            src = self.selection.evaluate_not(src)
        q = self._exists_query(inv, src, dst)
        if q is None:
            return [], True
        found: list[Counterexample] = []
        while len(found) < limit:
            answer = q.solver.check()
            if answer == z3.unsat:
                return found, True
            if answer != z3.sat:
                return found, False
            cx, v = self._witness(inv, q, src, dst)
            found.append(cx)
            named = (ICMP, TCP, UDP, ICMPV6)
            # tcp, udp, icmp and icmpv6 each form a group; every other protocol number forms one more
            same_proto = q.p == v["p"] if v["p"] in named else z3.And([q.p != n for n in named])
            q.solver.add(z3.Not(z3.And(q.s_cls == v["s_cls"], q.d_cls == v["d_cls"], same_proto)))
        return found, q.solver.check() == z3.unsat

    def _external(self, atom: int) -> Endpoint:
        """An external address inside the atom (not its first address, which reads like a network)."""
        fam, lo, hi = self.atoms.bounds(atom)
        return Endpoint(None, fam, lo if lo == hi else lo + 1)

    def _candidates(self, side: Side, k: int, atom: int) -> list[Endpoint]:
        """Concrete endpoints of class k at an address in the atom (one per ENI; a few at most)."""
        if k >= len(side.classes):
            return [self._external(atom)]
        fam, lo, hi = self.atoms.bounds(atom)
        out = []
        for i in side.classes[k].members[:3]:
            e = self.net.enis[i]
            found = next((Endpoint(i, fam, max(a, lo)) for f, a, b in e.private if f == fam and a <= hi and b >= lo),
                         None)
            if found is None and fam == 4:
                found = next((Endpoint(i, fam, pub) for pub in e.public if lo <= pub <= hi), None)
            if found is not None:
                out.append(found)
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
        if flow.proto in PORTED and not self.spec.ephemeral[0] <= flow.sport <= self.spec.ephemeral[1]:
            raise InternalError(f"{inv.id}: counterexample client port is outside the ephemeral range")

    # ---- reach --------------------------------------------------------------------------------
    def _reach(self, inv: Invariant, start: float, src: EndpointSet, dst: EndpointSet) -> Result:
        """One query: some pair of endpoint classes and some service that every address pair and
        every client port fails. No slicing drops an endpoint here: each must be shown to connect."""
        enc = self.enc
        svc = inv.services
        covered = self._covered(src, dst)
        base_s, ext_s = enc.side(src)
        base_d, ext_d = enc.side(dst)
        side_s, side_d, rel_s, rel_d = self._project_sides(svc, base_s, ext_s, base_d, ext_d)
        if not (side_s.classes or side_s.has_ext) or not (side_d.classes or side_d.has_ext) or not (
            side_s.classes or side_d.classes
        ):
            # no pair of endpoints to connect (external to external never enters the network)
            return self._result(inv, start, "proven", covered={**covered, "decided_by": "selection"})
        covered["decided_by"] = "z3"
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        p, x = z3.Ints("p x")
        n4 = self.atoms.n4
        s_slots, s_pubs, s_cls = enc.slot_terms("src", side_s, rel_s, solver, False)
        d_slots, d_pubs, d_cls = enc.slot_terms("dst", side_d, rel_d, solver, bool(ext_s))
        s_ext, d_ext = s_slots[0].ext, d_slots[0].ext
        solver.add(z3.Not(z3.And(s_ext, d_ext)))
        single_d = {c.members[0]: k for k, c in enumerate(side_d.classes) if len(c.members) == 1}
        for k, c in enumerate(side_s.classes):
            if len(c.members) == 1 and c.members[0] in single_d:
                solver.add(z3.Not(z3.And(s_cls == k, d_cls == single_d[c.members[0]])))
        solver.add(*enc.service_constraints(p, x, None, svc))
        ported = z3.Or(p == 6, p == 17)
        reps = enc.port_reps or [self.spec.ephemeral[0]]
        compatible = []
        for st, spub in zip(s_slots, s_pubs, strict=True):
            for dt, dpub in zip(d_slots, d_pubs, strict=True):
                usable = z3.And((st.atom < n4) == (dt.atom < n4), z3.Not(spub), z3.Implies(dpub, s_ext))
                compatible.append(usable)
                req = enc.request(st, dt, p, x, svc)
                replies = [enc.reply_ok(st, dt, p, x, z3.If(ported, r, 0)) for r in reps]
                solver.add(z3.Implies(usable, z3.Not(z3.And(req, z3.Or(replies)))))
        # an external endpoint only needs the hosts that have an address of its family
        solver.add(z3.Implies(z3.Or(s_ext, d_ext), z3.Or(compatible)))
        answer = solver.check()
        if answer == z3.unsat:
            return self._result(inv, start, "proven", covered=covered)
        if answer != z3.sat:
            return self._result(inv, start, "error", covered=covered,
                                error=f"the solver could not decide ({solver.reason_unknown()}); this is not a proof")
        m = self._readable_model(solver, p, s_slots[0].atom, svc)

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
            cx = self._reach_witness(inv, sc, dc, val(p), val(x), ext_atom, src, dst)
        return self._result(inv, start, "refuted", counterexample=cx, covered=covered)

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

    def _reach_witness(self, inv: Invariant, sc: SideClass | None, dc: SideClass | None, proto: int, value: int,
                       ext_atom: int, src: EndpointSet, dst: EndpointSet) -> Counterexample:
        """Every address pair of the chosen endpoints fails in the plain evaluator too; show the first."""
        if sc is None:
            assert dc is not None
            s_ep = self._external(ext_atom)
            pairs = [(s_ep, d) for d in self._all_endpoints(dc, None, s_ep.family, with_public=True)]
        elif dc is None:
            d_ep = self._external(ext_atom)
            pairs = [(s, d_ep) for s in self._all_endpoints(sc, None, d_ep.family, with_public=False)]
        else:
            s_i, d_i = self._distinct_members(sc, dc)
            s_eps = self._all_endpoints(sc, s_i, None, with_public=False)
            d_all = self._all_endpoints(dc, d_i, None, with_public=False)
            pairs = [(s, d) for s in s_eps for d in d_all if s.family == d.family]
        first = None
        for s, d in pairs:
            ok, flow = connection_exists(self.net, s, d, proto, value, self.spec.ephemeral)
            if ok:
                raise InternalError(f"{inv.id}: z3 says blocked, but the plain evaluator connects {flow.text()}")
            first = first or flow
        if first is None:
            raise InternalError(f"{inv.id}: reach counterexample without an address pair (atom {ext_atom})")
        verdict = evaluate(self.net, first)
        self._replay_checks(inv, first, verdict.allowed, src, dst)
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
                       with_public: bool) -> list[Endpoint]:
        """One address per atom of an ENI of the class (the atoms stand for all its addresses)."""
        assert c is not None
        i = eni if eni is not None else c.members[0]
        e = self.net.enis[i]
        out = []
        for atom in self._atoms_of(c, with_public):
            f, lo, hi = self.atoms.bounds(atom)
            if family is not None and f != family:
                continue
            for ff, a, b in e.private:
                if ff == f and a <= hi and b >= lo:
                    out.append(Endpoint(i, f, max(a, lo)))
                    break
            else:
                for pub in e.public:
                    if f == 4 and lo <= pub <= hi:
                        out.append(Endpoint(i, f, pub))
                        break
        return out
