"""Preprocessing shared by every query: address atoms and ENI classes.

Atoms partition each address family at every boundary that any rule, NACL entry, prefix list,
VPC block, external range or spec CIDR draws, so that no predicate tells two addresses of one atom
apart. ENIs that sit in one subnet, carry one set of groups and own addresses in the same atoms
behave identically everywhere; they form a class, and z3 only ever sees classes and atoms.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass

from ..model import Network, SgRule
from ..model.addr import V4_MAX, V6_MAX, normalize, parse_cidr

# Special-purpose ranges (not globally routable): atoms are cut at them so that an external atom is
# wholly global or wholly special, and a witness can name an address a person can try.
SPECIAL_RANGES = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
    "::/3", "2001::/23", "2001:db8::/32", "2002::/16", "4000::/2", "8000::/1",
)


@dataclass(frozen=True, slots=True)
class EniClass:
    """ENIs alike in subnet, groups and address atoms; `members` are indices into Network.enis.

    `mapped_atoms`: private IPv4 atoms (single addresses) that have their own public IPv4;
    `unknown_atoms`: the atoms of the block in which a plan's ENI gets its one, still unknown, address.
    """

    subnet_id: str
    groups: tuple[str, ...]
    private_atoms: tuple[int, ...]
    public_atoms: tuple[int, ...]
    members: tuple[int, ...]
    mapped_atoms: tuple[int, ...] = ()
    unknown_atoms: tuple[int, ...] = ()
    tags: tuple[bool, ...] = ()  # membership of the spec's exception selections (Checker.exception_sets)


class Atoms:
    """The atom partition of both address families; atom indices are ordered, IPv4 before IPv6."""

    def __init__(self, cuts4: set[int], cuts6: set[int]):
        self.starts4 = sorted(cuts4 | {0})
        self.starts6 = sorted(cuts6 | {0})
        self.n4 = len(self.starts4)
        self.n = self.n4 + len(self.starts6)

    def index(self, family: int, address: int) -> int:
        if family == 4:
            return bisect_right(self.starts4, address) - 1
        return self.n4 + bisect_right(self.starts6, address) - 1

    def span(self, family: int, lo: int, hi: int) -> tuple[int, int]:
        """First and last atom of an interval whose ends are atom boundaries."""
        return self.index(family, lo), self.index(family, hi)

    def bounds(self, atom: int) -> tuple[int, int, int]:
        """(family, lo, hi) of an atom."""
        if atom < self.n4:
            hi = self.starts4[atom + 1] - 1 if atom + 1 < self.n4 else V4_MAX
            return 4, self.starts4[atom], hi
        k = atom - self.n4
        hi = self.starts6[k + 1] - 1 if k + 1 < len(self.starts6) else V6_MAX
        return 6, self.starts6[k], hi

    def family(self, atom: int) -> int:
        return 4 if atom < self.n4 else 6


def _rules(net: Network) -> list[SgRule]:
    return [r for sg in net.sgs.values() for r in (*sg.ingress, *sg.egress)]


def build_atoms(net: Network, spec_cidrs: list[str]) -> Atoms:
    cuts: dict[int, set[int]] = {4: set(), 6: set()}

    def cut(family: int, lo: int, hi: int) -> None:
        cuts[family].add(lo)
        top = V4_MAX if family == 4 else V6_MAX
        if hi < top:
            cuts[family].add(hi + 1)

    for vpc in net.vpcs.values():
        for f, lo, hi in vpc.cidrs:
            cut(f, lo, hi)
    for fam, ivs in net.external.items():
        for lo, hi in ivs:
            cut(fam, lo, hi)
    for rule in _rules(net):
        if rule.peer.kind == "cidr":
            cut(rule.peer.family, rule.peer.lo, rule.peer.hi)
    for pl in net.prefix_lists.values():
        for f, lo, hi in pl.cidrs:
            cut(f, lo, hi)
    for nacl in net.nacls.values():
        for e in (*nacl.ingress, *nacl.egress):
            cut(e.family, e.lo, e.hi)
    for eni in net.enis:
        for f, lo, hi in eni.private:
            if lo != hi:  # prefixes; single private addresses need no atom of their own
                cut(f, lo, hi)
        for p in eni.public:
            cut(4, p, p)
    for text in spec_cidrs:
        cut(*parse_cidr(text))
    for text in SPECIAL_RANGES:
        cut(*parse_cidr(text))
    from .routes import routing_blocks

    for f, lo, hi in routing_blocks(net):
        cut(f, lo, hi)
    return Atoms(cuts[4], cuts[6])


def build_classes(net: Network, atoms: Atoms, tags: list[tuple[bool, ...]] | None = None
                  ) -> tuple[list[EniClass], list[int]]:
    """Group ENIs into classes; returns the classes and each ENI's class index. `tags`, per ENI, are
    memberships that must not be merged across (the spec's exception selections)."""
    Key = tuple[str, tuple[str, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...],
                tuple[bool, ...]]
    keyed: dict[Key, list[int]] = defaultdict(list)
    cache: dict[tuple[int, int, int], tuple[int, ...]] = {}

    def block_atoms(f: int, lo: int, hi: int) -> tuple[int, ...]:
        key = (f, lo, hi)
        got = cache.get(key)
        if got is None:
            a, b = atoms.span(f, lo, hi) if lo != hi else (atoms.index(f, lo),) * 2
            got = cache[key] = tuple(range(a, b + 1))
        return got

    for i, e in enumerate(net.enis):
        priv: list[int] = []
        for f, lo, hi in e.private:
            priv.extend(block_atoms(f, lo, hi))
        pub = tuple(sorted({atoms.index(4, p) for p in e.public}))
        mapped = tuple(sorted({atoms.index(4, p) for p, _ in e.public_map}))
        unknown = block_atoms(*e.unknown_block) if e.unknown_block else ()
        tag = tags[i] if tags else ()
        keyed[(e.subnet_id, tuple(sorted(set(e.groups))), tuple(sorted(set(priv))), pub, mapped, unknown,
               tag)].append(i)
    classes: list[EniClass] = []
    of_eni = [0] * len(net.enis)
    for (subnet_id, groups, priv_atoms, pub, mapped, unknown, tag), members in keyed.items():
        for m in members:
            of_eni[m] = len(classes)
        classes.append(EniClass(subnet_id, groups, priv_atoms, pub, tuple(members), mapped, unknown, tag))
    return classes, of_eni


def ranges(indices: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    """Sorted distinct integers as maximal runs (a, b)."""
    return list(normalize((i, i) for i in indices))
