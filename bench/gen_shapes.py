"""Describe-API shapes shared by the benchmark profiles: security group permissions and NACL entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ANY4 = "0.0.0.0/0"
ANY6 = "::/0"


class NaclEntries:
    """Collects the entries of one NACL, IPv4 and IPv6, inbound and outbound."""

    def __init__(self, ipv6: bool) -> None:
        """Start an empty NACL; `ipv6` adds ::/0 twins when asked for."""
        self.ipv6 = ipv6
        self.entries: list[dict[str, Any]] = []
        self.numbers: set[tuple[bool, int]] = set()

    def add(
        self,
        number: int,
        direction: str,
        action: str,
        proto: str,
        cidr: str,
        ports: tuple[int, int] | None = None,
        icmp: tuple[int, int] | None = None,
    ) -> None:
        """Add one entry; rule numbers are unique per direction."""
        egress = direction == "out"
        if (egress, number) in self.numbers:
            raise ValueError(f"duplicate NACL rule number {number}")
        self.numbers.add((egress, number))
        entry: dict[str, Any] = {
            "Egress": egress,
            "Protocol": proto,
            "RuleAction": action,
            "RuleNumber": number,
        }
        entry["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
        if ports is not None:
            entry["PortRange"] = {"From": ports[0], "To": ports[1]}
        if icmp is not None:
            entry["IcmpTypeCode"] = {"Code": icmp[1], "Type": icmp[0]}
        self.entries.append(entry)

    def both(
        self,
        number: int,
        direction: str,
        action: str,
        proto: str,
        ports: tuple[int, int] | None = None,
    ) -> None:
        """Add a rule for 0.0.0.0/0 and, in a dual-stack VPC, its ::/0 twin at number + 1."""
        self.add(number, direction, action, proto, ANY4, ports)
        if self.ipv6:
            self.add(number + 1, direction, action, proto, ANY6, ports)

    def blocks(
        self,
        base: int,
        direction: str,
        action: str,
        proto: str,
        cidrs: list[str],
        cidr6: str | None,
        ports: tuple[int, int] | None = None,
    ) -> None:
        """Add one rule per CIDR block at base, base+1, ...; an IPv6 block goes at base+19."""
        if len(cidrs) > 19:
            raise ValueError("too many CIDR blocks for one NACL rule group")
        for i, cidr in enumerate(cidrs):
            self.add(base + i, direction, action, proto, cidr, ports)
        if cidr6 and self.ipv6:
            self.add(base + 19, direction, action, proto, cidr6, ports)

    def finish(self) -> list[dict[str, Any]]:
        """The entries sorted as AWS lists them, ending with the `*` deny entries of both families."""
        for egress in (True, False):
            self.entries.append(
                {
                    "CidrBlock": ANY4,
                    "Egress": egress,
                    "Protocol": "-1",
                    "RuleAction": "deny",
                    "RuleNumber": 32767,
                }
            )
            self.entries.append(
                {
                    "Egress": egress,
                    "Ipv6CidrBlock": ANY6,
                    "Protocol": "-1",
                    "RuleAction": "deny",
                    "RuleNumber": 32768,
                }
            )
        return sorted(self.entries, key=lambda e: (not e["Egress"], e["RuleNumber"]))


PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "-1": "-1"}


def perm(
    proto: str,
    from_port: int | None = None,
    to_port: int | None = None,
    *,
    cidrs: list[str] | tuple[str, ...] = (),
    cidrs6: list[str] | tuple[str, ...] = (),
    pls: list[str] | tuple[str, ...] = (),
    pairs: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """One IpPermissions item in the shape boto3 returns."""
    rule: dict[str, Any] = {"IpProtocol": PROTOCOLS[proto]}
    if proto != "-1":
        rule["FromPort"] = from_port
        rule["ToPort"] = to_port
    rule["IpRanges"] = [{"CidrIp": c} for c in cidrs]
    rule["Ipv6Ranges"] = [{"CidrIpv6": c} for c in cidrs6]
    rule["PrefixListIds"] = [{"PrefixListId": p} for p in pls]
    rule["UserIdGroupPairs"] = list(pairs)
    return rule


def vpc_item(new_id: Callable[[str], str], owner: str, vpc_id: str, blocks: list[Any], ipv6: str | None,
             tags: list[dict[str, str]], region: str) -> dict[str, Any]:
    """A describe_vpcs item with every associated CIDR block (ids drawn from `new_id` in a fixed order)."""
    record: dict[str, Any] = {
        "CidrBlock": str(blocks[0]),
        "DhcpOptionsId": "dopt-0c0ffee0c0ffee0c0",
        "State": "available",
        "VpcId": vpc_id,
        "OwnerId": owner,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [
            {
                "AssociationId": new_id("vpc-cidr-assoc"),
                "CidrBlock": str(b),
                "CidrBlockState": {"State": "associated"},
            }
            for b in blocks
        ],
        "IsDefault": False,
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": tags,
    }
    if ipv6:
        record["Ipv6CidrBlockAssociationSet"] = [
            {
                "AssociationId": new_id("vpc-cidr-assoc"),
                "Ipv6CidrBlock": ipv6,
                "Ipv6CidrBlockState": {"State": "associated"},
                "NetworkBorderGroup": region,
                "Ipv6Pool": "Amazon",
            }
        ]
    return record
