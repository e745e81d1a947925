"""NACL rules: shadowed entries, redundant entries, broken return paths. Each answer is a z3 proof over
every packet (remote address, protocol, port or ICMP type/code), replayed through the plain evaluator."""

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
from ..model.addr import format_address, format_interval
from ..semantics.evaluate import Endpoint, nacl_decision
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


def _entries_by_decision(net: Network) -> Iterator[tuple[Nacl, _Packets, list[NaclEntry], int, bool]]:
    """Every entry but the final `*` ones, per NACL, direction and family: (nacl, packets of the family,
    the direction's entries, the entry's index, whether it decides some packet)."""
    for nacl in sorted(net.nacls.values(), key=lambda n: n.id):
        for egress in (False, True):
            for fam in (4, 6):
                entries = _entries(nacl, egress, fam)
                pk = _Packets(fam)
                for k, e in enumerate(entries):
                    if e.number in STAR:
                        continue
                    s = pk.solver()
                    s.add(pk.matches(e), *[z3.Not(pk.matches(o)) for o in entries[:k]])
                    yield nacl, pk, entries, k, _check(s, f"whether {nacl.id} entry {e.number} decides a packet")


def shadowed(net: Network) -> Iterator[Finding]:
    for nacl, pk, entries, k, decides in _entries_by_decision(net):
        if decides:
            continue
        e = entries[k]
        deciders = [o for o in entries[:k] if _overlaps(pk, o, e)]
        place, tf = _place(nacl, e)
        yield Finding(
            "nacl-shadowed-entry", "low", nacl.id, place,
            f"{nacl.id} entry {e.text()} decides no packet: "
            + ("entry " if len(deciders) == 1 else "entries ")
            + ", ".join(str(o.number) for o in deciders) + " decide every packet it matches",
            tuple(_ev(o) for o in deciders), tf)


def _overlaps(pk: _Packets, a: NaclEntry, b: NaclEntry) -> bool:
    s = pk.solver()
    s.add(pk.matches(a), pk.matches(b))
    return _check(s, "an overlap")


def redundant(net: Network) -> Iterator[Finding]:
    for nacl, pk, entries, k, decides in _entries_by_decision(net):
        if not decides:
            continue  # shadowed entries are the other rule's finding
        e = entries[k]
        s = pk.solver()
        s.add(pk.decision(entries) != pk.decision(entries[:k] + entries[k + 1:]))
        if _check(s, f"whether removing {nacl.id} entry {e.number} changes a decision"):
            continue
        later = [o for o in entries[k + 1:] if _overlaps(pk, o, e)]
        place, tf = _place(nacl, e)
        verb = "allowed" if e.allow else "denied"
        yield Finding(
            "nacl-redundant-entry", "low", nacl.id, place,
            f"{nacl.id} entry {e.text()} can be removed: every packet it decides is {verb} the "
            "same way without it",
            ({"proof": "unsat: no packet is decided differently without this entry"},
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


def broken_return(net: Network, ephemeral: tuple[int, int]) -> Iterator[Finding]:
    """Requests an allow entry decides whose replies the other direction denies for every client port."""
    lo_e, hi_e = ephemeral
    for nacl in sorted(net.nacls.values(), key=lambda n: n.id):
        reps = _reply_reps(nacl, lo_e, hi_e)
        for egress in (False, True):
            for fam in (4, 6):
                entries = _entries(nacl, egress, fam)
                back = _entries(nacl, not egress, fam)
                pk = _Packets(fam)
                a, p = pk.a, pk.p
                # built once per direction: replies denied for every client port; a packet that may be a reply
                replies_denied = z3.And([z3.Not(pk.decision(back, a, p, z3.IntVal(r, pk.z))) for r in reps])
                may_reply = z3.Or([pk.decision(back, a, p, z3.IntVal(y, pk.z)) for y in _reply_reps(nacl, 0, 65535)])
                for k, e in enumerate(entries):
                    if not e.allow or e.number in STAR:
                        continue
                    decided = z3.And(pk.matches(e), *[z3.Not(pk.matches(o)) for o in entries[:k]])
                    yield from _broken_for(net, nacl, e, egress, fam, pk, decided, back, reps, ephemeral,
                                           replies_denied, may_reply)


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


def _broken_for(net: Network, nacl: Nacl, e: NaclEntry, egress: bool, fam: int, pk: _Packets, decided: Any,
                back: list[NaclEntry], reps: list[int], ephemeral: tuple[int, int], replies_denied: Any,
                may_reply: Any) -> Iterator[Finding]:
    a, p, x = pk.a, pk.p, pk.x
    for name, proto in _families(e, fam):
        s = pk.solver()
        s.add(decided)
        if proto in (TCP, UDP):
            s.add(p == proto, replies_denied)
            # a packet to a client port of a remote that the other direction admits requests from may be a
            # reply to such a request: only what cannot be a reply is a request whose reply is denied
            s.add(z3.Not(z3.And(x >= ephemeral[0], x <= ephemeral[1], may_reply)))
        elif proto in (ICMP, ICMPV6):
            table = ECHO[proto]
            s.add(p == proto)
            s.add(z3.Or([z3.And(x >= t * 256, x <= t * 256 + 255,
                                z3.Not(pk.decision(back, a, p, z3.IntVal(r * 256, pk.z)))) for t, r in table.items()]))
        else:
            s.add(p != TCP, p != UDP, p != ICMP, p != ICMPV6)
            s.add(z3.Not(pk.decision(back, a, p, z3.IntVal(0, pk.z))))
        if not _check(s, f"whether replies to {nacl.id} entry {e.number} return"):
            continue
        m = s.model()
        ra, rp, rx = (m.eval(v, model_completion=True).as_long() for v in (a, p, x))
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
        yield Finding("nacl-broken-return", "high", nacl.id, place, f"{nacl.id}: {what}", tuple(evidence), tf)
