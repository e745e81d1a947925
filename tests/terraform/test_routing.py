"""Routing read from plans: route tables, routes, associations, gateways, Elastic IPs, transit gateways,
in the shapes of the EC2 describe API (contract section 2)."""

from __future__ import annotations

from typing import Any

import pytest

from sgproof.sources.internal import TF_ADDRESS, WARNINGS
from sgproof.sources.terraform import load_plan, placeholder, plan_to_snapshot

from .conftest import PLANS, conf, plan, rc

PLAN = str(PLANS / "routing" / "plan.json")


@pytest.fixture(scope="module")
def doc() -> dict[Any, Any]:
    return plan_to_snapshot(load_plan(PLAN), PLAN, None)


def _by_address(items: list[dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
    return {i[TF_ADDRESS]: i for i in items}


def _targets(table: dict[Any, Any]) -> dict[str, str]:
    out = {}
    for r in table["Routes"]:
        dest = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or r.get("DestinationPrefixListId")
        (target,) = [v for k, v in r.items() if isinstance(k, str) and k.endswith(("GatewayId", "ConnectionId"))
                     and k != "DestinationPrefixListId"]
        out[dest] = target
    return out


def test_route_tables_routes_and_associations(doc: dict[Any, Any]) -> None:
    tables = _by_address(doc["RouteTables"])
    igw = placeholder("igw", "aws_internet_gateway.igw")
    nat = placeholder("nat", "aws_nat_gateway.nat")
    pcx = placeholder("pcx", "aws_vpc_peering_connection.peer")
    public, private, db = (tables[f"aws_route_table.{n}"] for n in ("public", "private", "db"))
    assert _targets(public) == {"10.50.0.0/16": "local", "0.0.0.0/0": igw}
    assert _targets(private) == {"10.50.0.0/16": "local", "0.0.0.0/0": nat, "10.60.0.0/16": pcx}
    assert _targets(db) == {"10.50.0.0/16": "local"}
    local = public["Routes"][0]
    assert local == {"DestinationCidrBlock": "10.50.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable",
                     "State": "active"}
    assert all(r["State"] == "active" and r["Origin"] == "CreateRoute" for r in private["Routes"][1:])
    assert [a["SubnetId"] for a in public["Associations"]] == [placeholder("subnet", "aws_subnet.public")]
    assert public["Associations"][0]["Main"] is False
    # aws_main_route_table_association moves Main from the table AWS made with the VPC to db
    assert [a["Main"] for a in db["Associations"]] == [True]
    original = tables["aws_vpc.main"]
    assert original["RouteTableId"] == placeholder("rtb", "aws_vpc.main", "#main_route_table_id")
    assert original["Associations"] == [] and _targets(original) == {"10.50.0.0/16": "local"}
    assert private["PropagatingVgws"] == [{"GatewayId": placeholder("vgw", "aws_vpn_gateway.vgw")}]


def test_default_route_table_of_a_new_vpc(doc: dict[Any, Any]) -> None:
    peer = _by_address(doc["RouteTables"])["aws_default_route_table.peer"]
    assert peer["RouteTableId"] == placeholder("rtb", "aws_vpc.peer", "#main_route_table_id")
    assert [a["Main"] for a in peer["Associations"]] == [True]
    assert _targets(peer) == {"10.60.0.0/16": "local", "10.50.1.0/24": placeholder("pcx", "aws_vpc_peering_connection.peer"),
                              "192.168.0.0/16": placeholder("tgw", "aws_ec2_transit_gateway.tgw")}


def test_gateways(doc: dict[Any, Any]) -> None:
    vpc = placeholder("vpc", "aws_vpc.main")
    (igw,) = doc["InternetGateways"]
    assert igw["Attachments"] == [{"VpcId": vpc, "State": "available"}]
    (nat,) = doc["NatGateways"]
    assert nat["SubnetId"] == placeholder("subnet", "aws_subnet.public") and nat["State"] == "available"
    assert nat["ConnectivityType"] == "public"
    (address,) = nat["NatGatewayAddresses"]
    assert address["AllocationId"] == placeholder("eipalloc", "aws_eip.nat") and address["PublicIp"]
    nat_eni = next(e for e in doc["NetworkInterfaces"] if e["NetworkInterfaceId"] == address["NetworkInterfaceId"])
    assert nat_eni["InterfaceType"] == "nat_gateway" and nat_eni["Groups"] == []
    (vgw,) = doc["VpnGateways"]
    assert vgw["VpcAttachments"] == [{"VpcId": vpc, "State": "attached"}] and vgw["State"] == "available"
    (vpce,) = doc["VpcEndpoints"]
    assert vpce["VpcEndpointType"] == "Gateway" and vpce["RouteTableIds"] == [
        placeholder("rtb", "aws_route_table.private")]
    assert any("com.amazonaws.us-east-1.s3" in w for w in doc[WARNINGS])  # its prefix list is AWS's


def test_elastic_ip_of_an_instance_is_where_describe_puts_it(doc: dict[Any, Any]) -> None:
    eni = next(e for e in doc["NetworkInterfaces"] if e[TF_ADDRESS] == "aws_instance.web")
    public = eni["Association"]["PublicIp"]
    assert eni["Association"]["AllocationId"] == placeholder("eipalloc", "aws_eip.web")
    (pip,) = eni["PrivateIpAddresses"]
    assert pip["PrivateIpAddress"] == "10.50.0.10" and pip["Association"]["PublicIp"] == public
    assert any(f"aws_eip.web: its public IPv4 is assigned at apply; modelled as the stand-in {public}" == w
               for w in doc[WARNINGS])


def test_transit_gateway(doc: dict[Any, Any]) -> None:
    attach = placeholder("tgw-attach", "aws_ec2_transit_gateway_vpc_attachment.peer")
    peer_vpc = placeholder("vpc", "aws_vpc.peer")
    (vpc_att,) = doc["TransitGatewayVpcAttachments"]
    assert vpc_att["TransitGatewayAttachmentId"] == attach and vpc_att["VpcId"] == peer_vpc
    assert vpc_att["SubnetIds"] == [placeholder("subnet", "aws_subnet.peer")]
    (att,) = doc["TransitGatewayAttachments"]
    assert att["ResourceType"] == "vpc" and att["ResourceId"] == peer_vpc and att["State"] == "available"
    tables = {t["TransitGatewayRouteTableId"]: t for t in doc["TransitGatewayRouteTables"]}
    default = tables[placeholder("tgw-rtb", "aws_ec2_transit_gateway.tgw", "#association_default_route_table_id")]
    assert default["DefaultAssociationRouteTable"] and default["DefaultPropagationRouteTable"]
    assert default["Associations"] == [{"TransitGatewayAttachmentId": attach, "ResourceId": peer_vpc,
                                        "ResourceType": "vpc", "State": "associated"}]
    assert att["Association"]["TransitGatewayRouteTableId"] == default["TransitGatewayRouteTableId"]
    via = [{"TransitGatewayAttachmentId": attach, "ResourceType": "vpc", "ResourceId": peer_vpc}]
    assert default["Routes"] == [{"DestinationCidrBlock": "10.60.0.0/16", "Type": "propagated", "State": "active",
                                  "TransitGatewayAttachments": via, TF_ADDRESS: default["Routes"][0][TF_ADDRESS]}]
    extra = tables[placeholder("tgw-rtb", "aws_ec2_transit_gateway_route_table.extra")]
    routes = {r["DestinationCidrBlock"]: (r["Type"], r["State"]) for r in extra["Routes"]}
    assert routes == {"10.60.0.0/16": ("propagated", "active"), "10.99.0.0/16": ("static", "blackhole")}


VPC = rc("aws_vpc.main", "aws_vpc", {"cidr_block": "10.0.0.0/16"}, unknown={"id": True})
OLD_VPC = rc("aws_vpc.main", "aws_vpc", {"cidr_block": "10.0.0.0/16", "id": "vpc-1"}, actions=["no-op"],
             before={"cidr_block": "10.0.0.0/16", "id": "vpc-1"})


def test_a_new_vpc_gets_its_main_route_table_with_the_local_route() -> None:
    doc = plan_to_snapshot(plan([VPC], [conf("aws_vpc.main", "aws_vpc")]), "plan.json", None)
    (table,) = doc["RouteTables"]
    assert table["VpcId"] == placeholder("vpc", "aws_vpc.main")
    assert [a["Main"] for a in table["Associations"]] == [True]
    assert _targets(table) == {"10.0.0.0/16": "local"}


def test_an_existing_vpc_whose_main_table_is_unknown_leaves_routing_open() -> None:
    doc = plan_to_snapshot(plan([OLD_VPC], [conf("aws_vpc.main", "aws_vpc")]), "plan.json", None)
    assert "RouteTables" not in doc
    assert any("routing is left open" in w and "vpc-1" in w for w in doc[WARNINGS])


def test_plan_over_live_keeps_live_routes_it_does_not_change() -> None:
    live = {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}], "Subnets": [], "SecurityGroups": [],
            "NetworkAcls": [], "NetworkInterfaces": [],
            "RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [
                {"Main": True, "RouteTableId": "rtb-1", "RouteTableAssociationId": "rtbassoc-1"}],
                "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable",
                            "State": "active"},
                           {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "Origin": "CreateRoute",
                            "State": "active"},
                           {"DestinationCidrBlock": "172.16.0.0/12", "GatewayId": "vgw-1", "Origin": "CreateRoute",
                            "State": "active"}]}]}
    route = rc("aws_route.onprem", "aws_route", {"route_table_id": "rtb-1", "destination_cidr_block": "172.16.0.0/12",
                                                 "transit_gateway_id": "tgw-1"})
    doc = plan_to_snapshot(plan([OLD_VPC, route], [conf("aws_vpc.main", "aws_vpc"),
                                                   conf("aws_route.onprem", "aws_route")]), "plan.json", live)
    (table,) = doc["RouteTables"]
    assert _targets(table) == {"10.0.0.0/16": "local", "0.0.0.0/0": "igw-1", "172.16.0.0/12": "tgw-1"}
    assert table["Associations"][0]["RouteTableAssociationId"] == "rtbassoc-1"


def _instance_plan(map_public: bool, associate: Any) -> dict[Any, Any]:
    subnet = rc("aws_subnet.a", "aws_subnet", {"cidr_block": "10.0.1.0/24", "map_public_ip_on_launch": map_public},
                unknown={"id": True, "vpc_id": True})
    after: dict[str, Any] = {"private_ip": "10.0.1.5"}
    unknown: dict[str, Any] = {"id": True, "subnet_id": True, "public_ip": True}
    if associate is None:
        unknown["associate_public_ip_address"] = True
    else:
        after["associate_public_ip_address"] = associate
    inst = rc("aws_instance.x", "aws_instance", after, unknown=unknown)
    confs = [conf("aws_vpc.main", "aws_vpc"), conf("aws_subnet.a", "aws_subnet", vpc_id=["aws_vpc.main.id"]),
             conf("aws_instance.x", "aws_instance", subnet_id=["aws_subnet.a.id"])]
    return plan_to_snapshot(plan([VPC, subnet, inst], confs), "plan.json", None)


@pytest.mark.parametrize(("map_public", "associate", "public"),
                         [(True, None, True), (False, None, False), (False, True, True), (True, False, False)])
def test_an_instance_gets_a_public_stand_in_when_aws_gives_it_one(map_public: bool, associate: Any,
                                                                   public: bool) -> None:
    doc = _instance_plan(map_public, associate)
    eni = next(e for e in doc["NetworkInterfaces"] if e[TF_ADDRESS] == "aws_instance.x")
    assert ("Association" in eni) == public
    if public:
        ip = eni["Association"]["PublicIp"]
        assert ip.startswith("198.1") and eni["PrivateIpAddresses"][0]["Association"]["PublicIp"] == ip
        assert any("aws_instance.x" in w and ip in w for w in doc[WARNINGS])
