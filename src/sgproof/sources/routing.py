"""Routing keys of a snapshot document (contract 2 and 4.5) → the model's Routing, every item checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import PrefixList, Subnet, Vpc
from ..model.routing import (
    RANK_PREFIX_LIST,
    RANK_PROPAGATED,
    RANK_STATIC,
    Gateway,
    NatGateway,
    Peering,
    Route,
    RouteTable,
    Routing,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    VpcEndpoint,
)

if TYPE_CHECKING:
    from .snapshot import _Reader

# Route target fields of describe_route_tables, in the order they are looked at; the kind each one gives.
_TARGETS = (
    ("NatGatewayId", "nat"),
    ("TransitGatewayId", "tgw"),
    ("VpcPeeringConnectionId", "pcx"),
    ("EgressOnlyInternetGatewayId", "eigw"),
    ("GatewayId", None),  # local, igw-, vgw-, vpce-
    ("NetworkInterfaceId", "unmodelled"),
    ("InstanceId", "unmodelled"),
    ("LocalGatewayId", "unmodelled"),
    ("CarrierGatewayId", "unmodelled"),
    ("CoreNetworkArn", "unmodelled"),
)
_LIVE_ASSOC = ("associated", "associating")
_ATTACHED = ("attached", "available", "attaching")


def _state(r: _Reader, item: dict[str, Any], key: str, place: str, default: str) -> str:
    value = item.get(key, default)
    if isinstance(value, dict):  # {"State": ...} or {"Code": ...} objects
        value = value.get("State", value.get("Code", default))
    if not isinstance(value, str):
        raise r.fail(f"{place}.{key}", "a state string", value)
    return value


def _gateway_kind(r: _Reader, target: str, place: str) -> str:
    if target == "local":
        return "local"
    for prefix, kind in (("igw-", "igw"), ("vgw-", "vgw"), ("vpce-", "vpce"), ("eigw-", "eigw")):
        if target.startswith(prefix):
            return kind
    return "unmodelled"


def _route(r: _Reader, item: object, place: str, prefix_lists: dict[str, PrefixList]) -> list[Route]:
    if not isinstance(item, dict):
        raise r.fail(place, "a route object", item)
    target = kind = None
    for key, k in _TARGETS:
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise r.fail(f"{place}.{key}", "a target id", value)
        target, kind = value, k or _gateway_kind(r, value, place)
        break
    if target is None or kind is None:
        raise r.fail(place, "a route target (GatewayId, NatGatewayId, TransitGatewayId, ...)", "none")
    state = _state(r, item, "State", place, "active")
    if state not in ("active", "blackhole"):
        raise r.fail(f"{place}.State", "active or blackhole", state)
    origin = item.get("Origin", "CreateRoute")
    if origin not in ("CreateRouteTable", "CreateRoute", "EnableVgwRoutePropagation"):
        raise r.fail(f"{place}.Origin", "CreateRouteTable, CreateRoute or EnableVgwRoutePropagation", origin)
    rank = RANK_PROPAGATED if origin == "EnableVgwRoutePropagation" else RANK_STATIC
    blackhole = state == "blackhole"
    dests = [k for k in ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId") if item.get(k)]
    if len(dests) != 1:
        raise r.fail(place, "exactly one of DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId",
                     ", ".join(dests) or "none")
    key = dests[0]
    if key == "DestinationPrefixListId":
        pid = item[key]
        if not isinstance(pid, str) or pid not in prefix_lists:
            raise r.fail(f"{place}.{key}",
                         "a prefix list whose entries the snapshot holds (ManagedPrefixLists with Entries)", pid)
        pl = prefix_lists[pid]
        if kind == "vpce":
            kind = "vpce"  # a gateway endpoint's route: its destination is the service's prefix list
        return [Route(f, lo, hi, pid, target, kind, max(rank, RANK_PREFIX_LIST), blackhole, place, pid, pl.name)
                for f, lo, hi in pl.cidrs]
    fam, lo, hi = r.cidr(item[key], f"{place}.{key}")
    if (fam == 6) != (key == "DestinationIpv6CidrBlock"):
        raise r.fail(f"{place}.{key}", "an IPv4 block in DestinationCidrBlock, IPv6 in DestinationIpv6CidrBlock",
                     item[key])
    if kind == "vpce":
        kind = "unmodelled"  # a CIDR route to an endpoint is a Gateway Load Balancer endpoint
    return [Route(fam, lo, hi, str(item[key]), target, kind, rank, blackhole, place)]


def _attached_vpcs(r: _Reader, item: dict[str, Any], key: str, place: str) -> tuple[str, ...]:
    out = []
    for j, att in enumerate(r.list_(item, key, place)):
        aplace = f"{place}.{key}[{j}]"
        if not isinstance(att, dict):
            raise r.fail(aplace, "an attachment object", att)
        if _state(r, att, "State", aplace, "attached") in _ATTACHED:
            out.append(r.str_(att, "VpcId", aplace))
    return tuple(sorted(set(out)))


def _cidr_set(r: _Reader, info: dict[str, Any], place: str) -> tuple[tuple[int, int, int], ...]:
    blocks = set()
    if info.get("CidrBlock"):
        blocks.add(r.cidr(info["CidrBlock"], f"{place}.CidrBlock"))
    for key, field in (("CidrBlockSet", "CidrBlock"), ("Ipv6CidrBlockSet", "Ipv6CidrBlock")):
        for j, b in enumerate(r.list_(info, key, place)):
            if not isinstance(b, dict):
                raise r.fail(f"{place}.{key}[{j}]", "a CIDR block object", b)
            blocks.add(r.cidr(b.get(field), f"{place}.{key}[{j}].{field}"))
    return tuple(sorted(blocks))


def build_routing(r: _Reader, doc: dict[str, Any], vpcs: dict[str, Vpc], subnets: dict[str, Subnet],
                  prefix_lists: dict[str, PrefixList]) -> Routing | None:
    """The snapshot's routing, or None when it has no RouteTables (routing open)."""
    if "RouteTables" not in doc:
        return None
    from .snapshot import _tf

    tables: dict[str, RouteTable] = {}
    explicit: dict[str, str] = {}
    main: dict[str, str] = {}
    for place, item in r.items("RouteTables", False):
        tid = r.str_(item, "RouteTableId", place)
        vid = r.str_(item, "VpcId", place)
        if tid in tables:
            raise r.fail(place, f"one item per route table id ({tid} appears twice)")
        routes: list[Route] = []
        for j, route in enumerate(r.list_(item, "Routes", place)):
            routes.extend(_route(r, route, f"{place}.Routes[{j}]", prefix_lists))
        sub_ids: list[str] = []
        is_main = gateway = False
        for j, assoc in enumerate(r.list_(item, "Associations", place)):
            aplace = f"{place}.Associations[{j}]"
            if not isinstance(assoc, dict):
                raise r.fail(aplace, "an association object", assoc)
            if _state(r, assoc, "AssociationState", aplace, "associated") not in _LIVE_ASSOC:
                continue
            m = assoc.get("Main", False)
            if not isinstance(m, bool):
                raise r.fail(f"{aplace}.Main", "true or false", m)
            if m:
                if vid in main and main[vid] != tid:
                    raise r.fail(aplace, f"one main route table per VPC ({vid} also has {main[vid]})")
                main[vid] = tid
                is_main = True
            if assoc.get("SubnetId") is not None:
                sid = r.str_(assoc, "SubnetId", aplace)
                if sid in explicit and explicit[sid] != tid:
                    raise r.fail(aplace, f"one route table per subnet ({sid} is also in {explicit[sid]})")
                explicit[sid] = tid
                sub_ids.append(sid)
            if assoc.get("GatewayId") is not None:
                gateway = True
        tables[tid] = RouteTable(tid, vid, tuple(routes), tuple(sub_ids), is_main, r.tags(item, "Tags", place),
                                 _tf(item), gateway)
    subnet_table: dict[str, str] = {}
    for sid, sub in sorted(subnets.items()):
        chosen = explicit.get(sid) or main.get(sub.vpc_id)
        if chosen is None:
            raise r.fail("RouteTables", f"a main route table for {sub.vpc_id} (an association with Main: true), "
                         f"since subnet {sid} has no explicit association")
        if tables[chosen].vpc_id != sub.vpc_id:
            raise r.fail(f"RouteTables ({chosen})", f"a route table of {sub.vpc_id} for its subnet {sid}",
                         tables[chosen].vpc_id)
        subnet_table[sid] = chosen
    for vid in sorted(vpcs):
        if vid not in main:
            raise r.fail("RouteTables", f"a main route table for {vid} (an association with Main: true)", "none")

    gateways: dict[str, Gateway] = {}
    for key, id_key, kind, att_key in (
        ("InternetGateways", "InternetGatewayId", "igw", "Attachments"),
        ("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId", "eigw", "Attachments"),
        ("VpnGateways", "VpnGatewayId", "vgw", "VpcAttachments"),
    ):
        for place, item in r.items(key, False):
            gid = r.str_(item, id_key, place)
            if gid in gateways:
                raise r.fail(place, f"one item per gateway id ({gid} appears twice)")
            gateways[gid] = Gateway(gid, kind, _attached_vpcs(r, item, att_key, place), _tf(item))

    nats: dict[str, NatGateway] = {}
    for place, item in r.items("NatGateways", False):
        nid = r.str_(item, "NatGatewayId", place)
        sid = r.str_(item, "SubnetId", place)
        if sid not in subnets:
            raise r.fail(f"{place}.SubnetId", "a subnet that the snapshot's Subnets list holds", sid)
        conn = item.get("ConnectivityType", "public")
        if conn not in ("public", "private"):
            raise r.fail(f"{place}.ConnectivityType", "public or private", conn)
        eni_id = None
        for j, a in enumerate(r.list_(item, "NatGatewayAddresses", place)):
            if not isinstance(a, dict):
                raise r.fail(f"{place}.NatGatewayAddresses[{j}]", "an address object", a)
            if eni_id is None and isinstance(a.get("NetworkInterfaceId"), str):
                eni_id = a["NetworkInterfaceId"]
        if nid in nats:
            raise r.fail(place, f"one item per NAT gateway id ({nid} appears twice)")
        nats[nid] = NatGateway(nid, sid, subnets[sid].vpc_id, conn == "public",
                               _state(r, item, "State", place, "available") == "available", eni_id, _tf(item))

    peerings: dict[str, Peering] = {}
    for place, item in r.items("VpcPeeringConnections", False):
        pid = r.str_(item, "VpcPeeringConnectionId", place)
        infos = []
        for side in ("RequesterVpcInfo", "AccepterVpcInfo"):
            info = item.get(side)
            if not isinstance(info, dict):
                raise r.fail(f"{place}.{side}", "a VPC info object", info)
            infos.append((r.str_(info, "VpcId", f"{place}.{side}"), _cidr_set(r, info, f"{place}.{side}")))
        if pid in peerings:
            raise r.fail(place, f"one item per peering id ({pid} appears twice)")
        peerings[pid] = Peering(pid, _state(r, item, "Status", place, "active") == "active",
                                infos[0][0], infos[1][0], infos[0][1], infos[1][1], _tf(item))

    endpoints: dict[str, VpcEndpoint] = {}
    for place, item in r.items("VpcEndpoints", False):
        eid = r.str_(item, "VpcEndpointId", place)
        etype = item.get("VpcEndpointType", "Gateway")
        if not isinstance(etype, str):
            raise r.fail(f"{place}.VpcEndpointType", "Gateway, Interface or GatewayLoadBalancer", etype)
        rts = tuple(str(x) for x in r.list_(item, "RouteTableIds", place))
        endpoints[eid] = VpcEndpoint(eid, r.str_(item, "VpcId", place), etype, None, rts, _tf(item))

    attachments: dict[str, TgwAttachment] = {}
    for place, item in r.items("TransitGatewayAttachments", False):
        aid = r.str_(item, "TransitGatewayAttachmentId", place)
        rid = item.get("ResourceId")
        link = item.get("Association")
        rtb = None
        if isinstance(link, dict) and _state(r, link, "State", f"{place}.Association", "associated") in _LIVE_ASSOC:
            rtb = link.get("TransitGatewayRouteTableId")
            rtb = rtb if isinstance(rtb, str) else None
        attachments[aid] = TgwAttachment(
            aid, r.str_(item, "TransitGatewayId", place), r.str_(item, "ResourceType", place),
            rid if isinstance(rid, str) else None, _state(r, item, "State", place, "available") == "available",
            None, _tf(item), rtb)
    has_vpc_att = "TransitGatewayVpcAttachments" in doc
    for place, item in r.items("TransitGatewayVpcAttachments", False):
        aid = r.str_(item, "TransitGatewayAttachmentId", place)
        subs = tuple(sorted(str(s) for s in r.list_(item, "SubnetIds", place)))
        for s in subs:
            if s not in subnets:
                raise r.fail(f"{place}.SubnetIds", "subnets that the snapshot's Subnets list holds", s)
        prev = attachments.get(aid)
        attachments[aid] = TgwAttachment(
            aid, r.str_(item, "TransitGatewayId", place), "vpc", r.str_(item, "VpcId", place),
            _state(r, item, "State", place, "available") == "available" and (prev is None or prev.available),
            subs, _tf(item) or (prev.tf_address if prev else None), prev.route_table if prev else None)

    tgw_tables: dict[str, TgwRouteTable] | None = None
    if "TransitGatewayRouteTables" in doc:
        tgw_tables = {}
        for place, item in r.items("TransitGatewayRouteTables", False):
            tid = r.str_(item, "TransitGatewayRouteTableId", place)
            troutes: tuple[TgwRoute, ...] | None = None
            if "Routes" in item:
                out = []
                for j, route in enumerate(r.list_(item, "Routes", place)):
                    out.extend(_tgw_route(r, route, f"{place}.Routes[{j}]", prefix_lists))
                troutes = tuple(out)
            linked: list[str] = []
            for j, a in enumerate(r.list_(item, "Associations", place)):
                if not isinstance(a, dict):
                    raise r.fail(f"{place}.Associations[{j}]", "an association object", a)
                if _state(r, a, "State", f"{place}.Associations[{j}]", "associated") in _LIVE_ASSOC:
                    linked.append(r.str_(a, "TransitGatewayAttachmentId", f"{place}.Associations[{j}]"))
            tgw_tables[tid] = TgwRouteTable(tid, r.str_(item, "TransitGatewayId", place), troutes,
                                            tuple(sorted(linked)), _tf(item), "Associations" in item)
    return Routing(tables, subnet_table, gateways, nats, peerings, endpoints, attachments, tgw_tables, has_vpc_att)


def _tgw_route(r: _Reader, item: object, place: str, prefix_lists: dict[str, PrefixList]) -> list[TgwRoute]:
    if not isinstance(item, dict):
        raise r.fail(place, "a transit gateway route object", item)
    state = _state(r, item, "State", place, "active")
    if state not in ("active", "blackhole"):
        raise r.fail(f"{place}.State", "active or blackhole", state)
    atts = []
    for j, a in enumerate(r.list_(item, "TransitGatewayAttachments", place)):
        if not isinstance(a, dict):
            raise r.fail(f"{place}.TransitGatewayAttachments[{j}]", "an attachment object", a)
        atts.append(r.str_(a, "TransitGatewayAttachmentId", f"{place}.TransitGatewayAttachments[{j}]"))
    if item.get("PrefixListId"):
        pid = item["PrefixListId"]
        if not isinstance(pid, str) or pid not in prefix_lists:
            raise r.fail(f"{place}.PrefixListId",
                         "a prefix list whose entries the snapshot holds (ManagedPrefixLists with Entries)", pid)
        return [TgwRoute(f, lo, hi, pid, tuple(atts), state == "blackhole", place)
                for f, lo, hi in prefix_lists[pid].cidrs]
    fam, lo, hi = r.cidr(item.get("DestinationCidrBlock"), f"{place}.DestinationCidrBlock")
    return [TgwRoute(fam, lo, hi, str(item["DestinationCidrBlock"]), tuple(atts), state == "blackhole", place)]
