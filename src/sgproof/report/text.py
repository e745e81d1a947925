"""Plain text for a terminal or a log: verdicts, flows on one line, numbered traces, assumptions."""

from __future__ import annotations

from .model import Counterexample, EndpointInfo, Report, Result

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


def _endpoint(role: str, ep: EndpointInfo) -> str:
    return f"  {role}: {ep.text()}"


def counterexample_lines(cx: Counterexample) -> list[str]:
    lines = [f"  flow: {cx.flow.text()}", _endpoint("source", cx.src), _endpoint("destination", cx.dst)]
    if cx.note:
        lines.append(f"  note: {cx.note}")
    for n, step in enumerate(cx.trace, 1):
        rule = step.text or (f"rule {step.rule}" if step.rule is not None else "")
        if step.gate in ROUTING_GATES:
            rule = " - ".join(str(x) for x in (step.rule, step.text) if x)
        tf = f" ({step.tf_address})" if step.tf_address else ""
        mark = "" if step.verdict == "allow" else "   <-- blocks"
        lines.append(f"    {n}. {GATE_WORDS.get(step.gate, step.gate)}: {step.id} {rule}{tf} => {step.verdict}{mark}")
    if not cx.allowed and cx.blocked_by:
        lines.append("  blocked by: " + "; ".join(f"{s.gate} {s.id} ({s.verdict})" for s in cx.blocked_by))
    return lines


def result_lines(r: Result) -> list[str]:
    head = {"proven": "PROVEN ", "refuted": "REFUTED", "error": "ERROR  "}[r.status]
    lines = [f"{head} {r.id} ({r.kind}, severity {r.severity}) — {r.description or r.statement}"]
    if r.status == "proven":
        lines.append(f"  proven: {r.statement}, for every address, port and ENI of the snapshot")
    elif r.status == "refuted":
        lines.append(f"  claim: {r.statement}")
        if r.counterexample is not None:
            lines += counterexample_lines(r.counterexample)
    else:
        lines.append(f"  error: {r.error}")
    return lines


def render_text(report: Report) -> str:
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
    c = report.counts()
    out.append(f"summary: {c['proven']} proven, {c['refuted']} refuted, {c['errors']} errors "
               f"in {report.seconds:.2f}s")
    return "\n".join(out) + "\n"


def render_query_text(report: Report) -> str:
    """The answer to `sgproof query`: a witness flow with its trace, or the proof that none exists."""
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
