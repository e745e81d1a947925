"""Flows between the spec's named groups, found with the engine, for the report's picture.

The picture is evidence, so every ordered pair of groups ends in one of three states: an edge proven by
a flow that replays through the plain evaluator, no edge because the engine proved that no flow goes
that way, or an "unknown" edge (the time budget ran out before the pair, the solver could not decide, or
every flow found passes only over a route this version does not model).

An edge's flows are found as a deny's are, an `unknown` routing step counting as allow (so that "no
edge" is a proof); its services are those over which the found flows' endpoints connect for certain,
and when some found flow passes only over an unmodelled route the services say that more may.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from ..encode.check import Checker
from ..errors import InternalError
from ..model.addr import normalize
from ..remedy.parts import OPEN
from ..remedy.witness import FlowSearch
from ..report.model import Counterexample, FlowMap, GroupFlow
from ..semantics import Endpoint, Flow, connection_exists
from ..spec import Invariant, Selector, ServiceSet, describe
from ..spec.select import EndpointSet
from .enumerate import cidrs, connected_services, ranges_text

PER_PAIR = 4  # violation groups asked for per query
ROUNDS = 4  # queries for services beyond those found, before an edge's services say "(at least)"
MAX_ATOMS = 4096  # external address atoms tried per edge end for "some of internet (...)"
BUDGET_SECONDS = 20.0  # the picture's time budget, counted from its first edge
UNMODELLED_ONLY = ("every flow found passes only over a route sgproof does not model (an unknown routing "
                   "step, which a deny counts as allow)")
# the engine's questions merge the classes that differ only in their addresses (a deny's check does too):
# an edge needs some flow per question, not one per class pair, and a group towards the internet then
# asks about a few dozen classes rather than a thousand (False: unmerged, the reference for the tests)
MERGED = True
SEEDS = 16  # flows of an edge looked for by the plain evaluator before the engine is asked
SEED_MISSES = 48  # endpoint pairs the evaluator's search tries in a row without a flow before it stops


def map_groups(checker: Checker) -> tuple[tuple[str, ...], dict[str, Selector]]:
    """The groups the picture shows (the spec's, and always the internet) and their selectors."""
    selectors = dict(checker.spec.groups)
    if selectors and not any(sel.key == "internet" for sel in selectors.values()):
        # the picture always shows what the internet can reach, and what reaches it
        selectors.setdefault("internet", Selector("internet", True, (), "<flow map>", "internet: true"))
    return tuple(selectors), selectors


def map_edge(checker: Checker, a: str, b: str, selectors: dict[str, Selector], out_of_time: Callable[[], bool],
             budget_seconds: float) -> GroupFlow | None:
    """The edge a -> b of the picture, or None when no flow is proven; not checked when the budget has
    run out before it starts (`run.verify` asks the edges in its workers, this function in each)."""
    if out_of_time():
        return GroupFlow(a, b, f"not checked: the map's {budget_seconds:g} s budget ran out", "", "unknown")
    return _pair(checker, a, b, selectors, out_of_time)


def flow_map(checker: Checker, budget_seconds: float = BUDGET_SECONDS,
             clock: Callable[[], float] = time.perf_counter) -> FlowMap:
    """For each ordered pair of named groups: a proven flow and its services, a proof of no flow, or
    unknown. Pairs are started only while `budget_seconds` have not passed; the rest are unknown."""
    names, selectors = map_groups(checker)
    if not names:
        return FlowMap((), (), budget_seconds=budget_seconds)
    t0 = clock()

    def out_of_time() -> bool:
        return clock() - t0 >= budget_seconds

    edges = [e for a in names for b in names
             if (e := map_edge(checker, a, b, selectors, out_of_time, budget_seconds)) is not None]
    return FlowMap(names, tuple(edges), budget_seconds=budget_seconds)


def _pair(checker: Checker, a: str, b: str, selectors: dict[str, Selector],
          out_of_time: Callable[[], bool]) -> GroupFlow | None:
    """The edge a -> b: allowed (with its proven services), unknown, or None when no flow is proven.
    Its first flows are those the plain evaluator's bounded search finds, when it finds any; the engine
    is then asked only for services beyond theirs (and, when the search finds none, for any flow)."""
    everything = ServiceSet.everything()
    inv = Invariant(f"flow:{a}->{b}", "deny", "", selectors[a], selectors[b], everything, "all", True, 0, "")
    try:
        found = _seeds(checker, inv)
        if not found:
            found, complete = checker.violations(inv, PER_PAIR, union=MERGED)
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
            more, done = checker.violations(dataclasses.replace(inv, services=rest), PER_PAIR, union=MERGED)
            if not more:
                exact = done
                break
            found += more
            got = _services(checker, more)
            if got.minus(allowed).is_empty():
                break  # the new flows pass only over a route this version does not model: asking again finds more of them
            allowed = allowed.union(got)
        # A deny query counts an `unknown` routing step as allow (contract 4.5), so a flow it finds may pass
        # only over a route nobody modelled; the services drawn are those that connect for certain.
        unmodelled = any(not allowed.contains(cx.flow.proto, cx.flow.value) for cx in found)
        if allowed.is_empty():
            return GroupFlow(a, b, UNMODELLED_ONLY, found[0].flow.text(), "unknown")
        sa, sb = checker.selection.evaluate(selectors[a]), checker.selection.evaluate(selectors[b])
        src_part = _external_part(checker, inv, sa, sb, found, "src", out_of_time)
        dst_part = _external_part(checker, inv, sb, sa, found, "dst", out_of_time)
    except InternalError as exc:
        return GroupFlow(a, b, f"not decided: {exc}", "", "unknown")
    suffix = " (at least; more may pass over a route sgproof does not model)" if unmodelled else (
        "" if exact else " (at least)")
    return GroupFlow(a, b, describe(allowed) + suffix, _example(checker, found, allowed), src_part=src_part,
                     dst_part=dst_part)


def _example(checker: Checker, found: list[Counterexample], allowed: ServiceSet) -> str:
    """A flow of the edge that connects for certain: the first found one whose service is drawn, else the
    first found pair on a service drawn for it (the services are those of the found pairs)."""
    for cx in found:
        if _certain(cx) and allowed.contains(cx.flow.proto, cx.flow.value):
            return cx.flow.text()
    for cx in found:
        for proto, ivs in _connected(checker, cx.flow).by_proto:
            ok, flow = connection_exists(checker.net, cx.flow.src, cx.flow.dst, proto, ivs[0][0], checker.spec.ephemeral)
            if ok:
                return flow.text()
    raise InternalError("no found flow of a drawn edge connects")


def _certain(cx: Counterexample) -> bool:
    """Whether a found flow connects for certain: no routing step of its trace is `unknown`."""
    return all(st.verdict != "unknown" for st in cx.trace)


def _seeds(checker: Checker, inv: Invariant) -> list[Counterexample]:
    """Flows of the edge that connect for certain, found by the plain evaluator without the solver and
    replayed (a flow over an unmodelled route would draw no service: the engine's rounds find those)."""
    search = FlowSearch(checker, inv, OPEN, certain=True)
    return [checker.replayed(inv, flow, search.src, search.dst) for flow in search.violations(SEEDS, SEED_MISSES)]


def _services(checker: Checker, found: list[Counterexample]) -> ServiceSet:
    """Every service over which the found flows' endpoints connect (each stands for its class pair)."""
    out = ServiceSet.of({})
    for cx in found:
        out = out.union(_connected(checker, cx.flow))
    return out


def _connected(checker: Checker, flow: Flow) -> ServiceSet:
    """Every service over which the flow's two endpoints connect for certain (no unknown routing step)."""
    return connected_services(checker.net, flow.src, flow.dst, ServiceSet.everything(), checker.spec.ephemeral,
                              checker.rule_cuts)


def _external_part(checker: Checker, inv: Invariant, group: EndpointSet, other: EndpointSet,
                   found: list[Counterexample], role: str, out_of_time: Callable[[], bool]) -> str:
    """When some flow's `role` end is external: the group's external addresses that connect, as CIDR
    blocks ("" when that is every external address of the group that could take part: of a family some
    ENI of the other group has). Each found flow's other end and service is tried from one address per
    atom of the group (the rules cannot tell an atom's addresses apart); then the engine is asked for a flow
    from the group's remaining external addresses, whose answers are tried in turn, until it proves that
    none is left (the blocks are then exact) or the rounds or the budget run out ("and maybe more")."""
    net = checker.net
    families = {f for i in other.enis for f, _, _ in net.enis[i].private}
    if any(net.enis[i].public for i in other.enis):
        families.add(4)
    reached: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    hit: set[tuple[int, int]] = set()  # (family, first address) of the atom pieces known to connect
    todo = [cx for cx in found if (cx.flow.src if role == "src" else cx.flow.dst).eni is None]
    if not todo:
        return ""
    exact = False
    for _ in range(ROUNDS):
        for cx in todo:
            if not _sweep(checker, group, cx, role, reached, hit, out_of_time):
                return _part_text(reached, group, families, False)
        if out_of_time():
            break
        got = (normalize(reached[4]), normalize(reached[6]))
        if role == "src":
            narrower = dataclasses.replace(inv, src=_minus_blocks(inv.src, got))
        else:
            narrower = dataclasses.replace(inv, dst=_minus_blocks(inv.dst, got))
        more, done = checker.violations(narrower, PER_PAIR, union=MERGED)
        todo = [cx for cx in more if (cx.flow.src if role == "src" else cx.flow.dst).eni is None]
        if not todo:
            exact = done  # an answer with an ENI at this end says nothing more about the external addresses
            break
    return _part_text(reached, group, families, exact)


def _sweep(checker: Checker, group: EndpointSet, cx: Counterexample, role: str,
           reached: dict[int, list[tuple[int, int]]], hit: set[tuple[int, int]], out_of_time: Callable[[], bool]
           ) -> bool:
    """Add the group's external atoms that connect with the flow's other end and service (those in
    `hit`, found with an earlier flow, are not tried again); False when cut."""
    atoms, f = checker.atoms, cx.flow
    ext, peer = (f.src, f.dst) if role == "src" else (f.dst, f.src)
    # the flow itself replayed: its address's atom (within the group) connects, whatever the budget says,
    # unless it passes only over a route nobody modelled (a deny counts that as allow)
    if _certain(cx):
        _, alo, ahi = atoms.bounds(atoms.index(ext.family, ext.address))
        for lo, hi in group.ext_of(ext.family):
            if lo <= ext.address <= hi:
                reached[ext.family].append((max(alo, lo), min(ahi, hi)))
    tried = 0
    for lo, hi in group.ext_of(ext.family):
        for atom in range(atoms.index(ext.family, lo), atoms.index(ext.family, hi) + 1):
            _, alo, ahi = atoms.bounds(atom)
            alo, ahi = max(alo, lo), min(ahi, hi)
            if (ext.family, alo) in hit:
                continue
            if tried >= MAX_ATOMS or out_of_time():
                return False
            tried += 1
            probe = Endpoint(None, ext.family, alo if alo == ahi else alo + 1)
            s, d = (probe, peer) if role == "src" else (peer, probe)
            if connection_exists(checker.net, s, d, f.proto, f.value, checker.spec.ephemeral)[0]:
                reached[ext.family].append((alo, ahi))
                hit.add((ext.family, alo))
    return True


def _minus_blocks(sel: Selector | None, got: tuple[tuple[tuple[int, int], ...], ...]) -> Selector:
    """The selector `sel` without the external address blocks in `got` (for the next question)."""
    blocks = [c for fam, ivs in ((4, got[0]), (6, got[1])) for lo, hi in ivs for c in cidrs(fam, lo, hi)]
    base = sel or Selector("anywhere", True, (), "<flow map>", "anywhere: true")
    if not blocks:
        return base
    text = f"cidr: [{', '.join(blocks)}]"
    found = Selector("cidr", blocks, (), "<flow map>", text)
    rest = Selector("not", None, (found,), "<flow map>", f"not: {{{text}}}")
    return Selector("all_of", None, (base, rest), "<flow map>", f"all_of: [{base.text}, {rest.text}]")


def _part_text(reached: dict[int, list[tuple[int, int]]], group: EndpointSet, families: set[int],
               exact: bool) -> str:
    got = (normalize(reached[4]), normalize(reached[6]))
    if exact and all(got[f == 6] == group.ext_of(f) for f in families):
        return ""
    parts = []
    for fam, ivs in ((4, got[0]), (6, got[1])):
        if exact and ivs and ivs == group.ext_of(fam):
            parts.append(f"every IPv{fam} address of it")
        elif ivs:
            parts.append(ranges_text((ivs, ()) if fam == 4 else ((), ivs)))
    text = ", ".join(parts) or "addresses not narrowed down"
    return text + ("" if exact else " and maybe more")
