"""Evaluate one concrete flow through every gate of contract section 4, recording a trace."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import ANY_PROTO, ICMP, ICMPV6, PORTED, Match, Nacl, NaclEntry, Network, Peer, SgRule
from ..model.addr import format_address
from ..model.network import NON_HOST_TYPES
from .routing import NAT_PORTS, NAT_PROTOCOLS, Decision, Path, Router

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
    """A concrete flow; `value` is the destination port or ICMP type*256+code, `sport` the client port,
    `nport` the NAT gateway's own source port when the flow leaves through one (tcp/udp)."""

    src: Endpoint
    dst: Endpoint
    proto: int
    value: int
    sport: int
    nport: int = 0

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
    verdict: str  # allow | deny | no-match | unknown (routing steps only)
    text: str = ""
    tf_address: str | None = None
    description: str = ""  # the admitting rule's Description, as AWS holds it ("" when none)
    ids: tuple[str, ...] = ()  # sg-* steps that deny or match nothing: every group on the ENI (id: the first)
    prefix_list: tuple[str, str] | None = None  # (id, name) of the prefix list the rule names; name may be ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """`allowed` counts an `unknown` routing step as allow (deny/only); `connects` counts it as deny (reach)."""

    allowed: bool
    steps: tuple[Step, ...]  # every gate that applies, in path order
    note: str = ""  # why no gate applies (an endpoint that hosts nothing)

    @property
    def connects(self) -> bool:
        return self.allowed and all(s.verdict != "unknown" for s in self.steps)

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


def peer_blocks(net: Network, peer: Peer) -> list[tuple[int, int, int]]:
    """The address blocks (family, lo, hi) a CIDR or prefix-list peer names; none for a group."""
    if peer.kind == "cidr":
        return [(peer.family, peer.lo, peer.hi)]
    return list(net.prefix_lists[peer.ref].cidrs) if peer.kind == "pl" else []


def peer_matches(net: Network, rule: SgRule, other: Endpoint) -> bool:
    """Whether the rule's peer (CIDR, prefix list or group) names the other end of a flow."""
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
            if matches(rule.match, proto, value) and peer_matches(net, rule, other):
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


def _nacl_of(net: Network, subnet_id: str) -> Nacl:
    return net.nacls[net.subnets[subnet_id].nacl_id]


def _leg(net: Network, gate: str, subnet_id: str, egress: bool, remote: Endpoint, proto: int, value: int) -> Step:
    nacl = _nacl_of(net, subnet_id)
    entry = nacl_decision(nacl, egress, remote, proto, value)
    if entry is None:
        return Step(gate, nacl.id, None, "no-match", "no entry matches")
    return Step(gate, nacl.id, entry.number, "allow" if entry.allow else "deny", entry.text(), entry.tf_address)


def _route_step(gate: str, d: Decision) -> Step:
    return Step(gate, d.id, d.route, d.verdict, d.reason, d.tf_address)


def evaluate(net: Network, flow: Flow) -> Verdict:
    """Decide whether every gate admits the flow; records every applicable gate, even after a block.

    Gates in the path order of contract section 5; routing (4.5) when the network has route tables.
    """
    src, dst = flow.src, flow.dst
    for ep in (src, dst):
        if ep.eni is not None and not net.enis[ep.eni].hosts:
            return Verdict(False, (), NON_HOST_TYPES[net.enis[ep.eni].interface_type])
    path: Path | None = None
    if net.routing is not None:
        path = Router(net).path(src.eni, src.family, src.address, dst.eni, dst.address)
    nat = path.nat if path else None
    tgw = path.tgw if path else None
    s_sub = net.enis[src.eni].subnet_id if src.eni is not None else None
    d_sub = net.enis[dst.eni].subnet_id if dst.eni is not None else None
    same_subnet = s_sub is not None and s_sub == d_sub
    reply = reply_service(flow.proto, flow.value, flow.sport)
    proto, value = flow.proto, flow.value
    steps: list[Step] = []
    if src.eni is not None and net.enis[src.eni].groups:
        steps.append(_sg_gate(net, "sg-egress", src.eni, True, dst, proto, value))
    if path and path.request:
        steps.append(_route_step("route", path.request))
    # a leg inside one subnet passes no NACL: A -> NAT in A's own subnet, or A -> its own TGW attachment subnet
    a_to_nat = nat is not None and nat.subnet_id != s_sub
    if s_sub is not None and not same_subnet and (nat is None or a_to_nat):
        steps.append(_leg(net, "nacl-out", s_sub, True, dst, proto, value))
    # AWS (Network ACLs for transit gateways): towards the gateway both the sender's subnet (outbound) and
    # the attachment subnet (inbound) are evaluated, even when they are one subnet; from the gateway into
    # the attachment's own subnet nothing is
    if tgw:
        steps.append(_leg(net, "nacl-tgw-in", tgw.sender_subnet, False, src, proto, value))
    if nat:
        if a_to_nat:
            steps.append(_leg(net, "nacl-nat-in", nat.subnet_id, False, src, proto, value))
        steps.append(_route_step("nat", _nat_gate(nat.decision, proto)))
        steps.append(_leg(net, "nacl-nat-out", nat.subnet_id, True, dst, proto, value))
    if tgw and tgw.receiver_subnet != d_sub:
        steps.append(_leg(net, "nacl-tgw-out", tgw.receiver_subnet, True, dst, proto, value))
    if d_sub is not None and not same_subnet and not (tgw and tgw.receiver_subnet == d_sub):
        steps.append(_leg(net, "nacl-in", d_sub, False, src, proto, value))
    if dst.eni is not None and net.enis[dst.eni].groups:
        steps.append(_sg_gate(net, "sg-ingress", dst.eni, False, src, proto, value))
    if path and path.reply:
        steps.append(_route_step("route-reply", path.reply))
    if reply is not None:
        rproto, rvalue = reply
        if d_sub is not None and not same_subnet:
            steps.append(_leg(net, "nacl-reply-out", d_sub, True, src, rproto, rvalue))
        if tgw:
            steps.append(_leg(net, "nacl-tgw-reply-in", tgw.receiver_subnet, False, dst, rproto, rvalue))
        if nat:
            nat_value = flow.nport if proto in PORTED else rvalue
            steps.append(_leg(net, "nacl-nat-reply-in", nat.subnet_id, False, dst, rproto, nat_value))
            if a_to_nat:
                steps.append(_leg(net, "nacl-nat-reply-out", nat.subnet_id, True, src, rproto, rvalue))
        if tgw and tgw.sender_subnet != s_sub:
            steps.append(_leg(net, "nacl-tgw-reply-out", tgw.sender_subnet, True, src, rproto, rvalue))
        if (s_sub is not None and not same_subnet and (nat is None or a_to_nat)
                and not (tgw and tgw.sender_subnet == s_sub)):
            steps.append(_leg(net, "nacl-reply-in", s_sub, False, dst, rproto, rvalue))
    return Verdict(all(s.verdict in ("allow", "unknown") for s in steps), tuple(steps))


def _nat_gate(d: Decision, proto: int) -> Decision:
    """The NAT gateway's own step: it carries only tcp, udp and icmp, then its table's route decides."""
    if proto not in NAT_PROTOCOLS:
        return Decision(d.id, d.route, "deny", f"a NAT gateway carries only tcp, udp and icmp (not protocol {proto})",
                        d.tf_address)
    return d


# The gates whose decision reads the client port or the NAT gateway's source port: the NACL legs of the
# reply (its destination port is the request's source port). Every other gate, and every routing step,
# decides the same whatever those ports are.
PORT_GATES = frozenset(("nacl-reply-out", "nacl-tgw-reply-in", "nacl-nat-reply-in", "nacl-nat-reply-out",
                        "nacl-tgw-reply-out", "nacl-reply-in"))


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


class ServiceCuts:
    """Where the service values of a network's rules and NACL entries start and end, by protocol, and which
    protocols the evaluator tells apart from the rest; computed as asked, once per network, for callers
    that ask one network about many pairs (the flow map, `--all`)."""

    def __init__(self, net: Network):
        self.net = net
        self._cuts: dict[int, set[int]] = {}
        self._named: set[int] | None = None
        self._matches: list[Match] | None = None

    def _rules(self) -> list[Match]:
        """What every security group rule and NACL entry matches besides addresses (listed once)."""
        if self._matches is None:
            net = self.net
            self._matches = [r.match for sg in net.sgs.values() for r in (*sg.ingress, *sg.egress)]
            self._matches += [e.match for nacl in net.nacls.values() for e in (*nacl.ingress, *nacl.egress)]
        return self._matches

    def of(self, proto: int) -> set[int]:
        """Service values where some rule or entry that matches `proto` starts or ends (an ICMP request
        whose reply must cross the NACLs behaves apart from its neighbours)."""
        got = self._cuts.get(proto)
        if got is None:
            got = set()
            for m in self._rules():
                if m.proto == proto:
                    got.update((m.lo, m.hi + 1))
            for request in ICMP_REPLY.get(proto, {}):
                got.update((request * 256, (request + 1) * 256))
            self._cuts[proto] = got
        return got

    def plain(self, proto: int) -> bool:
        """Whether `proto` is one of the protocols the evaluator cannot tell apart: no rule or entry names
        it (only protocol -1 matches it), it has no ports and no ICMP types, and a NAT gateway does not
        carry it. Every flow of one of them has the verdict of the same flow on any other of them."""
        if self._named is None:
            self._named = {m.proto for m in self._rules() if m.proto != ANY_PROTO}
            self._named.update(PORTED, NAT_PROTOCOLS, ICMP_REPLY, (ICMP, ICMPV6))
        return proto not in self._named


def connection_exists(net: Network, src: Endpoint, dst: Endpoint, proto: int, value: int,
                      ephemeral: tuple[int, int]) -> tuple[bool, Flow]:
    """Whether some client port of the ephemeral range (and, through a NAT gateway, some NAT source port)
    lets request and reply through, counting `unknown` routing as no route; returns a flow.

    When no port works, the returned flow uses the first representative ports (for the trace). The
    first ports are tried before the others are worked out: when a gate that reads neither port stops
    that flow (`PORT_GATES`), no other port can pass.
    """
    ported = proto in PORTED
    nat = ported and net.routing is not None and src.eni is not None and dst.eni is None
    # every representative list starts at its range's low end
    first = Flow(src, dst, proto, value, ephemeral[0] if ported else 0, NAT_PORTS[0] if nat else 0)
    verdict = evaluate(net, first)
    if verdict.connects:
        return True, first
    if any(s.gate not in PORT_GATES for s in verdict.steps if s.verdict != "allow"):
        return False, first
    ports = port_representatives(net, *ephemeral) if ported else [0]
    nports = port_representatives(net, *NAT_PORTS) if nat else [0]
    for sport in ports:
        for nport in nports:
            flow = Flow(src, dst, proto, value, sport, nport)
            if flow != first and evaluate(net, flow).connects:
                return True, flow
    return False, first
