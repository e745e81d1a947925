"""Violations alike a found one, for `Checker.violations` (`--all`, the flow map, `--fix`'s seeds).

The solver finds one violation group per check, and at 10,000 heterogeneous ENIs a check costs about
0.15 s: listing 100 groups took 20 s. Most groups of a refuted invariant differ from a found one in one
end only (the same destination reached from other sources, the same source reaching other
destinations), so after each model the flow is tried again, with the other end replaced by one
endpoint of each other class that the deciding security groups could admit, through the plain
evaluator (about 70 µs a flow). What the evaluator admits, and the invariant does not accept, is a
violation like any the solver finds: it is replayed the same way before it is listed.

Nothing here decides anything the solver does not decide again: the groups found this way are blocked
in the solver together with the model's own, and only the solver's unsat says the list is complete.
A candidate the evaluator refuses costs a flow and nothing else. Which candidates are tried, and in what
order, depends on the network and the flow only, so the list is the same from run to run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import InternalError
from ..model import Network
from ..report.model import Counterexample
from ..semantics import Endpoint, Flow, evaluate
from ..semantics.evaluate import matches, peer_blocks, peer_matches
from ..spec import Invariant
from ..spec.select import EndpointSet
from .query import Side

if TYPE_CHECKING:
    from .check import Checker

# candidate flows one direction of one expansion may try in a row without finding a new group before it
# gives up (the solver remains, and finds what the expansion misses)
MISSES = 64

Key = tuple[int, int, int]


def class_index(side: Side) -> dict[int, int]:
    """ENI -> the index of its class on a query side (external endpoints take len(classes))."""
    return {i: k for k, c in enumerate(side.classes) for i in c.members}


def _like(net: Network, seed: Endpoint, eni: int) -> Endpoint | None:
    """The endpoint of ENI `eni` that plays the seed's part: its public address where the seed used a
    public one, else its first private address of the seed's family."""
    e = net.enis[eni]
    public = seed.eni is not None and seed.address in net.enis[seed.eni].public
    if public:
        return Endpoint(eni, 4, e.public[0]) if seed.family == 4 and e.public else None
    return next((Endpoint(eni, seed.family, lo) for f, lo, _hi in e.private if f == seed.family), None)


def _sources_for(checker: Checker, flow: Flow, src: EndpointSet) -> list[int]:
    """ENIs of the source side whose address or groups one of the destination's ingress rules matching
    the flow's service names (every source ENI when the destination carries no group)."""
    net = checker.net
    dst = flow.dst
    if dst.eni is None or not net.enis[dst.eni].groups:
        return sorted(src.enis)
    out: set[int] = set()
    spans: list[tuple[int, int, int]] = []
    for gid in net.enis[dst.eni].groups:
        for r in net.sgs[gid].ingress:
            if not matches(r.match, flow.proto, flow.value):
                continue
            if r.peer.kind == "sg":
                out.update(checker.selection.carriers(r.peer.ref))
            else:
                spans.extend(peer_blocks(net, r.peer))
    if spans:
        for i in src.enis:
            if i not in out and any(f == sf and lo <= b and a <= hi for f, lo, hi in net.enis[i].private
                                    for sf, a, b in spans):
                out.add(i)
    return sorted(out.intersection(src.enis))


def _destinations_for(checker: Checker, flow: Flow, dst: EndpointSet) -> list[int]:
    """ENIs of the destination side that carry a group one of whose ingress rules admits the flow's
    source on its service, or that carry no group at all."""
    net = checker.net
    out: set[int] = set()
    for gid, sg in net.sgs.items():
        if any(matches(r.match, flow.proto, flow.value) and peer_matches(net, r, flow.src) for r in sg.ingress):
            out.update(checker.selection.carriers(gid))
    out.update(i for i in dst.enis if not net.enis[i].groups)
    return sorted(out.intersection(dst.enis))


def alike(checker: Checker, inv: Invariant, seed: Counterexample, src: EndpointSet, dst: EndpointSet,
          index_s: dict[int, int], index_d: dict[int, int],
          key_of: Callable[[Flow], Key | None], seen: set[Key]) -> Iterator[tuple[Key, Counterexample]]:
    """Violations of groups not in `seen` that share one end and the service with the seed, each replayed;
    sources first (in ENI order), then destinations. The caller adds each key to `seen` and stops
    when it has enough."""
    net = checker.net
    flow = seed.flow
    for moved, eni_list, index in (
        ("src", _sources_for(checker, flow, src), index_s),
        ("dst", _destinations_for(checker, flow, dst), index_d),
    ):
        misses = 0
        tried: set[int] = set()  # classes tried once already (one endpoint stands for its class)
        for eni in eni_list:
            if misses >= MISSES:
                break
            k = index.get(eni)
            if k is None or k in tried:
                continue  # a class the query sliced away: the solver never offers it either
            tried.add(k)
            ep = _like(net, getattr(flow, moved), eni)
            if ep is None:
                continue
            cand = replace(flow, src=ep) if moved == "src" else replace(flow, dst=ep)
            if cand.src.eni is not None and cand.src.eni == cand.dst.eni:
                continue
            key = key_of(cand)
            if key is None or key in seen:
                continue
            verdict = evaluate(net, cand)
            if not verdict.allowed or checker.accepted(inv, cand):
                misses += 1
                continue
            misses = 0
            cx = checker.replayed(inv, cand, src, dst)
            if key_of(cx.flow) != key:
                raise InternalError(f"{inv.id}: a readable form of {cand.text()} left its violation group")
            yield key, cx
