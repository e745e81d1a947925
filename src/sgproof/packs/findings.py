"""config_findings of pack invariants: every rule or entry a control's literal check flags, each marked
exposed (with a witness some allowed flow of the invariant gives) or not (with what blocks it)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import InternalError
from ..model import ICMPS, PORTED, TCP, Match, Network, SgRule, proto_name
from ..model.addr import format_address, is_global, parse_cidr
from ..model.network import NaclEntry
from ..report.findings import ConfigFinding
from ..report.model import Report
from ..semantics import Endpoint, Flow, Step, evaluate
from ..semantics.evaluate import matches, peer_matches
from ..spec import Invariant, ServiceSet
from ..spec.select import EndpointSet
from . import CONTROLS, Literal

if TYPE_CHECKING:
    from ..encode.check import Checker


def add_config_findings(report: Report, checker: Checker) -> Report:
    """The report with `control` on every result whose invariant names one, and `config_findings` on
    every deny/only result of a pack invariant (its id and control those of a shipped control)."""
    invs = {inv.id: inv for inv in checker.spec.invariants}
    results = []
    for r in report.results:
        inv = invs.get(r.id)
        if inv is None or inv.control is None:
            results.append(r)
            continue
        ctl = CONTROLS.get(inv.id)
        if ctl is None or ctl.control != inv.control or inv.kind == "reach" or r.status == "error":
            results.append(dataclasses.replace(r, control=inv.control))
            continue
        found = tuple(config_findings(checker, inv, ctl.literal))
        if r.status == "proven" and not any(not e.expired for e in inv.exemptions):
            bad = [f for f in found if f.exposed]
            if bad:
                raise InternalError(f"{inv.id} is proven, yet {bad[0].text()}")
        results.append(dataclasses.replace(r, control=inv.control, config_findings=found))
    return dataclasses.replace(report, results=tuple(results))


def _full(text: str) -> tuple[int, int, int]:
    return parse_cidr(text)


def _rule_services(m: Match) -> ServiceSet:
    protos = range(256) if m.proto == -1 else [m.proto]
    return ServiceSet.of({p: [(m.lo, m.hi)] for p in protos})


def _overlap(a: ServiceSet, b: ServiceSet) -> ServiceSet:
    return a.minus(a.minus(b))


def flagged(net: Network, lit: Literal) -> list[tuple[str, SgRule | NaclEntry]]:
    """What the literal check flags, in a fixed order: (resource id, SG rule or NACL entry)."""
    peers = {_full(p) for p in lit.peers}
    egress = lit.direction == "egress"
    out: list[tuple[str, SgRule | NaclEntry]] = []
    if lit.kind in ("sg", "default-sg"):
        for sg in sorted(net.sgs.values(), key=lambda g: g.id):
            if lit.kind == "default-sg" and sg.name != "default":
                continue
            for rule in sg.egress if egress else sg.ingress:
                if lit.kind == "sg":
                    p = rule.peer
                    if p.kind != "cidr" or (p.family, p.lo, p.hi) not in peers:
                        continue
                    if _overlap(_rule_services(rule.match), lit.services).is_empty():
                        continue
                out.append((sg.id, rule))
        return out
    for nacl in sorted(net.nacls.values(), key=lambda n: n.id):
        for e in nacl.egress if egress else nacl.ingress:
            if e.allow and e.number < 32767 and (e.family, e.lo, e.hi) in peers and not _overlap(
                    _rule_services(e.match), lit.services).is_empty():
                out.append((nacl.id, e))
    return out


def sg_item(rule: SgRule) -> dict[str, Any]:
    """The IpPermissions item of one rule, with its one peer."""
    m = rule.match
    item: dict[str, Any] = {"IpProtocol": "-1" if m.proto == -1 else proto_name(m.proto)}
    if m.proto in PORTED:
        item["FromPort"], item["ToPort"] = m.lo, m.hi
    elif m.proto in ICMPS:
        if (m.lo, m.hi) == (0, 65535):
            item["FromPort"], item["ToPort"] = -1, -1
        else:
            t, c = divmod(m.lo, 256)
            item["FromPort"], item["ToPort"] = t, (-1 if m.hi - m.lo == 255 else c)
    p = rule.peer
    extra = {"Description": rule.description} if rule.description else {}
    if p.kind == "cidr" and p.family == 4:
        item["IpRanges"] = [{"CidrIp": p.ref, **extra}]
    elif p.kind == "cidr":
        item["Ipv6Ranges"] = [{"CidrIpv6": p.ref, **extra}]
    elif p.kind == "sg":
        item["UserIdGroupPairs"] = [{"GroupId": p.ref, **extra}]
    else:
        item["PrefixListIds"] = [{"PrefixListId": p.ref, **extra}]
    return item


def nacl_item(e: NaclEntry) -> dict[str, Any]:
    """The Entries item of one NACL entry."""
    m = e.match
    item: dict[str, Any] = {"RuleNumber": e.number, "Egress": e.egress, "RuleAction": "allow" if e.allow else "deny",
                            "Protocol": str(m.proto), ("CidrBlock" if e.family == 4 else "Ipv6CidrBlock"): e.cidr}
    if m.proto in PORTED:
        item["PortRange"] = {"From": m.lo, "To": m.hi}
    elif m.proto in ICMPS and (m.lo, m.hi) != (0, 65535):
        t, c = divmod(m.lo, 256)
        item["IcmpTypeCode"] = {"Type": t, "Code": -1 if m.hi - m.lo == 255 else c}
    return item


def config_findings(checker: Checker, inv: Invariant, lit: Literal) -> list[ConfigFinding]:
    """Each flagged rule or entry, exposed with a replayed witness or not exposed with the reason."""
    out = []
    for resource, target in flagged(checker.net, lit):
        rule_id: str | int
        if isinstance(target, SgRule):
            got = checker.config_exposure(inv, rule=target)
            direction, rule_id, item = lit.direction, target.text(), sg_item(target)
            tf = target.tf_address
        else:
            got = checker.config_exposure(inv, nacl=resource, entry=target)
            direction, rule_id, item = lit.direction, target.number, nacl_item(target)
            tf = target.tf_address
        if isinstance(got, str):
            raise InternalError(f"{inv.id}: the solver could not decide whether {resource} {rule_id} is exposed "
                                f"({got})")
        if got is not None:
            out.append(ConfigFinding(resource, direction, rule_id, item, True, got, None, target.origin, tf))
            continue
        why = (_rule_reason(checker, inv, target) if isinstance(target, SgRule)
               else _entry_reason(checker, inv, resource, target))
        out.append(ConfigFinding(resource, direction, rule_id, item, False, None, why, target.origin, tf))
    return out


# ---- why a flagged rule carries no flow of the invariant --------------------------------------------



def _services_to_try(svc: ServiceSet, limit: int = 8) -> list[tuple[int, int]]:
    """Representative (protocol, value) pairs: tcp first, echo request for ICMP, each range's lowest value."""
    by = dict(svc.by_proto)
    order = ([TCP] if TCP in by else []) + [p for p in by if p != TCP]
    out: list[tuple[int, int]] = []
    for proto in order:
        echo = {1: 8 * 256, 58: 128 * 256}.get(proto)
        if echo is not None and any(lo <= echo <= hi for lo, hi in by[proto]):
            out.append((proto, echo))
        else:
            out += [(proto, lo) for lo, _ in by[proto]]
    return out[:limit]


def _external_in(checker: Checker, family: int, lo: int, hi: int, sel: EndpointSet) -> Endpoint | None:
    """An external address of the selection inside [lo, hi], globally routable when there is one."""
    ivs = [(max(a, lo), min(b, hi)) for a, b in sel.ext_of(family) if a <= hi and b >= lo]
    if not ivs:
        return None
    atoms = checker.atoms
    for a, b in ivs:
        for atom in range(atoms.index(family, a), atoms.index(family, b) + 1):
            _, x, y = atoms.bounds(atom)
            cand = max(a, min(b, x + 1 if x < y else x))
            if is_global(family, cand):
                return Endpoint(None, family, cand)
    return Endpoint(None, family, ivs[0][0])


def _own_address(net: Network, i: int, family: int, external_peer: bool, inbound: bool) -> Endpoint | None:
    e = net.enis[i]
    if family == 4 and external_peer and inbound and e.public:
        return Endpoint(i, 4, e.public[0])
    return next((Endpoint(i, f, a) for f, a, _ in e.private if f == family), None)


def _head(net: Network, flow: Flow, first: Step) -> str:
    """The kind of block, in the contract's words."""
    if first.gate.startswith("nacl"):
        return "a NACL denies"
    if first.gate in ("route", "route-reply", "nat"):
        no_public = (flow.src.eni is None and flow.dst.family == 4 and flow.dst.eni is not None
                     and not net.enis[flow.dst.eni].public)
        return "no public address" if no_public or "public" in first.text else "no route"
    if first.gate == "sg-ingress":
        return "no security group of the destination admits it"
    return "no security group of the source admits it"


def _why(net: Network, flow: Flow, steps: tuple[Step, ...]) -> tuple[str, str]:
    """(the kind of block, the example that shows it)."""
    blocking = [s for s in steps if s.verdict != "allow"]
    detail = "; ".join(" ".join(str(x) for x in (s.gate, s.id, s.rule if s.rule is not None else "", s.verdict,
                                                    f"({s.text})" if s.text else "") if x != "")
                       for s in blocking)
    return _head(net, flow, blocking[0]), f"e.g. {flow.text()} stops at {detail}"


def _joined(reasons: list[tuple[str, str]]) -> str:
    """Each kind of block once, with its first example."""
    seen: dict[str, str] = {}
    for head, example in reasons:
        seen.setdefault(head, example)
    return "; ".join(f"{head}: {example}" for head, example in seen.items())


def _flow(checker: Checker, src: Endpoint, dst: Endpoint, proto: int, value: int) -> Flow:
    eph = checker.spec.ephemeral[0]
    return Flow(src, dst, proto, value, eph if proto in PORTED else 0, 1024 if proto in PORTED else 0)


def _rule_reason(checker: Checker, inv: Invariant, rule: SgRule) -> str:
    net = checker.net
    carriers = checker.selection.carriers(rule.sg_id)
    members = [i for i in carriers if net.enis[i].hosts]
    if not carriers:
        return "attached to no ENI"
    if not members:
        return "attached to no ENI that hosts anything (only NAT, transit gateway or load balancer interfaces)"
    src, dst = checker.sides(inv)
    own_side, other_side = (src, dst) if rule.egress else (dst, src)
    own = [i for i in members if i in own_side.enis]
    if not own:
        return "attached to no ENI of the invariant's " + ("sources" if rule.egress else "destinations")
    svc = _overlap(inv.services, _rule_services(rule.match))
    peer = rule.peer
    for i in own:
        other: Endpoint | None = None
        if peer.kind == "cidr":
            other = _external_in(checker, peer.family, peer.lo, peer.hi, other_side)
            if other is None:
                j = next((k for k in sorted(other_side.enis) if k != i and net.enis[k].hosts and any(
                    f == peer.family and a <= peer.hi and b >= peer.lo for f, a, b in net.enis[k].private)), None)
                if j is not None:
                    a = next(max(a, peer.lo) for f, a, b in net.enis[j].private
                             if f == peer.family and a <= peer.hi and b >= peer.lo)
                    other = Endpoint(j, peer.family, a)
        elif peer.kind == "sg":
            j = next((k for k in sorted(other_side.enis) if k != i and peer.ref in net.enis[k].groups
                      and net.enis[k].hosts), None)
            if j is not None:
                f, a, _ = net.enis[j].private[0]
                other = Endpoint(j, f, a)
        if other is None:
            continue
        me = _own_address(net, i, other.family, other.eni is None, not rule.egress)
        if me is None:
            continue
        reasons = []
        for proto, value in _services_to_try(svc):
            flow = (_flow(checker, me, other, proto, value) if rule.egress
                    else _flow(checker, other, me, proto, value))
            verdict = evaluate(net, flow)
            far = flow.dst if rule.egress else flow.src
            if verdict.allowed and matches(rule.match, flow.proto, flow.value) and peer_matches(net, rule, far):
                raise InternalError(f"{inv.id}: the solver proved that no flow uses {rule.sg_id} {rule.text()}, "
                                    f"but the plain evaluator allows {flow.text()}")
            if not verdict.allowed:
                reasons.append(_why(net, flow, verdict.steps))
        if reasons:
            return _joined(reasons)
    if peer.kind == "cidr":
        fam = "IPv4" if peer.family == 4 else "IPv6"
        if not any(f == peer.family for i in own for f, _, _ in net.enis[i].private):
            return f"no public address: no ENI that carries {rule.sg_id} has an {fam} address"
        return f"no endpoint of the invariant in {peer.ref} can reach an ENI that carries {rule.sg_id}"
    return f"no other ENI carries {peer.ref}, the peer it names"


def _entry_reason(checker: Checker, inv: Invariant, nacl_id: str, entry: NaclEntry) -> str:
    net = checker.net
    subnets = {sub.id for sub in net.subnets.values() if sub.nacl_id == nacl_id}  # a default ACL's too
    src, dst = checker.sides(inv)
    behind = [i for i, e in enumerate(net.enis) if e.subnet_id in subnets and e.hosts and i in dst.enis]
    if not behind:
        return "attached to no ENI (its subnets hold no ENI of the invariant)"
    other = _external_in(checker, entry.family, entry.lo, entry.hi, src)
    if other is None:
        return f"no source of the invariant lies in {entry.cidr}"
    svc = _overlap(inv.services, _rule_services(entry.match))
    for i in behind:
        me = _own_address(net, i, entry.family, True, True)
        if me is None:
            continue
        reasons = []
        for proto, value in _services_to_try(svc):
            flow = _flow(checker, other, me, proto, value)
            verdict = evaluate(net, flow)
            step = next((s for s in verdict.steps if s.gate == "nacl-in" and s.id == nacl_id), None)
            if step is not None and step.rule != entry.number:
                reasons.append(("an earlier entry decides", f"e.g. {flow.text()} meets {nacl_id} entry #{step.rule} "
                                                            f"({step.verdict}) before #{entry.number}"))
            elif verdict.allowed:
                raise InternalError(f"{inv.id}: the solver proved that no flow uses {nacl_id} entry "
                                    f"#{entry.number}, but the plain evaluator allows {flow.text()}")
            else:
                reasons.append(_why(net, flow, verdict.steps))
        if reasons:
            return _joined(reasons)
    fam = "IPv4" if entry.family == 4 else "IPv6"
    return f"no public address: no ENI behind it has an {fam} address ({format_address(entry.family, entry.lo)})"
