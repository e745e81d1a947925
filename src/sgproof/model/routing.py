"""Routing facts (contract 4.5): route tables, their routes, and the gateways routes point at. No z3."""

from __future__ import annotations

from dataclasses import dataclass

from .addr import format_interval

# Route target kinds this version models as path elements; every other target is "unmodelled" (unknown).
TARGET_KINDS = ("local", "igw", "eigw", "nat", "pcx", "tgw", "vgw", "vpce", "unmodelled")
# Tie order at equal prefix length (contract 4.5): static beats prefix list beats propagated.
RANK_STATIC, RANK_PREFIX_LIST, RANK_PROPAGATED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Route:
    """One route of a table, for one destination block (a prefix-list route gives one per entry)."""

    family: int
    lo: int
    hi: int
    dest: str  # the CIDR text, or the prefix-list id
    target: str  # "local", igw-…, nat-…, pcx-…, tgw-…, vgw-…, eigw-…, vpce-…, or another target id
    kind: str  # one of TARGET_KINDS
    rank: int  # RANK_STATIC | RANK_PREFIX_LIST | RANK_PROPAGATED
    blackhole: bool
    origin: str  # JSON path in the source
    prefix_list: str | None = None
    prefix_list_name: str | None = None
    tf_address: str | None = None

    @property
    def plen(self) -> int:
        bits = 32 if self.family == 4 else 128
        return bits - (self.hi - self.lo + 1).bit_length() + 1

    def text(self) -> str:
        dest = self.dest
        if self.prefix_list and self.prefix_list_name:
            dest = f"{self.prefix_list} ({self.prefix_list_name})"
        return f"{dest} -> {self.target}" + (" (blackhole)" if self.blackhole else "")

    def block_text(self) -> str:
        return format_interval(self.family, self.lo, self.hi)


@dataclass(frozen=True, slots=True)
class RouteTable:
    id: str
    vpc_id: str
    routes: tuple[Route, ...]
    subnet_ids: tuple[str, ...]  # explicit associations
    main: bool
    tags: tuple[tuple[str, str], ...] = ()
    tf_address: str | None = None
    gateway_associated: bool = False  # associated with a gateway (ingress routing: unknown)


@dataclass(frozen=True, slots=True)
class NatGateway:
    id: str
    subnet_id: str
    vpc_id: str
    public: bool  # ConnectivityType public (AWS's default)
    available: bool
    eni_id: str | None = None
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class Peering:
    id: str
    active: bool
    requester_vpc: str
    accepter_vpc: str
    requester_cidrs: tuple[tuple[int, int, int], ...]
    accepter_cidrs: tuple[tuple[int, int, int], ...]
    tf_address: str | None = None

    def peer_of(self, vpc_id: str) -> tuple[str, tuple[tuple[int, int, int], ...]] | None:
        """The other side's VPC id and CIDR blocks, seen from vpc_id; None when vpc_id is neither side."""
        if vpc_id == self.requester_vpc:
            return self.accepter_vpc, self.accepter_cidrs
        if vpc_id == self.accepter_vpc:
            return self.requester_vpc, self.requester_cidrs
        return None


@dataclass(frozen=True, slots=True)
class Gateway:
    """An internet, egress-only internet or virtual private gateway, with the VPCs it is attached to."""

    id: str
    kind: str  # "igw" | "eigw" | "vgw"
    vpc_ids: tuple[str, ...]
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class VpcEndpoint:
    id: str
    vpc_id: str
    type: str  # "Gateway" | "Interface" | "GatewayLoadBalancer"
    prefix_list: str | None  # a gateway endpoint's service prefix list
    route_table_ids: tuple[str, ...]
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class TgwAttachment:
    id: str
    tgw_id: str
    resource_type: str  # "vpc" | "vpn" | "direct-connect-gateway" | "peering" | "connect" | ...
    resource_id: str | None
    available: bool
    subnet_ids: tuple[str, ...] | None = None  # from TransitGatewayVpcAttachments; None when not described
    tf_address: str | None = None
    route_table: str | None = None  # Association.TransitGatewayRouteTableId, when the item has it


@dataclass(frozen=True, slots=True)
class TgwRoute:
    family: int
    lo: int
    hi: int
    dest: str
    attachments: tuple[str, ...]
    blackhole: bool
    origin: str


@dataclass(frozen=True, slots=True)
class TgwRouteTable:
    id: str
    tgw_id: str
    routes: tuple[TgwRoute, ...] | None  # None: the item came without its Routes (not collected)
    attachment_ids: tuple[str, ...]  # associations
    tf_address: str | None = None
    associations_known: bool = True  # False: the item came without its Associations list


@dataclass(frozen=True, slots=True)
class Routing:
    """Everything contract 4.5 decides on; present only when the snapshot has RouteTables."""

    tables: dict[str, RouteTable]
    subnet_table: dict[str, str]  # every subnet id -> its table (explicit association, else the main one)
    gateways: dict[str, Gateway]
    nats: dict[str, NatGateway]
    peerings: dict[str, Peering]
    endpoints: dict[str, VpcEndpoint]
    tgw_attachments: dict[str, TgwAttachment]
    tgw_tables: dict[str, TgwRouteTable] | None  # None: TransitGatewayRouteTables not in the snapshot
    tgw_vpc_attachments: bool  # TransitGatewayVpcAttachments in the snapshot (attachment subnets known)
    # contract 9 (`verify --explain`): tables made to carry every flow both ways, as when routing is open,
    # or to carry nothing; never set by a source, only by remedy.parts
    open_tables: frozenset[str] = frozenset()
    closed_tables: frozenset[str] = frozenset()
