"""NACL rules: shadowed entries, redundant entries, broken return paths. Each answer is exact over every
packet (remote address, protocol, port or ICMP type/code): box arithmetic (boxes.py), with the same
questions asked of z3 as the reference the tests hold it to; witnesses are replayed through the plain
evaluator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import z3

from ..errors import InternalError
from ..model import (
    ANY_PROTO,
    ICMP,
    ICMPV6,
    PORTED,
    SERVICE_MAX,
    TCP,
    UDP,
    Match,
    Nacl,
    NaclEntry,
    Network,
)
from ..model.addr import family_max, format_address, format_interval
from ..semantics.evaluate import Endpoint, nacl_decision
from . import boxes
from .model import Finding

STAR = (32767, 32768)  # AWS's final entries: never findings
ECHO = {ICMP: {8: 0}, ICMPV6: {128: 129}}  # the request/reply pair contract 7 names for ICMP


class _Packets:
    """Symbolic packets of one address family, in their own z3 context."""

    def __init__(self, family: int):
        self.family = family
        self.z = z3.Context()
        self.a, self.p, self.x = z3.Ints("a p x", self.z)
        top = (1 << 32) - 1 if family == 4 else (1 << 128) - 1
        self.base = [self.a >= 0, self.a <= top, self.p >= 0, self.p <= 255, self.x >= 0, self.x <= SERVICE_MAX,
                     z3.Implies(z3.And(self.p != TCP, self.p != UDP, self.p != ICMP, self.p != ICMPV6), self.x == 0)]

    def match(self, m: Match, p: Any, x: Any) -> Any:
        conds = [z3.BoolVal(True, self.z)]
        if m.proto != ANY_PROTO:
            conds.append(p == m.proto)
        if (m.lo, m.hi) != (0, SERVICE_MAX):
            conds.append(z3.And(x >= m.lo, x <= m.hi))
        return z3.And(conds)

    def matches(self, e: NaclEntry, a: Any = None, p: Any = None, x: Any = None) -> Any:
        a, p, x = (self.a if a is None else a), (self.p if p is None else p), (self.x if x is None else x)
        if e.family != self.family:
            return z3.BoolVal(False, self.z)
        return z3.And(a >= e.lo, a <= e.hi, self.match(e.match, p, x))

    def decision(self, entries: list[NaclEntry], a: Any = None, p: Any = None, x: Any = None) -> Any:
        """First match in rule-number order; no match denies."""
        out: Any = z3.BoolVal(False, self.z)
        for e in reversed(entries):
            out = z3.If(self.matches(e, a, p, x), z3.BoolVal(e.allow, self.z), out)
        return out

    def solver(self) -> z3.Solver:
        s = z3.Solver(ctx=self.z)
        s.set("timeout", 60_000)
        s.add(*self.base)
        return s


def _check(s: z3.Solver, what: str) -> bool:
    """True when sat; unknown is never taken as an answer."""
    got = s.check()
    if got == z3.unknown:
        raise InternalError(f"the solver could not decide {what} ({s.reason_unknown()})")
    return bool(got == z3.sat)


def _entries(nacl: Nacl, egress: bool, family: int) -> list[NaclEntry]:
    return [e for e in (nacl.egress if egress else nacl.ingress) if e.family == family]


def _ev(e: NaclEntry) -> dict[str, Any]:
    return {"entry": e.number, "direction": "egress" if e.egress else "ingress", "text": e.text(),
            "place": e.origin}


def _place(nacl: Nacl, e: NaclEntry) -> tuple[str, str | None]:
    tf = e.tf_address or nacl.tf_address
    return (tf or e.origin), tf


def _entries_by_decision(net: Network, solver: bool = False
                         ) -> Iterator[tuple[Nacl, int, list[NaclEntry], int, boxes.Region | None]]:
    """Every entry but the final `*` ones, per NACL, direction and family: (nacl, family, the direction's
    entries, the entry's index, the packets it decides, None when it decides none). With `solver`, z3
    decides whether it decides a packet (the region is then the entry's whole region)."""
    for nacl in sorted(net.nacls.values(), key=lambda n: n.id):
        for egress in (False, True):
            for fam in (4, 6):
                entries = _entries(nacl, egress, fam)
                pk = _Packets(fam) if solver else None
                for k, e in enumerate(entries):
                    if e.number in STAR:
                        continue
                    if pk is not None:
                        s = pk.solver()
                        s.add(pk.matches(e), *[z3.Not(pk.matches(o)) for o in entries[:k]])
                        decides = _check(s, f"whether {nacl.id} entry {e.number} decides a packet")
                        yield nacl, fam, entries, k, (_region(e) if decides else None)
                    else:
                        left = boxes.minus_all(_region(e), (_box(o) for o in entries[:k]))
                        yield nacl, fam, entries, k, (left or None)


def _box(e: NaclEntry) -> boxes.Box:
    return boxes.match_box(e.match, e.lo, e.hi)


def _region(e: NaclEntry) -> boxes.Region:
    return boxes.region_of(e.match, e.lo, e.hi, e.family)


def _overlaps(a: NaclEntry, b: NaclEntry) -> bool:
    """Whether some packet matches both entries (exact: box arithmetic)."""
    return boxes.touches(_region(a), _box(b))


def shadowed(net: Network, solver: bool = False) -> Iterator[Finding]:
    for nacl, _fam, entries, k, decided in _entries_by_decision(net, solver):
        if decided is not None:
            continue
        e = entries[k]
        deciders = [o for o in entries[:k] if _overlaps(o, e)]
        place, tf = _place(nacl, e)
        yield Finding(
            "nacl-shadowed-entry", "low", nacl.id, place,
            f"{nacl.id} entry {e.text()} decides no packet: "
            + ("entry " if len(deciders) == 1 else "entries ")
            + ", ".join(str(o.number) for o in deciders) + " decide every packet it matches",
            tuple(_ev(o) for o in deciders), tf)


def _removable(entries: list[NaclEntry], k: int, decided: boxes.Region) -> bool:
    """Whether the NACL decides every packet alike without entry k: each packet k decides goes to the next
    entry that matches it (or the final deny) and must be decided the same way there."""
    allow = entries[k].allow
    left = decided
    for o in entries[k + 1:]:
        if not left:
            return True
        if o.allow != allow and boxes.touches(left, _box(o)):
            return False
        left = boxes.minus(left, _box(o))
    return not left or not allow


def redundant(net: Network, solver: bool = False) -> Iterator[Finding]:
    for nacl, fam, entries, k, decided in _entries_by_decision(net, solver):
        if decided is None:
            continue  # shadowed entries are the other rule's finding
        e = entries[k]
        if solver:
            pk = _Packets(fam)
            s = pk.solver()
            s.add(pk.decision(entries) != pk.decision(entries[:k] + entries[k + 1:]))
            if _check(s, f"whether removing {nacl.id} entry {e.number} changes a decision"):
                continue
        elif not _removable(entries, k, decided):
            continue
        later = [o for o in entries[k + 1:] if _overlaps(o, e)]
        place, tf = _place(nacl, e)
        verb = "allowed" if e.allow else "denied"
        yield Finding(
            "nacl-redundant-entry", "low", nacl.id, place,
            f"{nacl.id} entry {e.text()} can be removed: every packet it decides is {verb} the "
            "same way without it",
            ({"proof": "no packet is decided differently without this entry"},
             *(_ev(o) for o in later)), tf)


# ---- broken return paths -------------------------------------------------------------------------
def _reply_reps(nacl: Nacl, lo: int, hi: int) -> list[int]:
    cuts = {lo}
    for e in (*nacl.ingress, *nacl.egress):
        if e.match.proto in (ANY_PROTO, TCP, UDP):
            for b in (e.match.lo, e.match.hi + 1):
                if lo < b <= hi:
                    cuts.add(b)
    return sorted(cuts)


def broken_return(net: Network, ephemeral: tuple[int, int], solver: bool = False) -> Iterator[Finding]:
    """Requests an allow entry decides whose replies the other direction denies for every client port."""
    lo_e, hi_e = ephemeral
    for nacl in sorted(net.nacls.values(), key=lambda n: n.id):
        reps = _reply_reps(nacl, lo_e, hi_e)
        for egress in (False, True):
            for fam in (4, 6):
                entries = _entries(nacl, egress, fam)
                back = _entries(nacl, not egress, fam)
                find: _Finder = (_SolverFinder(nacl, fam, entries, back, reps, ephemeral) if solver
                                 else _BoxFinder(fam, back, ephemeral))
                for k, e in enumerate(entries):
                    if not e.allow or e.number in STAR:
                        continue
                    decided = boxes.minus_all(_region(e), (_box(o) for o in entries[:k]))
                    for name, proto in _families(e, fam):
                        got = find.request(k, decided, proto)
                        if got is not None:
                            yield _broken_finding(nacl, e, egress, fam, name, got, reps, ephemeral)


class _Finder:
    def request(self, k: int, decided: boxes.Region, proto: int | None) -> tuple[int, int, int] | None:
        """A request of the protocol family (None: every other protocol) that entry k decides and whose
        replies are denied (as contract 7 counts them), or None when there is none."""
        raise NotImplementedError


class _BoxFinder(_Finder):
    """Exact by box arithmetic: the other direction's allowed packets, projected to the remote address."""

    def __init__(self, fam: int, back: list[NaclEntry], ephemeral: tuple[int, int]):
        self.fam, self.ephemeral = fam, ephemeral
        self.allowed: boxes.Region = []  # the packets the other direction allows
        for j, o in enumerate(back):
            if o.allow:
                self.allowed += boxes.minus_all(_region(o), (_box(b) for b in back[:j]))

    def _allowing(self, proto: int, xlo: int, xhi: int) -> list[tuple[int, int]]:
        """Remote addresses for which the other direction allows some packet of proto with a value in
        [xlo, xhi]."""
        t = family_max(self.fam)
        return boxes.addresses(boxes.intersect_all(self.allowed, [(0, t, proto, proto, xlo, xhi)]))

    def request(self, k: int, decided: boxes.Region, proto: int | None) -> tuple[int, int, int] | None:
        t = family_max(self.fam)
        want: list[boxes.Box] = []
        if proto in (TCP, UDP):
            lo, hi = self.ephemeral
            denied = boxes.complement(self._allowing(proto, lo, hi), self.fam)  # no client port returns
            # a packet to a client port of a remote the other direction admits some packet from may be a
            # reply itself: only the rest are requests whose replies are denied
            no_reply = boxes.complement(self._allowing(proto, 0, SERVICE_MAX), self.fam)
            for a, b in denied:
                if lo > 0:
                    want.append((a, b, proto, proto, 0, lo - 1))
                if hi < SERVICE_MAX:
                    want.append((a, b, proto, proto, hi + 1, SERVICE_MAX))
            for a, b in _meet_intervals(denied, no_reply):
                want.append((a, b, proto, proto, lo, hi))
        elif proto in (ICMP, ICMPV6):
            for req, rep in ECHO[proto].items():
                for a, b in boxes.complement(self._allowing(proto, rep * 256, rep * 256), self.fam):
                    want.append((a, b, proto, proto, req * 256, req * 256 + 255))
        else:
            others = [(0, t, plo, phi, 0, 0) for plo, phi in ((0, 0), (2, 5), (7, 16), (18, 57), (59, 255))]
            left = boxes.minus_all(boxes.intersect_all(decided, others), self.allowed)
            return boxes.point(left) if left else None
        found = boxes.intersect_all(decided, want)
        return boxes.point(found) if found else None


def _meet_intervals(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(max(a, c), min(b, d)) for a, b in xs for c, d in ys if max(a, c) <= min(b, d)]


class _SolverFinder(_Finder):
    """The same question asked of z3 (the reference the box arithmetic is tested against)."""

    def __init__(self, nacl: Nacl, fam: int, entries: list[NaclEntry], back: list[NaclEntry], reps: list[int],
                 ephemeral: tuple[int, int]):
        self.nacl, self.entries, self.back, self.ephemeral = nacl, entries, back, ephemeral
        pk = self.pk = _Packets(fam)
        a, p = pk.a, pk.p
        # built once per direction: replies denied for every client port; a packet that may be a reply
        self.replies_denied = z3.And([z3.Not(pk.decision(back, a, p, z3.IntVal(r, pk.z))) for r in reps])
        self.may_reply = z3.Or([pk.decision(back, a, p, z3.IntVal(y, pk.z)) for y in _reply_reps(nacl, 0, 65535)])

    def request(self, k: int, decided: boxes.Region, proto: int | None) -> tuple[int, int, int] | None:
        pk, back, ephemeral = self.pk, self.back, self.ephemeral
        a, p, x = pk.a, pk.p, pk.x
        s = pk.solver()
        s.add(pk.matches(self.entries[k]), *[z3.Not(pk.matches(o)) for o in self.entries[:k]])
        if proto in (TCP, UDP):
            s.add(p == proto, self.replies_denied)
            s.add(z3.Not(z3.And(x >= ephemeral[0], x <= ephemeral[1], self.may_reply)))
        elif proto in (ICMP, ICMPV6):
            table = ECHO[proto]
            s.add(p == proto)
            s.add(z3.Or([z3.And(x >= t * 256, x <= t * 256 + 255,
                                z3.Not(pk.decision(back, a, p, z3.IntVal(r * 256, pk.z)))) for t, r in table.items()]))
        else:
            s.add(p != TCP, p != UDP, p != ICMP, p != ICMPV6)
            s.add(z3.Not(pk.decision(back, a, p, z3.IntVal(0, pk.z))))
        if not _check(s, f"whether replies to {self.nacl.id} entry {self.entries[k].number} return"):
            return None
        m = s.model()
        ra, rp, rx = (m.eval(v, model_completion=True).as_long() for v in (a, p, x))
        return ra, rp, rx


def _families(e: NaclEntry, fam: int) -> list[tuple[str, int | None]]:
    """(name, protocol; None for every other protocol) of the protocol families an entry can match."""
    icmp = ICMP if fam == 4 else ICMPV6
    out: list[tuple[str, int | None]] = []
    for name, proto in (("tcp", TCP), ("udp", UDP), ("icmp" if fam == 4 else "icmpv6", icmp)):
        if e.match.proto in (ANY_PROTO, proto):
            out.append((name, proto))
    if e.match.proto not in (TCP, UDP, ICMP, ICMPV6):
        out.append(("other", None))
    return out


def _broken_finding(nacl: Nacl, e: NaclEntry, egress: bool, fam: int, name: str, witness: tuple[int, int, int],
                    reps: list[int], ephemeral: tuple[int, int]) -> Finding:
    """The finding of one request (replayed with the plain evaluator) whose replies are denied."""
    ra, rp, rx = witness
    remote = Endpoint(None, fam, ra)
    if nacl_decision(nacl, egress, remote, rp, rx) is not e:
        raise InternalError(f"lint: {nacl.id} entry {e.number}: the witness is not decided by the entry")
    if rp in PORTED:
        reply_values = reps
    elif rp in ECHO:
        reply_values = [ECHO[rp][rx // 256] * 256]
    else:
        reply_values = [0]
    deciders: dict[int | None, NaclEntry | None] = {}
    for r in reply_values:
        d = nacl_decision(nacl, not egress, remote, rp, r)
        if d is not None and d.allow:
            raise InternalError(f"lint: {nacl.id}: the reply on {r} is admitted by entry {d.number}")
        deciders[d.number if d else None] = d
    direction = "outbound" if egress else "inbound"
    back_dir = "inbound" if egress else "outbound"
    who = format_address(fam, ra)
    if rp in PORTED:
        what = (f"{name} requests {direction} to port {rx} ({'to' if egress else 'from'} {who}) are allowed by "
                f"entry {e.number}, but their replies {back_dir} to every client port "
                f"{ephemeral[0]}-{ephemeral[1]} are denied")
    elif rp in ECHO:
        t = rx // 256
        what = (f"{name} echo requests (type {t}) {direction} ({'to' if egress else 'from'} {who}) are allowed by "
                f"entry {e.number}, but their echo replies (type {ECHO[rp][t]}) {back_dir} are denied")
    else:
        what = (f"protocol {rp} {direction} ({'to' if egress else 'from'} {who}) is allowed by entry {e.number}, "
                f"but the same protocol {back_dir} is denied")
    place, tf = _place(nacl, e)
    evidence: list[dict[str, Any]] = [{"request": _ev(e), "witness": {"remote": who, "protocol": rp,
                                                "port" if rp in PORTED else "value": rx}}]
    for _num, d in sorted(deciders.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        evidence.append({"reply": _ev(d) if d else {"entry": None, "text": "no entry matches (final * deny)"}})
    evidence.append({"remote_block": format_interval(fam, e.lo, e.hi)})
    return Finding("nacl-broken-return", "high", nacl.id, place, f"{nacl.id}: {what}", tuple(evidence), tf)
