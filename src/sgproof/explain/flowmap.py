"""Flows between the spec's named groups, found with the engine, for the report's picture.

The picture is evidence, so every ordered pair of groups ends in one of three states: an edge proven by
a flow that replays through the plain evaluator, no edge because the engine proved that no flow goes
that way, or an "unknown" edge (the time budget ran out before the pair, or the solver could not decide).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from ..encode.check import Checker
from ..errors import InternalError
from ..model.addr import normalize
from ..report.model import Counterexample, FlowMap, GroupFlow, Report
from ..semantics import Endpoint, connection_exists
from ..spec import Invariant, Selector, ServiceSet, describe
from ..spec.select import EndpointSet
from .enumerate import allowed_services, ranges_text

PER_PAIR = 4  # violation groups asked for per query
ROUNDS = 4  # queries for services beyond those found, before an edge's services say "(at least)"
MAX_ATOMS = 4096  # external address atoms tried per edge end for "some of internet (...)"


def flow_map(checker: Checker, budget_seconds: float = 20.0,
             clock: Callable[[], float] = time.perf_counter) -> FlowMap:
    """For each ordered pair of named groups: a proven flow and its services, a proof of no flow, or
    unknown. Pairs are started only while `budget_seconds` have not passed; the rest are unknown."""
    spec = checker.spec
    if not spec.groups:
        return FlowMap((), (), budget_seconds=budget_seconds)
    selectors = dict(spec.groups)
    if not any(sel.key == "internet" for sel in selectors.values()):
        # the picture always shows what the internet can reach, and what reaches it
        selectors.setdefault("internet", Selector("internet", True, (), "<flow map>", "internet: true"))
    names = tuple(selectors)
    t0 = clock()

    def out_of_time() -> bool:
        return clock() - t0 >= budget_seconds

    edges: list[GroupFlow] = []
    for a in names:
        for b in names:
            if out_of_time():
                edges.append(GroupFlow(a, b, f"not checked: the map's {budget_seconds:g} s budget ran out", "",
                                       "unknown"))
                continue
            edge = _pair(checker, a, b, selectors, out_of_time)
            if edge is not None:
                edges.append(edge)
    return FlowMap(names, tuple(edges), budget_seconds=budget_seconds)


def _pair(checker: Checker, a: str, b: str, selectors: dict[str, Selector],
          out_of_time: Callable[[], bool]) -> GroupFlow | None:
    """The edge a -> b: allowed (with its proven services), unknown, or None when no flow is proven."""
    everything = ServiceSet.everything()
    inv = Invariant(f"flow:{a}->{b}", "deny", "", selectors[a], selectors[b], everything, "all", True, 0, "")
    try:
        found, complete = checker.violations(inv, PER_PAIR)
        if not found:
            return None if complete else GroupFlow(a, b, "the solver could not decide", "", "unknown")
        allowed = _services(checker, found)
        exact = False
        for _ in range(ROUNDS):
            rest = everything.minus(allowed)
            if rest.is_empty():
                exact = True
                break
            if out_of_time():
                break
            more, done = checker.violations(dataclasses.replace(inv, services=rest), PER_PAIR)
            if not more:
                exact = done
                break
            found += more
            allowed = allowed.union(_services(checker, more))
    except InternalError as exc:
        return GroupFlow(a, b, f"not decided: {exc}", "", "unknown")
    sa, sb = checker.selection.evaluate(selectors[a]), checker.selection.evaluate(selectors[b])
    return GroupFlow(a, b, describe(allowed) + ("" if exact else " (at least)"), found[0].flow.text(),
                     src_part=_external_part(checker, sa, sb, found, "src", out_of_time),
                     dst_part=_external_part(checker, sb, sa, found, "dst", out_of_time))


def _services(checker: Checker, found: list[Counterexample]) -> ServiceSet:
    """Every service over which the found flows' endpoints connect (each stands for its class pair)."""
    everything = ServiceSet.everything()
    parts: dict[int, list[tuple[int, int]]] = {}
    for cx in found:
        f = cx.flow
        for proto, _ in everything.by_proto:
            got = allowed_services(checker.net, f.src, f.dst, proto, everything, checker.spec.ephemeral)
            for p, ivs in got.by_proto:
                parts.setdefault(p, []).extend(ivs)
    return ServiceSet.of(parts)


def _external_part(checker: Checker, group: EndpointSet, other: EndpointSet, found: list[Counterexample],
                   role: str, out_of_time: Callable[[], bool]) -> str:
    """When the flows' `role` end is external: the group's external addresses shown to connect with the
    same other end and service (one address per atom: the rules cannot tell an atom's addresses apart),
    as CIDR blocks; "" when that is every external address of the group that could take part (of a
    family some ENI of the other group has), or when the end is an ENI."""
    atoms, net = checker.atoms, checker.net
    families = {f for i in other.enis for f, _, _ in net.enis[i].private}
    if any(net.enis[i].public for i in other.enis):
        families.add(4)
    reached: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    swept: set[int] = set()
    cut = False
    for cx in found:
        f = cx.flow
        ext, peer = (f.src, f.dst) if role == "src" else (f.dst, f.src)
        if ext.eni is not None:
            continue
        fam = ext.family
        tried = 0
        for lo, hi in group.ext_of(fam):
            first, last = atoms.index(fam, lo), atoms.index(fam, hi)
            for atom in range(first, last + 1):
                if tried >= MAX_ATOMS or out_of_time():
                    cut = True
                    break
                tried += 1
                _, alo, ahi = atoms.bounds(atom)
                alo, ahi = max(alo, lo), min(ahi, hi)
                probe = Endpoint(None, fam, alo if alo == ahi else alo + 1)
                s, d = (probe, peer) if role == "src" else (peer, probe)
                if connection_exists(net, s, d, f.proto, f.value, checker.spec.ephemeral)[0]:
                    reached[fam].append((alo, ahi))
        swept.add(fam)
    if not swept:
        return ""
    got = (normalize(reached[4]), normalize(reached[6]))
    if not cut and all(got[f == 6] == group.ext_of(f) for f in families):
        return ""
    parts = []
    for fam, ivs in ((4, got[0]), (6, got[1])):
        if not cut and ivs and ivs == group.ext_of(fam):
            parts.append(f"every IPv{fam} address of it")
        elif ivs:
            parts.append(ranges_text((ivs, ()) if fam == 4 else ((), ivs)))
    text = ", ".join(parts) or "addresses not narrowed down"
    return text + (" and maybe more" if cut else "")


def add_flow_map(report: Report, checker: Checker, budget_seconds: float = 20.0) -> Report:
    """The report with its picture of the flows between the spec's groups."""
    return dataclasses.replace(report, flow_map=flow_map(checker, budget_seconds))
