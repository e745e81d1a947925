"""Route tables and gateways for the generated networks, in the shapes the EC2 describe API returns.

A profile decides which tables exist and which routes they hold; this module only turns those
decisions into `RouteTables`, `InternetGateways`, `EgressOnlyInternetGateways`, `NatGateways`,
`VpcEndpoints` and the three transit gateway keys of contract section 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LOCAL = "local"


def route(
    dest: str, *, state: str = "active", origin: str = "CreateRoute", **target: str
) -> dict[str, Any]:
    """One Routes item: a CIDR (either family) or a prefix list, one target, its origin and state."""
    if dest.startswith("pl-"):
        item: dict[str, Any] = {"DestinationPrefixListId": dest}
    elif ":" in dest:
        item = {"DestinationIpv6CidrBlock": dest}
    else:
        item = {"DestinationCidrBlock": dest}
    item.update(target)
    item["Origin"] = origin
    item["State"] = state
    return item


def local_routes(blocks: list[str], blocks6: list[str]) -> list[dict[str, Any]]:
    """The `local` routes AWS puts in every table of a VPC, one per associated CIDR block."""
    return [route(b, origin="CreateRouteTable", GatewayId=LOCAL) for b in [*blocks, *blocks6]]


class Routing:
    """Collects the routing resources of one account; ids and times come from the profile's builder."""

    def __init__(
        self, new_id: Callable[..., str], timestamp: Callable[[], str], owner: str, region: str
    ):
        """Start with no routing resources."""
        self.new_id = new_id
        self.timestamp = timestamp
        self.owner = owner
        self.region = region
        self.tables: list[dict[str, Any]] = []
        self.igws: list[dict[str, Any]] = []
        self.eigws: list[dict[str, Any]] = []
        self.nats: list[dict[str, Any]] = []
        self.endpoints: list[dict[str, Any]] = []
        self.tgw_attachments: list[dict[str, Any]] = []
        self.tgw_vpc_attachments: list[dict[str, Any]] = []
        self.tgw_tables: list[dict[str, Any]] = []

    @staticmethod
    def tags(name: str) -> list[dict[str, str]]:
        """A Name tag."""
        return [{"Key": "Name", "Value": name}]

    def igw(self, vpc_id: str, name: str) -> str:
        """An internet gateway attached to the VPC (describe_internet_gateways says `available`)."""
        gw = self.new_id("igw")
        self.igws.append(
            {
                "Attachments": [{"State": "available", "VpcId": vpc_id}],
                "InternetGatewayId": gw,
                "OwnerId": self.owner,
                "Tags": self.tags(name),
            }
        )
        return gw

    def eigw(self, vpc_id: str, name: str) -> str:
        """An egress-only internet gateway attached to the VPC."""
        gw = self.new_id("eigw")
        self.eigws.append(
            {
                "Attachments": [{"State": "attached", "VpcId": vpc_id}],
                "EgressOnlyInternetGatewayId": gw,
                "Tags": self.tags(name),
            }
        )
        return gw

    def nat(self, eni: dict[str, Any], name: str) -> str:
        """The NatGateways item of a public NAT gateway whose ENI (InterfaceType nat_gateway) exists."""
        nat_id = eni["Description"].rsplit(" ", 1)[-1]
        assert nat_id.startswith("nat-"), eni["Description"]
        public = eni.get("Association", {})
        address: dict[str, Any] = {
            "AllocationId": public.get("AllocationId") or self.new_id("eipalloc"),
            "NetworkInterfaceId": eni["NetworkInterfaceId"],
            "PrivateIp": eni["PrivateIpAddress"],
        }
        if public:
            address["PublicIp"] = public["PublicIp"]
            address["AssociationId"] = public.get("AssociationId") or self.new_id("eipassoc")
        address.update(IsPrimary=True, Status="succeeded")
        self.nats.append(
            {
                "CreateTime": self.timestamp(),
                "NatGatewayAddresses": [address],
                "NatGatewayId": nat_id,
                "State": "available",
                "SubnetId": eni["SubnetId"],
                "VpcId": eni["VpcId"],
                "Tags": self.tags(name),
                "ConnectivityType": "public",
            }
        )
        return nat_id

    def gateway_endpoint(self, vpc_id: str, service: str, name: str) -> str:
        """A gateway VPC endpoint (S3, DynamoDB); tables that route to it are added by `table`."""
        vpce = self.new_id("vpce")
        self.endpoints.append(
            {
                "VpcEndpointId": vpce,
                "VpcEndpointType": "Gateway",
                "VpcId": vpc_id,
                "ServiceName": service,
                "State": "available",
                "PolicyDocument": '{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}',
                "RouteTableIds": [],
                "SubnetIds": [],
                "Groups": [],
                "IpAddressType": "ipv4",
                "PrivateDnsEnabled": False,
                "RequesterManaged": False,
                "NetworkInterfaceIds": [],
                "DnsEntries": [],
                "CreationTimestamp": self.timestamp(),
                "Tags": self.tags(name),
                "OwnerId": self.owner,
            }
        )
        return vpce

    def table(
        self,
        vpc_id: str,
        name: str,
        local: tuple[list[str], list[str]],
        routes: list[dict[str, Any]],
        subnets: list[str],
        *,
        main: bool = False,
    ) -> str:
        """A route table with its local routes, `routes`, explicit subnet associations and maybe Main."""
        rtb = self.new_id("rtb")
        assocs: list[dict[str, Any]] = []
        if main:
            assocs.append(
                {
                    "Main": True,
                    "RouteTableAssociationId": self.new_id("rtbassoc"),
                    "RouteTableId": rtb,
                    "AssociationState": {"State": "associated"},
                }
            )
        for subnet in subnets:
            assocs.append(
                {
                    "Main": False,
                    "RouteTableAssociationId": self.new_id("rtbassoc"),
                    "RouteTableId": rtb,
                    "SubnetId": subnet,
                    "AssociationState": {"State": "associated"},
                }
            )
        self.tables.append(
            {
                "Associations": assocs,
                "PropagatingVgws": [],
                "RouteTableId": rtb,
                "Routes": [*local_routes(*local), *routes],
                "Tags": self.tags(name),
                "VpcId": vpc_id,
                "OwnerId": self.owner,
            }
        )
        for endpoint in self.endpoints:
            if any(r.get("GatewayId") == endpoint["VpcEndpointId"] for r in routes):
                endpoint["RouteTableIds"].append(rtb)
        return rtb

    def transit_gateway(
        self,
        name: str,
        attachments: list[tuple[str, str, list[str], list[str]]],
        blackholes: list[str],
    ) -> str:
        """A transit gateway with one route table that every VPC attachment is associated with.

        `attachments` are (VPC name, VPC id, attachment subnet ids, CIDR blocks propagated);
        `blackholes` are static blackhole routes of the gateway's route table.
        """
        tgw = self.new_id("tgw")
        table_id = self.new_id("tgw-rtb")
        routes: list[dict[str, Any]] = []
        assocs: list[dict[str, Any]] = []
        for vpc_name, vpc_id, subnets, cidrs in attachments:
            att = self.new_id("tgw-attach")
            created = self.timestamp()
            self.tgw_attachments.append(
                {
                    "TransitGatewayAttachmentId": att,
                    "TransitGatewayId": tgw,
                    "TransitGatewayOwnerId": self.owner,
                    "ResourceOwnerId": self.owner,
                    "ResourceType": "vpc",
                    "ResourceId": vpc_id,
                    "State": "available",
                    "Association": {"TransitGatewayRouteTableId": table_id, "State": "associated"},
                    "CreationTime": created,
                    "Tags": self.tags(f"{name}-{vpc_name}"),
                }
            )
            self.tgw_vpc_attachments.append(
                {
                    "TransitGatewayAttachmentId": att,
                    "TransitGatewayId": tgw,
                    "VpcId": vpc_id,
                    "VpcOwnerId": self.owner,
                    "State": "available",
                    "SubnetIds": list(subnets),
                    "CreationTime": created,
                    "Options": {
                        "DnsSupport": "enable",
                        "SecurityGroupReferencingSupport": "disable",
                        "Ipv6Support": "disable",
                        "ApplianceModeSupport": "disable",
                    },
                    "Tags": self.tags(f"{name}-{vpc_name}"),
                }
            )
            assocs.append(
                {
                    "TransitGatewayAttachmentId": att,
                    "ResourceId": vpc_id,
                    "ResourceType": "vpc",
                    "State": "associated",
                }
            )
            for cidr in cidrs:
                routes.append(
                    {
                        "DestinationCidrBlock": cidr,
                        "TransitGatewayAttachments": [
                            {
                                "ResourceId": vpc_id,
                                "TransitGatewayAttachmentId": att,
                                "ResourceType": "vpc",
                            }
                        ],
                        "Type": "propagated",
                        "State": "active",
                    }
                )
        for cidr in blackholes:
            routes.append({"DestinationCidrBlock": cidr, "Type": "static", "State": "blackhole"})
        self.tgw_tables.append(
            {
                "TransitGatewayRouteTableId": table_id,
                "TransitGatewayId": tgw,
                "State": "available",
                "DefaultAssociationRouteTable": True,
                "DefaultPropagationRouteTable": True,
                "CreationTime": self.timestamp(),
                "Tags": self.tags(f"{name}-default"),
                "Routes": routes,
                "Associations": assocs,
            }
        )
        return tgw

    def document(self) -> dict[str, list[dict[str, Any]]]:
        """The routing keys of a snapshot (contract section 2)."""
        return {
            "RouteTables": self.tables,
            "InternetGateways": self.igws,
            "EgressOnlyInternetGateways": self.eigws,
            "NatGateways": self.nats,
            "VpcEndpoints": self.endpoints,
            "TransitGatewayAttachments": self.tgw_attachments,
            "TransitGatewayVpcAttachments": self.tgw_vpc_attachments,
            "TransitGatewayRouteTables": self.tgw_tables,
        }
