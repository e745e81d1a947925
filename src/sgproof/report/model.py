"""One results type for every renderer: what was checked, the verdicts, flows and assumptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import ICMPS, PORTED, Network, proto_name
from ..semantics import Flow, Step
from ..sources import SourceInfo


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    address: str
    eni: str | None
    external: bool
    label: str = ""  # instance, Name, interface type
    subnet: str | None = None
    groups: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()

    def place_text(self) -> str:
        """Where the address lives, after the address: ` (external)` or ` on ENI in subnet [groups]`."""
        if self.external:
            return " (external)"
        return f" on {self.label} in {self.subnet} [{self.groups_text()}]"

    def text(self) -> str:
        """The address and where it lives, for people."""
        return self.address + self.place_text()

    def groups_text(self) -> str:
        """The ENI's groups as `sg-id (name)`, for people."""
        if not self.groups:
            return "no security group"
        names = self.group_names or self.groups
        return ", ".join(g if n == g else f"{g} ({n})" for g, n in zip(self.groups, names, strict=False))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "eni": self.eni, "external": self.external}
        if self.eni:
            out["label"] = self.label
            out["subnet"] = self.subnet
            out["security_groups"] = list(self.groups)
        return out


@dataclass(frozen=True, slots=True)
class Counterexample:
    """A concrete flow with the trace of every gate it crosses; `allowed` False for reach refutations."""

    flow: Flow
    src: EndpointInfo
    dst: EndpointInfo
    allowed: bool
    trace: tuple[Step, ...]
    note: str = ""

    @property
    def blocked_by(self) -> tuple[Step, ...]:
        return tuple(s for s in self.trace if s.verdict != "allow")

    def as_json(self) -> dict[str, Any]:
        f = self.flow
        out: dict[str, Any] = {"protocol": proto_name(f.proto) if f.proto in (*PORTED, *ICMPS) else f.proto}
        out["src"] = self.src.as_json()
        out["dst"] = self.dst.as_json()
        if f.proto in PORTED:
            out["src_port"] = f.sport
            out["dst_port"] = f.value
        elif f.proto in ICMPS:
            out["icmp_type"], out["icmp_code"] = divmod(f.value, 256)
        if f.proto in PORTED and any(s.gate == "nat" for s in self.trace):
            out["nat_src_port"] = f.nport
        out["allowed"] = self.allowed
        trace = self.trace
        if not self.allowed:
            # the trace ends at the first gate that blocks; every blocking gate is listed in blocked_by
            first = next((i for i, s in enumerate(trace) if s.verdict != "allow"), len(trace) - 1)
            trace = trace[: first + 1]
            out["blocked_by"] = [step_json(s) for s in self.blocked_by]
        out["trace"] = [step_json(s) for s in trace]
        if self.note:
            out["note"] = self.note
        return out


def step_json(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"gate": s.gate, "id": s.id, "rule": s.rule, "verdict": s.verdict}
    if s.ids:
        out["ids"] = list(s.ids)
    if s.description:
        out["description"] = s.description
    if s.prefix_list is not None:
        out["prefix_list"] = {"id": s.prefix_list[0], "name": s.prefix_list[1] or None}
    if s.tf_address:
        out["tf_address"] = s.tf_address
    if s.gate in ("route", "route-reply", "nat") and s.text:
        out["reason"] = s.text  # why a route delivers, drops or is unknown (contract 4.5)
    return out


@dataclass(frozen=True, slots=True)
class Violation:
    """One violation group of a deny/only invariant: a source and destination class, the services they
    connect on, and one concrete flow that replays through the plain evaluator."""

    counterexample: Counterexample
    source_class: str
    destination_class: str
    services: str  # the invariant's services this class pair connects on, e.g. "tcp/3306"
    source_enis: tuple[str, ...] = ()
    destination_enis: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out = self.counterexample.as_json()
        out["group"] = {"source": self.source_class, "destination": self.destination_class,
                        "services": self.services, "source_enis": list(self.source_enis),
                        "destination_enis": list(self.destination_enis)}
        return out


@dataclass(frozen=True, slots=True)
class GroupFlow:
    """An edge of the flow map between two of the spec's named groups.

    `status` "allowed": proven by `example`, a flow that replays through the plain evaluator, and
    `services` are services proven open (with "(at least)" when more may be open). "unknown": the pair
    was not checked or the solver could not decide; `services` then says why. `src_part`/`dst_part`:
    when that side's flows come from external addresses, the addresses proven to take part."""

    src: str
    dst: str
    services: str
    example: str  # one concrete flow, as Flow.text(); "" when unknown
    status: str = "allowed"  # allowed | unknown
    src_part: str = ""
    dst_part: str = ""

    def end_text(self, role: str) -> str:
        """The source or destination group, qualified when only some of its external addresses take part."""
        name, part = (self.src, self.src_part) if role == "src" else (self.dst, self.dst_part)
        return f"some of {name} ({part})" if part else name

    def label(self) -> str:
        """The edge's label in a picture: its services, and which external addresses take part."""
        if self.status != "allowed":
            return "unknown"
        bits = [self.services]
        if self.src_part:
            bits.append(f"from {self.src_part}")
        if self.dst_part:
            bits.append(f"to {self.dst_part}")
        return " ".join(bits)


@dataclass(frozen=True, slots=True)
class FlowMap:
    """The spec's named groups and the flows between them (markdown and html reports): `edges` holds the
    allowed and the unknown pairs; every other ordered pair was proven to allow no flow."""

    groups: tuple[str, ...]
    edges: tuple[GroupFlow, ...]
    errors: tuple[str, ...] = ()
    budget_seconds: float = 0.0

    @property
    def allowed(self) -> tuple[GroupFlow, ...]:
        return tuple(e for e in self.edges if e.status == "allowed")

    @property
    def unknown(self) -> tuple[GroupFlow, ...]:
        return tuple(e for e in self.edges if e.status != "allowed")

    @property
    def complete(self) -> bool:
        """Whether every ordered pair was decided (so a missing arrow is a proof of no flow)."""
        return not self.unknown

    def legend(self) -> list[str]:
        """What the picture means, and which pairs it does not decide, in sentences."""
        lines = ["A solid arrow A → B: some endpoint of A can open a connection to some endpoint of B, proven by "
                 "the example flow (replayed through the plain evaluator); its label lists services proven open "
                 "(\"(at least)\" when more may be open). Where only some external addresses of a group take "
                 "part, the edge names them, \"some of internet (203.0.113.0/24)\": proven that the group's other "
                 "external addresses open no connection that way (\"and maybe more\" when not proven)."]
        if self.complete:
            lines.append("No arrow between two groups: proven that no flow on any protocol or port goes that way.")
        else:
            lines.append("No arrow between two groups: proven that no flow goes that way, for the pairs that were "
                         "checked. A dashed arrow marked unknown: not decided, so nothing is claimed either way.")
            lines.append("Not decided: " + "; ".join(f"{e.src} → {e.dst} ({e.services})" for e in self.unknown)
                         + ".")
        return lines


@dataclass(frozen=True, slots=True)
class Result:
    id: str
    kind: str
    status: str  # proven | refuted | error
    description: str
    statement: str  # the invariant in words
    where: str  # spec file:line:col
    line: int
    seconds: float
    counterexample: Counterexample | None = None
    error: str | None = None
    covered: dict[str, Any] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()  # with --all: every violation group of a refuted deny/only
    violations_complete: bool | None = None  # None: not enumerated; False: --max-violations cut the list
    severity: str = "high"  # the invariant's: low | medium | high | critical (contract section 8)
    control: str | None = None  # a pack invariant's control, e.g. "FSBP EC2.19"
    config_findings: tuple[Any, ...] | None = None  # report.findings.ConfigFinding items (pack invariants)
    exceptions: tuple[dict[str, Any], ...] = ()  # contract 8: {reason, until, matched, expired} per except item
    repair: Any = None  # verify --fix (contract 9): a remedy.fix.Repair on a refuted invariant
    explanation: dict[str, Any] | None = None  # verify --explain (contract 9): rests_on, or why it is missing

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "severity": self.severity,
            "description": self.description,
            "statement": self.statement,
            "seconds": round(self.seconds, 4),
        }
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample.as_json()
        if self.error is not None:
            out["error"] = self.error
        if self.covered:
            out["covered"] = self.covered
        if self.exceptions:
            out["exceptions"] = [dict(e) for e in self.exceptions]
        if self.violations_complete is not None:
            numbers = self.group_numbers()
            out["violations"] = []
            for v, n in zip(self.violations, numbers, strict=True):
                doc = v.as_json()
                doc["group"]["number"] = n
                out["violations"].append(doc)
            out["violation_groups"] = len(set(numbers))
            out["violations_complete"] = self.violations_complete
        if self.control is not None:
            out["control"] = self.control
        if self.config_findings is not None:
            out["config_findings"] = [f.as_json() for f in self.config_findings]
        if self.repair is not None:
            out["repair"] = self.repair.as_json()
        if self.explanation is not None:
            out.update(self.explanation)
        return out

    def group_numbers(self) -> list[int]:
        """For each violation, the number (from 1, in order found) of its group: its class pair."""
        seen: dict[tuple[str, str], int] = {}
        return [seen.setdefault((v.source_class, v.destination_class), len(seen) + 1) for v in self.violations]


@dataclass(frozen=True, slots=True)
class Assumptions:
    routing: str  # the bare token "open" or "modelled"
    ephemeral_ports: str
    warnings: tuple[str, ...]
    enis_hosting_nothing: int = 0  # contract 4.6

    def as_json(self) -> dict[str, Any]:
        return {"routing": self.routing, "ephemeral_ports": self.ephemeral_ports, "warnings": list(self.warnings),
                "enis_hosting_nothing": self.enis_hosting_nothing}


@dataclass(frozen=True, slots=True)
class Report:
    spec: str
    spec_name: str
    source: SourceInfo
    assumptions: Assumptions
    results: tuple[Result, ...]
    version: str
    z3_version: str
    started_at: str
    seconds: float
    flow_map: FlowMap | None = None  # markdown/html only: allowed flows between the spec's groups
    check_seconds: float | None = None  # checking the invariants alone (inside `seconds`)

    def time_text(self) -> str:
        """The run's wall time, and the share spent checking invariants, for people."""
        share = "" if self.check_seconds is None else f" (checking invariants {self.check_seconds:.2f} s)"
        return f"{self.seconds:.2f} s wall{share}"

    def times_json(self) -> dict[str, float]:
        out = {"wall": round(self.seconds, 4)}
        if self.check_seconds is not None:
            out["checking"] = round(self.check_seconds, 4)
        return out

    def counts(self) -> dict[str, int]:
        return {
            "proven": sum(r.status == "proven" for r in self.results),
            "refuted": sum(r.status == "refuted" for r in self.results),
            "errors": sum(r.status == "error" for r in self.results),
        }

    def exit_code(self) -> int:
        """The one place that decides the exit code of a verify run."""
        c = self.counts()
        if c["errors"]:
            return 2
        return 1 if c["refuted"] else 0


def endpoint_info(net: Network, eni: int | None, family: int, address: int) -> EndpointInfo:
    from ..model.addr import format_address

    text = format_address(family, address)
    if eni is None:
        return EndpointInfo(text, None, True)
    e = net.enis[eni]
    names = tuple(net.sgs[g].name if g in net.sgs else g for g in e.groups)
    return EndpointInfo(text, e.id, False, e.label(), e.subnet_id, e.groups, names)
