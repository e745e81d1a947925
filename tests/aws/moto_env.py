"""A local AWS for the collector's tests: helpers that point boto3 at a moto server and build networks in it.

Each network lives in its own region, so tests that read one never see another's resources. moto is not
AWS: every group an ENI needs is created and attached explicitly, never taken from moto's defaults.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
import moto.ec2.models.nat_gateways as moto_nat
import pytest
from moto.backends import get_backend

MAIN_REGION = "us-east-1"  # the three-tier network with a peered shared-services VPC
SECOND_REGION = "eu-west-1"  # a small second network, for multi-region collection
QUIET_REGION = "ap-southeast-2"  # nothing built: moto's defaults only, for error and retry tests
MOTO_ACCOUNT = "123456789012"  # the account moto serves fake credentials from
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


_LOADER = botocore.loaders.create_loader()


def new_session() -> Any:
    """A fresh boto3 session (credentials, endpoint and region read from the environment now).

    It shares one API-model loader with every other test session: loading EC2's model costs ~0.3 s.
    """
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core)


def point_at(mp: pytest.MonkeyPatch, url: str, config_dir: Path) -> None:
    """Make boto3 see only `url` (through AWS_ENDPOINT_URL) and fake credentials; no profile files."""
    for name in CLEARED:
        mp.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        mp.setenv(name, value)
    mp.setenv("AWS_CONFIG_FILE", str(config_dir / "no-aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config_dir / "no-aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_ENDPOINT_URL", url)
    mp.setenv("AWS_DEFAULT_REGION", MAIN_REGION)


def closed_port() -> int:
    """A 127.0.0.1 port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_client(url: str, region: str, service: str = "ec2") -> Any:
    """An unguarded client for building test networks (the product's clients can only read)."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


@dataclass
class Built:
    """Ids of what a test network holds, by a readable name."""

    region: str
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def _tags(kind: str, name: str, **extra: str) -> list[dict[str, Any]]:
    """A TagSpecifications list giving a resource its Name (and other) tags."""
    tags = [{"Key": "Name", "Value": name}, *({"Key": k, "Value": v} for k, v in extra.items())]
    return [{"ResourceType": kind, "Tags": tags}]


def _sg(ec2: Any, built: Built, name: str, vpc: str) -> str:
    """Create a security group, record it under `sg:<name>`, and return its id."""
    gid = str(
        ec2.create_security_group(GroupName=name, Description=f"{name} tier", VpcId=vpc)["GroupId"]
    )
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "Name", "Value": name}])
    built.ids[f"sg:{name}"] = gid
    return gid


def _image(ec2: Any) -> str:
    """Some machine image moto knows (describing them all is slow: call once per network)."""
    return str(ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"])


def _instance(ec2: Any, built: Built, name: str, subnet: str, groups: list[str], role: str) -> str:
    """Run one tagged instance in `subnet` carrying `groups`; record it and its ENI."""
    inst = ec2.run_instances(
        ImageId=built.ids["image"],
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        SecurityGroupIds=groups,
        TagSpecifications=_tags("instance", name, Role=role),
    )["Instances"][0]
    built.ids[f"i:{name}"] = inst["InstanceId"]
    built.ids[f"eni:{name}"] = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
    return str(inst["InstanceId"])


def _route_table(ec2: Any, built: Built, name: str, vpc: str, subnet: str | None) -> str:
    """Create a route table named `name`, associated explicitly with `subnet` when one is given."""
    table = str(
        ec2.create_route_table(VpcId=vpc, TagSpecifications=_tags("route-table", name))[
            "RouteTable"
        ]["RouteTableId"]
    )
    if subnet:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    built.ids[f"rtb:{name}"] = table
    return table


def _main_table(ec2: Any, vpc: str) -> str:
    """The id of a VPC's main route table."""
    tables = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    return str(tables[0]["RouteTableId"])


def _nat_gateway(ec2: Any, b: Built, subnet: str, private_ip: str) -> str:
    """A public NAT gateway in `subnet` whose ENI is what AWS makes: `private_ip`, type nat_gateway.

    moto gives a NAT gateway's ENI a random address, outside its subnet, and the plain `interface`
    type. The server runs in this process, so both are put right in its backend.
    """
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    with mock.patch.object(moto_nat, "random_private_ip", lambda *_a, **_k: private_ip):
        nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]
    eni = get_backend("ec2")[MOTO_ACCOUNT][b.region].get_network_interface(
        nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    )
    eni.interface_type = "nat_gateway"
    eni.requester_managed = True
    eni.description = f"Interface for NAT Gateway {nat['NatGatewayId']}"
    return str(nat["NatGatewayId"])


def _add_routing(ec2: Any, b: Built) -> None:
    """Gateways and route tables for the three-tier network, as a real account would have them.

    web: a public subnet holding the NAT gateway (its own table: default route to the internet
    gateway); app: private (its own table: default route to the NAT gateway, IPv6 out through the
    egress-only gateway, 192.168/16 to a VPN gateway, the lab VPC through a transit gateway whose
    attachment sits in the app subnet); db: the main table (no default route; S3 through a gateway
    endpoint). Every prod table routes the peered shared VPC, whose main table routes back; the lab
    VPC's main table routes the app subnet back through the transit gateway.
    """
    prod, shared = b["vpc:prod"], b["vpc:shared"]
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", "prod"))[
        "InternetGateway"
    ]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=prod)
    eigw = ec2.create_egress_only_internet_gateway(VpcId=prod)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]
    nat = _nat_gateway(ec2, b, b["subnet:web"], "10.10.1.200")
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpnGatewayId=vgw, VpcId=prod)
    b.ids.update({"igw": igw, "eigw": eigw, "nat": nat, "vgw": vgw})

    lab = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=_tags("vpc", "lab"))["Vpc"][
        "VpcId"
    ]
    lab_subnet = ec2.create_subnet(
        VpcId=lab,
        CidrBlock="10.40.1.0/24",
        AvailabilityZone=f"{b.region}a",
        TagSpecifications=_tags("subnet", "lab"),
    )["Subnet"]["SubnetId"]
    b.ids.update({"vpc:lab": lab, "subnet:lab": lab_subnet})
    tgw = ec2.create_transit_gateway(Description="hub")["TransitGateway"]["TransitGatewayId"]
    b.ids["tgw"] = tgw
    attachments = {}
    for name, vpc, subnet in (("prod", prod, b["subnet:app"]), ("lab", lab, lab_subnet)):
        attachments[name] = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        b.ids[f"tgw-attach:{name}"] = attachments[name]
    # Both attachments are associated with the gateway's default route table, as AWS does by default.
    hub = ec2.describe_transit_gateways(TransitGatewayIds=[tgw])["TransitGateways"][0]["Options"][
        "AssociationDefaultRouteTableId"
    ]
    b.ids["tgw-rtb:hub"] = hub
    for cidr, name in (("10.10.0.0/16", "prod"), ("10.40.0.0/16", "lab")):
        ec2.create_transit_gateway_route(
            TransitGatewayRouteTableId=hub,
            DestinationCidrBlock=cidr,
            TransitGatewayAttachmentId=attachments[name],
        )
    ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=hub, DestinationCidrBlock="10.99.0.0/16", Blackhole=True
    )

    public = _route_table(ec2, b, "public", prod, b["subnet:web"])
    private = _route_table(ec2, b, "private", prod, b["subnet:app"])
    main = _main_table(ec2, prod)
    b.ids.update({"rtb:main": main, "rtb:shared": _main_table(ec2, shared)})
    b.ids["rtb:lab"] = _main_table(ec2, lab)
    routes: list[tuple[str, dict[str, str]]] = [
        (public, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw}),
        (public, {"DestinationCidrBlock": "10.20.0.0/16", "VpcPeeringConnectionId": b["pcx"]}),
        (private, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat}),
        (private, {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": eigw}),
        (private, {"DestinationCidrBlock": "10.20.0.0/16", "VpcPeeringConnectionId": b["pcx"]}),
        (private, {"DestinationCidrBlock": "192.168.0.0/16", "GatewayId": vgw}),
        (private, {"DestinationCidrBlock": "10.40.0.0/16", "TransitGatewayId": tgw}),
        (b["rtb:lab"], {"DestinationCidrBlock": "10.10.2.0/24", "TransitGatewayId": tgw}),
    ]
    for table, route in routes:
        ec2.create_route(RouteTableId=table, **route)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=prod,
        ServiceName=f"com.amazonaws.{b.region}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[main],
    )["VpcEndpoint"]["VpcEndpointId"]
    b.ids["vpce:s3"] = endpoint


def build_three_tier(url: str, region: str = MAIN_REGION) -> Built:
    """prod VPC (web/app/db subnets, SG-to-SG rules, a strict db NACL, routing) peered with a shared VPC.

    The shared VPC holds the bastion; a lab VPC hangs off prod's transit gateway (see _add_routing).
    """
    ec2 = admin_client(url, region)
    b = Built(region)
    b.ids["image"] = _image(ec2)
    prod = ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=_tags("vpc", "prod"))["Vpc"][
        "VpcId"
    ]
    shared = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=_tags("vpc", "shared"))[
        "Vpc"
    ]["VpcId"]
    b.ids.update({"vpc:prod": prod, "vpc:shared": shared})
    for name, vpc, cidr in (
        ("web", prod, "10.10.1.0/24"),
        ("app", prod, "10.10.2.0/24"),
        ("db", prod, "10.10.3.0/24"),
        ("tools", shared, "10.20.1.0/24"),
    ):
        sub = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr,
            AvailabilityZone=f"{region}a",
            TagSpecifications=_tags("subnet", name),
        )
        b.ids[f"subnet:{name}"] = sub["Subnet"]["SubnetId"]

    pcx = ec2.create_vpc_peering_connection(VpcId=prod, PeerVpcId=shared)["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    b.ids["pcx"] = pcx["VpcPeeringConnectionId"]
    for vpc, peer_cidr in ((prod, "10.20.0.0/16"), (shared, "10.10.0.0/16")):
        ec2.create_route(
            RouteTableId=_main_table(ec2, vpc),
            DestinationCidrBlock=peer_cidr,
            VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"],
        )

    bastions = ec2.create_managed_prefix_list(
        PrefixListName="bastions",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[
            {"Cidr": "10.20.1.0/24", "Description": "tools subnet"},
            {"Cidr": "192.0.2.0/28", "Description": "old jump hosts"},
        ],
    )["PrefixList"]["PrefixListId"]
    b.ids["pl:bastions"] = bastions

    web = _sg(ec2, b, "web", prod)
    app = _sg(ec2, b, "app", prod)
    db = _sg(ec2, b, "db", prod)
    monitoring = _sg(ec2, b, "monitoring", prod)
    bastion = _sg(ec2, b, "bastion", shared)
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "PrefixListIds": [{"PrefixListId": bastions}],
            },
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": web}],
            }
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=db,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "UserIdGroupPairs": [{"GroupId": app}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.10.0.0/16"}],
            },
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=monitoring,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 9100,
                "ToPort": 9100,
                "IpRanges": [{"CidrIp": "10.10.0.0/16"}],
            }
        ],
    )

    # The db subnet's NACL admits only MySQL from the app subnet (and its replies); ssh from the VPC,
    # which the db group would allow, stops here.
    acl = ec2.create_network_acl(VpcId=prod, TagSpecifications=_tags("network-acl", "db-strict"))
    acl_id = acl["NetworkAcl"]["NetworkAclId"]
    b.ids["acl:db"] = acl_id
    for number, egress, ports, cidr, action in (
        (100, False, (3306, 3306), "10.10.2.0/24", "allow"),
        (200, False, (0, 65535), "0.0.0.0/0", "deny"),
        (100, True, (1024, 65535), "10.10.2.0/24", "allow"),
    ):
        ec2.create_network_acl_entry(
            NetworkAclId=acl_id,
            RuleNumber=number,
            Protocol="6",
            RuleAction=action,
            Egress=egress,
            CidrBlock=cidr,
            PortRange={"From": ports[0], "To": ports[1]},
        )
    current = ec2.describe_network_acls(
        Filters=[{"Name": "association.subnet-id", "Values": [b["subnet:db"]]}]
    )
    association = next(
        a["NetworkAclAssociationId"]
        for a in current["NetworkAcls"][0]["Associations"]
        if a["SubnetId"] == b["subnet:db"]
    )
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl_id)

    _instance(ec2, b, "web-1", b["subnet:web"], [web, monitoring], "web")
    _instance(ec2, b, "app-1", b["subnet:app"], [app, monitoring], "app")
    _instance(ec2, b, "db-1", b["subnet:db"], [db], "db")
    _instance(ec2, b, "bastion-1", b["subnet:tools"], [bastion], "bastion")

    # A second interface on app-1, with two groups and secondary addresses.
    eni = ec2.create_network_interface(
        SubnetId=b["subnet:app"],
        Groups=[monitoring, app],
        PrivateIpAddresses=[
            {"PrivateIpAddress": "10.10.2.50", "Primary": True},
            {"PrivateIpAddress": "10.10.2.51", "Primary": False},
            {"PrivateIpAddress": "10.10.2.52", "Primary": False},
        ],
        TagSpecifications=_tags("network-interface", "app-1-data"),
    )["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=b["i:app-1"], DeviceIndex=1)
    b.ids["eni:app-1-data"] = eni
    _add_routing(ec2, b)
    return b


def build_small(url: str, region: str = SECOND_REGION) -> Built:
    """One VPC with one subnet, one group and one instance."""
    ec2 = admin_client(url, region)
    b = Built(region)
    b.ids["image"] = _image(ec2)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16", TagSpecifications=_tags("vpc", "edge"))["Vpc"][
        "VpcId"
    ]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    b.ids.update({"vpc:edge": vpc, "subnet:edge": sub})
    proxy = _sg(ec2, b, "proxy", vpc)
    _instance(ec2, b, "proxy-1", sub, [proxy], "proxy")
    return b
