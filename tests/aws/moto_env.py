"""A local AWS for the collector's tests: helpers that point boto3 at a moto server and build networks in it.

Each network lives in its own region, so tests that read one never see another's resources. moto is not
AWS: every group an ENI needs is created and attached explicitly, never taken from moto's defaults.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

MAIN_REGION = "us-east-1"  # the three-tier network with a peered shared-services VPC
SECOND_REGION = "eu-west-1"  # a small second network, for multi-region collection
QUIET_REGION = "ap-southeast-2"  # nothing built: moto's defaults only, for error and retry tests
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


def build_three_tier(url: str, region: str = MAIN_REGION) -> Built:
    """prod VPC (web/app/db subnets, SG-to-SG rules, a strict db NACL) peered with a shared VPC (bastion)."""
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
        sub = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, TagSpecifications=_tags("subnet", name))
        b.ids[f"subnet:{name}"] = sub["Subnet"]["SubnetId"]

    pcx = ec2.create_vpc_peering_connection(VpcId=prod, PeerVpcId=shared)["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    b.ids["pcx"] = pcx["VpcPeeringConnectionId"]
    for vpc, peer_cidr in ((prod, "10.20.0.0/16"), (shared, "10.10.0.0/16")):
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
            "RouteTables"
        ]
        ec2.create_route(
            RouteTableId=tables[0]["RouteTableId"],
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
