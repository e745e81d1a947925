"""Exact packet-set arithmetic for lint: a set of packets of one address family is a union of disjoint
boxes (remote address interval × protocol interval × service-value interval).

Every rule lint reads (NACL entries, SG rules) matches a box, so shadowing, covering and the decisions of
a NACL are unions, intersections and differences of boxes: exact, like the solver's answer, and without
a solver. The packet space is the solver's: protocols 0-255, service values 0-65535, and a protocol other
than tcp, udp, icmp and icmpv6 has service value 0 only.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import ANY_PROTO, ICMP, ICMPV6, SERVICE_MAX, TCP, UDP, Match, addr

Box = tuple[int, int, int, int, int, int]  # address lo, hi; protocol lo, hi; service value lo, hi
Region = list[Box]  # disjoint boxes

_VALUED = sorted((TCP, UDP, ICMP, ICMPV6))


def _proto_pieces() -> list[tuple[int, int, int]]:
    """(protocol lo, hi, highest service value) covering 0-255."""
    out, p = [], 0
    for v in _VALUED:
        if p < v:
            out.append((p, v - 1, 0))
        out.append((v, v, SERVICE_MAX))
        p = v + 1
    out.append((p, 255, 0))
    return out


_PIECES = _proto_pieces()


def space(family: int) -> Region:
    """Every packet of a family."""
    t = addr.family_max(family)
    return [(0, t, plo, phi, 0, xhi) for plo, phi, xhi in _PIECES]


def match_box(m: Match, lo: int, hi: int) -> Box:
    """The (unrestricted) box of a match and an address interval."""
    plo, phi = (0, 255) if m.proto == ANY_PROTO else (m.proto, m.proto)
    return lo, hi, plo, phi, m.lo, m.hi


def region_of(m: Match, lo: int, hi: int, family: int) -> Region:
    """The packets of a family that a match and an address interval take."""
    return intersect_all(space(family), [match_box(m, lo, hi)])


def meet(b: Box, c: Box) -> Box | None:
    lo0, hi0 = max(b[0], c[0]), min(b[1], c[1])
    lo1, hi1 = max(b[2], c[2]), min(b[3], c[3])
    lo2, hi2 = max(b[4], c[4]), min(b[5], c[5])
    if lo0 > hi0 or lo1 > hi1 or lo2 > hi2:
        return None
    return lo0, hi0, lo1, hi1, lo2, hi2


def _cut(b: Box, c: Box) -> Region:
    """b minus c, as disjoint boxes."""
    if meet(b, c) is None:
        return [b]
    out: Region = []
    cur = list(b)
    for d in range(3):
        lo, hi = 2 * d, 2 * d + 1
        if cur[lo] < c[lo]:
            piece = list(cur)
            piece[hi] = c[lo] - 1
            out.append(tuple(piece))  # type: ignore[arg-type]
            cur[lo] = c[lo]
        if cur[hi] > c[hi]:
            piece = list(cur)
            piece[lo] = c[hi] + 1
            out.append(tuple(piece))  # type: ignore[arg-type]
            cur[hi] = c[hi]
    return out


def minus(r: Region, c: Box) -> Region:
    out: Region = []
    for b in r:
        out.extend(_cut(b, c))
    return out


def minus_all(r: Region, cs: Iterable[Box]) -> Region:
    for c in cs:
        if not r:
            break
        r = minus(r, c)
    return r


def intersect_all(r: Region, cs: Iterable[Box]) -> Region:
    """r ∩ (union of cs); the cs may overlap one another."""
    out: Region = []
    for c in cs:
        part = [m for b in r if (m := meet(b, c)) is not None]
        out.extend(minus_all(part, out))
    return out


def touches(r: Region, c: Box) -> bool:
    return any(meet(b, c) is not None for b in r)


def addresses(r: Region) -> list[tuple[int, int]]:
    """The address intervals some packet of r has (merged, sorted)."""
    out: list[tuple[int, int]] = []
    for lo, hi, *_ in sorted(r):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def complement(ivs: list[tuple[int, int]], family: int) -> list[tuple[int, int]]:
    """The addresses of the family outside the normalized intervals."""
    return list(addr.complement(tuple(ivs), addr.family_max(family)))


def point(r: Region) -> tuple[int, int, int]:
    """One packet of a non-empty region, the same every run: the lowest address, protocol and value; port 0
    is no port a person can try, so a tcp or udp box that starts at 0 gives a well-known port (443 tcp, 53
    udp) or port 1 when it holds one."""
    b = min(r)
    x = b[4]
    if x == 0 and b[2] in (TCP, UDP):
        known = 443 if b[2] == TCP else 53
        x = known if known <= b[5] else min(1, b[5])
    return b[0], b[2], x
