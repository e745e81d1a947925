"""The frozen network model and address arithmetic."""

from .network import (
    ANY_PROTO,
    ICMP,
    ICMPS,
    ICMPV6,
    PORTED,
    SERVICE_MAX,
    TCP,
    UDP,
    Eni,
    Match,
    Nacl,
    NaclEntry,
    Network,
    Peer,
    PrefixList,
    SecurityGroup,
    SgRule,
    Subnet,
    Vpc,
    proto_name,
)

__all__ = [
    "ANY_PROTO", "ICMP", "ICMPS", "ICMPV6", "PORTED", "SERVICE_MAX", "TCP", "UDP",
    "Eni", "Match", "Nacl", "NaclEntry", "Network", "Peer", "PrefixList", "SecurityGroup",
    "SgRule", "Subnet", "Vpc", "proto_name",
]
