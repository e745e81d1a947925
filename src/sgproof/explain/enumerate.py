"""Every violation of each refuted deny/only invariant, grouped by class pair and service for an auditor."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..encode.check import Checker
from ..model import Network
from ..model.addr import V4_MAX, V6_MAX, Interval, complement, format_address, intersect, normalize
from ..report.model import Counterexample, EndpointInfo, Result, Violation
from ..semantics import Endpoint, connection_exists
from ..semantics.evaluate import ServiceCuts
from ..spec import Invariant, ServiceSet, describe
from ..spec.select import EndpointSet


def check_limit(max_violations: int) -> None:
    if max_violations < 1:
        from ..errors import SgproofError

        raise SgproofError("--max-violations takes a number of violations, 1 or more")


def with_violations(checker: Checker, labeller: ClassLabeller, inv: Invariant, r: Result,
                    max_violations: int) -> Result:
    """A refuted deny/only result with every violation group of its invariant up to the limit, each
    labelled; any other result as it is."""
    if r.status != "refuted" or inv.kind not in ("deny", "only"):
        return r
    found, complete = checker.violations(inv, max_violations, seed=r.counterexample)
    groups = labeller.violations(found, inv.services, checker.sides(inv))
    return dataclasses.replace(r, violations=groups, violations_complete=complete)


def cidrs(family: int, lo: int, hi: int) -> list[str]:
    """The fewest CIDR blocks that cover exactly [lo, hi]."""
    bits = 32 if family == 4 else 128
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << bits
        while size > hi - lo + 1:
            size >>= 1
        out.append(f"{format_address(family, lo)}/{bits - size.bit_length() + 1}")
        lo += size
    return out


def ranges_text(ext: tuple[tuple[Interval, ...], tuple[Interval, ...]], limit: int = 3) -> str:
    """External address ranges as CIDR blocks, the first `limit` of them and how many more."""
    blocks = [c for fam, ivs in ((4, ext[0]), (6, ext[1])) for lo, hi in ivs for c in cidrs(fam, lo, hi)]
    shown = ", ".join(blocks[:limit])
    return shown + (f" and {len(blocks) - limit} more blocks" if len(blocks) > limit else "")


class ClassLabeller:
    """Names the class of an endpoint (the spec's groups it belongs to, its ENI class) and the services
    a class pair connects on."""

    def __init__(self, checker: Checker):
        self.checker = checker
        self.net = checker.net
        self.groups: dict[str, EndpointSet] = {
            name: checker.selection.evaluate(sel) for name, sel in checker.spec.groups.items()
        }

    def external_text(self, side: EndpointSet) -> str:
        """The external addresses a side stands for (all of them form one class), in words."""
        every = self.checker.selection.external
        if side.ext == every:
            return "every address outside the snapshot's VPCs"
        missing = (intersect(every[0], complement(side.ext[0], V4_MAX)),
                   intersect(every[1], complement(side.ext[1], V6_MAX)))
        if len(missing[0]) + len(missing[1]) < len(side.ext[0]) + len(side.ext[1]):
            return f"every address outside the snapshot's VPCs except {ranges_text(missing)}"
        return ranges_text(side.ext)

    def member_groups(self, ep: Endpoint) -> tuple[list[str], list[str]]:
        """The spec's groups that hold every ENI of the endpoint's class, and those that hold only some."""
        members = self.member_indices(ep)
        whole, part = [], []
        for name, es in self.groups.items():
            inside = sum(i in es.enis for i in members)
            if inside == len(members):
                whole.append(name)
            elif inside:
                part.append(name)
        return whole, part

    def member_indices(self, ep: Endpoint) -> tuple[int, ...]:
        if ep.eni is None:
            return ()
        enc = self.checker.enc
        return tuple(enc.classes[enc.class_of[ep.eni]].members)

    def members(self, ep: Endpoint) -> tuple[str, ...]:
        return tuple(self.net.enis[i].id for i in self.member_indices(ep))

    def label(self, ep: Endpoint, info: EndpointInfo, side: EndpointSet | None = None) -> str:
        """The class the endpoint stands for: for external addresses the side's whole external set (and the
        spec's groups that are exactly that set), for an ENI its class and the groups holding all of it."""
        if ep.eni is None:
            if side is None:
                return f"external addresses (e.g. {info.address})"
            exact = [n for n, es in self.groups.items() if es.ext == side.ext and not es.enis]
            head = f"{', '.join(exact)}: " if exact else ""
            return f"{head}external addresses ({self.external_text(side)}; e.g. {info.address})"
        whole, part = self.member_groups(ep)
        named = ", ".join(whole + [f"partly {n}" for n in part])
        members = self.members(ep)
        more = f" and {len(members) - 1} more ENI(s) alike" if len(members) > 1 else ""
        sgs = ", ".join(info.groups) or "no security group"
        return f"{named + ': ' if named else ''}{info.eni}{more} [{sgs}] in {info.subnet}"

    def class_key(self, ep: Endpoint) -> int:
        """The engine's ENI class of the endpoint; -1 for external addresses."""
        return -1 if ep.eni is None else self.checker.enc.class_of[ep.eni]

    def violations(self, found: list[Counterexample], services: ServiceSet,
                   sides: tuple[EndpointSet, EndpointSet] | None = None) -> tuple[Violation, ...]:
        """The flows of one invariant labelled with their classes, and each with every service of
        `services` its class pair connects on: computed on the pair's first flow, whose two endpoints
        stand for their classes. (Per invariant: another invariant asks other services, and which flow
        of a class pair comes first must not depend on which invariants one process labelled before.)"""
        pair_services: dict[tuple[int, int], str] = {}
        out = []
        for cx in found:
            f = cx.flow
            key = (self.class_key(f.src), self.class_key(f.dst))
            text = pair_services.get(key)
            if text is None:
                allowed = connected_services(self.net, f.src, f.dst, services, self.checker.spec.ephemeral,
                                             self.checker.rule_cuts)
                text = pair_services[key] = describe(allowed) if not allowed.is_empty() else describe(services)
            src_side, dst_side = sides if sides is not None else (None, None)
            out.append(Violation(cx, self.label(f.src, cx.src, src_side), self.label(f.dst, cx.dst, dst_side), text,
                                 self.members(f.src), self.members(f.dst)))
        return tuple(out)


def allowed_services(net: Network, src: Endpoint, dst: Endpoint, proto: int, within: ServiceSet,
                     ephemeral: tuple[int, int], cuts: ServiceCuts | None = None) -> ServiceSet:
    """The services of `within` on `proto` over which src can connect to dst (checked per rule segment).
    `cuts`: the network's rule boundaries, kept by a caller that asks many pairs of this one network."""
    ivs: tuple[Interval, ...] = next((v for p, v in within.by_proto if p == proto), ())
    at = (cuts or ServiceCuts(net)).of(proto)
    found: list[Interval] = []
    for lo, hi in ivs:
        points = sorted({lo, *(c for c in at if lo < c <= hi)})
        for a, b in zip(points, [*points[1:], hi + 1], strict=True):
            ok, _ = connection_exists(net, src, dst, proto, a, ephemeral)
            if ok:
                found.append((a, b - 1))
    return ServiceSet.of({proto: list(normalize(found))}) if found else ServiceSet.of({})


def connected_services(net: Network, src: Endpoint, dst: Endpoint, within: ServiceSet,
                       ephemeral: tuple[int, int], cuts: ServiceCuts) -> ServiceSet:
    """`allowed_services` over every protocol of `within`. The protocols the evaluator cannot tell apart
    (`ServiceCuts.plain`: about 250 of the 256 in most networks) are asked once per distinct interval
    list, and the answer stands for each of them."""
    parts: dict[int, list[Interval]] = {}
    plain: dict[tuple[Interval, ...], tuple[Interval, ...]] = {}
    for proto, ivs in within.by_proto:
        if cuts.plain(proto):
            got = plain.get(ivs)
            if got is None:
                one = allowed_services(net, src, dst, proto, within, ephemeral, cuts)
                got = plain[ivs] = next((v for _p, v in one.by_proto), ())
            if got:
                parts[proto] = list(got)
            continue
        for p, found in allowed_services(net, src, dst, proto, within, ephemeral, cuts).by_proto:
            parts.setdefault(p, []).extend(found)
    return ServiceSet.of(parts)


def merge_services(texts: Iterable[str]) -> str:
    """Several service descriptions as one comma-separated list, in order, without repeats."""
    return ", ".join(dict.fromkeys(t for t in texts if t))
