"""Routing for one concrete flow (contract 4.5), written for obviousness: which route wins, and where it leads.

Every decision is a routing step: `allow`, `deny` (with the reason), `no-match` or `unknown`. The
evaluator counts `unknown` as allow for deny/only and as deny for reach (`Verdict.allowed_when_unknown`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import ICMP, TCP, UDP, Eni, Network
from ..model.addr import format_address, format_interval
from ..model.routing import RANK_PROPAGATED, Route, RouteTable, Routing, TgwAttachment, TgwRoute

Out = Callable[..., "Decision"]  # a decision about the route at hand: out(verdict, reason="")

NAT_PROTOCOLS = (TCP, UDP, ICMP)
NAT_PORTS = (1024, 65535)  # the NAT gateway's own source ports


@dataclass(frozen=True, slots=True)
class Decision:
    """One routing decision: the table (or gateway) that decided, the winning route, the outcome and why."""

    id: str
    route: str | None
    verdict: str  # allow | deny | no-match | unknown
    reason: str = ""
    tf_address: str | None = None


@dataclass(frozen=True, slots=True)
class NatLeg:
    """A request that continues from NAT gateway `nat_id` in subnet `subnet_id` (contract 4.5)."""

    nat_id: str
    subnet_id: str
    decision: Decision  # the `nat` step: its protocols and its table's route


@dataclass(frozen=True, slots=True)
class TgwLegs:
    """The attachment subnets of a transit gateway path: the sender's and the receiver's."""

    sender_subnet: str
    receiver_subnet: str


@dataclass(frozen=True, slots=True)
class Path:
    request: Decision | None  # absent when the source is external
    reply: Decision | None  # absent when the destination is external
    nat: NatLeg | None = None
    tgw: TgwLegs | None = None


def lookup(routes: tuple[Route, ...], family: int, address: int) -> tuple[Route | None, bool]:
    """The winning route for an address and whether the choice is a tie between different targets.

    Longest prefix first; at equal length static beats prefix list beats propagated; a propagated route
    never overrides `local`.
    """
    cands = [r for r in routes if r.family == family and r.lo <= address <= r.hi]
    if any(r.kind == "local" for r in cands):
        cands = [r for r in cands if r.rank != RANK_PROPAGATED]
    if not cands:
        return None, False
    best = max(cands, key=lambda r: (r.plen, -r.rank))
    tied = [r for r in cands if (r.plen, r.rank) == (best.plen, best.rank)]
    targets = {r.target for r in tied}
    best = min(tied, key=lambda r: (r.target, r.origin))
    return best, len(targets) > 1


def _tgw_lookup(routes: tuple[TgwRoute, ...], family: int, address: int) -> tuple[TgwRoute | None, bool]:
    cands = [r for r in routes if r.family == family and r.lo <= address <= r.hi]
    if not cands:
        return None, False
    size = min(r.hi - r.lo for r in cands)
    tied = [r for r in cands if r.hi - r.lo == size]
    best = min(tied, key=lambda r: (r.attachments, r.origin))
    return best, len({(r.attachments, r.blackhole) for r in tied}) > 1


def table_of(net: Network, eni: Eni) -> RouteTable:
    assert net.routing is not None
    return net.routing.tables[net.routing.subnet_table[eni.subnet_id]]


def _in_blocks(blocks: tuple[tuple[int, int, int], ...], family: int, address: int) -> bool:
    return any(f == family and lo <= address <= hi for f, lo, hi in blocks)


class Router:
    """Decides routing for flows of one network; `net.routing` must be present."""

    def __init__(self, net: Network):
        assert net.routing is not None
        self.net = net
        self.rt: Routing = net.routing
        self._won: dict[tuple[str, int, int], tuple[Route | None, bool]] = {}

    def lookup(self, table: RouteTable, family: int, address: int) -> tuple[Route | None, bool]:
        """`lookup` of the table's routes, remembered per (table id, family, address) of this network."""
        key = (table.id, family, address)
        got = self._won.get(key)
        if got is None:
            got = self._won[key] = lookup(table.routes, family, address)
        return got

    def _forced(self, table: RouteTable) -> Decision | None:
        """The decision of a table opened (carries every flow, as when routing is open) or closed (carries
        nothing) by `verify --explain` (contract 9); None for a table that routes as it stands."""
        if table.id in self.rt.open_tables:
            return Decision(table.id, None, "allow", f"{table.id} is opened: it carries every flow")
        if table.id in self.rt.closed_tables:
            return Decision(table.id, None, "deny", f"{table.id} is closed: it carries nothing")
        return None

    # ---- the first hop: a table's route towards an address --------------------------------------
    def towards(self, table: RouteTable, src_vpc: str, family: int, address: int, dst_vpc: str | None,
                src_mapped: bool, src_zone: str | None, dst_zone: str | None
                ) -> tuple[Decision, NatLeg | None, TgwLegs | None]:
        """Where `table` sends a packet from src_vpc to the address: into dst_vpc (an ENI there), or out
        to an external address (dst_vpc None). src_mapped: the sending private IPv4 has its own public
        or Elastic IPv4 (an internet gateway maps them one to one)."""
        addr = format_address(family, address)
        forced = self._forced(table)
        if forced is not None:
            return forced, None, None
        route, tie = self.lookup(table, family, address)
        if route is None:
            return Decision(table.id, None, "no-match", f"no route in {table.id} to {addr}"), None, None
        text = route.text()

        def out(verdict: str, reason: str = "") -> Decision:
            return Decision(table.id, text, verdict, reason, route.tf_address if route else None)

        if tie:
            return out("unknown", f"routes to {route.dest} with different targets tie"), None, None
        if route.blackhole:
            return out("deny", f"the route to {route.dest} is a blackhole"), None, None
        kind = route.kind
        if kind == "unmodelled":
            return out("unknown", f"target {route.target} is not modelled in this version"), None, None
        if dst_vpc is not None:
            if kind == "local":
                if dst_vpc == src_vpc:
                    return out("allow"), None, None
                return out("deny", f"the local route does not lead to {dst_vpc}"), None, None
            if dst_vpc == src_vpc and _in_blocks(self.net.vpcs[src_vpc].cidrs, family, address):
                return out("unknown", "a route more specific than local (middlebox routing) is not modelled"), None, None
            if kind == "pcx":
                return self._peering(route, out, src_vpc, family, address, dst_vpc), None, None
            if kind == "tgw":
                d, legs = self._tgw(route, out, src_vpc, family, address, dst_vpc, src_zone, dst_zone)
                return d, None, legs
            if kind == "nat":
                return out("unknown", "a NAT gateway route towards another VPC (private NAT) is not modelled"), None, None
            return out("deny", f"{route.target} does not lead to {dst_vpc}"), None, None
        if kind in ("igw", "eigw") and not self._attached(route.target, src_vpc):
            return out("deny", f"{route.target} is not attached to {src_vpc}"), None, None
        # out to an external address
        if kind == "igw":
            if family == 4 and not src_mapped:
                return out("deny", "igw needs a public IPv4 address on the ENI "
                                   "(on the sending private address itself)"), None, None
            return out("allow"), None, None
        if kind == "eigw":
            if family == 6:
                return out("allow"), None, None
            return out("deny", "an egress-only internet gateway carries IPv6 only"), None, None
        if kind == "nat":
            return self._nat(route, out, family, address)
        if kind == "vgw":
            return out("unknown", f"the packet leaves for a network nobody described ({route.target}: VPN or "
                                  "Direct Connect)"), None, None
        if kind == "tgw":
            d, _ = self._tgw(route, out, src_vpc, family, address, None, src_zone, None)
            return d, None, None
        if kind == "pcx":
            return self._peering(route, out, src_vpc, family, address, None), None, None
        if kind == "vpce":
            return out("allow"), None, None
        return out("deny", f"{route.target} does not carry traffic to {addr}"), None, None

    def _peering(self, route: Route, out: Out, src_vpc: str, family: int, address: int,
                 dst_vpc: str | None) -> Decision:
        p = self.rt.peerings.get(route.target)
        if p is None:
            return out("unknown", f"peering {route.target} is not in the snapshot")
        if not p.active:
            return out("deny", f"peering {p.id} is not active")
        side = p.peer_of(src_vpc)
        if side is None:
            return out("deny", f"peering {p.id} does not belong to {src_vpc}")
        peer_vpc, cidrs = side
        if not _in_blocks(cidrs, family, address):
            return out("deny", f"the peer CIDR blocks of {p.id} do not hold "
                               f"{format_address(family, address)}")
        if dst_vpc is None:
            if peer_vpc in self.net.vpcs:
                return out("deny", f"{format_address(family, address)} is not in {peer_vpc}")
            return out("unknown", f"the packet leaves for {peer_vpc}, a VPC the snapshot does not hold")
        if peer_vpc != dst_vpc:
            return out("deny", f"peering does not carry traffic to a third VPC ({dst_vpc})")
        return out("allow")

    def _tgw(self, route: Route, out: Out, src_vpc: str, family: int, address: int, dst_vpc: str | None,
             src_zone: str | None, dst_zone: str | None) -> tuple[Decision, TgwLegs | None]:
        tgw = route.target
        atts = [a for a in self.rt.tgw_attachments.values() if a.tgw_id == tgw]
        if not atts:
            return out("unknown", f"the attachments of {tgw} are not in the snapshot"), None
        sender = self._vpc_attachment(atts, src_vpc)
        if sender is None:
            return out("deny", f"{tgw} has no available attachment from {src_vpc}"), None
        if self.rt.tgw_tables is None:
            return out("unknown", f"the route tables of {tgw} were not collected (TransitGatewayRouteTables)"), None
        mine = [t for _, t in sorted(self.rt.tgw_tables.items()) if t.tgw_id == tgw]
        table = next((t for t in mine if sender.id in t.attachment_ids), None)
        if table is None and sender.route_table is not None:
            table = self.rt.tgw_tables.get(sender.route_table)
        if table is None:
            if any(not t.associations_known for t in mine):
                return out("unknown", f"the associations of {tgw}'s route tables were not collected"), None
            return out("deny", f"attachment {sender.id} is associated with no route table of {tgw}"), None
        if table.routes is None:
            return out("unknown", f"the routes of {table.id} were not collected"), None
        troute, tie = _tgw_lookup(table.routes, family, address)
        where = f"{table.id}: "
        if troute is None:
            return out("no-match", where + f"no route to {format_address(family, address)}"), None
        if tie:
            return out("unknown", where + f"routes to {troute.dest} tie"), None
        if troute.blackhole:
            return out("deny", where + f"the route to {troute.dest} is a blackhole"), None
        targets = [self.rt.tgw_attachments.get(a) for a in troute.attachments]
        if dst_vpc is None:
            if any(t is None or t.resource_type != "vpc" for t in targets):
                return out("unknown", where + "the packet leaves for a network nobody described (VPN, Direct "
                                              "Connect or peering attachment)"), None
            return out("unknown", where + "routed to another VPC's attachment (an appliance or egress VPC is "
                                          "not modelled)"), None
        receiver = next((t for t in targets if t is not None and t.resource_type == "vpc"
                         and t.resource_id == dst_vpc and t.available), None)
        if receiver is None:
            return out("deny", where + f"does not lead to {dst_vpc}"), None
        if not self.rt.tgw_vpc_attachments or sender.subnet_ids is None or receiver.subnet_ids is None:
            return out("unknown", "the attachment subnets are not described (TransitGatewayVpcAttachments)"), None
        s_sub = self._zone_subnet(sender, src_zone)
        if s_sub is None:
            return out("deny", f"{sender.id} has no subnet in zone {src_zone}"), None
        r_sub = self._zone_subnet(receiver, src_zone) or self._zone_subnet(receiver, dst_zone) or (
            receiver.subnet_ids[0] if receiver.subnet_ids else None)
        if r_sub is None:
            return out("deny", f"{receiver.id} has no subnet"), None
        return out("allow"), TgwLegs(s_sub, r_sub)

    def _attached(self, gateway: str, vpc: str) -> bool:
        """An internet gateway carries only for the VPC it is attached to; an active route to one that the
        snapshot does not describe is taken as attached (AWS turns a route to a detached one into a
        blackhole)."""
        g = self.rt.gateways.get(gateway)
        return g is None or vpc in g.vpc_ids

    def _vpc_attachment(self, atts: list[TgwAttachment], vpc: str) -> TgwAttachment | None:
        return next((a for a in sorted(atts, key=lambda a: a.id)
                     if a.resource_type == "vpc" and a.resource_id == vpc and a.available), None)

    def _zone_subnet(self, att: TgwAttachment, zone: str | None) -> str | None:
        for sid in att.subnet_ids or ():
            if self.net.subnets[sid].az == zone:
                return sid
        return None

    def _nat(self, route: Route, out: Out, family: int, address: int
             ) -> tuple[Decision, NatLeg | None, TgwLegs | None]:
        if family == 6:
            return out("unknown", "a NAT gateway route for IPv6 (NAT64) is not modelled"), None, None
        nat = self.rt.nats.get(route.target)
        if nat is None:
            return out("unknown", f"NAT gateway {route.target} is not in the snapshot (NatGateways)"), None, None
        if not nat.available:
            return out("deny", f"NAT gateway {nat.id} is not available"), None, None
        tn = self.rt.tables[self.rt.subnet_table[nat.subnet_id]]
        nroute, tie = self.lookup(tn, family, address)
        ntext = nroute.text() if nroute else None
        forced = self._forced(tn)
        if forced is not None:
            step = Decision(nat.id, None, forced.verdict, forced.reason)
        elif nroute is None:
            step = Decision(nat.id, None, "no-match", f"no route in {tn.id} (the NAT's subnet) to "
                                                      f"{format_address(family, address)}")
        elif tie:
            step = Decision(nat.id, ntext, "unknown", f"{tn.id}: routes to {nroute.dest} tie")
        elif nroute.blackhole:
            step = Decision(nat.id, ntext, "deny", f"{tn.id}: the route to {nroute.dest} is a blackhole")
        elif nat.public and nroute.kind in ("igw", "vpce"):
            step = Decision(nat.id, ntext, "allow", f"via {tn.id}", nat.tf_address)
        elif nroute.kind in ("vgw", "tgw", "unmodelled"):
            step = Decision(nat.id, ntext, "unknown", f"{tn.id} sends it to {nroute.target}, a path this "
                                                      "version does not follow past a NAT gateway")
        else:
            step = Decision(nat.id, ntext, "deny", f"a {'public' if nat.public else 'private'} NAT gateway "
                                                   f"cannot send it to {nroute.target}")
        return out("allow", f"continues from {nat.id}"), NatLeg(nat.id, nat.subnet_id, step), None

    # ---- the way back into an ENI from an external address -------------------------------------
    def inbound(self, table: RouteTable, vpc_id: str, family: int, address: int, at_public: bool) -> Decision:
        """The destination's table's route for the external source E decides whether E can arrive at the
        ENI (and be answered); at_public: E aims at the ENI's public or Elastic IPv4.

        The verdict depends on the address only through the table's winning route, except behind a route
        to a transit gateway or a peering (their own routes and blocks look at it again): the engine's
        RouteOutcomes.inbound asks once per winning route on that ground, and must learn of any other."""
        forced = self._forced(table)
        if forced is not None:
            return forced
        route, tie = self.lookup(table, family, address)
        if route is None:
            return Decision(table.id, None, "no-match", f"no route in {table.id} back to "
                                                        f"{format_address(family, address)}")
        text = route.text()

        def out(verdict: str, reason: str = "") -> Decision:
            return Decision(table.id, text, verdict, reason, route.tf_address if route else None)

        if tie:
            return out("unknown", f"routes to {route.dest} with different targets tie")
        if route.blackhole:
            return out("deny", f"the route to {route.dest} is a blackhole")
        kind = route.kind
        if kind in ("igw", "vgw") and any(t.gateway_associated and t.vpc_id == vpc_id
                                          for t in self.rt.tables.values()):
            return out("unknown", "ingress routing (a route table associated with a gateway) is not modelled")
        if kind == "unmodelled":
            return out("unknown", f"target {route.target} is not modelled in this version")
        if kind in ("igw", "eigw") and not self._attached(route.target, vpc_id):
            return out("deny", f"{route.target} is not attached to {vpc_id}")
        if at_public or family == 6:
            if kind == "igw":
                return out("allow")
            if kind == "eigw":
                return out("deny", "egress-only gateway admits no inbound connection")
        if kind == "igw":
            return out("deny", "an internet gateway does not carry traffic to a private address")
        if kind == "vgw":
            return out("unknown", f"the sender is behind {route.target} (VPN or Direct Connect), which nobody "
                                  "described")
        if kind == "tgw":
            d, _ = self._tgw(route, out, vpc_id, family, address, None, None, None)
            return d
        if kind == "pcx":
            return self._peering(route, out, vpc_id, family, address, None)
        if kind == "nat":
            return out("deny", "a NAT gateway accepts no inbound connection")
        if kind == "eigw":
            return out("deny", "an egress-only internet gateway carries IPv6 only")
        return out("deny", f"{route.target} does not carry traffic from {format_address(family, address)}")

    # ---- a whole path -----------------------------------------------------------------------------
    def path(self, src_eni: int | None, src_family: int, src_addr: int, dst_eni: int | None,
             dst_addr: int) -> Path:
        net = self.net
        family = src_family
        if src_eni is not None and dst_eni is not None:
            a, b = net.enis[src_eni], net.enis[dst_eni]
            za, zb = net.subnets[a.subnet_id].az, net.subnets[b.subnet_id].az
            req, _, tgw = self.towards(table_of(net, a), a.vpc_id, family, dst_addr, b.vpc_id, False, za, zb)
            rep, _, _ = self.towards(table_of(net, b), b.vpc_id, family, src_addr, a.vpc_id, False, zb, za)
            return Path(req, rep, None, tgw)
        if src_eni is not None:
            a = net.enis[src_eni]
            za = net.subnets[a.subnet_id].az
            mapped = family == 4 and any(p == src_addr for p, _ in a.public_map)
            req, nat, _ = self.towards(table_of(net, a), a.vpc_id, family, dst_addr, None, mapped, za, None)
            return Path(req, None, nat, None)
        assert dst_eni is not None
        b = net.enis[dst_eni]
        at_public = family == 4 and dst_addr in b.public
        return Path(None, self.inbound(table_of(net, b), b.vpc_id, family, src_addr, at_public), None, None)


def routing_warnings(net: Network) -> list[str]:
    """One loud line per kind of path that routing leaves `unknown` in this network (contract 4.5)."""
    rt = net.routing
    if rt is None:
        return []
    found: dict[str, list[str]] = {}

    def note(kind: str, where: str) -> None:
        found.setdefault(kind, []).append(where)

    for t in sorted(rt.tables.values(), key=lambda t: t.id):
        if t.gateway_associated:
            note("a route table associated with a gateway (ingress routing) is not modelled", t.id)
        for r in t.routes:
            where = f"{t.id}: {r.text()}"
            if r.kind == "unmodelled":
                note("route targets this version does not model", where)
            elif r.kind == "vgw":
                note("routes to a virtual private gateway lead to a network nobody described (VPN or Direct "
                     "Connect)", where)
            elif r.kind == "tgw" and rt.tgw_tables is None:
                note("transit gateway route tables were not collected (TransitGatewayRouteTables)", where)
            elif r.kind == "tgw" and not rt.tgw_vpc_attachments:
                note("transit gateway attachment subnets are not described (TransitGatewayVpcAttachments)", where)
            elif r.kind == "pcx":
                p = rt.peerings.get(r.target)
                side = p.peer_of(t.vpc_id) if p else None
                if p is None or (side is not None and side[0] not in net.vpcs):
                    note("peerings lead to VPCs the snapshot does not hold", where)
            elif r.kind == "nat" and r.family == 6:
                note("IPv6 routes to a NAT gateway (NAT64) are not modelled", where)
        ties: dict[tuple[int, int, int, int], set[str]] = {}
        for r in t.routes:
            ties.setdefault((r.family, r.lo, r.hi, r.rank), set()).add(r.target)
        for (f, lo, hi, _rank), targets in sorted(ties.items()):
            if len(targets) > 1:
                note("routes to one destination tie with different targets",
                     f"{t.id}: {format_interval(f, lo, hi)} -> {', '.join(sorted(targets))}")
    ext = [(f, lo, hi) for f, ivs in net.external.items() for lo, hi in ivs]
    for tt in sorted((rt.tgw_tables or {}).values(), key=lambda t: t.id):
        if tt.routes is None:
            note("transit gateway route tables came without their routes", tt.id)
        if not tt.associations_known:
            note("transit gateway route tables came without their associations", tt.id)
        for tr in tt.routes or ():
            kinds = {(rt.tgw_attachments[a].resource_type if a in rt.tgw_attachments else "undescribed")
                     for a in tr.attachments}
            where = f"{tt.id}: {tr.dest} -> {', '.join(tr.attachments)}"
            if tr.blackhole:
                continue
            if kinds - {"vpc"}:
                note("transit gateway routes lead to VPN, Direct Connect, peering or undescribed attachments", where)
            elif any(f == tr.family and lo <= tr.hi and tr.lo <= hi for f, lo, hi in ext):
                note("transit gateway routes send external addresses to a VPC attachment (an egress or appliance "
                     "VPC is not modelled)", where)
    out = []
    for kind, wheres in found.items():
        more = f" and {len(wheres) - 1} more" if len(wheres) > 1 else ""
        out.append(f"routing unknown: {kind} ({wheres[0]}{more}): such paths count as routed for deny and "
                   "only, and as not routed for reach")
    return out
