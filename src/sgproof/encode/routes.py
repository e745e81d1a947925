"""Routing precomputed per (route context, address atom run): z3 only ever sees the outcomes.

A route table's decision depends only on the destination address, and every boundary a decision can
change at (route destinations, VPC and peering blocks, transit gateway routes) is an atom boundary.
So for each pair of route contexts (the subnet's table, VPC and zone) the plain evaluator's router is
asked once per elementary interval, and the answers are grouped into atom runs by outcome.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import TypeVar

from ..model import Network
from ..model.addr import V4_MAX, V6_MAX, intersect, normalize
from ..semantics.routing import Router, TgwLegs
from .prepare import Atoms

Ctx = tuple[str, str, str | None]  # (route table id, VPC id, availability zone)
Runs = tuple[tuple[int, int], ...]  # atom index runs
# (verdict when the sending address has no public IPv4, verdict when it has one, NAT leg or None)
ExtKey = tuple[str, str, tuple[str, str, str] | None]
K = TypeVar("K", bound=Hashable)


def routing_blocks(net: Network, mapped: bool = True) -> list[tuple[int, int, int]]:
    """Every address block a routing outcome can change at (atom boundaries). `mapped`: with the private
    IPv4 addresses that have their own public one (the IGW maps these one to one). Whether an address
    is mapped changes what its *sender* may reach (a class condition), never how a route table treats
    a packet *to* that address, so the tables of outcomes by destination leave them out."""
    rt = net.routing
    if rt is None:
        return []
    out: list[tuple[int, int, int]] = []
    for t in rt.tables.values():
        out.extend((r.family, r.lo, r.hi) for r in t.routes)
    for p in rt.peerings.values():
        out.extend((*p.requester_cidrs, *p.accepter_cidrs))
    for tt in (rt.tgw_tables or {}).values():
        out.extend((r.family, r.lo, r.hi) for r in tt.routes or ())
    if mapped:
        for e in net.enis:
            out.extend((4, p, p) for p, _ in e.public_map)
    return out


def allowed_in(verdict: str, unknown_allows: bool) -> bool:
    return verdict == "allow" or (verdict == "unknown" and unknown_allows)


class RouteOutcomes:
    """Routing outcomes of one network by route context and atom run; computed lazily, cached per key.

    Cache keys are the exact context tuples (and a flag), never printed text."""

    def __init__(self, net: Network, atoms: Atoms, mapped_cuts: bool = False):
        assert net.routing is not None
        self.net = net
        self.atoms = atoms
        self.router = Router(net)
        self.share_inbound = not mapped_cuts  # the reference for tests asks the router at every piece
        rt = net.routing
        ctxs = sorted({(rt.subnet_table[s.id], s.vpc_id, s.az) for s in net.subnets.values()},
                      key=lambda c: (c[0], c[1], c[2] or ""))
        self.contexts: list[Ctx] = ctxs
        self.ctx_index = {c: i for i, c in enumerate(ctxs)}
        self.subnet_ctx = {s.id: self.ctx_index[(rt.subnet_table[s.id], s.vpc_id, s.az)]
                           for s in net.subnets.values()}
        cuts: dict[int, set[int]] = {4: {0}, 6: {0}}
        # the router is asked once per piece: every piece lies within one outcome (with `mapped_cuts`,
        # pieces are cut at mapped addresses too, which changes no outcome: the reference for tests)
        for f, lo, hi in routing_blocks(net, mapped_cuts) + [c for v in net.vpcs.values() for c in v.cidrs]:
            cuts[f].add(lo)
            if hi < (V4_MAX if f == 4 else V6_MAX):
                cuts[f].add(hi + 1)
        for fam, ivs in net.external.items():
            for lo, hi in ivs:
                cuts[fam].add(lo)
                if hi < (V4_MAX if fam == 4 else V6_MAX):
                    cuts[fam].add(hi + 1)
        self.pieces: dict[int, list[tuple[int, int]]] = {}
        for fam, top in ((4, V4_MAX), (6, V6_MAX)):
            starts = sorted(cuts[fam])
            self.pieces[fam] = [(a, (starts[k + 1] - 1) if k + 1 < len(starts) else top)
                                for k, a in enumerate(starts)]
        # atoms an external endpoint can be at: gaps of other atoms (ENIs' public addresses) between two
        # runs of one outcome may be closed, since no external endpoint is ever there
        self.ext_runs = tuple(normalize(atoms.span(f, lo, hi) for f, ivs in net.external.items() for lo, hi in ivs))
        self._ext_starts = [a for a, _ in self.ext_runs]
        self._to_eni: dict[tuple[int, int], dict[tuple[str, TgwLegs | None], Runs]] = {}
        self._to_ext: dict[int, dict[ExtKey, Runs]] = {}
        self._ext_pieces: list[tuple[int, int, int]] | None = None
        self._inbound: dict[tuple[str, str], dict[tuple[str, str], Runs]] = {}  # by (table id, VPC id)

    def _within(self, blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """The elementary pieces inside the given blocks, per family."""
        out = []
        for fam in (4, 6):
            ivs = normalize((lo, hi) for f, lo, hi in blocks if f == fam)
            for lo, hi in intersect(tuple(self.pieces[fam]), ivs):
                out.append((fam, lo, hi))
        return out

    def _external_pieces(self) -> list[tuple[int, int, int]]:
        """The elementary pieces of the external address space (the same for every context)."""
        if self._ext_pieces is None:
            self._ext_pieces = self._within([(f, lo, hi) for f, ivs in self.net.external.items() for lo, hi in ivs])
        return self._ext_pieces

    def _group(self, keyed: Sequence[tuple[K, tuple[int, int, int]]]) -> dict[K, Runs]:
        by: dict[K, list[tuple[int, int]]] = defaultdict(list)
        for key, (fam, lo, hi) in keyed:
            by[key].append(self.atoms.span(fam, lo, hi))
        return {k: tuple(normalize(v)) for k, v in by.items()}

    def _closed(self, grouped: dict[K, Runs]) -> dict[K, Runs]:
        """Outcome runs over external atoms with the gaps that hold no external atom closed (fewer runs)."""
        out: dict[K, Runs] = {}
        for key, runs in grouped.items():
            merged: list[tuple[int, int]] = []
            for a, b in runs:
                if merged and not self._holds_external(merged[-1][1] + 1, a - 1):
                    merged[-1] = (merged[-1][0], b)
                else:
                    merged.append((a, b))
            out[key] = tuple(merged)
        return out

    def _holds_external(self, x: int, y: int) -> bool:
        """Whether atoms x..y include an external one (the runs are disjoint and sorted)."""
        k = bisect_right(self._ext_starts, y) - 1
        return k >= 0 and self.ext_runs[k][1] >= x

    def to_eni(self, i: int, j: int) -> dict[tuple[str, TgwLegs | None], Runs]:
        """Context i's routes towards ENI addresses in context j's VPC: (verdict, TGW legs) -> atom runs."""
        key = (i, j)
        got = self._to_eni.get(key)
        if got is None:
            ti, vi, zi = self.contexts[i]
            _tj, vj, zj = self.contexts[j]
            table = self.net.routing.tables[ti]  # type: ignore[union-attr]
            keyed = []
            for fam, lo, hi in self._within(list(self.net.vpcs[vj].cidrs)):
                d, _, legs = self.router.towards(table, vi, fam, lo, vj, False, zi, zj)
                keyed.append(((d.verdict, legs), (fam, lo, hi)))
            got = self._to_eni[key] = self._group(keyed)
        return got

    def to_external(self, i: int) -> dict[ExtKey, Runs]:
        """Context i's routes towards external addresses: (verdict unmapped, verdict mapped, NAT) -> runs."""
        got = self._to_ext.get(i)
        if got is None:
            ti, vi, zi = self.contexts[i]
            table = self.net.routing.tables[ti]  # type: ignore[union-attr]
            keyed = []
            for fam, lo, hi in self._external_pieces():
                d0, nat, _ = self.router.towards(table, vi, fam, lo, None, False, zi, None)
                d1, _, _ = self.router.towards(table, vi, fam, lo, None, True, zi, None)
                leg = (nat.nat_id, nat.subnet_id, nat.decision.verdict) if nat else None
                keyed.append(((d0.verdict, d1.verdict, leg), (fam, lo, hi)))
            got = self._to_ext[i] = self._closed(self._group(keyed))
        return got

    def inbound(self, j: int) -> dict[tuple[str, str], Runs]:
        """Context j's routes back to external sources: (verdict at a private or IPv6 address, verdict at
        the public IPv4) -> atom runs of the source. Only the table and the VPC decide it: contexts that
        differ in their zone alone share one answer."""
        tj, vj, _ = self.contexts[j]
        got = self._inbound.get((tj, vj))
        if got is None:
            table = self.net.routing.tables[tj]  # type: ignore[union-attr]
            keyed = []
            # Router.inbound's verdict depends on the piece only through the table's winning route (and
            # whether it ties), except where the route leads on to a transit gateway or a peering, whose
            # own routes look at the address again: pieces under one such route are asked once
            by_route: dict[tuple[int, object, bool], tuple[str, str]] = {}
            for fam, lo, hi in self._external_pieces():
                route, tie = self.router.lookup(table, fam, lo)
                key = (fam, route, tie)
                shared = self.share_inbound and (route is None or route.kind not in ("tgw", "pcx"))
                verdicts = by_route.get(key) if shared else None
                if verdicts is None:
                    d0 = self.router.inbound(table, vj, fam, lo, False)
                    d1 = self.router.inbound(table, vj, fam, lo, True) if fam == 4 else d0
                    verdicts = (d0.verdict, d1.verdict)
                    if shared:
                        by_route[key] = verdicts
                keyed.append((verdicts, (fam, lo, hi)))
            got = self._inbound[(tj, vj)] = self._closed(self._group(keyed))
        return got
