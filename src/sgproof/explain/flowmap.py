"""Allowed flows between the spec's named groups, found with the engine, for the report's picture."""

from __future__ import annotations

import dataclasses
import time

from ..encode.check import Checker
from ..report.model import FlowMap, GroupFlow, Report
from ..spec import Invariant, Selector, ServiceSet, describe
from .enumerate import allowed_services

PER_PAIR = 4  # violation groups looked at per group pair; the edge then says "at least"


def flow_map(checker: Checker, budget_seconds: float = 20.0) -> FlowMap:
    """For each ordered pair of named groups, whether any flow is allowed and on which services."""
    spec, net = checker.spec, checker.net
    if not spec.groups:
        return FlowMap((), ())
    selectors = dict(spec.groups)
    if not any(sel.key == "internet" for sel in selectors.values()):
        # the picture always shows what the internet can reach, and what reaches it
        selectors.setdefault("internet", Selector("internet", True, (), "<flow map>", "internet: true"))
    names = tuple(selectors)
    everything = ServiceSet.everything()
    edges: list[GroupFlow] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    for a in names:
        for b in names:
            if time.perf_counter() - t0 > budget_seconds:
                errors.append(f"stopped after {budget_seconds:.0f}s: pairs after {a} -> {b} were not checked")
                return FlowMap(names, tuple(edges), tuple(errors))
            inv = Invariant(f"flow:{a}->{b}", "deny", "", selectors[a], selectors[b], everything, "all",
                            True, 0, "")
            found, complete = checker.violations(inv, PER_PAIR)
            if not found:
                if not complete:
                    errors.append(f"{a} -> {b}: the solver could not decide")
                continue
            allowed = ServiceSet.of({})
            for cx in found:
                f = cx.flow
                for proto, _ in everything.by_proto:
                    allowed = allowed.union(allowed_services(net, f.src, f.dst, proto, everything,
                                                             spec.ephemeral))
            edges.append(GroupFlow(a, b, describe(allowed) + ("" if complete else " (at least)"),
                                   found[0].flow.text()))
    return FlowMap(names, tuple(edges), tuple(errors))


def add_flow_map(report: Report, checker: Checker) -> Report:
    """The report with its picture of allowed flows between the spec's groups."""
    return dataclasses.replace(report, flow_map=flow_map(checker))
