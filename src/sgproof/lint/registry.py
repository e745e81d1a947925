"""The lint rules (contract 7), declared once: id, severity, what it finds; and the runner."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import __version__
from ..errors import InputError
from ..model import Network
from ..sources import SourceInfo
from . import nacl, routes, sg
from .model import Finding, LintReport


@dataclass(frozen=True, slots=True)
class Context:
    net: Network
    ephemeral: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    summary: str
    check: Callable[[Context], Iterator[Finding]]


def _dead(ctx: Context) -> Iterator[Finding]:
    from .dead import dead_rules

    return dead_rules(ctx.net, ctx.ephemeral)


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("nacl-shadowed-entry", "low", "a NACL entry that decides no packet",
         lambda c: nacl.shadowed(c.net)),
    Rule("nacl-redundant-entry", "low", "a NACL entry whose removal changes no decision",
         lambda c: nacl.redundant(c.net)),
    Rule("nacl-broken-return", "high", "requests a NACL admits whose replies it denies for every client port",
         lambda c: nacl.broken_return(c.net, c.ephemeral)),
    Rule("sg-redundant-rule", "low", "an SG rule whose traffic other rules of the same group already admit",
         lambda c: sg.redundant(c.net)),
    Rule("sg-dead-rule", "medium", "an SG rule that no allowed flow can use", _dead),
    Rule("sg-unused", "low", "a group no ENI carries and no rule references", lambda c: sg.unused(c.net)),
    Rule("sg-reference-empty", "medium", "a rule naming a group that no ENI carries",
         lambda c: (f for f in sg.references(c.net) if f.rule == "sg-reference-empty")),
    Rule("sg-reference-unknown", "high", "a rule naming a group the snapshot does not hold",
         lambda c: (f for f in sg.references(c.net) if f.rule == "sg-reference-unknown")),
    Rule("route-blackhole", "medium", "a route in state blackhole", lambda c: routes.blackholes(c.net)),
    Rule("route-unused-target", "low", "a NAT gateway, active peering or gateway endpoint that no route uses",
         lambda c: routes.unused_targets(c.net)),
)}


def run_lint(net: Network, source: SourceInfo, ephemeral: tuple[int, int], only: tuple[str, ...] = ()
             ) -> LintReport:
    """Run the chosen rules (all by default) and return their findings in a fixed order."""
    for rid in only:
        if rid not in RULES:
            raise InputError(None, "--rule", "one of " + ", ".join(RULES), rid)
    chosen = [r for r in RULES.values() if not only or r.id in only]
    start = time.perf_counter()
    ctx = Context(net, ephemeral)
    findings: list[Finding] = []
    for rule in chosen:
        findings.extend(sorted(rule.check(ctx), key=Finding.sort_key))
    warnings = list(net.warnings)
    if net.routing is None:
        warnings.append("the snapshot has no RouteTables: routing is open, and the route rules find nothing")
    return LintReport(__version__, source, tuple(r.id for r in chosen), tuple(findings), tuple(warnings),
                      time.perf_counter() - start)
