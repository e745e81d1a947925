"""Selector evaluation: a selector denotes a set of endpoints (ENIs and external addresses)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

from ..model import Eni, Network
from ..model.addr import (
    V4_MAX,
    V6_MAX,
    Interval,
    IntervalSet,
    complement,
    format_address,
    intersect,
    normalize,
    parse_cidr,
)
from .parse import Selector, Spec

TOP = {4: V4_MAX, 6: V6_MAX}


@dataclass(frozen=True, slots=True)
class EndpointSet:
    """ENIs (by index into Network.enis) and external addresses (per family, normalized intervals)."""

    enis: frozenset[int]
    ext: tuple[tuple[Interval, ...], tuple[Interval, ...]]  # (IPv4, IPv6)

    def ext_of(self, family: int) -> tuple[Interval, ...]:
        return self.ext[0] if family == 4 else self.ext[1]

    def is_empty(self) -> bool:
        return not self.enis and not self.ext[0] and not self.ext[1]


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def matches(pattern: str, *values: str | None) -> bool:
    """Whether some value matches a selector pattern: `*` matches any run of characters and is the
    only wildcard (contract section 3); `?`, `[` and `]` are themselves, as AWS allows them in names.

    >>> matches("app[1]", "app1"), matches("app[1]", "app[1]"), matches("web-?", "web-1")
    (False, True, False)
    >>> matches("aws_instance.web[*]", "aws_instance.web[0]"), matches("*-mysql", "rds-mysql")
    (True, True)
    """
    regex = _pattern(pattern)
    return any(v is not None and regex.fullmatch(v) is not None for v in values)


class Selection:
    """Evaluates selectors against one network, caching each selector by its structure (Selector.norm)."""

    def __init__(self, network: Network, spec: Spec):
        self.net = network
        self.spec = spec
        self.all_enis = frozenset(range(len(network.enis)))
        self.external = (network.external.get(4, ()), network.external.get(6, ()))
        self._cache: dict[Hashable, EndpointSet] = {}
        self._by_group: dict[str, list[int]] = defaultdict(list)
        self._tags: dict[str, dict[str, set[int]]] = {}
        self._complements: dict[int, tuple[EndpointSet, EndpointSet]] = {}
        for i, e in enumerate(network.enis):
            for g in e.groups:
                self._by_group[g].append(i)

    def carriers(self, group: str) -> list[int]:
        """The ENIs (indices, in order) that carry the group."""
        return self._by_group.get(group, [])

    def _tag_index(self, key: str) -> dict[str, set[int]]:
        """Tag value -> ENIs that carry it under this key, on the ENI itself or on its instance."""
        index = self._tags.get(key)
        if index is None:
            index = defaultdict(set)
            for i, e in enumerate(self.net.enis):
                for tags in (e.tags, e.instance_tags):
                    for k, value in tags:
                        if k == key:
                            index[value].add(i)
            self._tags[key] = index
        return index

    def everything(self) -> EndpointSet:
        return EndpointSet(self.all_enis, self.external)

    def evaluate(self, sel: Selector | None) -> EndpointSet:
        if sel is None:
            return self.everything()
        key = sel.norm
        hit = self._cache.get(key)
        if hit is None:
            hit = self._eval(sel)
            self._cache[key] = hit
        return hit

    def evaluate_not(self, inner: EndpointSet) -> EndpointSet:
        """Every endpoint outside a set (ENIs and external addresses); cached per set."""
        hit = self._complements.get(id(inner))
        if hit is not None and hit[0] is inner:
            return hit[1]
        out = EndpointSet(
            self.all_enis - inner.enis,
            (
                intersect(self.external[0], complement(inner.ext[0], V4_MAX)),
                intersect(self.external[1], complement(inner.ext[1], V6_MAX)),
            ),
        )
        self._complements[id(inner)] = (inner, out)
        return out

    def _enis_where(self, pred: Callable[[Eni], bool]) -> frozenset[int]:
        return frozenset(i for i, e in enumerate(self.net.enis) if pred(e))

    def _eval(self, sel: Selector) -> EndpointSet:
        net = self.net
        none: tuple[tuple[Interval, ...], tuple[Interval, ...]] = ((), ())
        k, v = sel.key, sel.value
        if k == "group":
            return self.evaluate(self.spec.groups[v])
        if k == "and" or k == "all_of":
            sets = [self.evaluate(c) for c in sel.children]
            out = sets[0]
            for s in sets[1:]:
                out = EndpointSet(
                    out.enis & s.enis,
                    (intersect(out.ext[0], s.ext[0]), intersect(out.ext[1], s.ext[1])),
                )
            return out
        if k == "any_of":
            sets = [self.evaluate(c) for c in sel.children]
            return EndpointSet(
                frozenset().union(*(s.enis for s in sets)),
                (normalize(iv for s in sets for iv in s.ext[0]), normalize(iv for s in sets for iv in s.ext[1])),
            )
        if k == "not":
            return self.evaluate_not(self.evaluate(sel.children[0]))
        if k == "anywhere":
            return self.everything()
        if k == "internet":
            return EndpointSet(frozenset(), self.external)
        if k == "security_group":
            ids = {g.id for g in net.sgs.values() if any(matches(p, g.id, g.name) for p in v)}
            return EndpointSet(frozenset(i for g in ids for i in self.carriers(g)), none)
        if k == "tag":
            # every pair must hold, each on the ENI or on its instance
            matched: frozenset[int] | None = None
            for key, pattern in v:
                index = self._tag_index(key)
                hits = frozenset(i for value, idx in index.items() if matches(pattern, value) for i in idx)
                matched = hits if matched is None else matched & hits
            return EndpointSet(matched or frozenset(), none)
        if k == "subnet":
            ids = {s.id for s in net.subnets.values() if any(matches(p, s.id, s.name) for p in v)}
            return EndpointSet(self._enis_where(lambda e: e.subnet_id in ids), none)
        if k == "vpc":
            ids = {x.id for x in net.vpcs.values() if any(matches(p, x.id, x.name) for p in v)}
            return EndpointSet(self._enis_where(lambda e: e.vpc_id in ids), none)
        if k == "eni":
            return EndpointSet(self._enis_where(lambda e: any(matches(p, e.id) for p in v)), none)
        if k == "instance":
            return EndpointSet(
                self._enis_where(
                    lambda e: e.instance_id is not None
                    and any(matches(p, e.instance_id, dict(e.instance_tags).get("Name")) for p in v)
                ),
                none,
            )
        if k == "interface_type":
            return EndpointSet(self._enis_where(lambda e: any(matches(p, e.interface_type) for p in v)), none)
        if k == "tf_address":
            return EndpointSet(
                self._enis_where(lambda e: any(matches(p, e.tf_address, e.instance_tf_address) for p in v)), none
            )
        if k == "cidr":
            blocks = [parse_cidr(t) for t in v]
            per_fam = {
                f: normalize((lo, hi) for ff, lo, hi in blocks if ff == f) for f in (4, 6)
            }

            # bisection per address: the flow map asks for "every external address but these blocks",
            # hundreds of them, against every ENI
            blocks_of = {f: IntervalSet(ivs) for f, ivs in per_fam.items()}

            def in_block(e: Eni) -> bool:
                for f, lo, hi in e.private:
                    if blocks_of[f].meets(lo, hi):
                        return True
                return any(blocks_of[4].meets(p, p) for p in e.public)

            return EndpointSet(
                self._enis_where(in_block),
                (intersect(self.external[0], per_fam[4]), intersect(self.external[1], per_fam[6])),
            )
        raise AssertionError(f"unhandled selector key {k}")  # the parser admits only SELECTOR_KEYS


def public_address_notes(selection: Selection, sel: Selector | None) -> list[str]:
    """One note per ENI that a `cidr` of the selector selects by its public address only: the ENI is
    selected as an endpoint (contract sections 3 and 4), so answers cover its private addresses too."""
    if sel is None:
        return []
    net, groups = selection.net, selection.spec.groups
    notes: list[str] = []
    seen: set[str] = set()
    todo, walked = [sel], set()
    while todo:
        s = todo.pop()
        if s.key == "group":
            if s.value not in walked and s.value in groups:
                walked.add(s.value)
                todo.append(groups[s.value])
            continue
        todo.extend(s.children)
        if s.key != "cidr":
            continue
        for text in s.value:
            fam, lo, hi = parse_cidr(text)
            for e in net.enis:
                if e.id in seen or any(f == fam and a <= hi and lo <= b for f, a, b in e.private):
                    continue
                hits = [p for p in e.public if fam == 4 and lo <= p <= hi]
                if hits:
                    seen.add(e.id)
                    notes.append(f"cidr {text} selects {e.id} by its public address {format_address(4, hits[0])}: "
                                 "the ENI is selected as an endpoint, so the answer covers flows to and from "
                                 "every address of it (its private ones too), not only the public one")
    return notes
