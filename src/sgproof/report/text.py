"""Plain text for a terminal or a log: verdicts, flows on one line, numbered traces, assumptions.

Every string from the input passes through `safe.printable` first, so a Name tag cannot move the
cursor, colour the log or fake a line; the summary is always the last line."""

from __future__ import annotations

from ..semantics import Step
from .findings import finding_lines
from .model import Counterexample, EndpointInfo, Report, Result
from .repair import repair_lines
from .safe import clean, printable

GATE_WORDS = {
    "sg-egress": "security group egress (source ENI)",
    "nacl-out": "network ACL outbound (source subnet)",
    "nacl-in": "network ACL inbound (destination subnet)",
    "sg-ingress": "security group ingress (destination ENI)",
    "nacl-reply-out": "network ACL outbound reply (destination subnet)",
    "nacl-reply-in": "network ACL inbound reply (source subnet)",
    "route": "route (source subnet's table, request)",
    "route-reply": "route back (destination subnet's table, reply)",
    "nat": "NAT gateway",
    "nacl-nat-in": "network ACL inbound (NAT gateway subnet)",
    "nacl-nat-out": "network ACL outbound (NAT gateway subnet)",
    "nacl-nat-reply-in": "network ACL inbound reply (NAT gateway subnet)",
    "nacl-nat-reply-out": "network ACL outbound reply (NAT gateway subnet)",
    "nacl-tgw-in": "network ACL inbound (sender's transit gateway attachment subnet)",
    "nacl-tgw-out": "network ACL outbound (receiver's transit gateway attachment subnet)",
    "nacl-tgw-reply-in": "network ACL inbound reply (receiver's transit gateway attachment subnet)",
    "nacl-tgw-reply-out": "network ACL outbound reply (sender's transit gateway attachment subnet)",
}
ROUTING_GATES = ("route", "route-reply", "nat")


def step_resource(s: Step) -> str:
    """The resource a step names: its one id, or every group on the ENI when none admits."""
    return ", ".join(s.ids) if s.ids else s.id


def step_rule(s: Step) -> str:
    """The step's rule in words, with its Terraform address and the rule's description when known."""
    rule = s.text or (f"rule {s.rule}" if s.rule is not None else "")
    if s.gate in ROUTING_GATES:
        rule = " - ".join(str(x) for x in (s.rule, s.text) if x)
    if s.tf_address:
        rule += f" ({s.tf_address})"
    if s.description:
        rule += f' "{s.description}"'
    return rule


def _endpoint(role: str, ep: EndpointInfo) -> str:
    return f"  {role}: {ep.text()}"


def counterexample_lines(cx: Counterexample) -> list[str]:
    lines = [f"  flow: {cx.flow.text()}", _endpoint("source", cx.src), _endpoint("destination", cx.dst)]
    if cx.note:
        lines.append(f"  note: {cx.note}")
    for n, step in enumerate(cx.trace, 1):
        mark = "" if step.verdict == "allow" else "   <-- blocks"
        lines.append(f"    {n}. {GATE_WORDS.get(step.gate, step.gate)}: {step_resource(step)} {step_rule(step)}"
                     f" => {step.verdict}{mark}")
    if not cx.allowed and cx.blocked_by:
        lines.append("  blocked by: " + "; ".join(f"{s.gate} {step_resource(s)} ({s.verdict})"
                                                  for s in cx.blocked_by))
    return lines


def violation_lines(r: Result) -> list[str]:
    """The violation groups of an enumerated result (`verify --all`); no lines when not enumerated."""
    from .audit import class_pairs, violations_note

    if r.violations_complete is None:
        return []
    out = [f"  violations: {violations_note(r)}"]
    for n, pair in enumerate(class_pairs(r), 1):
        out.append(f"  group {n}: {pair.source} -> {pair.destination} on {pair.services}")
        for v in pair.traced:
            out += ["  " + line for line in counterexample_lines(v.counterexample)]
        if pair.others:
            out.append(f"    and {len(pair.others)} more flow(s) of this group:")
            out += [f"      {t}" for t in pair.others]
    return out


def result_lines(r: Result) -> list[str]:
    head = {"proven": "PROVEN ", "refuted": "REFUTED", "error": "ERROR  "}[r.status]
    lines = [f"{head} {r.id} ({r.kind}, severity {r.severity}) — {r.description or r.statement}"]
    if r.status == "proven":
        lines.append(f"  proven: {r.statement}, for every address, port and ENI of the snapshot")
    elif r.status == "refuted":
        lines.append(f"  claim: {r.statement}")
        if r.counterexample is not None:
            lines += counterexample_lines(r.counterexample)
        lines += violation_lines(r)
        lines += [f"  {line}" for line in repair_lines(r)]
    else:
        lines.append(f"  error: {r.error}")
    lines += [f"  {line}" for line in finding_lines(r)]
    return lines


def render_text(report: Report) -> str:
    report = clean(report, printable)
    out = [f"sgproof {report.version} — {report.spec_name} ({report.spec})",
           f"source: {report.source.kind} {report.source.path or ''}".rstrip()]
    for r in report.results:
        out.append("")
        out += result_lines(r)
    a = report.assumptions
    out.append("")
    out.append(f"assumptions: routing {a.routing}; client ports {a.ephemeral_ports}; verdicts hold for this "
               "snapshot and for new connections; flows to another ENI's public address are out of scope")
    for w in a.warnings:
        out.append(f"warning: {w}")
    out.append(summary_line(report))
    return "\n".join(out) + "\n"


def summary_line(report: Report) -> str:
    """The last line of every text report: the counts and the run's wall time."""
    c = report.counts()
    return f"summary: {c['proven']} proven, {c['refuted']} refuted, {c['errors']} errors in {report.time_text()}"


def render_query_text(report: Report) -> str:
    """The answer to `sgproof query`: a witness flow with its trace, or the proof that none exists."""
    report = clean(report, printable)
    r = report.results[0]
    if r.status == "refuted" and r.counterexample is not None:
        out = ["yes: a flow can go " + r.statement.replace("no endpoint of ", "from ", 1)
               .replace(" can open a connection to any endpoint of ", " to ", 1)]
        out += counterexample_lines(r.counterexample)
    elif r.status == "proven":
        out = [f"no: proven that {r.statement}, for every address, port and ENI of the snapshot"]
    else:
        out = [f"error: {r.error}"]
    out.append(f"assumptions: routing {report.assumptions.routing}; client ports {report.assumptions.ephemeral_ports}")
    out += [f"warning: {w}" for w in report.assumptions.warnings]
    return "\n".join(out) + "\n"
