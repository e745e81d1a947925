"""Service sets: which (protocol, service value) pairs an invariant talks about.

The service value is the destination port for tcp/udp, type*256+code for icmp/icmpv6, and 0 for
every other protocol (which has no ports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import ICMP, ICMPS, ICMPV6, PORTED, SERVICE_MAX, TCP, UDP
from ..model.addr import Interval, complement, intersect, normalize

NAMES = {"tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6}


def full_range(proto: int) -> tuple[Interval, ...]:
    """Every service value a protocol can carry."""
    return ((0, SERVICE_MAX),) if proto in PORTED or proto in ICMPS else ((0, 0),)


@dataclass(frozen=True, slots=True)
class ServiceSet:
    """A set of (protocol, service value) pairs, kept per protocol as normalized intervals."""

    by_proto: tuple[tuple[int, tuple[Interval, ...]], ...]

    @staticmethod
    def of(parts: dict[int, list[Interval]]) -> ServiceSet:
        items = []
        for proto in sorted(parts):
            ivs = intersect(normalize(parts[proto]), full_range(proto))
            if ivs:
                items.append((proto, ivs))
        return ServiceSet(tuple(items))

    @staticmethod
    def everything() -> ServiceSet:
        """Every service of every protocol: one object, so that the engine's caches keyed by a service
        set's identity (the rules of a group that meet it) serve every query over all traffic."""
        return _EVERYTHING

    def minus(self, other: ServiceSet) -> ServiceSet:
        theirs = dict(other.by_proto)
        out: dict[int, list[Interval]] = {}
        for proto, ivs in self.by_proto:
            if proto in theirs:
                ivs = intersect(ivs, complement(theirs[proto], SERVICE_MAX))
            out[proto] = list(ivs)
        return ServiceSet.of(out)

    def union(self, other: ServiceSet) -> ServiceSet:
        out: dict[int, list[Interval]] = {p: list(ivs) for p, ivs in self.by_proto}
        for p, ivs in other.by_proto:
            out.setdefault(p, []).extend(ivs)
        return ServiceSet.of(out)

    def contains(self, proto: int, value: int) -> bool:
        for p, ivs in self.by_proto:
            if p == proto:
                return any(lo <= value <= hi for lo, hi in ivs)
        return False

    def boxes(self) -> list[tuple[int, int, tuple[Interval, ...]]]:
        """Runs of consecutive protocols with equal intervals: (first proto, last proto, intervals)."""
        out: list[tuple[int, int, tuple[Interval, ...]]] = []
        for p, ivs in self.by_proto:
            if out and out[-1][1] == p - 1 and out[-1][2] == ivs:
                out[-1] = (out[-1][0], p, ivs)
            else:
                out.append((p, p, ivs))
        return out

    def is_empty(self) -> bool:
        return not self.by_proto


_NUMBER = re.compile(r"(0|[1-9][0-9]{0,5})\Z")


def ascii_int(text: str) -> int | None:
    """A number written in ASCII digits without leading zeros (010 could be read as octal), else None.

    >>> ascii_int("3306"), ascii_int("٣٣٠٦"), ascii_int("²"), ascii_int("080"), ascii_int("")
    (3306, None, None, None, None)
    """
    return int(text) if _NUMBER.match(text) else None


def _port_pair(text: str) -> tuple[int, int] | None:
    lo_s, dash, hi_s = text.partition("-")
    lo = ascii_int(lo_s)
    hi = ascii_int(hi_s) if dash else lo
    if lo is None or hi is None or not 0 <= lo <= hi <= SERVICE_MAX:
        return None
    return lo, hi


def parse_service(text: str) -> ServiceSet:
    """Parse one port form of contract section 3; ValueError with the expectation when malformed.

    >>> parse_service("tcp/3306").by_proto
    ((6, ((3306, 3306),)),)
    >>> parse_service("icmp/8").by_proto
    ((1, ((2048, 2303),)),)
    """
    t = text.strip().lower()
    if t in ("all", "-1"):
        return ServiceSet.everything()
    parts = t.split("/")
    head = parts[0]
    if head == "proto":
        p_num = ascii_int(parts[1]) if len(parts) == 2 else None
        if p_num is None or p_num > 255:
            raise ValueError("proto/NUMBER with a number 0-255 (ASCII digits, no leading zeros)")
        p = p_num
        return ServiceSet.of({p: list(full_range(p))})
    if head not in NAMES:
        raise ValueError("tcp/PORT[-PORT], udp/PORT[-PORT], icmp[/TYPE[/CODE]], icmpv6[...], proto/N or all")
    proto = NAMES[head]
    if proto in PORTED:
        if len(parts) == 1:
            return ServiceSet.of({proto: [(0, SERVICE_MAX)]})
        if len(parts) != 2:
            raise ValueError(f"{head}/PORT or {head}/FROM-TO")
        pair = _port_pair(parts[1])
        if pair is None:
            raise ValueError(f"{head}/PORT or {head}/FROM-TO with ports 0-65535, FROM <= TO "
                             "(ASCII digits, no leading zeros)")
        return ServiceSet.of({proto: [pair]})
    if len(parts) == 1:
        return ServiceSet.of({proto: [(0, SERVICE_MAX)]})
    nums = [ascii_int(x) for x in parts[1:]]
    if len(parts) > 3 or any(n is None or n > 255 for n in nums):
        raise ValueError(f"{head}, {head}/TYPE or {head}/TYPE/CODE with numbers 0-255 "
                         "(ASCII digits, no leading zeros)")
    icmp_type = nums[0] or 0
    if len(parts) == 2:
        return ServiceSet.of({proto: [(icmp_type * 256, icmp_type * 256 + 255)]})
    code = nums[1] or 0
    return ServiceSet.of({proto: [(icmp_type * 256 + code, icmp_type * 256 + code)]})


def describe(services: ServiceSet) -> str:
    """Human-readable summary of a service set.

    >>> describe(ServiceSet.everything().minus(parse_service("tcp/80").union(parse_service("tcp/443"))))
    'all traffic except tcp/80, tcp/443'
    """
    everything = ServiceSet.everything()
    if services == everything:
        return "all traffic"
    missing = everything.minus(services)
    if len(services.by_proto) > 6 and len(missing.by_proto) <= 3:
        return f"all traffic except {_words(missing)}"
    return _words(services)


def _words(services: ServiceSet) -> str:
    words = []
    for proto, ivs in services.by_proto:
        from ..model import proto_name

        name = proto_name(proto)
        if ivs == full_range(proto):
            words.append(name if proto in PORTED or proto in ICMPS else f"proto {proto}")
        elif proto in PORTED:
            words.append(", ".join(f"{name}/{lo}" if lo == hi else f"{name}/{lo}-{hi}" for lo, hi in ivs))
        else:
            words.append(", ".join(
                f"{name} type {lo // 256}" + ("" if hi - lo == 255 else f" code {lo % 256}") for lo, hi in ivs
            ))
    if len(words) > 6:
        return ", ".join(words[:6]) + f" and {len(words) - 6} more protocols"
    return ", ".join(words)


_EVERYTHING = ServiceSet.of({p: list(full_range(p)) for p in range(256)})
