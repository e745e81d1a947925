"""Brute-force reference for `diff`: every representative connection evaluated in both networks.

Independent of sgproof.encode. Representatives are taken at every boundary either network draws (as in
oracle.py), so that each region on which both networks are constant holds one of them. A connection is
(source, destination, family, protocol, service value); it exists in a network when some address pair
of that family and some client port get through there (contract sections 4 and 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

from sgproof.model import PORTED, Network
from sgproof.semantics import Endpoint, Flow, evaluate
from sgproof.spec import Invariant, Spec

from . import oracle

Key = object  # an ENI id (str) or ("ext", family, address)


@dataclass(frozen=True)
class Point:
    src: Key
    dst: Key
    family: int
    proto: int
    value: int


def _cuts(old: Network, new: Network, spec: Spec) -> dict[int, set[int]]:
    a, b = oracle._cidr_cuts(old, spec), oracle._cidr_cuts(new, spec)
    return {f: a[f] | b[f] for f in (4, 6)}


def _points_in(lo: int, hi: int, cuts: set[int]) -> list[int]:
    return sorted({lo, hi} | {c for c in cuts if lo <= c <= hi})


def _addresses(net: Network, cuts: dict[int, set[int]]) -> dict[str, list[tuple[int, int, bool]]]:
    out: dict[str, list[tuple[int, int, bool]]] = {}
    for e in net.enis:
        addrs = [(f, a, False) for f, lo, hi in e.private for a in _points_in(lo, hi, cuts[f])]
        out[e.id] = addrs + [(4, p, True) for p in e.public]
    return out


def _external(net: Network, family: int, address: int) -> bool:
    return any(lo <= address <= hi for lo, hi in net.external.get(family, ()))


class DiffOracle:
    """The changed connections between two networks, by enumeration."""

    def __init__(self, old: Network, new: Network, spec: Spec, inv: Invariant):
        self.nets = (old, new)
        self.spec = spec
        cuts = _cuts(old, new, spec)
        self.addrs = (_addresses(old, cuts), _addresses(new, cuts))
        self.index = ({e.id: i for i, e in enumerate(old.enis)}, {e.id: i for i, e in enumerate(new.enis)})
        ext: set[tuple[str, int, int]] = set()
        for net in self.nets:
            for f in (4, 6):
                for lo, hi in net.external.get(f, ()):
                    ext.update(("ext", f, a) for a in _points_in(lo, hi, cuts[f]))
        self.keys: list[Key] = sorted(set(self.addrs[0]) | set(self.addrs[1])) + sorted(ext)
        self.services = sorted(set(oracle.services(old, inv, spec.ephemeral)) | set(oracle.services(new, inv, spec.ephemeral)))
        self.sports = sorted(set(oracle.sports(old, spec.ephemeral)) | set(oracle.sports(new, spec.ephemeral)))

    def _ends(self, k: int, key: Key, family: int, public_ok: bool) -> list[Endpoint]:
        net = self.nets[k]
        if isinstance(key, tuple):
            _, f, a = key
            return [Endpoint(None, f, a)] if f == family and _external(net, f, a) else []
        i = self.index[k].get(key)  # type: ignore[call-overload]
        if i is None:
            return []
        return [Endpoint(i, f, a) for f, a, pub in self.addrs[k][key]  # type: ignore[index]
                if f == family and (public_ok or not pub)]

    def connects(self, k: int, s: Key, d: Key, family: int, proto: int, value: int) -> bool:
        net = self.nets[k]
        for se, de in product(self._ends(k, s, family, False), self._ends(k, d, family, isinstance(s, tuple))):
            for sp in self.sports if proto in PORTED else [0]:
                if evaluate(net, Flow(se, de, proto, value, sp)).allowed:
                    return True
        return False

    def points(self, selected: tuple[set[Key], set[Key]] | None = None) -> Iterator[Point]:
        for s, d in product(self.keys, self.keys):
            if s == d or (isinstance(s, tuple) and isinstance(d, tuple)):
                continue
            if selected is not None and (s not in selected[0] or d not in selected[1]):
                continue
            for family in (4, 6):
                for proto, value in self.services:
                    yield Point(s, d, family, proto, value)

    def change(self, pt: Point) -> str | None:
        """"added", "removed" or None for one representative connection."""
        old = self.connects(0, pt.src, pt.dst, pt.family, pt.proto, pt.value)
        new = self.connects(1, pt.src, pt.dst, pt.family, pt.proto, pt.value)
        if old == new:
            return None
        return "added" if new else "removed"
