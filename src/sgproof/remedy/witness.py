"""Concrete evidence that one part of a network matters to a proof, found and replayed by the plain
evaluator (no solver): the fast path of `--explain`.

For a deny/only invariant and a set O of opened parts, a *witness* for part p is a flow of the invariant
(source and destination in its selections, a service of its ports, no live exception accepting it)
that the plain evaluator admits on the network with O and p opened. Opening only ever admits more, so
the same flow is admitted with any superset of O opened: p belongs to every set K whose complement lies
inside O + p and on which the invariant still holds. For reach the same with closing, and the witness is
a pair of endpoints and a service that every address pair and every client port fails (as a reach
refutation is).

The search is a bounded guess: the endpoints where the part acts (the ENIs that carry the group, sit
behind the ACL, or are routed by the table), paired with the other side's endpoints that earlier
witnesses used, then a fixed sample of the rest. Finding nothing proves nothing: the caller then asks
the engine. Whatever is found is a fact of the plain evaluator on the transformed network.

The same search on the network as it is (`FlowSearch.violations`) gives the flow map its first flows of
an edge, so that the engine is asked only whether any flow goes beyond their services, and a large
deny/only query its first try at a refutation (`Checker._searched`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from typing import Any

from ..encode.query import rule_overlaps
from ..model import ANY_PROTO, ICMP, ICMPV6, PORTED, TCP, UDP, Network
from ..semantics import Endpoint, Flow, connection_exists, evaluate
from ..semantics.evaluate import peer_blocks
from ..spec import Invariant, ServiceSet
from ..spec.select import EndpointSet
from .parts import CLOSE, Part, Parts

OWN = 2  # endpoints where the part acts, tried per part
OTHERS = 6  # endpoints of the other side tried with each (the productive ones first)
SERVICES = 4  # service values tried per pair
SAMPLE_SUBNETS = 24  # the fixed sample of a side: one host ENI per subnet, this many subnets at most


def service_values(svc: ServiceSet) -> list[tuple[int, int]]:
    """Readable service values of a service set, SERVICES at most: tcp, udp, the ICMPs (echo when it is
    in), then the rest; the lowest value of each protocol's first range."""
    order = {TCP: 0, UDP: 1, ICMP: 2, ICMPV6: 3}
    out = []
    for proto, ivs in sorted(svc.by_proto, key=lambda pv: (order.get(pv[0], 4), pv[0])):
        echo = {ICMP: 8 * 256, ICMPV6: 128 * 256}.get(proto)
        value = echo if echo is not None and svc.contains(proto, echo) else ivs[0][0]
        out.append((proto, value))
        if len(out) >= SERVICES:
            break
    return out


class HostIndex:
    """The host ENIs of one network by group, subnet and address: made once per checker (each index
    when first asked for, `Checker.hosts`) and shared by the evaluator's searches of every invariant."""

    def __init__(self, net: Network, selection: Any):
        self.net = net
        self.selection = selection
        self._by_subnet: dict[str, list[int]] | None = None
        self._by_address: list[tuple[int, int, int]] | None = None  # (family, address, ENI), sorted
        self._naming: tuple[dict[str, dict[str, None]], dict[str, dict[str, None]]] | None = None

    def carriers(self, group: str) -> list[int]:
        return [i for i in self.selection.carriers(group) if self.net.enis[i].hosts]

    def naming(self, group: str, egress: bool) -> list[str]:
        """The groups with an ingress (egress) rule whose source (destination) is the group."""
        if self._naming is None:
            self._naming = ({}, {})
            for gid in sorted(self.net.sgs):
                sg = self.net.sgs[gid]
                for way, rules in ((0, sg.ingress), (1, sg.egress)):
                    for r in rules:
                        if r.peer.kind == "sg":
                            self._naming[way].setdefault(r.peer.ref, {})[gid] = None
        return list(self._naming[egress].get(group, {}))

    def by_subnet(self) -> dict[str, list[int]]:
        if self._by_subnet is None:
            self._by_subnet = {}
            for i, e in enumerate(self.net.enis):
                if e.hosts:
                    self._by_subnet.setdefault(e.subnet_id, []).append(i)
        return self._by_subnet

    def inside(self, fam: int, lo: int, hi: int, side: EndpointSet) -> list[int]:
        """Two host ENIs of the side with an address in [lo, hi] (looked for among the first 64 there)."""
        if self._by_address is None:
            self._by_address = sorted((f, a, i) for i, e in enumerate(self.net.enis) if e.hosts
                                      for f, a, _b in e.private)
        at = bisect.bisect_left(self._by_address, (fam, lo, -1))
        out = []
        for f, a, i in self._by_address[at:at + 64]:
            if f != fam or a > hi:
                break
            if i in side.enis:
                out.append(i)
                if len(out) == 2:
                    break
        return out


class FlowSearch:
    """The bounded guess for flows of one invariant through the plain evaluator: which endpoint pairs
    and service values to try, and whether a flow is one of the invariant's."""

    def __init__(self, checker: Any, inv: Invariant, mode: str, enabled: bool = True, certain: bool = False):
        self.ck = checker
        self.net: Network = checker.net
        self.inv = inv
        self.certain = certain  # only flows that connect for certain (an unknown routing step is no route)
        self.mode = mode
        self.src, self.dst = checker.sides(inv)
        # a reach pair that an exception accepts need not connect: such proofs are left to the engine
        self.usable = enabled and (inv.kind != "reach" or not any(not ex.expired for ex in inv.exemptions))
        self._hot: tuple[dict[Any, None], dict[Any, None]] = ({}, {})  # productive endpoints per side
        self._samples = (self._sample(self.src), self._sample(self.dst))
        self._externals = (checker.external_ends(self.src), checker.external_ends(self.dst))
        self._services = service_values(inv.services)
        self.hosts: HostIndex = checker.hosts  # the checker's, shared by every search

    def violations(self, limit: int, misses: int, keep: Callable[[Flow], bool] | None = None) -> list[Flow]:
        """Up to `limit` flows of a deny/only invariant that the plain evaluator admits on the network as
        it is (the flow map's first flows of an edge), no two between the same classes (an ENI's class,
        an external address's atom) in the same address family. The pairs: each external end with
        sampled ENIs of its family; each ENI of the widened sample (`_spread`) with the endpoints its
        rules name, the other side's sample and the ENIs whose groups' rules name its groups; one pair
        of each end in turn, so that the first flows found spread over the sample. Gives up after
        `misses` pairs in a row without a flow of new classes (or that `keep` refuses); finding nothing
        proves nothing."""
        assert self.mode != CLOSE
        out: list[Flow] = []
        if not self.usable:
            return out
        rows: list[list[tuple[Any, Any]]] = []  # the pairs of one own endpoint
        for ext in self._externals[1]:  # the sample's ENIs with an address of the external one's family
            rows.append([(s, ext) for s in self._sample_of(self.src, ext.family)[:OTHERS]])
        for ext in self._externals[0]:
            rows.append([(ext, d) for d in self._sample_of(self.dst, ext.family)[:OTHERS]])
        for own in self._spread(True):
            rows.append([(s, own) for s in self._others(False, own) + self._admitting(own, False)])
        for own in self._spread(False):
            rows.append([(own, d) for d in self._others(True, own) + self._admitting(own, True)])
        # one pair of each own endpoint in turn, so that the first flows found spread over the sample
        pairs = dict.fromkeys(p for turn in itertools.zip_longest(*rows) for p in turn if p is not None)
        seen: set[tuple[int, int, int]] = set()
        missed = 0
        for s, d in pairs:
            if missed >= misses or len(out) >= limit:
                break
            if s == d or (isinstance(s, Endpoint) and isinstance(d, Endpoint)):
                continue
            flow = self._refutes(self.net, s, d)
            if flow is None or (keep is not None and not keep(flow)):
                missed += 1
                continue
            key = (self._class_key(flow.src), self._class_key(flow.dst), flow.src.family)
            if key in seen:
                missed += 1
                continue
            missed = 0
            seen.add(key)
            out.append(flow)
        return out

    def _class_key(self, ep: Endpoint) -> int:
        """The ENI's class (0, 1, ...) or the external address's atom (-1, -2, ...)."""
        if ep.eni is not None:
            return int(self.ck.enc.class_of[ep.eni])
        return -1 - int(self.ck.atoms.index(ep.family, ep.address))

    # ---- what to try ---------------------------------------------------------------------------
    def _sample(self, side: EndpointSet) -> list[int]:
        by_subnet: dict[str, int] = {}
        for i in sorted(side.enis):
            e = self.net.enis[i]
            if e.hosts and e.subnet_id not in by_subnet:
                by_subnet[e.subnet_id] = i
        return [by_subnet[s] for s in sorted(by_subnet)[:SAMPLE_SUBNETS]]

    def _spread(self, side_is_dst: bool) -> list[int]:
        """The side's sample, then one host ENI of each set of groups it does not hold yet (in ENI order):
        twice its size at most."""
        side = self.dst if side_is_dst else self.src
        out = list(self._samples[side_is_dst])
        held = {self.net.enis[i].groups for i in out}
        for i in sorted(side.enis):
            if len(out) >= 2 * SAMPLE_SUBNETS:
                break
            e = self.net.enis[i]
            if e.hosts and e.groups not in held:
                held.add(e.groups)
                out.append(i)
        return out

    def _sample_of(self, side: EndpointSet, family: int) -> list[int]:
        """`_sample` among the side's ENIs with a private address of the family."""
        return self._sample(EndpointSet(frozenset(i for i in side.enis
                                                  if any(f == family for f, _, _ in self.net.enis[i].private)),
                                        side.ext))

    def _others(self, side_is_dst: bool, own: int | None = None) -> list[Any]:
        """Endpoints of one side to pair with: productive ones, those the own endpoint's rules name,
        external addresses, the sample."""
        side = self.dst if side_is_dst else self.src
        hot = [e for e in self._hot[side_is_dst] if not isinstance(e, int) or e in side.enis]
        named = self._partners(own, not side_is_dst) if own is not None else []
        return list(dict.fromkeys(hot + named + list(self._externals[side_is_dst]) + self._samples[side_is_dst]
                                  ))[:OTHERS]

    def _rules_of(self, eni: int, egress: bool) -> list[Any]:
        svc = self.inv.services
        net = self.net
        return [r for g in net.enis[eni].groups if g in net.sgs
                for r in (net.sgs[g].egress if egress else net.sgs[g].ingress) if rule_overlaps(r.match, svc)]

    def _partners(self, own: int, own_is_dst: bool) -> list[Any]:
        """Endpoints of the other side that the own endpoint's rules (on the invariant's services) admit:
        ENIs carrying a group they name, ENIs and external addresses inside a block they name."""
        other = self.src if own_is_dst else self.dst
        out: list[Any] = []
        for rule in self._rules_of(own, not own_is_dst):
            peer = rule.peer
            if peer.kind == "sg":
                out += [i for i in self.hosts.carriers(peer.ref) if i in other.enis][:2]
                continue
            for fam, lo, hi in peer_blocks(self.net, peer):
                out += self.hosts.inside(fam, lo, hi, other)
                for a, b in other.ext_of(fam):
                    if a <= hi and lo <= b:
                        x, y = max(a, lo), min(b, hi)
                        out.append(Endpoint(None, fam, x + 1 if y > x else x))
                        break
            if len(out) >= OTHERS:
                break
        return out

    def _admitting(self, own: int, other_is_dst: bool) -> list[int]:
        """ENIs of the other side that carry a group whose rules name one of the own ENI's groups (its
        destinations' ingress rules, its sources' egress rules), two per such group, OTHERS at most."""
        other = self.dst if other_is_dst else self.src
        out: dict[int, None] = {}
        for g in self.net.enis[own].groups:
            for h in self.hosts.naming(g, not other_is_dst):
                out.update((i, None) for i in [i for i in self.hosts.carriers(h) if i in other.enis and i != own][:2])
                if len(out) >= OTHERS:
                    return list(out)[:OTHERS]
        return list(out)

    def _values(self, s: Any, d: Any) -> list[tuple[int, int]]:
        """Service values to try for a pair: where the two ends' rules first meet the invariant's ports,
        then the readable defaults."""
        out: dict[tuple[int, int], None] = {}
        svc = self.inv.services
        rules = (self._rules_of(s, True) if isinstance(s, int) else []) + (
            self._rules_of(d, False) if isinstance(d, int) else [])
        for rule in rules:
            m = rule.match
            if m.proto == ANY_PROTO:
                continue
            for proto, ivs in svc.by_proto:
                if m.proto != proto:
                    continue
                for lo, hi in ivs:
                    if lo <= m.hi and m.lo <= hi:
                        out[(proto, max(lo, m.lo))] = None
                        break
            if len(out) >= SERVICES:
                break
        for v in self._services:
            out[v] = None
        return list(out)[:SERVICES]

    def _refutes(self, net: Network, s: Any, d: Any) -> Flow | None:
        if self.mode == CLOSE:
            for proto, value in self._values(s, d):
                got = self._blocked_pair(net, s, d, proto, value)
                if got is not None:
                    return got
            return None
        for s_ep in self._addresses(s, d, False):
            for d_ep in self._addresses(d, s, True):
                if s_ep.family != d_ep.family:
                    continue
                for proto, value in self._values(s, d):
                    for flow in self._flows(s_ep, d_ep, proto, value):
                        if self._violates(net, flow):
                            return flow
        return None

    def _flows(self, s: Endpoint, d: Endpoint, proto: int, value: int) -> list[Flow]:
        if proto not in PORTED:
            return [Flow(s, d, proto, value, 0)]
        sports = (self.ck.enc.port_reps or [self.ck.spec.ephemeral[0]])[:1]
        nports = self.ck.nat_reps[:2] if s.eni is not None and d.eni is None and self.net.routing is not None else [0]
        return [Flow(s, d, proto, value, sp, np) for sp in sports for np in nports]

    def _addresses(self, end: Any, other: Any, is_dst: bool) -> list[Endpoint]:
        """One address per family of an ENI; when the other end is an external source, its public IPv4
        first (contract 5: an external source targets the ENI's public address when it has one)."""
        if isinstance(end, Endpoint):
            return [end]
        e = self.net.enis[end]
        out: dict[int, Endpoint] = {}
        for fam, lo, _hi in e.private:
            out.setdefault(fam, Endpoint(end, fam, lo))
        eps = list(out.values())
        if is_dst and isinstance(other, Endpoint) and e.public:
            eps.insert(0, Endpoint(end, 4, e.public[0]))
        return eps

    def _fits(self, flow: Flow) -> bool:
        """The flow is one of the invariant's: both ends selected, a service of its ports, not excepted."""
        for ep, sel in ((flow.src, self.src), (flow.dst, self.dst)):
            if ep.eni is not None:
                if ep.eni not in sel.enis:
                    return False
            elif not any(lo <= ep.address <= hi for lo, hi in sel.ext_of(ep.family)):
                return False
        if flow.src.eni is not None and flow.src.eni == flow.dst.eni:
            return False
        if not self.inv.services.contains(flow.proto, flow.value):
            return False
        eph = self.ck.spec.ephemeral
        if flow.proto in PORTED and not eph[0] <= flow.sport <= eph[1]:
            return False
        return not self.ck.accepted(self.inv, flow)

    def _violates(self, net: Network, flow: Flow) -> bool:
        if not self._fits(flow):
            return False
        verdict = evaluate(net, flow)
        return verdict.connects if self.certain else verdict.allowed

    def _blocked_pair(self, net: Network, s: Any, d: Any, proto: int, value: int) -> Flow | None:
        """The first flow of the pair when every address pair and every client port fails (reach), or
        None (it connects, or the pair is none the reach invariant asks about)."""
        ext_src = isinstance(s, Endpoint)
        ends = []
        for end, is_dst in ((s, False), (d, True)):
            if isinstance(end, Endpoint):
                ends.append([end])
                continue
            if end not in (self.dst if is_dst else self.src).enis or not self.net.enis[end].hosts:
                return None
            cls = self.ck.enc.classes[self.ck.enc.class_of[end]]
            if cls.unknown_atoms:
                return None  # a plan's address still to be chosen: the engine decides
            ends.append(self.ck._all_endpoints(cls, end, None, is_dst and ext_src))
        if isinstance(s, Endpoint):
            ends[1] = [e for e in ends[1] if e.family == s.family]
        if isinstance(d, Endpoint):
            ends[0] = [e for e in ends[0] if e.family == d.family]
        pairs = [(a, b) for a in ends[0] for b in ends[1] if a.family == b.family]
        if not pairs:
            return None
        first = None
        for a, b in pairs:
            ok, flow = connection_exists(net, a, b, proto, value, self.ck.spec.ephemeral)
            if ok:
                return None
            first = first or flow
        assert first is not None
        return first if self._fits(first) else None


class WitnessFinder(FlowSearch):
    """Witnesses for the parts of one invariant's explanation."""

    def __init__(self, checker: Any, parts: Parts, inv: Invariant, mode: str, enabled: bool = True):
        super().__init__(checker, inv, mode, enabled)
        self.parts = parts
        self._base: tuple[frozenset[Part], Network] | None = None  # the last base network built

    def _own(self, p: Part) -> tuple[list[int], list[int]]:
        """(sources, destinations) of the invariant where the part acts, a few of each."""
        net = self.net
        src, dst = self.src, self.dst

        def first(side: EndpointSet, pool: list[int]) -> list[int]:
            """The productive ENIs of the pool first, then the pool in index order: OWN of them."""
            inside = [i for i in pool if i in side.enis]
            held = set(inside)
            hot = [i for i in self._hot[side is dst] if isinstance(i, int) and i in held]
            return list(dict.fromkeys(hot + inside))[:OWN]

        def carriers(side: EndpointSet, groups: set[str]) -> list[int]:
            return first(side, sorted({i for g in groups for i in self.hosts.carriers(g)}))

        def placed(side: EndpointSet, subnets: set[str]) -> list[int]:
            by_subnet = self.hosts.by_subnet()
            return first(side, sorted(i for s in subnets for i in by_subnet.get(s, ())))

        if p.kind == "sg-ingress":
            return [], carriers(dst, {p.id})
        if p.kind == "sg-egress":
            return carriers(src, {p.id}), []
        if p.kind == "membership":
            holders = self.parts.referenced_by.get(p.id, set())
            ing = {g for g in holders if any(r.peer.kind == "sg" and r.peer.ref == p.id for r in net.sgs[g].ingress)}
            eg = {g for g in holders if any(r.peer.kind == "sg" and r.peer.ref == p.id for r in net.sgs[g].egress)}
            return carriers(src, eg), carriers(dst, ing)
        if p.kind == "nacl":
            subnets = {s for s, sub in net.subnets.items() if sub.nacl_id == p.id}
        else:
            rt = net.routing
            subnets = {s for s, t in rt.subnet_table.items() if t == p.id} if rt is not None else set()
        return placed(src, subnets), placed(dst, subnets)

    def _pairs(self, p: Part) -> list[tuple[Any, Any]]:
        own_s, own_d = self._own(p)
        pairs: list[tuple[Any, Any]] = []
        for s in own_s:
            pairs += [(s, d) for d in self._others(True, s)]
        for d in own_d:
            pairs += [(s, d) for s in self._others(False, d)]
        if not own_s and not own_d:  # a part on the way (a NAT gateway's subnet): the two samples
            pairs = [(s, d) for s in self._others(False)[:4] for d in self._others(True)[:4]]
        return list(dict.fromkeys((s, d) for s, d in pairs if not (isinstance(s, Endpoint) and isinstance(d, Endpoint))
                                  and s != d))

    def _network(self, base: frozenset[Part], p: Part) -> Network:
        if self._base is None or self._base[0] != base:
            self._base = (base, self.parts.network(base, self.mode))
        return self.parts.network_plus(base, self._base[1], p, self.mode)

    def find(self, base: frozenset[Part], p: Part) -> Flow | None:
        """A witness that p matters with `base` and p opened, or closed for reach; None when the bounded
        search finds none."""
        if not self.usable:
            return None
        net = self._network(base, p)
        for s, d in self._pairs(p):
            flow = self._refutes(net, s, d)
            if flow is not None:
                self._hot[0].pop(s, None)
                self._hot[1].pop(d, None)
                self._hot[0][s] = None
                self._hot[1][d] = None
                return flow
        return None

    def replays(self, base: frozenset[Part], p: Part, flow: Flow) -> bool:
        """Whether a witness found earlier is one with `base` and p opened (closed for reach)."""
        if not self.usable:
            return False
        net = self._network(base, p)
        if self.mode == CLOSE:
            return self._blocked_pair(net, *_ends(flow), flow.proto, flow.value) is not None
        return self._violates(net, flow)

    def settles(self, changed: frozenset[Part], flow: Flow) -> bool:
        """Whether the engine's refuting flow (a failing pair for reach) no longer refutes with `changed`
        opened (closed for reach) and every other part as it is."""
        net = self.parts.network(changed, self.mode)
        if self.mode == CLOSE:
            return self._blocked_pair(net, *_ends(flow), flow.proto, flow.value) is None
        return not evaluate(net, flow).allowed


def _ends(flow: Flow) -> tuple[Any, Any]:
    """The flow's two ends as the search names them: an ENI's index, or the external Endpoint."""
    return (flow.src.eni if flow.src.eni is not None else flow.src,
            flow.dst.eni if flow.dst.eni is not None else flow.dst)
