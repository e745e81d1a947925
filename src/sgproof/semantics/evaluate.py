"""Evaluate one concrete flow through every gate of contract section 4, recording a trace."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import ANY_PROTO, ICMP, ICMPV6, PORTED, Match, Nacl, NaclEntry, Network, SgRule
from ..model.addr import format_address

# ICMP requests whose reply must come back through the NACLs, and their reply types.
ICMP_REPLY = {ICMP: {8: 0, 13: 14, 15: 16, 17: 18}, ICMPV6: {128: 129}}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a flow: an ENI (index into Network.enis) or an external address (eni None)."""

    eni: int | None
    family: int
    address: int

    def text(self) -> str:
        return format_address(self.family, self.address)

    def hostport(self, port: int) -> str:
        return f"{self.text()}:{port}" if self.family == 4 else f"[{self.text()}]:{port}"


@dataclass(frozen=True, slots=True)
class Flow:
    """A concrete flow; `value` is the destination port or ICMP type*256+code, `sport` the client port."""

    src: Endpoint
    dst: Endpoint
    proto: int
    value: int
    sport: int

    def text(self) -> str:
        from ..model import proto_name

        name = proto_name(self.proto)
        if self.proto in PORTED:
            return f"{name} {self.src.hostport(self.sport)} -> {self.dst.hostport(self.value)}"
        if self.proto in (ICMP, ICMPV6):
            t, c = divmod(self.value, 256)
            return f"{name} {self.src.text()} -> {self.dst.text()} type {t} code {c}"
        return f"proto {name} {self.src.text()} -> {self.dst.text()}"


@dataclass(frozen=True, slots=True)
class Step:
    """One gate's decision: which resource, which rule, and whether it admitted the packet."""

    gate: str
    id: str
    rule: str | int | None
    verdict: str  # allow | deny | no-match
    text: str = ""
    tf_address: str | None = None
    description: str = ""  # the admitting rule's Description, as AWS holds it ("" when none)
    ids: tuple[str, ...] = ()  # sg-* steps that deny or match nothing: every group on the ENI (id: the first)
    prefix_list: tuple[str, str] | None = None  # (id, name) of the prefix list the rule names; name may be ""


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    steps: tuple[Step, ...]  # every gate that applies, in path order

    @property
    def blocked_by(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.verdict != "allow")


def reply_service(proto: int, value: int, sport: int) -> tuple[int, int] | None:
    """The (protocol, service value) of the reply that must cross the NACLs, or None when none returns."""
    if proto in PORTED:
        return proto, sport
    if proto in ICMP_REPLY:
        reply_type = ICMP_REPLY[proto].get(value // 256)
        return None if reply_type is None else (proto, reply_type * 256)
    return proto, 0


def matches(m: Match, proto: int, value: int) -> bool:
    return (m.proto == ANY_PROTO or m.proto == proto) and m.lo <= value <= m.hi


def _peer_matches(net: Network, rule: SgRule, other: Endpoint) -> bool:
    peer = rule.peer
    if peer.kind == "cidr":
        return peer.family == other.family and peer.lo <= other.address <= peer.hi
    if peer.kind == "pl":
        pl = net.prefix_lists[peer.ref]
        return any(f == other.family and lo <= other.address <= hi for f, lo, hi in pl.cidrs)
    if peer.ref in net.unknown_groups:
        return other.eni is None
    return other.eni is not None and peer.ref in net.enis[other.eni].groups


def _sg_gate(net: Network, gate: str, eni: int, egress: bool, other: Endpoint, proto: int, value: int) -> Step:
    e = net.enis[eni]
    for gid in e.groups:
        sg = net.sgs[gid]
        for rule in sg.egress if egress else sg.ingress:
            if matches(rule.match, proto, value) and _peer_matches(net, rule, other):
                pl = None
                shown = rule.text()
                if rule.peer.kind == "pl":
                    name = net.prefix_lists[rule.peer.ref].name
                    pl = (rule.peer.ref, "" if name == rule.peer.ref else name)
                    if pl[1]:
                        shown += f" ({pl[1]})"
                named = shown if sg.name == gid else f"({sg.name}) {shown}"
                return Step(gate, gid, rule.text(), "allow", named, rule.tf_address, rule.description, (), pl)
    return Step(gate, e.groups[0], None, "no-match", "no rule of " + ", ".join(e.groups) + " admits it",
                ids=e.groups)


def nacl_decision(nacl: Nacl, egress: bool, remote: Endpoint, proto: int, value: int) -> NaclEntry | None:
    """The first entry (by rule number) that matches, or None."""
    for entry in nacl.egress if egress else nacl.ingress:
        if (
            entry.family == remote.family
            and entry.lo <= remote.address <= entry.hi
            and matches(entry.match, proto, value)
        ):
            return entry
    return None


def _nacl_gate(net: Network, gate: str, eni: int, egress: bool, remote: Endpoint, proto: int, value: int) -> Step:
    nacl = net.nacls[net.subnets[net.enis[eni].subnet_id].nacl_id]
    entry = nacl_decision(nacl, egress, remote, proto, value)
    if entry is None:
        return Step(gate, nacl.id, None, "no-match", "no entry matches")
    return Step(gate, nacl.id, entry.number, "allow" if entry.allow else "deny", entry.text(), entry.tf_address)


def evaluate(net: Network, flow: Flow) -> Verdict:
    """Decide whether every gate admits the flow; records every applicable gate, even after a block."""
    src, dst = flow.src, flow.dst
    steps: list[Step] = []
    if src.eni is not None and net.enis[src.eni].groups:
        steps.append(_sg_gate(net, "sg-egress", src.eni, True, dst, flow.proto, flow.value))
    same_subnet = (
        src.eni is not None
        and dst.eni is not None
        and net.enis[src.eni].subnet_id == net.enis[dst.eni].subnet_id
    )
    reply = reply_service(flow.proto, flow.value, flow.sport)
    if not same_subnet:
        if src.eni is not None:
            steps.append(_nacl_gate(net, "nacl-out", src.eni, True, dst, flow.proto, flow.value))
        if dst.eni is not None:
            steps.append(_nacl_gate(net, "nacl-in", dst.eni, False, src, flow.proto, flow.value))
    if dst.eni is not None and net.enis[dst.eni].groups:
        steps.append(_sg_gate(net, "sg-ingress", dst.eni, False, src, flow.proto, flow.value))
    if not same_subnet and reply is not None:
        if dst.eni is not None:
            steps.append(_nacl_gate(net, "nacl-reply-out", dst.eni, True, src, reply[0], reply[1]))
        if src.eni is not None:
            steps.append(_nacl_gate(net, "nacl-reply-in", src.eni, False, dst, reply[0], reply[1]))
    return Verdict(all(s.verdict == "allow" for s in steps), tuple(steps))


def port_representatives(net: Network, lo: int, hi: int) -> list[int]:
    """Client ports in [lo, hi] such that every NACL port range is constant between consecutive ones."""
    cuts = {lo}
    for nacl in net.nacls.values():
        for entry in (*nacl.ingress, *nacl.egress):
            if entry.match.proto in PORTED:
                for b in (entry.match.lo, entry.match.hi + 1):
                    if lo < b <= hi:
                        cuts.add(b)
    return sorted(cuts)


def connection_exists(net: Network, src: Endpoint, dst: Endpoint, proto: int, value: int,
                      ephemeral: tuple[int, int]) -> tuple[bool, Flow]:
    """Whether some client port of the ephemeral range lets request and reply through; returns a flow.

    When no port works, the returned flow uses the first representative port (for the trace).
    """
    ports = port_representatives(net, *ephemeral) if proto in PORTED else [0]
    first = None
    for sport in ports:
        flow = Flow(src, dst, proto, value, sport)
        if evaluate(net, flow).allowed:
            return True, flow
        first = first or flow
    assert first is not None
    return False, first
