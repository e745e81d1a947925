"""Every violation of each refuted deny/only invariant, grouped by class pair and service for an auditor."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..encode.check import Checker
from ..model import Network
from ..model.addr import Interval, normalize
from ..report.model import Counterexample, EndpointInfo, Report, Result, Violation
from ..semantics import Endpoint, connection_exists
from ..spec import ServiceSet, describe
from ..spec.select import EndpointSet


def add_all_violations(report: Report, checker: Checker, max_violations: int) -> Report:
    """The report with, on each refuted deny/only result, every violation group up to the limit."""
    if max_violations < 1:
        from ..errors import SgproofError

        raise SgproofError("--max-violations takes a number of violations, 1 or more")
    by_id = {inv.id: inv for inv in checker.spec.invariants}
    todo = [r for r in report.results if r.status == "refuted" and r.kind in ("deny", "only")]
    if not todo:
        return report
    labeller = ClassLabeller(checker)
    results: list[Result] = []
    for r in report.results:
        inv = by_id.get(r.id)
        if r in todo and inv is not None:
            found, complete = checker.violations(inv, max_violations)
            groups = tuple(labeller.violation(cx, inv.services) for cx in found)
            r = dataclasses.replace(r, violations=groups, violations_complete=complete)
        results.append(r)
    return dataclasses.replace(report, results=tuple(results))


class ClassLabeller:
    """Names the class of an endpoint (the spec's groups it belongs to, its ENI class) and the services
    a class pair connects on."""

    def __init__(self, checker: Checker):
        self.checker = checker
        self.net = checker.net
        self.groups: dict[str, EndpointSet] = {
            name: checker.selection.evaluate(sel) for name, sel in checker.spec.groups.items()
        }
        self._pair_services: dict[tuple[int, int], str] = {}

    def in_groups(self, ep: Endpoint) -> list[str]:
        out = []
        for name, es in self.groups.items():
            if ep.eni is not None:
                if ep.eni in es.enis:
                    out.append(name)
            elif any(lo <= ep.address <= hi for lo, hi in es.ext_of(ep.family)):
                out.append(name)
        return out

    def members(self, ep: Endpoint) -> tuple[str, ...]:
        if ep.eni is None:
            return ()
        enc = self.checker.enc
        cls = enc.classes[enc.class_of[ep.eni]]
        return tuple(self.net.enis[i].id for i in cls.members)

    def label(self, ep: Endpoint, info: EndpointInfo) -> str:
        groups = self.in_groups(ep)
        named = f"{', '.join(groups)}: " if groups else ""
        if ep.eni is None:
            return f"{named}external addresses (e.g. {info.address})"
        members = self.members(ep)
        more = f" and {len(members) - 1} more ENI(s) alike" if len(members) > 1 else ""
        sgs = ", ".join(info.groups) or "no security group"
        return f"{named}{info.eni}{more} [{sgs}] in {info.subnet}"

    def class_key(self, ep: Endpoint) -> int:
        """The engine's ENI class of the endpoint; -1 for external addresses."""
        return -1 if ep.eni is None else self.checker.enc.class_of[ep.eni]

    def violation(self, cx: Counterexample, services: ServiceSet) -> Violation:
        """The violation labelled with its classes and every service of `services` the class pair connects on
        (computed on this flow's two endpoints, which stand for their classes)."""
        f = cx.flow
        key = (self.class_key(f.src), self.class_key(f.dst))
        text = self._pair_services.get(key)
        if text is None:
            allowed = ServiceSet.of({})
            for proto, _ in services.by_proto:
                allowed = allowed.union(
                    allowed_services(self.net, f.src, f.dst, proto, services, self.checker.spec.ephemeral))
            text = describe(allowed) if not allowed.is_empty() else describe(services)
            self._pair_services[key] = text
        return Violation(cx, self.label(f.src, cx.src), self.label(f.dst, cx.dst), text,
                         self.members(f.src), self.members(f.dst))


def _cuts(net: Network, proto: int) -> set[int]:
    """Service values where some rule of the network that matches `proto` starts or ends."""
    cuts: set[int] = set()
    rules: list[tuple[int, int, int]] = []
    for sg in net.sgs.values():
        rules += [(r.match.proto, r.match.lo, r.match.hi) for r in (*sg.ingress, *sg.egress)]
    for nacl in net.nacls.values():
        rules += [(e.match.proto, e.match.lo, e.match.hi) for e in (*nacl.ingress, *nacl.egress)]
    for p, lo, hi in rules:
        if p == proto:
            cuts.update((lo, hi + 1))
    return cuts


def allowed_services(net: Network, src: Endpoint, dst: Endpoint, proto: int, within: ServiceSet,
                     ephemeral: tuple[int, int]) -> ServiceSet:
    """The services of `within` on `proto` over which src can connect to dst (checked per rule segment)."""
    ivs: tuple[Interval, ...] = next((v for p, v in within.by_proto if p == proto), ())
    cuts = _cuts(net, proto)
    found: list[Interval] = []
    for lo, hi in ivs:
        points = sorted({lo, *(c for c in cuts if lo < c <= hi)})
        for a, b in zip(points, [*points[1:], hi + 1], strict=True):
            ok, _ = connection_exists(net, src, dst, proto, a, ephemeral)
            if ok:
                found.append((a, b - 1))
    return ServiceSet.of({proto: list(normalize(found))}) if found else ServiceSet.of({})


def merge_services(texts: Iterable[str]) -> str:
    """Several service descriptions as one comma-separated list, in order, without repeats."""
    return ", ".join(dict.fromkeys(t for t in texts if t))
