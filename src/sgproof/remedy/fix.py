"""`verify --fix` (contract 9): the smallest set of changes after which a refuted invariant is proven and
every proven invariant of the spec stays proven, found counterexample by counterexample and checked by
running the whole spec again on the repaired network.

The search: the gates that the violating flows pass (deny/only) or that block the witness (reach) give
candidate changes (remove or narrow a rule, cut or delete a NACL entry, add a deny entry before the one
that admits, remove a route; or add a rule, an allow entry before the one that blocks, a route). Each flow
becomes a formula over the candidates (which of them stop or let through that flow, checked on the plain
evaluator); z3 picks the fewest candidates that satisfy every formula, narrowest first; the real Checker
then runs the whole spec on the network with those changes. A flow that still violates adds its formula;
a choice that breaks a proven invariant is excluded; the loop ends at a verified repair, or says that it
found none (in the rounds and time allowed, or among the changes considered). Nothing is guessed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from ..encode.check import Checker
from ..model import (
    ANY_PROTO,
    ICMP,
    ICMPS,
    ICMPV6,
    PORTED,
    SERVICE_MAX,
    TCP,
    UDP,
    Match,
    NaclEntry,
    Network,
    Peer,
    SgRule,
)
from ..model.addr import Interval, format_address, intersect, normalize
from ..model.routing import RANK_STATIC, Route
from ..report.model import Report, Result
from ..semantics import Endpoint, Flow, Step, connection_exists, evaluate
from ..semantics.evaluate import matches, nacl_decision, peer_matches, reply_service
from ..semantics.routing import NAT_PORTS, lookup
from ..spec import Invariant
from ..spec.select import EndpointSet
from .changes import Change, apply, cidr_blocks, cidr_text, covering_block, minus

# The search is bounded by rounds and by z3 resource units, which do not depend on the machine's load;
# the wall clock per refuted invariant is a backstop only.
FIX_SECONDS = 600.0
MAX_ROUNDS = 20
OPTIMIZE_RLIMIT = 50_000_000  # z3 resource units of one choice of changes (about ten seconds of one core)
MAX_PIECES = 8  # a narrowed rule is at most this many items
SEED_FLOWS = 12  # violations gathered before the first choice, and after each choice that falls short
REACH_SAMPLE = 32  # for a reach: other pairs tried on the plain evaluator per side and round

# NACL legs (contract 5): (egress, the endpoint that is the remote address, which service the leg sees)
LEGS = {
    "nacl-out": (True, "dst", "request"), "nacl-in": (False, "src", "request"),
    "nacl-reply-out": (True, "src", "reply"), "nacl-reply-in": (False, "dst", "reply"),
    "nacl-tgw-in": (False, "src", "request"), "nacl-tgw-out": (True, "dst", "request"),
    "nacl-nat-in": (False, "src", "request"), "nacl-nat-out": (True, "dst", "request"),
    "nacl-tgw-reply-in": (False, "dst", "reply"), "nacl-nat-reply-in": (False, "dst", "nat"),
    "nacl-nat-reply-out": (True, "src", "reply"), "nacl-tgw-reply-out": (True, "src", "reply"),
}
STAR = (32767, 32768)


@dataclass(frozen=True, slots=True)
class Repair:
    """The outcome for one refuted invariant: a verified set of changes, or a note saying none was found."""

    verified: bool
    changes: tuple[Change, ...]
    verdicts_after: tuple[tuple[str, str], ...] = ()
    rounds: int = 0
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verified": self.verified, "changes": [c.as_json() for c in self.changes]}
        if self.verified:
            out["verdicts_after"] = dict(self.verdicts_after)
        out["rounds"] = self.rounds
        if self.note:
            out["note"] = self.note
        return out


def add_repairs(report: Report, checker: Checker, seconds: float = FIX_SECONDS) -> Report:
    """The report with a `repair` on every refuted invariant."""
    proven = frozenset(r.id for r in report.results if r.status == "proven")
    results: list[Result] = []
    for r, inv in zip(report.results, checker.spec.invariants, strict=True):
        if r.status == "refuted":
            r = dataclasses.replace(r, repair=repair(checker, inv, r, proven, seconds))
        results.append(r)
    return dataclasses.replace(report, results=tuple(results))


def repair(checker: Checker, inv: Invariant, result: Result, proven: frozenset[str],
           seconds: float = FIX_SECONDS) -> Repair:
    """The smallest verified repair of one refuted invariant (or a note that none was found)."""
    return find_repair(checker, inv, result, proven, seconds)[0]


def find_repair(checker: Checker, inv: Invariant, result: Result, proven: frozenset[str],
                seconds: float = FIX_SECONDS) -> tuple[Repair, tuple[Change, ...]]:
    """The repair, and every change the search considered (a repair is smallest among them)."""
    search = _Search(checker, inv, proven - {inv.id}, seconds)
    return search.run(result), tuple(search.cands)


def _services_of(inv: Invariant, proto: int) -> tuple[Interval, ...]:
    return dict(inv.services.by_proto).get(proto, ())


def _bits(size: int) -> int:
    return max(size, 1).bit_length()


def _rank(kind: int, width: int) -> int:
    """The tie-break among repairs of one size: the kind of change first (a cut range before a removal),
    then how many addresses it touches (as bits)."""
    return kind * 200 + width


def _component(ivs: Iterable[Interval], value: int) -> Interval | None:
    return next(((a, b) for a, b in ivs if a <= value <= b), None)


class _Search:
    def __init__(self, checker: Checker, inv: Invariant, proven: frozenset[str], seconds: float):
        self.checker = checker
        self.net: Network = checker.net
        self.spec = checker.spec
        self.inv = inv
        self.proven = proven
        self.take_away = inv.kind != "reach"
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        src, dst = checker.sides(inv)
        self.sides: dict[str, EndpointSet] = {"src": src, "dst": dst}
        self._regions: dict[tuple[str, int, bool, bool], tuple[Interval, ...]] = {}
        self.cands: list[Change] = []
        self._index: dict[Any, int] = {}
        self.numbers: dict[tuple[str, bool], set[int]] = {}  # NACL entry numbers taken (entries and candidates)
        self.ctx = z3.Context()
        self.formulas: list[Any] = []
        self.seen: set[Any] = set()

    # ---- candidates ---------------------------------------------------------------------------------
    def _var(self, ch: Change) -> Any:
        key = (ch.action, ch.resource, ch.direction, ch.before, ch.after)
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.cands)
            self.cands.append(ch)
        return z3.Bool(f"c{i}", self.ctx)

    def _T(self) -> Any:
        return z3.BoolVal(True, self.ctx)

    def _F(self) -> Any:
        return z3.BoolVal(False, self.ctx)

    def region(self, side: str, family: int, tight: bool = False, spare: bool = True) -> tuple[Interval, ...]:
        """Every address of the invariant's side (its ENIs' and its external addresses) in one family, and
        the addresses no flow in scope has at a rule's peer: ENIs' public addresses (an ENI sends from its
        private ones; a flow to another ENI's public address is out of scope) and, when `tight`, the VPC
        addresses no ENI holds. A cut may take those too: no verdict changes with them. Without `spare`,
        the side's own addresses only (what an addition must open to)."""
        key = (side, family, tight, spare)
        got = self._regions.get(key)
        if got is None:
            es = self.sides[side]
            ivs = list(es.ext_of(family))
            for i in es.enis:
                ivs += [(lo, hi) for f, lo, hi in self.net.enis[i].private if f == family]
            if family == 4 and spare:
                ivs += [(p, p) for e in self.net.enis for p in e.public]
            if tight and spare:
                held = normalize((lo, hi) for e in self.net.enis for f, lo, hi in e.private if f == family)
                for lo, hi in self.net.vpc_space.get(family, ()):
                    ivs += minus(lo, hi, held)
            got = self._regions[key] = normalize(ivs)
        return got

    def _rest(self, lo: int, hi: int, family: int, side: str) -> list[Interval]:
        """[lo, hi] without the side's addresses, written with the fewest blocks of the two cuts above."""
        loose = minus(lo, hi, self.region(side, family))
        if sum(len(cidr_blocks(family, a, b)) for a, b in loose) <= MAX_PIECES:
            return loose
        return minus(lo, hi, self.region(side, family, True))

    # ---- deny / only: what stops a flow -------------------------------------------------------------
    def block_formula(self, net: Network, flow: Flow) -> Any:
        """The candidate sets that stop the flow: some gate it passes stops it."""
        verdict = evaluate(net, flow)
        terms = []
        for st in verdict.steps:
            if st.gate in ("sg-egress", "sg-ingress") and st.verdict == "allow":
                terms.append(self._sg_block(net, flow, st.gate == "sg-egress"))
            elif st.gate in LEGS and st.verdict == "allow":
                terms.append(self._nacl_block(net, flow, st))
            elif st.gate in ("route", "route-reply") and st.verdict in ("allow", "unknown"):
                terms.append(self._route_block(net, flow, st))
        return z3.Or(terms) if terms else self._F()

    def _sg_block(self, net: Network, flow: Flow, egress: bool) -> Any:
        own, other, side = (flow.src, flow.dst, "dst") if egress else (flow.dst, flow.src, "src")
        assert own.eni is not None
        rules = [r for gid in net.enis[own.eni].groups
                 for r in (net.sgs[gid].egress if egress else net.sgs[gid].ingress)
                 if matches(r.match, flow.proto, flow.value) and peer_matches(net, r, other)]
        each = []
        for r in rules:
            ok = [self._var(ch) for ch in self.rule_cuts(r, side)
                  if not any(matches(a.match, flow.proto, flow.value) and peer_matches(net, a, other)
                             for a in ch.after if isinstance(a, SgRule))]
            each.append(z3.Or(ok) if ok else self._F())
        return z3.And(each) if each else self._F()

    def _service_rest(self, m: Match) -> tuple[list[Interval] | None, list[Interval]]:
        """The rule's services outside the invariant's (None when AWS cannot write them as ranges of the
        rule's protocol) and those inside."""
        if m.proto == ANY_PROTO:
            from ..spec import ServiceSet

            if ServiceSet.everything().minus(self.inv.services).is_empty():
                return [], [(0, SERVICE_MAX)]
            return None, []
        ivs = _services_of(self.inv, m.proto)
        cut = list(intersect(((m.lo, m.hi),), normalize(ivs)))
        rest = minus(m.lo, m.hi, normalize(ivs))
        if m.proto not in PORTED and rest:
            return None, cut
        return rest, cut

    def _peer_bits(self, peer: Peer) -> int:
        """How many addresses a rule's peer names, in bits."""
        if peer.kind == "cidr":
            return _bits(peer.hi - peer.lo + 1)
        if peer.kind == "pl":
            pl = self.net.prefix_lists.get(peer.ref)
            return _bits(sum(hi - lo + 1 for _, lo, hi in pl.cidrs)) if pl else 128
        return _bits(len(self.checker.selection.carriers(peer.ref)))

    def _named_rest(self, peer: Peer) -> list[Match]:
        """tcp, udp, icmp and icmpv6 (those of the peer's family) without the invariant's services; nothing
        when the invariant asks about some other protocol too (all that remains cannot be written)."""
        protos = [TCP, UDP] + ([ICMP] if peer.family != 6 else []) + ([ICMPV6] if peer.family != 4 else [])
        if any(p not in (TCP, UDP, ICMP, ICMPV6) for p, _ in self.inv.services.by_proto):
            return []
        out = []
        for proto in protos:
            ivs = normalize(_services_of(self.inv, proto))
            rest = minus(0, SERVICE_MAX, ivs)
            if proto in PORTED:
                out += [Match(proto, a, b) for a, b in rest]
            elif not ivs:
                out.append(Match(proto))
        return out

    def rule_cuts(self, r: SgRule, side: str) -> list[Change]:
        """Remove the rule, or narrow it by cutting out the invariant's services and/or the addresses of
        the invariant's other side (the side the rule's peer names)."""
        sg = self.net.sgs[r.sg_id]
        tf = r.tf_address or sg.tf_address
        direction = "egress" if r.egress else "ingress"
        width = self._peer_bits(r.peer)
        out = [Change("remove-rule", r.sg_id, direction, (r,), (), _rank(5, width), tf)]
        rest_s, cut_s = self._service_rest(r.match)
        rest_a: list[Interval] | None = None
        if r.peer.kind == "cidr":
            rest_a = self._rest(r.peer.lo, r.peer.hi, r.peer.family, side)
            if rest_a == [(r.peer.lo, r.peer.hi)]:
                rest_a = None  # the invariant's addresses lie outside the block: nothing to cut there
        k = 0

        def item(match: Match, peer: Peer) -> SgRule:
            nonlocal k
            k += 1
            return SgRule(r.sg_id, r.egress, match, peer, f"{r.origin}#narrowed{k}", r.description, r.tf_address)

        def blocks(a: list[Interval]) -> list[Peer]:
            f = r.peer.family
            return [Peer("cidr", cidr_text(f, lo, hi), f, lo, hi) for x, y in a for lo, hi in cidr_blocks(f, x, y)]

        def match(lo: int, hi: int) -> Match:
            return Match(r.match.proto, lo, hi) if r.match.proto != ANY_PROTO else r.match

        variants: list[tuple[int, list[SgRule]]] = []
        if r.match.proto == ANY_PROTO and rest_s is None:
            # all traffic, narrowed to what AWS can write: tcp, udp, icmp and icmpv6 without the invariant's
            # services (other protocol numbers are dropped with it)
            named = [item(m, r.peer) for m in self._named_rest(r.peer)]
            variants.append((_rank(2, width), named))
        if rest_s is not None and cut_s:
            variants.append((_rank(2, width), [item(match(a, b), r.peer) for a, b in rest_s]))  # ports only
        if rest_a is not None:
            cut_bits = _bits(r.peer.hi - r.peer.lo + 1 - sum(b - a + 1 for a, b in rest_a))
            exact_a = rest_s == []  # the rule carries only the invariant's services: this cut is exact
            variants.append((_rank(1 if exact_a else 2, cut_bits), [item(r.match, p) for p in blocks(rest_a)]))
            if rest_s is not None and rest_s and cut_s:
                exact = [item(match(a, b), r.peer) for a, b in rest_s]
                exact += [item(match(a, b), p) for a, b in cut_s for p in blocks(rest_a)]
                variants.append((_rank(1, cut_bits), exact))
        for rank, items in variants:
            if items and len(items) <= MAX_PIECES:
                out.append(Change("narrow-rule", r.sg_id, direction, (r,), tuple(items), rank, tf))
        return out

    def _leg(self, flow: Flow, gate: str) -> tuple[bool, Endpoint, str, int, int, list[Interval]]:
        """A NACL leg of the flow: egress, the remote endpoint, its side, the protocol, the value the leg
        sees, and the service values of the invariant on this leg (what a cut must take out)."""
        egress, remote_side, kind = LEGS[gate]
        remote = flow.dst if remote_side == "dst" else flow.src
        proto, value = flow.proto, flow.value
        cut: list[Interval]
        if kind == "request":
            cut = list(_services_of(self.inv, proto))
        else:
            rep = reply_service(flow.proto, flow.value, flow.sport)
            assert rep is not None
            proto, value = rep
            if proto in PORTED:
                value = flow.nport if kind == "nat" else value
                cut = [NAT_PORTS if kind == "nat" else self.spec.ephemeral]
            elif proto in ICMPS:
                cut = [(value // 256 * 256, value // 256 * 256 + 255)]
            else:
                cut = [(0, SERVICE_MAX)]
        return egress, remote, remote_side, proto, value, cut

    def _nacl_block(self, net: Network, flow: Flow, st: Step) -> Any:
        egress, remote, side, proto, value, cut = self._leg(flow, st.gate)
        nacl = net.nacls[st.id]
        entries = nacl.egress if egress else nacl.ingress
        chain = [e for e in entries if e.family == remote.family and e.lo <= remote.address <= e.hi
                 and matches(e.match, proto, value)]
        f = self._T()
        for e in reversed(chain):
            if not e.allow:
                f = self._T()
                continue
            cuts = [self._var(ch) for ch in self.entry_cuts(st.id, e, side, proto, value, cut)
                    if not (ch.after and self._entry_hits(ch.after[0], remote, proto, value))]
            f = z3.And(z3.Or(cuts) if cuts else self._F(), f)
        if chain and chain[0].allow:
            deny = self.deny_before(st.id, chain[0], side, remote, proto, value, cut)
            if deny is not None:
                f = z3.Or(self._var(deny), f)
        return f

    @staticmethod
    def _entry_hits(e: Any, remote: Endpoint, proto: int, value: int) -> bool:
        return bool(e.allow and e.family == remote.family and e.lo <= remote.address <= e.hi
                    and matches(e.match, proto, value))

    def entry_cuts(self, acl: str, e: NaclEntry, side: str, proto: int, value: int,
                   cut: list[Interval]) -> list[Change]:
        """Delete an allow entry, or replace it by one without the leg's services or the side's addresses."""
        tf = e.tf_address or self.net.nacls[acl].tf_address
        direction = "egress" if e.egress else "ingress"
        width = _bits(e.hi - e.lo + 1)
        out = [Change("replace-entry", acl, direction, (e,), (), _rank(6, width), tf)]
        if e.match.proto in PORTED:
            rest = minus(e.match.lo, e.match.hi, normalize(cut))
            if len(rest) == 1 and rest[0] != (e.match.lo, e.match.hi):
                m = Match(e.match.proto, *rest[0])
                out.append(Change("replace-entry", acl, direction, (e,),
                                  (dataclasses.replace(e, match=m, origin=e.origin + "#narrowed"),), _rank(3, width), tf))
        rest_a = self._rest(e.lo, e.hi, e.family, side)
        if rest_a and rest_a != [(e.lo, e.hi)]:
            blocks = [b for x, y in rest_a for b in cidr_blocks(e.family, x, y)]
            if len(blocks) == 1:
                lo, hi = blocks[0]
                new = dataclasses.replace(e, lo=lo, hi=hi, cidr=cidr_text(e.family, lo, hi), origin=e.origin + "#narrowed")
                out.append(Change("replace-entry", acl, direction, (e,), (new,), _rank(3, _bits(e.hi - e.lo - hi + lo)), tf))
        return out

    def _free_number(self, acl: str, egress: bool, below: int, above: int = 0) -> int | None:
        """The highest rule number in (above, below) that neither the ACL nor another candidate uses."""
        nacl = self.net.nacls[acl]
        key = (acl, egress)
        taken = self.numbers.setdefault(key, {x.number for x in (nacl.egress if egress else nacl.ingress)})
        for n in range(min(below, 32767) - 1, above, -1):
            if n not in taken:
                taken.add(n)
                return n
        return None

    def _previous(self, acl: str, egress: bool, number: int) -> int:
        nacl = self.net.nacls[acl]
        return max((x.number for x in (nacl.egress if egress else nacl.ingress) if x.number < number), default=0)

    def deny_before(self, acl: str, e: NaclEntry, side: str, remote: Endpoint, proto: int, value: int,
                    cut: list[Interval]) -> Change | None:
        """A deny entry just before the allow entry that admits: the leg's services and the side's
        addresses around the flow's, inside the entry's own block."""
        comp = _component(intersect(normalize(cut), ((e.match.lo, e.match.hi),)), value)
        if comp is None:
            return None
        if proto in PORTED:
            m = Match(proto, *comp)
        elif proto in ICMPS and comp != (0, SERVICE_MAX):
            m = Match(proto, value // 256 * 256, value // 256 * 256 + 255)
        else:
            m = Match(proto)
        area = _component(intersect(self.region(side, e.family), ((e.lo, e.hi),)), remote.address)
        if area is None:
            return None
        lo, hi = covering_block(e.family, *area)
        if lo < e.lo or hi > e.hi:
            lo, hi = e.lo, e.hi
        sig = ("deny", acl, e.egress, e.number, m, lo, hi)
        if sig in self._index:
            return self.cands[self._index[sig]]
        number = self._free_number(acl, e.egress, e.number, self._previous(acl, e.egress, e.number))
        if number is None:
            return None
        new = NaclEntry(number, e.egress, False, m, e.family, lo, hi, cidr_text(e.family, lo, hi),
                        f"fix:{acl}:{number}", None)
        ch = Change("add-entry", acl, "egress" if e.egress else "ingress", (), (new,), _rank(4, _bits(hi - lo + 1)),
                    self.net.nacls[acl].tf_address)
        self._var(ch)
        self._index[sig] = self._index[(ch.action, ch.resource, ch.direction, ch.before, ch.after)]
        return ch

    def _route_block(self, net: Network, flow: Flow, st: Step) -> Any:
        assert net.routing is not None
        table = net.routing.tables.get(st.id)
        if table is None:
            return self._F()
        target = flow.dst if st.gate == "route" else flow.src
        won, _ = lookup(table.routes, target.family, target.address)
        if won is None or won.kind == "local":
            return self._F()
        same = tuple(r for r in table.routes if r.origin == won.origin)
        ch = Change("remove-route", table.id, None, same, (), _rank(7, _bits(won.hi - won.lo + 1)),
                    won.tf_address or table.tf_address)
        if evaluate(apply(net, [ch]), flow).allowed:
            return self._F()  # another route carries it as well
        return self._var(ch)

    # ---- reach: what lets a flow through ------------------------------------------------------------
    def open_formula(self, net: Network, flow: Flow) -> Any:
        """The candidate sets that let the flow through: for every gate that blocks it, a change that opens
        that gate (checked on the plain evaluator over the network the flow was found on)."""
        verdict = evaluate(net, flow)
        each = []
        for st in verdict.steps:
            if st.verdict == "allow":
                continue
            opening = []
            for ch in self.openers(net, flow, st):
                after = evaluate(apply(net, [ch]), flow)
                if all(s.verdict == "allow" for s in after.steps if (s.gate, s.id) == (st.gate, st.id)):
                    opening.append(self._var(ch))
            each.append(z3.Or(opening) if opening else self._F())
        return z3.And(each) if each else self._F()

    def _service_match(self, proto: int, value: int, ivs: Iterable[Interval]) -> Match:
        comp = _component(ivs, value) or (value, value)
        if proto in PORTED:
            return Match(proto, *comp)
        if proto in ICMPS:
            if comp == (0, SERVICE_MAX):
                return Match(proto)
            t = value // 256
            if comp[0] <= t * 256 and t * 256 + 255 <= comp[1]:
                return Match(proto, t * 256, t * 256 + 255)
            return Match(proto, value, value)
        return Match(proto)

    def _peers(self, other: Endpoint, side: str) -> list[tuple[int, Peer]]:
        """Whom an added rule names, in the order preferred at equal count: a group that exactly the other
        side's ENIs carry, the smallest block that holds the other side's addresses, the flow's own other
        address, a group every ENI of the other side carries among others. A reach asks for every pair, so a
        change that opens the whole side is tried before one that opens one pair (fewer rounds, same count)."""
        f = other.family
        bits = 32 if f == 4 else 128
        out = [(3, Peer("cidr", f"{format_address(f, other.address)}/{bits}", f, other.address, other.address))]
        es = self.sides[side]
        if es.enis and not es.ext[0] and not es.ext[1]:
            common = set.intersection(*(set(self.net.enis[i].groups) for i in es.enis))
            for gid in sorted(common):
                members = set(self.checker.selection.carriers(gid))
                out.append((1 if members <= es.enis else 4, Peer("sg", gid)))
        region = self.region(side, f, spare=False)
        if region:
            lo, hi = covering_block(f, region[0][0], region[-1][1])
            if (lo, hi) != (other.address, other.address):
                out.append((2, Peer("cidr", cidr_text(f, lo, hi), f, lo, hi)))
        return out

    def openers(self, net: Network, flow: Flow, st: Step) -> list[Change]:
        if st.gate in ("sg-egress", "sg-ingress"):
            egress = st.gate == "sg-egress"
            own, other, side = (flow.src, flow.dst, "dst") if egress else (flow.dst, flow.src, "src")
            assert own.eni is not None
            gid = net.enis[own.eni].groups[0]
            m = self._service_match(flow.proto, flow.value, _services_of(self.inv, flow.proto))
            tf = net.sgs[gid].tf_address
            return [Change("add-rule", gid, st.gate[3:], (),
                           (SgRule(gid, egress, m, peer, f"fix:{gid}:{peer.ref}", "", None),),
                           _rank(rank, self._peer_bits(peer)), tf)
                    for rank, peer in self._peers(other, side)]
        if st.gate in LEGS:
            return self._nacl_openers(net, flow, st)
        if st.gate in ("route", "route-reply"):
            return self._route_openers(net, flow, st)
        return []

    def _nacl_openers(self, net: Network, flow: Flow, st: Step) -> list[Change]:
        egress, remote, side, proto, value, cut = self._leg(flow, st.gate)
        if st.gate in LEGS and LEGS[st.gate][2] == "request":
            cut = list(_services_of(self.inv, proto))
        m = self._service_match(proto, value, cut)
        nacl = net.nacls[st.id]
        entries = nacl.egress if egress else nacl.ingress
        blocking = nacl_decision(nacl, egress, remote, proto, value)
        below = blocking.number if blocking is not None else max(
            [x.number for x in entries if x.number not in STAR], default=0) + 100
        out = []
        f = remote.family
        bits = 32 if f == 4 else 128
        blocks = [(3, (remote.address, remote.address))]
        region = self.region(side, f, spare=False)
        if region:
            wide = covering_block(f, region[0][0], region[-1][1])
            if wide != (remote.address, remote.address):
                blocks.append((2, wide))
        for rank, (lo, hi) in blocks:
            sig = ("allow", st.id, egress, below, m, lo, hi)
            if sig in self._index:
                out.append(self.cands[self._index[sig]])
                continue
            number = self._free_number(st.id, egress, below, self._previous(st.id, egress, below))
            if number is None:
                continue
            text = cidr_text(f, lo, hi) if lo != hi else f"{format_address(f, lo)}/{bits}"
            new = NaclEntry(number, egress, True, m, f, lo, hi, text, f"fix:{st.id}:{number}", None)
            ch = Change("add-entry", st.id, "egress" if egress else "ingress", (), (new,),
                        _rank(rank, _bits(hi - lo + 1)), nacl.tf_address)
            self._var(ch)
            self._index[sig] = self._index[(ch.action, ch.resource, ch.direction, ch.before, ch.after)]
            out.append(ch)
        return out

    def _route_openers(self, net: Network, flow: Flow, st: Step) -> list[Change]:
        rt = net.routing
        if rt is None or st.id not in rt.tables:
            return []
        table = rt.tables[st.id]
        far = flow.dst if st.gate == "route" else flow.src
        f = far.family
        targets: list[tuple[str, str]] = []  # (kind, id)
        dests: list[tuple[int, tuple[int, int]]] = []
        if far.eni is not None:
            vb = net.enis[far.eni].vpc_id
            if vb == table.vpc_id:
                return []
            for p in sorted(rt.peerings.values(), key=lambda p: p.id):
                if p.active and {p.requester_vpc, p.accepter_vpc} == {table.vpc_id, vb}:
                    targets.append(("pcx", p.id))
            atts = [a for a in rt.tgw_attachments.values() if a.available and a.resource_type == "vpc"]
            for tgw in sorted({a.tgw_id for a in atts if a.resource_id == table.vpc_id}
                              & {a.tgw_id for a in atts if a.resource_id == vb}):
                targets.append(("tgw", tgw))
            dests = [(2, (lo, hi)) for ff, lo, hi in net.vpcs[vb].cidrs if ff == f and lo <= far.address <= hi]
        else:
            for g in sorted(rt.gateways.values(), key=lambda g: g.id):
                if table.vpc_id in g.vpc_ids and (g.kind == "igw" or (g.kind == "eigw" and f == 6
                                                                      and st.gate == "route")):
                    targets.append((g.kind, g.id))
            if f == 4 and st.gate == "route":
                for n in sorted(rt.nats.values(), key=lambda n: n.id):
                    if n.vpc_id == table.vpc_id and n.available:
                        targets.append(("nat", n.id))
            dests = [(3, (far.address, far.address))]
            region = self.region("dst" if st.gate == "route" else "src", f, spare=False)
            if region:
                dests.append((2, covering_block(f, region[0][0], region[-1][1])))
        out = []
        for rank, (lo, hi) in dests:
            if any((r.family, r.lo, r.hi) == (f, lo, hi) for r in table.routes):
                continue  # AWS would need replace-route there, which is no addition
            dest = cidr_text(f, lo, hi)
            for kind, tid in targets:
                new = Route(f, lo, hi, dest, tid, kind, RANK_STATIC, False, f"fix:{table.id}:{dest}:{tid}")
                out.append(Change("add-route", table.id, None, (), (new,), _rank(rank + (kind == "nat"), _bits(hi - lo + 1)),
                                  table.tf_address))
        return out

    # ---- the loop -----------------------------------------------------------------------------------
    def _learn(self, net: Network, flows: Sequence[Flow], chosen: Sequence[int]) -> bool:
        """Add each new flow's formula; False when a flow gave nothing new to learn."""
        learnt = False
        for flow in flows:
            key = (flow, tuple(chosen) if not self.take_away else ())
            if key in self.seen:
                continue
            self.seen.add(key)
            if self.take_away:
                if not evaluate(self.net, flow).allowed:
                    continue  # allowed only on the repaired network (a route taken away): excluded below
                self.formulas.append(self.block_formula(self.net, flow))
            else:
                opened = self.open_formula(net, flow)
                routes = [z3.Bool(f"c{i}", self.ctx) for i in chosen if self.cands[i].action == "add-route"]
                self.formulas.append(z3.Implies(z3.And(routes), opened) if routes else opened)
            learnt = True
        return learnt

    def _choose(self) -> list[int] | str:
        """The fewest candidates that satisfy every formula, narrowest first; a reason when there is none."""
        opt = z3.Optimize(ctx=self.ctx)
        left = self.deadline - time.monotonic()
        opt.set("timeout", max(1, int(left * 1000)))
        opt.set("rlimit", OPTIMIZE_RLIMIT)
        for f in self.formulas:
            opt.add(f)
        bools = [z3.Bool(f"c{i}", self.ctx) for i in range(len(self.cands))]
        groups: dict[Any, list[Any]] = {}
        for b, ch in zip(bools, self.cands, strict=True):
            groups.setdefault(ch.target, []).append(b)
        for bs in groups.values():
            if len(bs) > 1:
                opt.add(z3.AtMost(*bs, 1))
        one, zero = z3.IntVal(1, self.ctx), z3.IntVal(0, self.ctx)
        if bools:
            opt.minimize(z3.Sum([z3.If(b, one, zero) for b in bools]))
            opt.minimize(z3.Sum([z3.If(b, z3.IntVal(ch.rank, self.ctx), zero)
                                 for b, ch in zip(bools, self.cands, strict=True)]))
        answer = opt.check()
        if answer == z3.unsat:
            return "unsat"
        if answer != z3.sat:
            return "timeout"
        m = opt.model()
        return [i for i, b in enumerate(bools) if z3.is_true(m.eval(b, model_completion=True))]

    def _exclude(self, chosen: Sequence[int]) -> None:
        self.formulas.append(z3.Not(z3.And([z3.Bool(f"c{i}", self.ctx) for i in chosen])))

    def _flows(self, checker: Checker, result: Result) -> list[Flow]:
        flows = [result.counterexample.flow] if result.counterexample is not None else []
        if self.take_away:
            more, _ = checker.violations(self.inv, SEED_FLOWS)
            flows += [cx.flow for cx in more]
        elif flows:
            w = flows[0]
            if w.dst.eni is not None and w.src.eni != w.dst.eni:
                # the pair's address that an addition can open: an external source aims at the public one
                flows = [self._pair_fails(checker.net, w.src, w.dst.eni, True, w) or w]
            flows += self._reach_neighbours(checker.net, flows[0])
        return flows

    def _pair_fails(self, net: Network, fixed: Endpoint, i: int, to_eni: bool, flow: Flow) -> Flow | None:
        """A flow between the fixed endpoint and ENI i when no address pair of the two connects (as reach
        asks, contract 4); None when some pair does or they have no address of the family in common."""
        fam = fixed.family
        mine = [lo for f, lo, _ in net.enis[i].private if f == fam]
        if fixed.eni is None and to_eni and fam == 4:
            mine = list(net.enis[i].public) + mine  # an external source aims at the public address first
        theirs = [fixed.address] if fixed.eni is None else [lo for f, lo, _ in net.enis[fixed.eni].private if f == fam]
        first = None
        for a in theirs:
            for b in mine:
                s_ep, d_ep = ((Endpoint(fixed.eni, fam, a), Endpoint(i, fam, b)) if to_eni
                              else (Endpoint(i, fam, b), Endpoint(fixed.eni, fam, a)))
                ok, got = connection_exists(net, s_ep, d_ep, flow.proto, flow.value, self.spec.ephemeral)
                if ok:
                    return None
                first = first or got
        return first

    def _reach_neighbours(self, net: Network, flow: Flow) -> list[Flow]:
        """More pairs of a refuted reach that fail too, found on the plain evaluator: the witness's source
        to other ENIs of the destination side, and other ENIs of the source side to its destination (one
        per group set and subnet, a few dozen at most). The solver gives one witness per round; these let
        one round learn what several would."""
        out: list[Flow] = []
        for fixed, side in ((flow.src, "dst"), (flow.dst, "src")):
            seen: set[Any] = set()
            failed = 0
            for i in sorted(self.sides[side].enis):
                e = net.enis[i]
                sig = (e.groups, e.subnet_id)
                if sig in seen or not e.hosts or e.address_unknown or i == fixed.eni:
                    continue
                if failed >= REACH_SAMPLE or len(seen) >= 20 * REACH_SAMPLE:
                    break
                seen.add(sig)
                got = self._pair_fails(net, fixed, i, side == "dst", flow)
                if got is not None and not self.checker.accepted(self.inv, got):
                    out.append(got)
                    failed += 1
        return out

    def run(self, result: Result) -> Repair:
        cx = result.counterexample
        if cx is not None and cx.note and not cx.trace:
            return Repair(False, (), note=f"no change to rules, entries or routes can fix this: {cx.note}")
        self._learn(self.net, self._flows(self.checker, result), [])
        broke: list[str] = []
        rounds = 0
        while rounds < MAX_ROUNDS:
            if time.monotonic() > self.deadline:
                return self._none(rounds, f"no repair found within {self.seconds:.0f} s")
            rounds += 1
            chosen = self._choose()
            if chosen == "timeout":
                return self._none(rounds, "no repair found: choosing the changes took more than the optimiser's "
                                          "budget")
            if chosen == "unsat":
                why = ("no set of the changes considered makes it proven"
                       + (" without breaking " + ", ".join(sorted(set(broke))) if broke else ""))
                return self._none(rounds, why)
            assert isinstance(chosen, list)
            changes = [self.cands[i] for i in chosen]
            try:
                net = apply(self.net, changes)
            except ValueError:
                self._exclude(chosen)
                continue
            checker = Checker(net, self.spec, timeout_ms=self.checker.timeout_ms)
            got = checker.check(self.inv)
            if got.status == "refuted":
                flows = self._flows(checker, got)
                if not self._learn(net, flows, chosen) or (
                        self.take_away and not all(evaluate(self.net, f).allowed for f in flows)):
                    self._exclude(chosen)
                continue
            if got.status != "proven":
                self._exclude(chosen)
                continue
            verdicts = []
            broken = []
            for other in self.spec.invariants:
                status = "proven" if other.id == self.inv.id else checker.check(other).status
                verdicts.append((other.id, status))
                if other.id in self.proven and status != "proven":
                    broken.append(other.id)
            if broken:
                broke += broken
                self._exclude(chosen)
                continue
            return Repair(True, tuple(changes), tuple(verdicts), rounds)
        return self._none(rounds, f"no repair found in {MAX_ROUNDS} rounds")

    def _none(self, rounds: int, why: str) -> Repair:
        return Repair(False, (), (), rounds, why + "; none is guessed")
