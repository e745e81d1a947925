"""Addresses as (family, integer) and CIDR blocks as closed integer intervals; fast parsing at the boundary."""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1


def family_max(family: int) -> int:
    return V4_MAX if family == 4 else V6_MAX


def _decimal(text: str, limit: int) -> int:
    """A plain ASCII decimal 0..limit without leading zeros; ValueError otherwise."""
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0") or len(text) > 3:
        raise ValueError(text)
    value = int(text)
    if value > limit:
        raise ValueError(text)
    return value


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")  # ASCII digits only, no leading zeros


def parse_ipv4(text: str) -> int:
    """Parse dotted-quad IPv4 text to an int; ValueError when it is not one (no leading zeros).

    >>> parse_ipv4("10.0.1.10")
    167772426
    >>> parse_ipv4("010.0.1.10")
    Traceback (most recent call last):
    ValueError: 010.0.1.10
    """
    m = _IPV4.fullmatch(text)
    if m is None:
        raise ValueError(text)
    a, b, c, d = m.groups()
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def parse_ipv6(text: str) -> int:
    """Parse IPv6 text (ASCII, no zone index) to an int; ValueError when it is not one."""
    if not text.isascii() or "%" in text or not text:
        raise ValueError(text)
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        raise ValueError(text) from None


def parse_address(text: str) -> tuple[int, int]:
    """Parse an IPv4 or IPv6 address to (family, int)."""
    if ":" not in text:
        return 4, parse_ipv4(text)
    return 6, parse_ipv6(text)


def parse_cidr(text: str) -> tuple[int, int, int]:
    """Parse a CIDR block (host bits must be zero, as AWS stores them) to (family, lo, hi).

    The ValueError says what is wrong: `host bits set in ...` for a block that is not a network.

    >>> parse_cidr("10.0.0.0/8")
    (4, 167772160, 184549375)
    >>> parse_cidr("2.2.2.2/28")
    Traceback (most recent call last):
    ValueError: host bits set in 2.2.2.2/28 (the network is 2.2.2.0/28)
    """
    if not isinstance(text, str) or "/" not in text:
        raise ValueError(text)
    addr, _, plen_text = text.partition("/")
    family, value = parse_address(addr)
    bits = 32 if family == 4 else 128
    try:
        plen = _decimal(plen_text, bits)
    except ValueError:
        raise ValueError(text) from None
    host = (1 << (bits - plen)) - 1
    if value & host:
        # AWS normalises blocks; a block with host bits set is not something it returns.
        raise ValueError(f"host bits set in {text} (the network is {format_address(family, value & ~host)}/{plen})")
    return family, value, value | host


def format_address(family: int, value: int) -> str:
    if family == 4:
        return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


def format_interval(family: int, lo: int, hi: int) -> str:
    """Shortest readable form of an address interval: one address, a CIDR, or lo-hi."""
    if lo == hi:
        return format_address(family, lo)
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0:
        bits = 32 if family == 4 else 128
        return f"{format_address(family, lo)}/{bits - size.bit_length() + 1}"
    return f"{format_address(family, lo)}-{format_address(family, hi)}"


Interval = tuple[int, int]


def normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort and merge closed intervals (adjacent ones merge too).

    >>> normalize([(5, 9), (1, 3), (4, 4), (20, 30)])
    ((1, 9), (20, 30))
    """
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def complement(intervals: tuple[Interval, ...], top: int) -> tuple[Interval, ...]:
    """Complement of normalized intervals within [0, top]."""
    out: list[Interval] = []
    nxt = 0
    for lo, hi in intervals:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= top:
        out.append((nxt, top))
    return tuple(out)


def intersect(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """Intersection of two normalized interval tuples."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def contains(intervals: tuple[Interval, ...], value: int) -> bool:
    """Whether a normalized interval tuple contains value."""
    idx = bisect_right(intervals, (value, 1 << 130)) - 1
    return idx >= 0 and intervals[idx][0] <= value <= intervals[idx][1]


class IntervalSet:
    """Disjoint closed intervals (normalized on construction) with O(log n) overlap and membership tests.

    >>> s = IntervalSet([(10, 20), (1, 3), (21, 25), (40, 40)])
    >>> s.runs
    ((1, 3), (10, 25), (40, 40))
    >>> s.meets(4, 9), s.meets(4, 10), s.meets(26, 39), s.meets(26, 40), s.meets(41, 99)
    (False, True, False, True, False)
    >>> s.meets_any([(4, 9), (30, 45)]), s.meets_any([(4, 9)]), s.meets_any([])
    (True, False, False)
    """

    __slots__ = ("_his", "runs")

    def __init__(self, intervals: Iterable[Interval]):
        self.runs = normalize(intervals)
        self._his = [hi for _, hi in self.runs]

    def __bool__(self) -> bool:
        return bool(self.runs)

    def meets(self, lo: int, hi: int) -> bool:
        """Whether [lo, hi] shares a point with the set."""
        k = bisect_left(self._his, lo)  # the first interval that ends at or after lo
        return k < len(self.runs) and self.runs[k][0] <= hi

    def meets_any(self, intervals: Iterable[Interval]) -> bool:
        return any(self.meets(lo, hi) for lo, hi in intervals)


def is_global(family: int, value: int) -> bool:
    """Whether an address is globally routable (no loopback, private, link-local, documentation, ...).

    >>> is_global(4, parse_ipv4("8.8.8.8")), is_global(4, parse_ipv4("10.0.0.1"))
    (True, False)
    """
    addr = ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value)
    return bool(addr.is_global) and not addr.is_multicast
