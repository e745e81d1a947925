"""Tiny snapshot documents for semantic tests: two subnets, a few ENIs, groups and NACLs per test."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

from sgproof.encode.check import Checker
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

VPC = "vpc-00000000000000001"
SUB_A, SUB_B = "subnet-0000000000000000a", "subnet-0000000000000000b"


def perm(proto: str, lo: int | None = None, hi: int | None = None, *, cidr: str | None = None,
         cidr6: str | None = None, sg: str | None = None, pl: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                         "UserIdGroupPairs": []}
    if lo is not None:
        p["FromPort"], p["ToPort"] = lo, hi if hi is not None else lo
    if cidr:
        p["IpRanges"].append({"CidrIp": cidr})
    if cidr6:
        p["Ipv6Ranges"].append({"CidrIpv6": cidr6})
    if sg:
        p["UserIdGroupPairs"].append({"GroupId": sg, "UserId": "123456789012"})
    if pl:
        p["PrefixListIds"].append({"PrefixListId": pl})
    return p


ALL_OUT = [perm("-1", cidr="0.0.0.0/0", cidr6="::/0")]


def sg(gid: str, name: str, ingress: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"GroupId": gid, "GroupName": name, "VpcId": VPC, "IpPermissions": ingress,
            "IpPermissionsEgress": ALL_OUT if egress is None else egress}


def entry(n: int, egress: bool, action: str, proto: str = "-1", cidr: str = "0.0.0.0/0",
          ports: tuple[int, int] | None = None, icmp: tuple[int, int] | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"RuleNumber": n, "Egress": egress, "RuleAction": action, "Protocol": proto}
    e["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    if icmp:
        e["IcmpTypeCode"] = {"Type": icmp[0], "Code": icmp[1]}
    return e


def allow_all_nacl(nid: str, default: bool, subnets: list[str]) -> dict[str, Any]:
    return {"NetworkAclId": nid, "VpcId": VPC, "IsDefault": default,
            "Associations": [{"SubnetId": s} for s in subnets],
            "Entries": [entry(n, e, "allow", cidr=c) for e in (False, True) for n, c in ((100, "0.0.0.0/0"), (101, "::/0"))]
            + [entry(32767, e, "deny") for e in (False, True)] + [entry(32768, e, "deny", cidr="::/0") for e in (False, True)]}


def eni(eid: str, subnet: str, ips: list[str], groups: list[str], *, ipv6: list[str] | None = None,
        public: str | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "NetworkInterfaceId": eid, "SubnetId": subnet, "VpcId": VPC, "InterfaceType": "interface",
        "Groups": [{"GroupId": g} for g in groups], "PrivateIpAddress": ips[0],
        "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": i == 0} for i, ip in enumerate(ips)],
        "Ipv6Addresses": [{"Ipv6Address": a} for a in ipv6 or []],
        "TagSet": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if public:
        e["Association"] = {"PublicIp": public}
    return e


def base(sgs: list[dict[str, Any]], enis: list[dict[str, Any]], nacls: list[dict[str, Any]] | None = None,
         **extra: Any) -> dict[str, Any]:
    doc = {
        "Vpcs": [{"VpcId": VPC, "CidrBlock": "10.0.0.0/16",
                  "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:1:100::/56",
                                                   "Ipv6CidrBlockState": {"State": "associated"}}]}],
        "Subnets": [
            {"SubnetId": SUB_A, "VpcId": VPC, "CidrBlock": "10.0.1.0/24",
             "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:1:101::/64"}]},
            {"SubnetId": SUB_B, "VpcId": VPC, "CidrBlock": "10.0.2.0/24",
             "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:1:102::/64"}]},
        ],
        "NetworkAcls": nacls if nacls is not None else [allow_all_nacl("acl-00000000000000001", True, [])],
        "SecurityGroups": sgs,
        "NetworkInterfaces": enis,
    }
    doc.update(extra)
    return copy.deepcopy(doc)


def verdicts(doc: dict[str, Any], invariants: str, settings: str = "") -> dict[str, str]:
    """Run invariants (YAML list items, already indented) and return {id: status}; errors raise."""
    text = "sgproof: 1\n" + settings + "invariants:\n" + invariants
    net = build_network(doc, "<test>")
    spec = load_spec_text(text, "<test>")
    checker = Checker(net, spec)
    out = {}
    for inv in spec.invariants:
        r = checker.check(inv)
        assert r.status != "error", r.error
        out[inv.id] = r.status
    return out


def batfish_sample_account(snap: Path, samples: Path) -> Path:
    """The batfish-aws sample account (../shared/data/batfish-aws: its groups and interfaces) as a
    snapshot directory, with the VPC, subnet and NACL lists the sample lacks."""
    snap.mkdir()
    shutil.copy(samples / "SecurityGroups.json", snap)
    shutil.copy(samples / "NetworkInterfaceTest.json", snap)
    lists: dict[str, Any] = {
        "vpcs.json": {"Vpcs": [{"VpcId": v, "CidrBlock": c} for v, c in (
            ("vpc-815775e7", "10.100.0.0/16"), ("vpc-925131f4", "10.101.0.0/16"),
            ("vpc-b390fad5", "10.193.0.0/16"), ("vpc-f8fad69d", "10.194.0.0/16"))]},
        "subnets.json": {"Subnets": [
            {"SubnetId": "subnet-9a0c48fc", "VpcId": "vpc-815775e7", "CidrBlock": "10.100.1.0/24"}]},
        "nacls.json": {"NetworkAcls": [{
            "NetworkAclId": "acl-00000001", "VpcId": "vpc-815775e7", "IsDefault": True, "Associations": [],
            "Entries": [{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": e,
                         "CidrBlock": "0.0.0.0/0"} for e in (False, True)]}]},
    }
    for name, doc in lists.items():
        (snap / name).write_text(json.dumps(doc))
    return snap


def batfish_nacl_subnet(snap: Path, nacl_sample: Path) -> Path:
    """One of the batfish-aws NACL samples added to the sample account (batfish_sample_account) on its
    subnet-1f315846, with an RDS ENI in that subnet so that the ACL filters something."""
    shutil.copy(nacl_sample, snap / "nacls2.json")
    docs: dict[str, Any] = {
        "subnets2.json": {"Subnets": [
            {"SubnetId": "subnet-1f315846", "VpcId": "vpc-f8fad69d", "CidrBlock": "10.194.1.0/24"}]},
        "rds.json": {"NetworkInterfaces": [{
            "NetworkInterfaceId": "eni-0rds", "SubnetId": "subnet-1f315846", "VpcId": "vpc-f8fad69d",
            "Groups": [{"GroupId": "sg-55510831"}], "PrivateIpAddress": "10.194.1.10",
            "InterfaceType": "interface", "RequesterManaged": True, "Description": "RDSNetworkInterface"}]},
    }
    for name, doc in docs.items():
        (snap / name).write_text(json.dumps(doc))
    return snap
