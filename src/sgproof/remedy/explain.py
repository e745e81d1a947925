"""`verify --explain` (contract 9): the parts of the network a proof rests on, each claim checked.

For a proven deny/only invariant, `rests_on` is a set K of parts such that the invariant still holds
with every part outside K opened, and opening any one part of K as well refutes it; for reach the same
with closing. Opening (closing) only ever adds (removes) allowed flows, so "holds with everything
outside K opened" is monotone in K. "Holds" is always the engine's answer; "opening p as well refutes"
is shown by a witness the plain evaluator admits on exactly that network (remedy/witness.py), or else
by the engine. A witness found with every part outside a candidate set C opened puts its part in every
sufficient subset of C, so when the witnessed parts suffice they are the minimal subset:

1. candidates: the parts that can touch a flow between the invariant's two sides (the groups on the
   selected ENIs, their subnets' ACLs and route tables, the NAT gateway and transit gateway attachment
   subnets on their paths, the groups those rules reference), in layers (deny/only: the destination
   side's ACLs, route tables, groups, then the source side's; reach: one layer); after each layer, one
   engine check of whether its witnessed parts suffice;
2. defence in depth (no part of two blocking controls is in every sufficient set): the engine's
   refutation names a flow, and the first candidate on its path whose keeping blocks it is added;
3. otherwise the engine alone: QuickXplain over the candidates (deny/only), one deletion step per
   candidate (reach);
4. every part of K shown to matter once more on the final network (witness replayed, or a re-check).

Each re-check builds the transformed Network and runs the real Checker on the one invariant, sharing
only the atoms, classes and selections of the original check: transforms neither move an ENI nor draw
a boundary that the original network lacks, so these stay exact (tests compare with fresh checkers).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any

from ..encode.check import Checker
from ..encode.query import Encoder, rule_overlaps
from ..encode.routes import RouteOutcomes
from ..model import Network
from ..model.addr import V4_MAX, V6_MAX
from ..report.model import Result
from ..semantics import Flow
from ..spec import Invariant, ServiceSet, describe
from ..spec.select import EndpointSet
from .parts import CLOSE, OPEN, Part, Parts, order_key
from .witness import WitnessFinder

# engine checks one explanation may make: a count, not seconds, so that whether an explanation is
# given does not depend on the machine's load (the 10,000-ENI benchmarks' largest needs 7; the engine-only
# fallback, which the witnesses now rarely leave anything to, needed up to about 800)
MAX_CHECKS = 2000
MAX_LISTED = 4  # peers, entries, routes or ENIs named in one `why` line
GROW_ROUNDS = 16  # engine refutations the fast path settles one part at a time before it searches
_COARSE = ("nacl", "route-table", "sg-ingress", "sg-egress", "membership")  # the order _grow adds parts in


class _Undecided(Exception):
    """A re-check that gave no verdict, or the time ran out: no explanation, never a guess."""


class Explainer:
    """Explains the proven invariants of one network and spec."""

    def __init__(self, checker: Checker):
        self.checker = checker
        self.parts = Parts(checker.net)
        self.witnesses = True  # look for the evaluator's witnesses first (False: the engine's re-checks alone)
        self._routes: dict[tuple[frozenset[str], frozenset[str]], RouteOutcomes | None] = {}
        if checker.net.routing is not None:
            self._routes[(checker.net.routing.open_tables, checker.net.routing.closed_tables)] = checker.enc.routes

    # ---- the re-check ---------------------------------------------------------------------------
    def _checker_for(self, net: Network) -> Checker:
        base = self.checker
        c = copy.copy(base)
        c.net = net
        c.enc = Encoder(net, base.atoms, base.enc.classes, base.enc.class_of, base.spec.ephemeral,
                        base.enc.port_reps, mapped_cuts=not base.optimise)
        if net.routing is not None:
            # routing outcomes depend on the routing model alone: one per set of opened or closed tables
            key = (net.routing.open_tables, net.routing.closed_tables)
            routes = self._routes.get(key)
            if routes is None:
                routes = self._routes[key] = c.enc.routes
            c.enc.routes = routes
        return c

    def check_with(self, inv: Invariant, parts: frozenset[Part] | set[Part], mode: str) -> Result:
        """The invariant checked on the network with `parts` opened or closed."""
        return self._checker_for(self.parts.network(parts, mode)).check(inv)

    def refuted_with(self, inv: Invariant, parts: frozenset[Part], mode: str, part: Part) -> Result | None:
        """A refutation of the invariant on the network with `parts` opened or closed, looked for only among
        the endpoints that `part` (one of `parts`) touches when it is a group's rule set: the ENIs that carry
        the group on that side. A flow (or a failing pair) among some of the invariant's endpoints refutes
        it for all of them, so a refutation found here is one of the whole invariant; None when none is
        found here (the caller then checks the whole invariant)."""
        if part.kind not in ("sg-ingress", "sg-egress"):
            return None
        c = self._checker_for(self.parts.network(parts, mode))
        start = time.perf_counter()
        sels = c._selections(inv)
        if isinstance(sels, str):
            return None
        src, dst = sels
        net = c.net

        def carriers(side: EndpointSet) -> EndpointSet:
            return EndpointSet(frozenset(i for i in side.enis if part.id in net.enis[i].groups), ((), ()))

        if part.kind == "sg-egress":
            src = carriers(src)
        else:
            dst = carriers(dst)
        if not src.enis and not dst.enis:
            return None
        got = c._reach(inv, start, src, dst) if inv.kind == "reach" else c._exists(inv, start, src, dst)
        return got if got.status == "refuted" else None

    # ---- candidates -----------------------------------------------------------------------------
    def candidates(self, inv: Invariant) -> tuple[list[Part], list[Part]]:
        """Parts that can touch a flow between the invariant's two sides (a superset of what matters), as
        (the destination side's, the source side's and the paths' between them)."""
        checker = self.checker
        src, dst = checker.sides(inv)
        d_parts, d_subnets = self._side(dst.enis, "sg-ingress", inv.services)
        s_parts, s_subnets = self._side(src.enis, "sg-egress", inv.services)
        d_parts |= self._places(d_subnets)
        s_parts |= self._places(s_subnets | self._path_subnets(s_subnets | d_subnets))
        return sorted(d_parts, key=order_key), sorted(s_parts - d_parts, key=order_key)

    def _side(self, enis: frozenset[int], kind: str, svc: ServiceSet) -> tuple[set[Part], set[str]]:
        """The groups' rule sets of one side, the memberships their rules (on the invariant's services)
        reference, and the side's subnets."""
        net = self.checker.net
        out: set[Part] = set()
        subnets: set[str] = set()
        groups: set[str] = set()
        for i in enis:
            e = net.enis[i]
            subnets.add(e.subnet_id)
            groups.update(e.groups)
        for g in groups:
            sg = net.sgs.get(g)
            if sg is None:
                continue
            out.add(Part(kind, g))
            for rule in sg.egress if kind == "sg-egress" else sg.ingress:
                if rule.peer.kind == "sg" and rule.peer.ref in net.sgs and rule_overlaps(rule.match, svc):
                    out.add(Part("membership", rule.peer.ref))
        return out, subnets

    def _path_subnets(self, subnets: set[str]) -> set[str]:
        """With routing: the NAT gateway and transit gateway attachment subnets a path may cross."""
        net = self.checker.net
        rt = net.routing
        if rt is None:
            return set()
        vpcs = {net.subnets[s].vpc_id for s in subnets}
        out = {n.subnet_id for n in rt.nats.values() if n.vpc_id in vpcs and n.subnet_id in net.subnets}
        for att in rt.tgw_attachments.values():
            out |= {s for s in att.subnet_ids or () if s in net.subnets}
        return out

    def _places(self, subnets: set[str]) -> set[Part]:
        """The ACLs and route tables of the subnets."""
        net = self.checker.net
        out = {Part("nacl", net.subnets[s].nacl_id) for s in subnets if net.subnets[s].nacl_id in net.nacls}
        rt = net.routing
        if rt is not None:
            out |= {Part("route-table", rt.subnet_table[s]) for s in subnets if s in rt.subnet_table}
        return out

    # ---- the explanation ------------------------------------------------------------------------
    def explain(self, inv: Invariant, result: Result) -> Result:
        """The result with `rests_on` (or why it could not be computed); results other than proven as
        they are."""
        if result.status != "proven":
            return result
        start = time.perf_counter()
        try:
            doc = self._explain(inv)
        except _Undecided as exc:
            doc = {"rests_on": None, "rests_on_error": str(exc)}
        doc["rests_on_seconds"] = round(time.perf_counter() - start, 4)
        return dataclasses.replace(result, explanation=doc)

    def _explain(self, inv: Invariant) -> dict[str, Any]:
        """rests_on and the number of checks it took; raises _Undecided when it cannot be computed."""
        mode = CLOSE if inv.kind == "reach" else OPEN
        everything = frozenset(self.parts.all)
        seen: dict[frozenset[Part], Result] = {}
        calls = 0

        def in_time() -> None:
            nonlocal calls
            calls += 1
            if calls > MAX_CHECKS:
                raise _Undecided(f"the explanation needs more than {MAX_CHECKS} engine checks; no guess is made")

        def holds(kept: frozenset[Part], without: Part | None = None) -> bool:
            """The invariant holds with every part outside `kept` opened (closed for reach). `without`: the
            part just taken out of `kept`, whose own endpoints are searched for a refutation first."""
            got = seen.get(kept)
            if got is None and without is not None:
                in_time()
                found = self.refuted_with(inv, everything - kept, mode, without)
                if found is not None:
                    got = seen[kept] = found
            if got is None:
                in_time()
                got = seen[kept] = self.check_with(inv, everything - kept, mode)
                if got.status == "error":
                    raise _Undecided(f"a re-check could not be decided ({got.error}); no explanation is given")
            return got.status == "proven"

        near, far = self.candidates(inv)
        finder = WitnessFinder(self.checker, self.parts, inv, mode, self.witnesses)
        found: dict[Part, Flow] = {}  # part -> a witness that it matters (replayed by the evaluator)
        barren: set[Part] = set()  # parts the search found no witness for (with more changed: none now)

        def necessary(cands: list[Part]) -> list[Part]:
            """The candidates that the evaluator shows to matter with every non-candidate changed: each is
            in every sufficient subset of the candidates."""
            outside = everything - frozenset(cands)
            out = []
            for p in cands:
                if p in barren:
                    continue
                flow = found.get(p)
                if flow is None or not finder.replays(outside, p, flow):
                    flow = finder.find(outside, p)
                if flow is None:
                    barren.add(p)
                    found.pop(p, None)
                else:
                    found[p] = flow
                    out.append(p)
            return out

        # the candidates grow layer by layer (the destination's ACLs, then its route tables, its groups,
        # then the same of the source side and the paths): while a proof rests on one layer, its parts
        # there are each shown to matter by a witness, and one engine check shows that they suffice
        kept: list[Part] | None = None
        cands: list[Part] = []
        needed: list[Part] = []
        tried: set[frozenset[Part]] = set()
        for layer in _layers(near, far, mode):
            # the layer alone first (every other part opened: its own parts are then easiest to witness),
            # then with the layers before it
            attempts = [layer, cands + layer] if cands else [layer]
            cands = cands + layer
            for attempt in attempts:
                needed = necessary(attempt)
                key = frozenset(needed)
                if needed and key not in tried:
                    tried.add(key)
                    if holds(key):
                        kept = needed  # sufficient, and every part shown to matter: minimal
                        break
            if kept is not None:
                break
        if kept is None and needed and self.witnesses:
            kept = self._grow(needed, cands, holds, seen, finder)
        if kept is None:
            # the engine alone: QuickXplain (deletion for reach) over what no witness settled
            if mode == OPEN and holds(frozenset(near)):
                cands = near
            elif not holds(frozenset(near + far)):
                cands = sorted(everything, key=order_key)  # a part outside the candidates mattered
            needed = necessary(cands)
            rest = [p for p in cands if p not in set(needed)]
            if holds(frozenset(needed)):
                kept = list(needed)
            elif mode == CLOSE:
                # a reach proof rests on most of its candidates (every source's egress, every destination's
                # ingress): one deletion step per candidate, each refutation looked for among the part's own ENIs
                kept = list(cands)
                for p in rest:
                    if holds(frozenset(kept) - {p}, p):
                        kept.remove(p)
            else:
                kept = needed + self._quickxplain(holds, list(needed), list(needed), rest)
        # every part of the set must matter: with it changed as well the invariant is refuted, shown by a
        # witness that the evaluator replays on exactly that network, or else by the engine
        changed = True
        while changed:
            changed = False
            for p in list(kept):
                outside = everything - frozenset(kept)
                flow = found.get(p)
                if flow is None or not finder.replays(outside, p, flow):
                    flow = finder.find(outside, p)
                if flow is not None:
                    found[p] = flow
                    continue
                found.pop(p, None)
                if holds(frozenset(kept) - {p}, p):
                    kept.remove(p)
                    changed = True
        kept.sort(key=order_key)
        rests = []
        for p in kept:
            entry = {"part": p.kind, "id": p.id, "why": self.why(p, inv, mode)}
            flow = found.get(p)
            if flow is None:
                cx = seen[frozenset(kept) - {p}].counterexample
                flow = cx.flow if cx is not None else None
            if flow is not None:
                word = "opening" if mode == OPEN else "closing"
                entry["witness"] = f"{word} it {'admits' if mode == OPEN else 'blocks'} {flow.text()}"
            rests.append(entry)
        return {"rests_on": rests, "rests_on_checks": len(seen), "rests_on_witnesses": sum(p in found for p in kept)}

    def _grow(self, needed: list[Part], cands: list[Part], holds: Any, seen: dict[frozenset[Part], Result],
              finder: WitnessFinder) -> list[Part] | None:
        """Parts every sufficient set holds do not suffice: keep adding, for the engine's refutation, a
        candidate on its path that settles it (coarse parts first), until the engine says proven. None when
        no candidate settles a refutation or the rounds run out (the caller then searches)."""
        everything = frozenset(self.parts.all)
        kept = list(needed)
        order = sorted(cands, key=lambda p: (_COARSE.index(p.kind), p.id))
        for _ in range(GROW_ROUNDS):
            key = frozenset(kept)
            if holds(key):
                return kept
            cx = seen[key].counterexample
            if cx is None:
                return None
            touching = self._touching(cx.flow)
            for p in order:
                if p in key or p not in touching:
                    continue
                if finder.settles(everything - key - {p}, cx.flow):
                    kept.append(p)
                    break
            else:
                return None
        return None

    def _touching(self, flow: Flow) -> set[Part]:
        """The parts that can decide the flow at its two ends: their groups' rule sets and the memberships
        those rules name, their subnets' ACLs and route tables."""
        net = self.checker.net
        out: set[Part] = set()
        for ep in (flow.src, flow.dst):
            if ep.eni is None:
                continue
            e = net.enis[ep.eni]
            for g in e.groups:
                out |= {Part("sg-ingress", g), Part("sg-egress", g)}
                out |= {Part("membership", r) for r in self.parts.refs.get(g, ())}
            out |= self._places({e.subnet_id})
        return out

    def _quickxplain(self, holds: Any, base: list[Part], delta: list[Part], cands: list[Part]) -> list[Part]:
        """A minimal X of `cands` such that holds(base + X), given that holds(base + cands)."""
        if delta and holds(frozenset(base)):
            return []
        if len(cands) == 1:
            return list(cands)
        half = len(cands) // 2
        c1, c2 = cands[:half], cands[half:]
        x2 = self._quickxplain(holds, base + c1, c1, c2)
        x1 = self._quickxplain(holds, base + x2, x2, c1)
        return x1 + x2

    # ---- what in a part matters -----------------------------------------------------------------
    def why(self, part: Part, inv: Invariant, mode: str) -> str:
        net = self.checker.net
        svc = inv.services
        only = " only" if mode == OPEN else ""
        if part.kind in ("sg-ingress", "sg-egress"):
            egress = part.kind == "sg-egress"
            sg = net.sgs[part.id]
            rules = [r for r in (sg.egress if egress else sg.ingress) if rule_overlaps(r.match, svc)]
            if not rules:
                return f"admits nothing on {describe(svc)}"
            word = "to" if egress else "from"
            matches = {r.match.text() for r in rules}
            if len(matches) == 1:
                return f"admits {matches.pop()}{only} {word} " + _listed(dict.fromkeys(r.peer.ref for r in rules))
            return f"admits{only} " + _listed(dict.fromkeys(r.text() for r in rules), "; ")
        if part.kind == "nacl":
            nacl = net.nacls[part.id]
            entries = [e for e in (*nacl.ingress, *nacl.egress) if e.number < 32767 and rule_overlaps(e.match, svc)]
            denies = [e for e in entries if not e.allow]
            allows = [e for e in entries if e.allow]
            if mode == CLOSE:
                return _listed({_entry_text(e): None for e in allows}, "; ") if allows else \
                    f"no entry admits {describe(svc)}"
            said = [_listed({_entry_text(e): None for e in denies}, "; ")] if denies else []
            if allows:
                said.append(f"only these entries admit {describe(svc)}: "
                            + _listed({_entry_text(e): None for e in allows}, "; "))
            else:
                said.append(f"no entry admits {describe(svc)} (the final * entries deny it)")
            return "; ".join(said)
        if part.kind == "route-table":
            assert net.routing is not None
            table = net.routing.tables[part.id]
            routes = [r for r in table.routes if r.kind != "local"]
            shown = "routes " + (_listed({r.text(): None for r in routes}) if routes else "the VPC's local block") + only
            if not any(r.kind == "igw" and not r.blackhole for r in table.routes):
                return f"no route to an internet gateway; {shown}"
            if mode == OPEN and any(r.kind == "igw" and r.family == 4 for r in table.routes):
                shown += " (an internet gateway carries IPv4 only for an address with its own public IPv4)"
            return shown
        carriers = {net.enis[i].id: None for i in self.checker.selection.carriers(part.id)}
        if not carriers:
            return "carried by no ENI"
        return "carried by " + _listed(carriers) + only


def _layers(near: list[Part], far: list[Part], mode: str) -> list[list[Part]]:
    """The candidates in the order the fast path adds them: for deny/only, the destination side's ACLs,
    its route tables, its groups and memberships (coarse controls first: an ACL stands for many ENIs),
    then the same of the source side and the paths; for
    reach (whose proofs rest on every gate of a path) all of them at once."""
    if mode == CLOSE:
        return [near + far]
    kinds = (("nacl",), ("route-table",), ("sg-ingress", "sg-egress", "membership"))
    out = [[p for p in side if p.kind in ks] for side in (near, far) for ks in kinds]
    return [layer for layer in out if layer]


def _entry_text(e: Any) -> str:
    verb = "allows" if e.allow else "denies"
    word = "outbound to" if e.egress else "from"
    return f"rule {e.number} {verb} {e.match.text()} {word} {_cidr_text(e)}"


def _cidr_text(e: Any) -> str:
    if (e.family, e.lo, e.hi) in ((4, 0, V4_MAX), (6, 0, V6_MAX)):
        return "anywhere" if e.family == 4 else "anywhere (IPv6)"
    return str(e.cidr)


def _listed(items: dict[str, None], sep: str = ", ") -> str:
    names = list(items)
    head = sep.join(names[:MAX_LISTED])
    return head + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")

