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
def nacl_entries(draw: Any) -> list[dict[str, Any]]:
    out = []
    numbers = draw(st.lists(st.integers(1, 300), min_size=0, max_size=5, unique=True))
    for n in numbers:
        proto = draw(st.sampled_from(["-1", "6", "17", "1", "58"]))
        e: dict[str, Any] = {"RuleNumber": n, "Protocol": proto, "Egress": draw(st.booleans()),
                             "RuleAction": draw(st.sampled_from(["allow", "allow", "deny"]))}
        if draw(st.integers(0, 4)) == 0:
            e["Ipv6CidrBlock"] = draw(st.sampled_from(CIDRS6))
        else:
            e["CidrBlock"] = draw(st.sampled_from(CIDRS4))
        if proto in ("6", "17"):
            lo, hi = draw(st.sampled_from(PORTS))
            e["PortRange"] = {"From": lo, "To": hi}
        elif proto in ("1", "58"):
            t, c = draw(st.sampled_from(ICMPS))
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
    return {
        "Vpcs": vpcs, "Subnets": subnet_items, "SecurityGroups": sgs, "NetworkAcls": nacls,
        "NetworkInterfaces": enis,
        "ManagedPrefixLists": [{"PrefixListId": PL_ID, "PrefixListName": "office", "AddressFamily": "IPv4",
                                "Entries": [{"Cidr": c} for c in draw(st.lists(st.sampled_from(CIDRS4),
                                                                               min_size=1, max_size=2))]}],
    }


@st.composite
def selector(draw: Any, depth: int = 0) -> str:
    leaves = [
        "{security_group: sg0}", "{security_group: sg1}", "{security_group: 'sg*'}",
        "{subnet: subnet-00000000000000001}", "{vpc: b-vpc}", "{tag: {Role: app}}", "{tag: {Role: db}}",
        "{internet: true}", "{anywhere: true}", "{cidr: 10.0.1.0/24}", "{cidr: 203.0.113.0/24}",
        "{cidr: '2600:1f18:aaaa:aa01::/64'}", "{eni: eni-00000000000000000}",
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
