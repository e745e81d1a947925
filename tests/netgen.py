"""Hypothesis strategies for small random networks (snapshot documents) and specs over them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

VPCS = [
    ("vpc-0000000000000000a", "10.0.0.0/16", "2600:1f18:aaaa:aa00::/56"),
    ("vpc-0000000000000000b", "10.1.0.0/16", None),
]
SUBNETS = [
    ("subnet-00000000000000001", 0, "10.0.1.0/24", "2600:1f18:aaaa:aa01::/64"),
    ("subnet-00000000000000002", 0, "10.0.2.0/24", "2600:1f18:aaaa:aa02::/64"),
    ("subnet-00000000000000003", 1, "10.1.1.0/24", None),
]
ZONES = ["us-east-1a", "us-east-1b", "us-east-1a"]  # per subnet, in SUBNETS order

# routing (contract 4.5): destinations that overlap each other, the VPC blocks and the rules' CIDRs
ROUTE_DESTS4 = ["0.0.0.0/0", "0.0.0.0/0", "203.0.113.0/24", "198.51.100.0/24", "198.51.100.7/32", "10.1.0.0/16",
                "10.0.0.0/16", "10.0.2.0/24", "172.16.0.0/16", "192.168.0.0/16", "pl"]
ROUTE_DESTS6 = ["::/0", "2001:db8::/32"]
TARGETS = ["igw", "igw", "nat", "nat", "pcx", "pcx", "pcx-x", "tgw", "tgw", "vgw", "eigw", "eni", "vpce"]
NAT_ID, NAT_ENI = "nat-00000000000000001", "eni-0000000000000nat1"
PCX_AB, PCX_X = "pcx-000000000000000ab", "pcx-00000000000000x01"
TGW, VGW, EIGW = "tgw-00000000000000001", "vgw-00000000000000001", "eigw-0000000000000001"
ATT = {0: "tgw-attach-0000000000a", 1: "tgw-attach-0000000000b"}
ATT_VPN = "tgw-attach-00000000vpn"
VPCE, S3_PL = "vpce-0000000000000001", "pl-00000000000000063"
CIDRS4 = ["0.0.0.0/0", "10.0.0.0/8", "10.0.1.0/24", "10.0.2.0/24", "10.1.0.0/16", "203.0.113.0/24",
          "10.0.1.10/32", "10.0.2.16/28", "198.51.100.7/32"]
CIDRS6 = ["::/0", "2600:1f18:aaaa:aa01::/64", "2001:db8::/32"]
PORTS = [(0, 65535), (22, 22), (1024, 65535), (3306, 3306), (80, 443), (53, 53), (0, 1023)]
ICMPS = [(-1, -1), (8, -1), (0, -1), (8, 0), (3, 4)]
SERVICES = ["tcp/3306", "all", "icmp", "icmp/8", "udp/53", "tcp/1024-65535", "proto/47", "tcp/22",
            "icmpv6/128", "[tcp/80, udp/53]"]

SG_IDS = ["sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003", "sg-00000000000000004"]
PL_ID = "pl-00000000000000001"
UNKNOWN_SG = "sg-0ffffffffffffffff"


def _ports(draw: Any, proto: str) -> dict[str, Any]:
    if proto in ("tcp", "udp", "6", "17"):
        lo, hi = draw(st.sampled_from(PORTS))
        return {"FromPort": lo, "ToPort": hi}
    if proto in ("icmp", "icmpv6", "1", "58"):
        t, c = draw(st.sampled_from(ICMPS))
        return {"FromPort": t, "ToPort": c}
    return {}


@st.composite
def sg_rule(draw: Any, n_sgs: int) -> dict[str, Any]:
    proto = draw(st.sampled_from(["-1", "tcp", "udp", "icmp", "icmpv6", "47", "6"]))
    perm: dict[str, Any] = {"IpProtocol": proto, **_ports(draw, proto),
                            "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
    kind = draw(st.sampled_from(["cidr4", "cidr4", "cidr6", "sg", "sg", "pl", "unknown"]))
    if kind == "cidr4":
        perm["IpRanges"].append({"CidrIp": draw(st.sampled_from(CIDRS4))})
    elif kind == "cidr6":
        perm["Ipv6Ranges"].append({"CidrIpv6": draw(st.sampled_from(CIDRS6))})
    elif kind == "sg":
        perm["UserIdGroupPairs"].append({"GroupId": SG_IDS[draw(st.integers(0, n_sgs - 1))]})
    elif kind == "pl":
        perm["PrefixListIds"].append({"PrefixListId": PL_ID})
    else:
        perm["UserIdGroupPairs"].append({"GroupId": UNKNOWN_SG})
    return perm


@st.composite
def nacl_entries(draw: Any, numbers: Any = None, protos: tuple[str, ...] = ("-1", "6", "17", "1", "58"),
                 v6_one_in: int = 5, cidrs4: Any = None, cidrs6: Any = None, ports: Any = None,
                 icmps: Any = None) -> list[dict[str, Any]]:
    """NACL entries of every kind (rule numbers from `numbers`, protocols from `protos`, one in
    `v6_one_in` IPv6), then sometimes the * entries AWS ends every NACL with."""
    out = []
    chosen = draw(numbers if numbers is not None else st.lists(st.integers(1, 300), min_size=0, max_size=5,
                                                                  unique=True))
    for n in chosen:
        proto = draw(st.sampled_from(list(protos)))
        e: dict[str, Any] = {"RuleNumber": n, "Protocol": proto, "Egress": draw(st.booleans()),
                             "RuleAction": draw(st.sampled_from(["allow", "allow", "deny"]))}
        if draw(st.integers(0, v6_one_in - 1)) == 0:
            e["Ipv6CidrBlock"] = draw(st.sampled_from(cidrs6 or CIDRS6))
        else:
            e["CidrBlock"] = draw(st.sampled_from(cidrs4 or CIDRS4))
        if proto in ("6", "17"):
            lo, hi = draw(st.sampled_from(ports or PORTS))
            e["PortRange"] = {"From": lo, "To": hi}
        elif proto in ("1", "58"):
            t, c = draw(st.sampled_from(icmps or ICMPS))
            e["IcmpTypeCode"] = {"Type": t, "Code": c}
        out.append(e)
    # AWS ends every NACL with the * entries; sometimes leave them out (the implicit deny must hold anyway)
    if draw(st.booleans()):
        for egress in (False, True):
            out.append({"RuleNumber": 32767, "Protocol": "-1", "Egress": egress, "RuleAction": "deny",
                        "CidrBlock": "0.0.0.0/0"})
            out.append({"RuleNumber": 32768, "Protocol": "-1", "Egress": egress, "RuleAction": "deny",
                        "Ipv6CidrBlock": "::/0"})
    return out


@st.composite
def network(draw: Any) -> dict[str, Any]:
    n_vpcs = draw(st.integers(1, 2))
    vpcs = []
    for vid, c4, c6 in VPCS[:n_vpcs]:
        v: dict[str, Any] = {"VpcId": vid, "CidrBlock": c4, "Tags": [{"Key": "Name", "Value": vid[-1] + "-vpc"}]}
        if c6:
            v["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": c6, "Ipv6CidrBlockState": {"State": "associated"}}]
        vpcs.append(v)
    subnets = [s for s in SUBNETS if s[1] < n_vpcs]
    subnets = subnets[: draw(st.integers(1, len(subnets)))]
    n_sgs = draw(st.integers(1, 4))
    sgs = []
    for k in range(n_sgs):
        sgs.append({
            "GroupId": SG_IDS[k], "GroupName": f"sg{k}", "VpcId": VPCS[0][0],
            "IpPermissions": draw(st.lists(sg_rule(n_sgs), max_size=3)),
            "IpPermissionsEgress": draw(st.lists(sg_rule(n_sgs), max_size=2)),
        })
    nacls = []
    custom_of: dict[str, str] = {}
    for i, (vid, _c4, _c6) in enumerate(VPCS[:n_vpcs]):
        nacls.append({"NetworkAclId": f"acl-d{i:016d}", "VpcId": vid, "IsDefault": True, "Associations": [],
                      "Entries": [
                          {"RuleNumber": 100, "Protocol": "-1", "Egress": eg, "RuleAction": "allow",
                           "CidrBlock": "0.0.0.0/0"} for eg in (False, True)
                      ] + [{"RuleNumber": 101, "Protocol": "-1", "Egress": eg, "RuleAction": "allow",
                            "Ipv6CidrBlock": "::/0"} for eg in (False, True)]})
    for sid, vi, _c4, _c6 in subnets:
        if draw(st.booleans()):
            nid = f"acl-c{len(custom_of):016d}"
            custom_of[sid] = nid
            nacls.append({"NetworkAclId": nid, "VpcId": VPCS[vi][0], "IsDefault": False,
                          "Associations": [{"SubnetId": sid}], "Entries": draw(nacl_entries())})
    subnet_items = []
    for sid, vi, c4, c6 in subnets:
        s: dict[str, Any] = {"SubnetId": sid, "VpcId": VPCS[vi][0], "CidrBlock": c4,
                             "AvailabilityZone": ZONES[int(sid[-1]) - 1],
                             "Tags": [{"Key": "Name", "Value": sid[-1] + "-subnet"}]}
        if c6:
            s["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": c6}]
        subnet_items.append(s)
    n_enis = draw(st.integers(1, 4))
    enis = []
    used: set[str] = set()
    for k in range(n_enis):
        sid, vi, c4, c6 = draw(st.sampled_from(subnets))
        base = c4.rsplit(".", 2)[0] + "." + c4.split(".")[2]
        host = draw(st.sampled_from([10, 11, 20, 30]))
        ip = f"{base}.{host}"
        if ip in used:
            ip = f"{base}.{100 + k}"
        used.add(ip)
        e: dict[str, Any] = {
            "NetworkInterfaceId": f"eni-{k:017d}", "SubnetId": sid, "VpcId": VPCS[vi][0],
            "Groups": [{"GroupId": SG_IDS[g]} for g in draw(st.sets(st.integers(0, n_sgs - 1), max_size=2))],
            "PrivateIpAddress": ip,
            "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": True}],
            "TagSet": [{"Key": "Role", "Value": draw(st.sampled_from(["app", "db", "web"]))}],
            "InterfaceType": "interface",
        }
        if draw(st.integers(0, 3)) == 0:
            sec = f"{base}.{200 + k}"
            e["PrivateIpAddresses"].append({"PrivateIpAddress": sec, "Primary": False})
            if draw(st.integers(0, 2)) == 0:  # an Elastic IP on the secondary address only
                e["PrivateIpAddresses"][-1]["Association"] = {"PublicIp": f"54.0.1.{k + 1}"}
        if c6 and draw(st.booleans()):
            e["Ipv6Addresses"] = [{"Ipv6Address": c6.split("::")[0] + f"::{k + 1:x}"}]
        if draw(st.integers(0, 3)) == 0:
            e["Association"] = {"PublicIp": f"54.0.0.{k + 1}"}
        if draw(st.integers(0, 5)) == 0:
            e["Ipv4Prefixes"] = [{"Ipv4Prefix": f"{base}.{16 * (8 + k)}/28"}]
        enis.append(e)
    # clones of the first ENI (same subnet and groups, other addresses) exercise class merging
    for c in range(draw(st.integers(0, 2))):
        clone = dict(enis[0])
        ip = enis[0]["PrivateIpAddress"].rsplit(".", 1)[0] + f".{60 + c}"
        clone.update(NetworkInterfaceId=f"eni-{90 + c:017d}", PrivateIpAddress=ip,
                     PrivateIpAddresses=[{"PrivateIpAddress": ip, "Primary": True}], Ipv4Prefixes=[])
        clone.pop("Association", None)
        enis.append(clone)
    doc: dict[str, Any] = {
        "Vpcs": vpcs, "Subnets": subnet_items, "SecurityGroups": sgs, "NetworkAcls": nacls,
        "NetworkInterfaces": enis,
        "ManagedPrefixLists": [{"PrefixListId": PL_ID, "PrefixListName": "office", "AddressFamily": "IPv4",
                                "Entries": [{"Cidr": c} for c in draw(st.lists(st.sampled_from(CIDRS4),
                                                                               min_size=1, max_size=2))]},
                               {"PrefixListId": S3_PL, "PrefixListName": "com.amazonaws.us-east-1.s3",
                                "AddressFamily": "IPv4", "Entries": [{"Cidr": "52.216.0.0/15"}]}],
    }
    if draw(st.integers(0, 9)) < 7:  # most examples route (contract 4.5); the rest keep routing open
        doc.update(draw(routing(n_vpcs, subnets)))
        nat = doc["NatGateways"][0]
        nat_eni: dict[str, Any] = {
            "NetworkInterfaceId": NAT_ENI, "SubnetId": nat["SubnetId"], "VpcId": nat["VpcId"], "Groups": [],
            "PrivateIpAddress": nat["NatGatewayAddresses"][0]["PrivateIp"], "InterfaceType": "nat_gateway",
            "PrivateIpAddresses": [{"PrivateIpAddress": nat["NatGatewayAddresses"][0]["PrivateIp"], "Primary": True}],
            "RequesterManaged": True, "Description": "Interface for NAT Gateway " + NAT_ID}
        if nat["ConnectivityType"] == "public":
            nat_eni["Association"] = {"PublicIp": "54.0.2.1"}
        enis.append(nat_eni)
    return doc


def _igw(vi: int) -> str:
    return f"igw-0000000000000000{'ab'[vi]}"


def _target(draw: Any, vi: int, family: int) -> str:
    kind = draw(st.sampled_from(TARGETS))
    return {"igw": _igw(vi), "nat": NAT_ID, "pcx": PCX_AB, "pcx-x": PCX_X, "tgw": TGW, "vgw": VGW, "eigw": EIGW,
            "eni": "eni-00000000000000dead", "vpce": VPCE}[kind]


def _route(draw: Any, vi: int) -> dict[str, Any]:
    r: dict[str, Any] = {"State": "blackhole" if draw(st.integers(0, 6)) == 0 else "active",
                         "Origin": "EnableVgwRoutePropagation" if draw(st.integers(0, 5)) == 0 else "CreateRoute"}
    if draw(st.integers(0, 4)) == 0:
        r["DestinationIpv6CidrBlock"] = draw(st.sampled_from(ROUTE_DESTS6))
        family = 6
    else:
        dest = draw(st.sampled_from(ROUTE_DESTS4))
        if dest == "pl":
            r["DestinationPrefixListId"] = draw(st.sampled_from([PL_ID, S3_PL]))
        else:
            r["DestinationCidrBlock"] = dest
        family = 4
    target = _target(draw, vi, family)
    if target == VPCE:
        r.pop("DestinationCidrBlock", None)
        r.pop("DestinationIpv6CidrBlock", None)
        r["DestinationPrefixListId"] = S3_PL
    key = {"nat": "NatGatewayId", "tgw": "TransitGatewayId", "pcx": "VpcPeeringConnectionId",
           "eig": "EgressOnlyInternetGatewayId", "eni": "NetworkInterfaceId"}.get(target[:3], "GatewayId")
    r[key] = target
    return r


def _local(vi: int) -> list[dict[str, Any]]:
    _vid, c4, c6 = VPCS[vi]
    out = [{"DestinationCidrBlock": c4, "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}]
    if c6:
        out.append({"DestinationIpv6CidrBlock": c6, "GatewayId": "local", "State": "active",
                    "Origin": "CreateRouteTable"})
    return out


@st.composite
def routing(draw: Any, n_vpcs: int, subnets: list[tuple[str, int, str, str | None]]) -> dict[str, Any]:
    """Route tables (a main one per VPC, some explicit associations) and everything routes point at."""
    out: dict[str, Any] = {"RouteTables": []}
    for vi in range(n_vpcs):
        vid = VPCS[vi][0]
        mine = [sid for sid, i, _c4, _c6 in subnets if i == vi]
        explicit = draw(st.lists(st.sampled_from(mine), unique=True, max_size=len(mine))) if mine else []
        tables = [("main", [])] + ([("x", explicit)] if explicit else [])
        for name, subs in tables:
            tid = f"rtb-{vid[-1]}{name}"
            assocs: list[dict[str, Any]] = [{"RouteTableId": tid, "SubnetId": sid, "Main": False,
                                             "AssociationState": {"State": "associated"}} for sid in subs]
            if name == "main":
                assocs.append({"RouteTableId": tid, "Main": True, "AssociationState": {"State": "associated"}})
            routes = _local(vi)
            routes += [draw(_route_strategy(vi)) for _ in range(draw(st.integers(0, 4)))]
            out["RouteTables"].append({"RouteTableId": tid, "VpcId": vid, "Routes": routes, "Associations": assocs})
    out["InternetGateways"] = [{"InternetGatewayId": _igw(vi), "Attachments": [{"VpcId": VPCS[vi][0],
                                                                                "State": "available"}]}
                               for vi in range(n_vpcs)]
    out["EgressOnlyInternetGateways"] = [{"EgressOnlyInternetGatewayId": EIGW,
                                          "Attachments": [{"VpcId": VPCS[0][0], "State": "attached"}]}]
    out["VpnGateways"] = [{"VpnGatewayId": VGW, "VpcAttachments": [{"VpcId": VPCS[0][0], "State": "attached"}]}]
    nat_subnet = draw(st.sampled_from([s for s in subnets if s[1] == 0] or subnets))
    out["NatGateways"] = [{"NatGatewayId": NAT_ID, "SubnetId": nat_subnet[0], "VpcId": VPCS[nat_subnet[1]][0],
                           "State": draw(st.sampled_from(["available", "available", "pending"])),
                           "ConnectivityType": draw(st.sampled_from(["public", "public", "private"])),
                           "NatGatewayAddresses": [{"NetworkInterfaceId": NAT_ENI, "PrivateIp":
                                                    nat_subnet[2].rsplit(".", 1)[0] + ".5"}]}]
    out["VpcPeeringConnections"] = [
        {"VpcPeeringConnectionId": PCX_AB, "Status": {"Code": draw(st.sampled_from(["active", "active", "deleted"]))},
         "RequesterVpcInfo": {"VpcId": VPCS[0][0], "CidrBlockSet": [{"CidrBlock": VPCS[0][1]}]},
         "AccepterVpcInfo": {"VpcId": VPCS[1][0], "CidrBlockSet": [{"CidrBlock": VPCS[1][1]}]}},
        {"VpcPeeringConnectionId": PCX_X, "Status": {"Code": "active"},
         "RequesterVpcInfo": {"VpcId": VPCS[0][0], "CidrBlockSet": [{"CidrBlock": VPCS[0][1]}]},
         "AccepterVpcInfo": {"VpcId": "vpc-0ffffffffffffffff", "CidrBlockSet": [{"CidrBlock": "172.16.0.0/16"}]}}]
    out["VpcEndpoints"] = [{"VpcEndpointId": VPCE, "VpcEndpointType": "Gateway", "VpcId": VPCS[0][0],
                            "ServiceName": "com.amazonaws.us-east-1.s3", "RouteTableIds": [], "State": "available"}]
    atts = [(ATT[vi], "vpc", VPCS[vi][0]) for vi in range(n_vpcs)] + [(ATT_VPN, "vpn", "vpn-00000000000000001")]
    out["TransitGatewayAttachments"] = [{"TransitGatewayAttachmentId": a, "TransitGatewayId": TGW,
                                         "ResourceType": t, "ResourceId": r, "State": "available"} for a, t, r in atts]
    if draw(st.booleans()):
        out["TransitGatewayVpcAttachments"] = [
            {"TransitGatewayAttachmentId": ATT[vi], "TransitGatewayId": TGW, "VpcId": VPCS[vi][0], "State": "available",
             "SubnetIds": draw(st.lists(st.sampled_from([s[0] for s in subnets if s[1] == vi]), unique=True,
                                        min_size=1, max_size=2)) if any(s[1] == vi for s in subnets) else []}
            for vi in range(n_vpcs)]
    if draw(st.booleans()):
        dests = [("10.0.0.0/16", ATT[0]), ("10.1.0.0/16", ATT.get(1, ATT[0])), ("10.0.0.0/8", ATT[0]),
                 ("10.1.1.0/24", None), ("192.168.0.0/16", ATT_VPN), ("0.0.0.0/0", ATT_VPN)]
        chosen = draw(st.lists(st.sampled_from(dests), unique=True, max_size=4))
        out["TransitGatewayRouteTables"] = [{
            "TransitGatewayRouteTableId": "tgw-rtb-00000000000001", "TransitGatewayId": TGW,
            "Routes": [{"DestinationCidrBlock": d, "State": "blackhole" if a is None else "active", "Type": "static",
                        "TransitGatewayAttachments": [] if a is None else [{"TransitGatewayAttachmentId": a}]}
                       for d, a in chosen],
            "Associations": [{"TransitGatewayAttachmentId": a, "State": "associated"} for a, _t, _r in atts]}]
    return out


def _route_strategy(vi: int) -> Any:
    @st.composite
    def one(draw: Any) -> dict[str, Any]:
        return _route(draw, vi)
    return one()


@st.composite
def selector(draw: Any, depth: int = 0) -> str:
    leaves = [
        "{security_group: sg0}", "{security_group: sg1}", "{security_group: 'sg*'}",
        "{subnet: subnet-00000000000000001}", "{vpc: b-vpc}", "{tag: {Role: app}}", "{tag: {Role: db}}",
        "{internet: true}", "{anywhere: true}", "{cidr: 10.0.1.0/24}", "{cidr: 203.0.113.0/24}",
        "{cidr: '2600:1f18:aaaa:aa01::/64'}", "{eni: eni-00000000000000000}", "{cidr: 198.51.100.0/24}",
        "{cidr: 192.168.0.0/16}", "{cidr: 172.16.0.0/16}", "{cidr: 52.216.0.0/15}", "{cidr: '2001:db8::/32'}",
        "{interface_type: nat_gateway}", "{subnet: subnet-00000000000000002}",
    ]
    if depth < 1 and draw(st.integers(0, 3)) == 0:
        inner = draw(selector(depth + 1))
        other = draw(selector(depth + 1))
        return draw(st.sampled_from([f"{{not: {inner}}}", f"{{any_of: [{inner}, {other}]}}",
                                     f"{{all_of: [{inner}, {other}]}}"]))
    return str(draw(st.sampled_from(leaves)))


@st.composite
def spec_text(draw: Any) -> str:
    lines = ["sgproof: 1", "invariants:"]
    for n, kind in enumerate(("deny", "only", "reach")):
        src = draw(selector())
        dst = draw(selector())
        svc = draw(st.sampled_from(SERVICES))
        lines += [f"  - id: inv{n}", "    allow_empty: true", f"    {kind}: {{from: {src}, to: {dst}, ports: {svc}}}"]
    if draw(st.booleans()):
        lines.insert(1, "settings: {ephemeral_ports: 32768-60999}")
    return "\n".join(lines) + "\n"
