"""Facts the auditor reports (markdown, html) share: scope rows, violation groups, what a proof covered."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .model import Counterexample, Report, Result, Violation
from .text import GATE_WORDS, step_resource, step_rule

TRACED = 3  # violations per class pair shown with their trace; the others as one line each

VERDICT_WORDS = {"proven": "proven", "refuted": "refuted", "error": "not checked (error)"}

COVERED_WORDS = {
    "source_enis": "source ENIs",
    "source_external": "source includes external addresses",
    "destination_enis": "destination ENIs",
    "destination_external": "destination includes external addresses",
    "eni_classes": "ENI classes (same subnet, groups and address atoms) in the network",
    "address_atoms": "address atoms (address ranges the rules cannot tell apart)",
}


def spec_uri(spec: str) -> str:
    """The spec's path relative to the working directory when it lies inside it, with forward slashes."""
    p = Path(spec)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_posix()
    return Path(os.path.normpath(p)).as_posix()


def where_column(r: Result) -> int:
    """The column of `Result.where` (`file:LINE:COL`), 1 when absent."""
    tail = r.where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 1


def scope_rows(report: Report) -> list[tuple[str, str]]:
    s = report.source
    rows = [("Spec", f"{report.spec_name} ({report.spec})"),
            ("Source", f"{s.kind} {s.path or ''}".strip())]
    if s.account:
        rows.append(("Account", s.account))
    if s.region:
        rows.append(("Region", s.region))
    if s.collected_at:
        rows.append(("Collected at", s.collected_at))
    for path, digest in s.inputs:
        rows.append(("Input file", f"{path} sha256 {digest}"))
    if not s.inputs:
        rows.append(("Input files", "none recorded (live read)" if s.kind == "aws" else "none recorded"))
    rows += [("sgproof", report.version), ("Z3", report.z3_version), ("Run started", report.started_at),
             ("Run time", report.time_text())]
    return rows


def assumption_lines(report: Report) -> list[str]:
    a = report.assumptions
    return [f"Routing: {a.routing}.",
            f"Client (ephemeral) ports: {a.ephemeral_ports}; a connection exists when some port in this range "
            "lets the request and the reply through every network ACL.",
            "Verdicts hold for this snapshot and for new connections (AWS keeps tracked connections after a rule "
            "is removed).",
            "Flows to another ENI's public address (a hairpin through the internet gateway) are out of scope."]


def gate_word(gate: str) -> str:
    return GATE_WORDS.get(gate, gate)


def trace_rows(cx: Counterexample) -> list[tuple[str, str, str, str, str]]:
    """(n, gate, resource, rule, verdict) for each step of the trace."""
    return [(str(n), gate_word(s.gate), step_resource(s), step_rule(s), s.verdict)
            for n, s in enumerate(cx.trace, 1)]


def endpoint_text(cx: Counterexample, role: str) -> str:
    return (cx.src if role == "src" else cx.dst).text()


@dataclass(frozen=True, slots=True)
class ClassPair:
    """Violations of one invariant that share a source and a destination class."""

    source: str
    destination: str
    services: str
    violations: tuple[Violation, ...]

    @property
    def traced(self) -> tuple[Violation, ...]:
        """The violations shown with their full trace."""
        return self.violations[:TRACED]

    @property
    def others(self) -> tuple[str, ...]:
        """The flows of the remaining violations, one line each (they differ only in protocol or address)."""
        return tuple(v.counterexample.flow.text() for v in self.violations[TRACED:])


def class_pairs(r: Result) -> list[ClassPair]:
    """The result's violations grouped by (source class, destination class), in the order found."""
    grouped: dict[tuple[str, str], list[Violation]] = defaultdict(list)
    for v in r.violations:
        grouped[(v.source_class, v.destination_class)].append(v)
    return [ClassPair(s, d, ", ".join(dict.fromkeys(v.services for v in vs)), tuple(vs))
            for (s, d), vs in grouped.items()]


def violations_note(r: Result) -> str:
    """One sentence on how complete the violation list is, counting groups (class pairs) and the
    violations (flows) in them; empty when it was not enumerated."""
    if r.violations_complete is None:
        return ""
    groups, flows = len(set(r.group_numbers())), len(r.violations)
    counted = f"{groups} violation group(s) ({flows} violation(s), one flow each)"
    if r.violations_complete:
        return f"All {counted} are listed: the solver found no other."
    return (f"Only the first {counted} are listed: --max-violations cut the list (or the solver could not "
            "decide); more may exist.")


def covered_rows(r: Result) -> list[tuple[str, str]]:
    rows = []
    for k, v in r.covered.items():
        shown = ("yes" if v else "no") if isinstance(v, bool) else str(v)
        rows.append((COVERED_WORDS.get(k, k.replace("_", " ")), shown))
    return rows


def headline(r: Result) -> str:
    return r.description or r.statement
