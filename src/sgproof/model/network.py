"""The network model: frozen facts read from a source. No I/O, no z3."""

from __future__ import annotations

from dataclasses import dataclass, field

from .addr import Interval, format_interval
from .routing import Routing

ANY_PROTO = -1
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
PORTED = (TCP, UDP)
ICMPS = (ICMP, ICMPV6)
SERVICE_MAX = 65535  # ports 0-65535; ICMP type*256+code

# Interfaces that carry traffic for others and host nothing (contract 4.6), with the words a report uses.
NON_HOST_TYPES = {
    "nat_gateway": "a NAT gateway accepts no connection",
    "transit_gateway": "a transit gateway attachment accepts no connection",
    "gateway_load_balancer": "a Gateway Load Balancer accepts no connection",
    "gateway_load_balancer_endpoint": "a Gateway Load Balancer endpoint accepts no connection",
}

PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}


def proto_name(proto: int) -> str:
    if proto == ANY_PROTO:
        return "all"
    return PROTO_NAMES.get(proto, str(proto))


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule matches besides addresses: a protocol (-1 all) and an interval of the service value.

    The service value is the destination port for tcp/udp and type*256+code for icmp/icmpv6;
    any other protocol (and -1) carries no service value and matches all of it.
    """

    proto: int
    lo: int = 0
    hi: int = SERVICE_MAX

    def text(self) -> str:
        if self.proto == ANY_PROTO:
            return "all"
        name = proto_name(self.proto)
        if self.proto in PORTED:
            if (self.lo, self.hi) == (0, SERVICE_MAX):
                return f"{name} all ports"
            return f"{name} {self.lo}" if self.lo == self.hi else f"{name} {self.lo}-{self.hi}"
        if self.proto in ICMPS:
            if (self.lo, self.hi) == (0, SERVICE_MAX):
                return f"{name} all"
            t, c = divmod(self.lo, 256)
            if self.hi - self.lo == 255:
                return f"{name} type {t}"
            return f"{name} type {t} code {c}"
        return name


@dataclass(frozen=True, slots=True)
class Peer:
    """The other end a rule names: a CIDR block, a security group, or a prefix list."""

    kind: str  # "cidr" | "sg" | "pl"
    ref: str  # the CIDR text, group id or prefix-list id
    family: int = 0  # for cidr
    lo: int = 0
    hi: int = 0


@dataclass(frozen=True, slots=True)
class SgRule:
    """One (protocol, ports, peer) line of a security group, flattened from an IpPermission."""

    sg_id: str
    egress: bool
    match: Match
    peer: Peer
    origin: str  # JSON path in the source
    description: str = ""
    tf_address: str | None = None

    def text(self) -> str:
        word = "to" if self.egress else "from"
        return f"{self.match.text()} {word} {self.peer.ref}"

    def content(self) -> tuple[bool, Match, Peer]:
        """What the rule does, without where it came from (two rules with one content behave alike)."""
        return self.egress, self.match, self.peer


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    id: str
    name: str
    vpc_id: str | None
    ingress: tuple[SgRule, ...]
    egress: tuple[SgRule, ...]
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class NaclEntry:
    """One NACL entry; the CIDR matches the remote address (source inbound, destination outbound)."""

    number: int
    egress: bool
    allow: bool
    match: Match
    family: int
    lo: int
    hi: int
    cidr: str
    origin: str
    tf_address: str | None = None

    def text(self) -> str:
        num = "*" if self.number in (32767, 32768) else str(self.number)
        word = "to" if self.egress else "from"
        return f"#{num} {'allow' if self.allow else 'deny'} {self.match.text()} {word} {self.cidr}"


@dataclass(frozen=True, slots=True)
class Nacl:
    id: str
    vpc_id: str
    is_default: bool
    ingress: tuple[NaclEntry, ...]  # sorted by rule number
    egress: tuple[NaclEntry, ...]
    subnet_ids: tuple[str, ...]
    tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class Subnet:
    id: str
    vpc_id: str
    cidrs: tuple[tuple[int, int, int], ...]  # (family, lo, hi)
    nacl_id: str
    tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None
    az: str | None = None  # AvailabilityZone (transit gateway attachments are chosen by zone)

    @property
    def name(self) -> str | None:
        return dict(self.tags).get("Name")


@dataclass(frozen=True, slots=True)
class Vpc:
    id: str
    cidrs: tuple[tuple[int, int, int], ...]
    tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None

    @property
    def name(self) -> str | None:
        return dict(self.tags).get("Name")


@dataclass(frozen=True, slots=True)
class PrefixList:
    id: str
    name: str
    cidrs: tuple[tuple[int, int, int], ...]
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class Eni:
    """A network interface: where it sits, the groups it carries, and the addresses it owns.

    `private` holds (family, lo, hi) intervals: single addresses and delegated prefixes alike;
    `public` holds IPv4 public / Elastic addresses (received at from external sources only).
    """

    id: str
    subnet_id: str
    vpc_id: str
    groups: tuple[str, ...]
    private: tuple[tuple[int, int, int], ...]
    public: tuple[int, ...] = ()
    interface_type: str = "interface"
    description: str = ""
    requester_managed: bool = False
    instance_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    instance_tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None
    instance_tf_address: str | None = None
    address_unknown: bool = False  # one address somewhere in `private` (a plan before apply)
    public_map: tuple[tuple[int, int], ...] = ()  # (private IPv4, its public or Elastic IPv4), one to one
    unknown_block: tuple[int, int, int] | None = None  # with address_unknown: the block its one address is in

    @property
    def hosts(self) -> bool:
        """Whether flows may start or end here (contract 4.6: NAT, transit gateway, GWLB ENIs host nothing)."""
        return self.interface_type not in NON_HOST_TYPES

    @property
    def name(self) -> str | None:
        return dict(self.tags).get("Name") or dict(self.instance_tags).get("Name")

    def label(self) -> str:
        bits = [self.id]
        if self.instance_id:
            bits.append(self.instance_id)
        if self.name:
            bits.append(repr(self.name))
        if self.interface_type != "interface":
            bits.append(self.interface_type)
        elif self.requester_managed and self.description:
            bits.append(repr(self.description))
        return " ".join(bits)

    def addresses_text(self) -> str:
        return ", ".join(format_interval(f, lo, hi) for f, lo, hi in self.private)


@dataclass(frozen=True, slots=True)
class Network:
    vpcs: dict[str, Vpc]
    subnets: dict[str, Subnet]
    enis: tuple[Eni, ...]
    sgs: dict[str, SecurityGroup]
    nacls: dict[str, Nacl]
    prefix_lists: dict[str, PrefixList]
    warnings: tuple[str, ...] = ()
    # every address in some VPC block, per family (normalized intervals)
    vpc_space: dict[int, tuple[Interval, ...]] = field(default_factory=dict)
    # addresses that are external endpoints, per family: outside every VPC block, not an ENI's public IP
    external: dict[int, tuple[Interval, ...]] = field(default_factory=dict)
    unknown_groups: frozenset[str] = frozenset()
    routing: Routing | None = None  # None: no RouteTables in the snapshot, routing is open
