"""Collecting real (moto-served) networks: the document's keys, content, order, metadata and stability."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sgproof.errors import InputError
from sgproof.sources import aws
from sgproof.sources.snapshot import build_network, read_document
from tests.aws.moto_env import (
    MAIN_REGION,
    QUIET_REGION,
    SECOND_REGION,
    Built,
    new_session,
    point_at,
)

LIST_KEYS = {
    "SecurityGroups",
    "NetworkInterfaces",
    "Subnets",
    "NetworkAcls",
    "Vpcs",
    "RouteTables",
    "InternetGateways",
    "EgressOnlyInternetGateways",
    "NatGateways",
    "VpnGateways",
    "VpcPeeringConnections",
    "VpcEndpoints",
    "TransitGatewayAttachments",
    "TransitGatewayVpcAttachments",
    "TransitGatewayRouteTables",
    "ManagedPrefixLists",
    "Reservations",
}
ID_KEYS = {
    "SecurityGroups": "GroupId",
    "NetworkInterfaces": "NetworkInterfaceId",
    "Subnets": "SubnetId",
    "NetworkAcls": "NetworkAclId",
    "Vpcs": "VpcId",
    "RouteTables": "RouteTableId",
    "InternetGateways": "InternetGatewayId",
    "EgressOnlyInternetGateways": "EgressOnlyInternetGatewayId",
    "NatGateways": "NatGatewayId",
    "VpnGateways": "VpnGatewayId",
    "VpcPeeringConnections": "VpcPeeringConnectionId",
    "VpcEndpoints": "VpcEndpointId",
    "TransitGatewayAttachments": "TransitGatewayAttachmentId",
    "TransitGatewayVpcAttachments": "TransitGatewayAttachmentId",
    "TransitGatewayRouteTables": "TransitGatewayRouteTableId",
    "ManagedPrefixLists": "PrefixListId",
    "Reservations": "ReservationId",
}


def by_id(doc: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """The items of a top-level list, by their id."""
    return {item[ID_KEYS[key]]: item for item in doc[key]}


@pytest.fixture(scope="module")
def collected(
    moto_url: str, three_tier: Built, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The three-tier region, collected once through AWS_ENDPOINT_URL."""
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, moto_url, tmp_path_factory.mktemp("aws"))
        return aws.collect_snapshot(new_session(), MAIN_REGION)


def test_document_has_every_contract_key_and_metadata(collected: dict[str, Any]) -> None:
    assert set(collected) == LIST_KEYS | {"AccountId", "Region", "CollectedAt"}
    assert collected["AccountId"] == "123456789012"
    assert collected["Region"] == MAIN_REGION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", collected["CollectedAt"])
    assert json.loads(json.dumps(collected)) == collected  # plain JSON: no datetimes left


def test_every_list_is_sorted_by_resource_id(collected: dict[str, Any]) -> None:
    for key, id_key in ID_KEYS.items():
        ids = [item[id_key] for item in collected[key]]
        assert ids == sorted(ids), key
    for reservation in collected["Reservations"]:
        ids = [i["InstanceId"] for i in reservation["Instances"]]
        assert ids == sorted(ids)


def test_security_groups_keep_sg_and_prefix_list_rules(
    collected: dict[str, Any], three_tier: Built
) -> None:
    groups = by_id(collected, "SecurityGroups")
    db = groups[three_tier["sg:db"]]
    assert db["GroupName"] == "db"
    mysql = next(p for p in db["IpPermissions"] if p.get("FromPort") == 3306)
    assert [pair["GroupId"] for pair in mysql["UserIdGroupPairs"]] == [three_tier["sg:app"]]
    web = groups[three_tier["sg:web"]]
    ssh = next(p for p in web["IpPermissions"] if p.get("FromPort") == 22)
    assert [p["PrefixListId"] for p in ssh["PrefixListIds"]] == [three_tier["pl:bastions"]]
    ports = [(p["IpProtocol"], p.get("FromPort")) for p in web["IpPermissions"]]
    assert ports == sorted(ports)


def test_referenced_prefix_lists_carry_their_entries(
    collected: dict[str, Any], three_tier: Built
) -> None:
    lists = by_id(collected, "ManagedPrefixLists")
    bastions = lists[three_tier["pl:bastions"]]
    assert bastions["PrefixListName"] == "bastions"
    assert [e["Cidr"] for e in bastions["Entries"]] == ["10.20.1.0/24", "192.0.2.0/28"]
    s3 = f"com.amazonaws.{MAIN_REGION}.s3"  # named by the gateway endpoint and its route
    for plist in collected["ManagedPrefixLists"]:
        # customer-managed lists always get entries; AWS-managed ones only when something uses them
        used = plist["OwnerId"] != "AWS" or plist["PrefixListName"] == s3
        assert ("Entries" in plist) == used, plist["PrefixListName"]


def test_custom_nacl_entries_are_ordered_by_direction_and_rule_number(
    collected: dict[str, Any], three_tier: Built
) -> None:
    acl = by_id(collected, "NetworkAcls")[three_tier["acl:db"]]
    assert [a["SubnetId"] for a in acl["Associations"]] == [three_tier["subnet:db"]]
    order = [(e["Egress"], e["RuleNumber"]) for e in acl["Entries"]]
    assert order == sorted(order)
    mine = [
        (e["Egress"], e["RuleNumber"], e["RuleAction"])
        for e in acl["Entries"]
        if e["RuleNumber"] < 32767
    ]
    assert mine == [(False, 100, "allow"), (False, 200, "deny"), (True, 100, "allow")]


def test_interfaces_keep_several_groups_and_secondary_addresses(
    collected: dict[str, Any], three_tier: Built
) -> None:
    eni = by_id(collected, "NetworkInterfaces")[three_tier["eni:app-1-data"]]
    assert [g["GroupId"] for g in eni["Groups"]] == sorted(
        [three_tier["sg:app"], three_tier["sg:monitoring"]]
    )
    addresses = [(a["PrivateIpAddress"], a["Primary"]) for a in eni["PrivateIpAddresses"]]
    assert addresses == [("10.10.2.50", True), ("10.10.2.51", False), ("10.10.2.52", False)]
    assert eni["Attachment"]["InstanceId"] == three_tier["i:app-1"]


def test_instances_bring_their_name_tags(collected: dict[str, Any], three_tier: Built) -> None:
    names = {
        instance["InstanceId"]: {t["Key"]: t["Value"] for t in instance["Tags"]}
        for reservation in collected["Reservations"]
        for instance in reservation["Instances"]
    }
    assert names[three_tier["i:db-1"]] == {"Name": "db-1", "Role": "db"}
    assert names[three_tier["i:web-1"]]["Name"] == "web-1"


def test_peering_and_routes_are_collected(collected: dict[str, Any], three_tier: Built) -> None:
    peering = by_id(collected, "VpcPeeringConnections")[three_tier["pcx"]]
    assert peering["Status"]["Code"] == "active"
    assert {peering["RequesterVpcInfo"]["VpcId"], peering["AccepterVpcInfo"]["VpcId"]} == {
        three_tier["vpc:prod"],
        three_tier["vpc:shared"],
    }
    peered = {
        table["RouteTableId"]: [
            r["DestinationCidrBlock"]
            for r in table["Routes"]
            if r.get("VpcPeeringConnectionId") == three_tier["pcx"]
        ]
        for table in collected["RouteTables"]
    }
    assert {t: d for t, d in peered.items() if d} == {
        three_tier["rtb:main"]: ["10.20.0.0/16"],
        three_tier["rtb:public"]: ["10.20.0.0/16"],
        three_tier["rtb:private"]: ["10.20.0.0/16"],
        three_tier["rtb:shared"]: ["10.10.0.0/16"],
    }


def test_subnet_tables_are_explicit_or_main(collected: dict[str, Any], three_tier: Built) -> None:
    tables = by_id(collected, "RouteTables")
    explicit = {
        a["SubnetId"]: table["RouteTableId"]
        for table in collected["RouteTables"]
        for a in table["Associations"]
        if a.get("SubnetId")
    }
    assert explicit[three_tier["subnet:web"]] == three_tier["rtb:public"]
    assert explicit[three_tier["subnet:app"]] == three_tier["rtb:private"]
    assert three_tier["subnet:db"] not in explicit  # the db subnet takes the main table
    main = tables[three_tier["rtb:main"]]
    assert main["VpcId"] == three_tier["vpc:prod"]
    assert [a["Main"] for a in main["Associations"]] == [True]
    for table in collected["RouteTables"]:
        assert all(not a["Main"] for a in table["Associations"] if a.get("SubnetId"))
        keys = [
            tuple(str(r.get(k) or "") for k in aws.SORT_FIELDS["Routes"]) for r in table["Routes"]
        ]
        assert keys == sorted(keys), table["RouteTableId"]


def test_routes_name_every_kind_of_target(collected: dict[str, Any], three_tier: Built) -> None:
    def routes(table: str) -> dict[str, dict[str, Any]]:
        found = by_id(collected, "RouteTables")[three_tier[table]]["Routes"]
        return {
            r.get("DestinationCidrBlock")
            or r.get("DestinationIpv6CidrBlock")
            or r["DestinationPrefixListId"]: r
            for r in found
        }

    public, private, main = routes("rtb:public"), routes("rtb:private"), routes("rtb:main")
    assert public["10.10.0.0/16"]["GatewayId"] == "local"
    assert public["0.0.0.0/0"]["GatewayId"] == three_tier["igw"]
    assert private["0.0.0.0/0"]["NatGatewayId"] == three_tier["nat"]
    assert private["::/0"]["EgressOnlyInternetGatewayId"] == three_tier["eigw"]
    assert private["192.168.0.0/16"]["GatewayId"] == three_tier["vgw"]
    assert private["10.40.0.0/16"]["TransitGatewayId"] == three_tier["tgw"]
    assert {r["State"] for r in private.values()} == {"active"}
    assert "0.0.0.0/0" not in main  # db: no default route
    s3 = next(
        p["PrefixListId"]
        for p in collected["ManagedPrefixLists"]
        if p["PrefixListName"] == f"com.amazonaws.{MAIN_REGION}.s3"
    )
    assert main[s3]["GatewayId"] == three_tier["vpce:s3"]


def test_gateways_and_endpoints_are_collected(collected: dict[str, Any], three_tier: Built) -> None:
    igw = by_id(collected, "InternetGateways")[three_tier["igw"]]
    assert igw["Attachments"] == [{"State": "available", "VpcId": three_tier["vpc:prod"]}]
    eigw = by_id(collected, "EgressOnlyInternetGateways")[three_tier["eigw"]]
    assert [a["VpcId"] for a in eigw["Attachments"]] == [three_tier["vpc:prod"]]
    nat = by_id(collected, "NatGateways")[three_tier["nat"]]
    assert (nat["SubnetId"], nat["State"]) == (three_tier["subnet:web"], "available")
    (address,) = nat["NatGatewayAddresses"]
    assert (address["PrivateIp"], bool(address.get("PublicIp"))) == ("10.10.1.200", True)
    eni = by_id(collected, "NetworkInterfaces")[address["NetworkInterfaceId"]]
    assert (eni["InterfaceType"], eni["SubnetId"], eni["PrivateIpAddress"]) == (
        "nat_gateway",
        three_tier["subnet:web"],
        "10.10.1.200",
    )
    vgw = by_id(collected, "VpnGateways")[three_tier["vgw"]]
    assert vgw["VpcAttachments"] == [{"State": "attached", "VpcId": three_tier["vpc:prod"]}]
    endpoint = by_id(collected, "VpcEndpoints")[three_tier["vpce:s3"]]
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["ServiceName"] == f"com.amazonaws.{MAIN_REGION}.s3"
    assert endpoint["RouteTableIds"] == [three_tier["rtb:main"]]
    assert isinstance(endpoint["CreationTimestamp"], str)


def test_transit_gateway_attachments_carry_their_subnets(
    collected: dict[str, Any], three_tier: Built
) -> None:
    prod, lab = three_tier["tgw-attach:prod"], three_tier["tgw-attach:lab"]
    attachments = by_id(collected, "TransitGatewayAttachments")
    assert {
        k: (a["ResourceType"], a["ResourceId"], a["State"]) for k, a in attachments.items()
    } == {
        prod: ("vpc", three_tier["vpc:prod"], "available"),
        lab: ("vpc", three_tier["vpc:lab"], "available"),
    }
    vpc_attachments = by_id(collected, "TransitGatewayVpcAttachments")
    assert vpc_attachments[prod]["SubnetIds"] == [three_tier["subnet:app"]]
    assert vpc_attachments[lab]["SubnetIds"] == [three_tier["subnet:lab"]]
    assert {a["TransitGatewayId"] for a in vpc_attachments.values()} == {three_tier["tgw"]}


def test_transit_gateway_route_tables_carry_routes_and_associations(
    collected: dict[str, Any], three_tier: Built
) -> None:
    hub = by_id(collected, "TransitGatewayRouteTables")[three_tier["tgw-rtb:hub"]]
    assert hub["TransitGatewayId"] == three_tier["tgw"]
    assert [(r["DestinationCidrBlock"], r["State"], r["Type"]) for r in hub["Routes"]] == [
        ("10.10.0.0/16", "active", "static"),
        ("10.40.0.0/16", "active", "static"),
        ("10.99.0.0/16", "blackhole", "static"),
    ]
    assert [(a["TransitGatewayAttachmentId"], a["State"]) for a in hub["Associations"]] == sorted(
        [
            (three_tier["tgw-attach:prod"], "associated"),
            (three_tier["tgw-attach:lab"], "associated"),
        ]
    )
    for table in collected["TransitGatewayRouteTables"]:
        assert isinstance(table["Routes"], list) and isinstance(table["Associations"], list)


def test_the_collected_snapshot_builds_a_network(
    collected: dict[str, Any], three_tier: Built, tmp_path: Path
) -> None:
    path = tmp_path / "net.json"
    path.write_text(aws.render(collected), encoding="utf-8")
    network = build_network(read_document(str(path)), str(path))
    assert {three_tier["vpc:prod"], three_tier["vpc:lab"]} <= set(network.vpcs)
    assert three_tier["eni:db-1"] in {e.id for e in network.enis}


def test_two_collections_render_identically(aws_env: str, three_tier: Built) -> None:
    session = new_session()
    first = aws.collect_snapshot(session, MAIN_REGION)
    second = aws.collect_snapshot(session, MAIN_REGION)
    first.pop("CollectedAt")
    second.pop("CollectedAt")
    assert aws.render(first) == aws.render(second)


def test_progress_names_each_call_and_its_count(aws_env: str, three_tier: Built) -> None:
    lines: list[str] = []
    doc = aws.collect_snapshot(new_session(), MAIN_REGION, lines.append)
    assert f"{MAIN_REGION}: SecurityGroups {len(doc['SecurityGroups'])}" in lines
    count = len(aws.EC2_LISTS)
    assert [line.split()[1] for line in lines[:count]] == [key for key, _, _ in aws.EC2_LISTS]
    hub = three_tier["tgw-rtb:hub"]
    assert f"{MAIN_REGION}: {hub} Routes 3 Associations 2" in lines
    assert f"{MAIN_REGION}: {three_tier['pl:bastions']} Entries 2" in lines


def test_collect_merged_joins_regions(aws_env: str, three_tier: Built, small: Built) -> None:
    merged = aws.collect_merged(None, (MAIN_REGION, SECOND_REGION), None)
    assert merged["Region"] == f"{MAIN_REGION},{SECOND_REGION}"
    vpcs = {v["VpcId"] for v in merged["Vpcs"]}
    assert {three_tier["vpc:prod"], small["vpc:edge"]} <= vpcs
    alone = aws.collect_snapshot(new_session(), SECOND_REGION)
    assert all(item in merged[key] for key in LIST_KEYS for item in alone[key])


def test_collect_merged_defaults_to_the_environment_region(aws_env: str) -> None:
    assert aws.collect_merged(None, (), None)["Region"] == MAIN_REGION


def test_run_collect_one_region_writes_the_file(
    aws_env: str, three_tier: Built, tmp_path: Path
) -> None:
    out = tmp_path / "net.json"
    err = io.StringIO()
    assert aws.run_collect(None, (MAIN_REGION,), str(out), False, err) == 0
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "AccountId"')
    doc = json.loads(text)
    assert text == aws.render(doc)  # indent=2, sort_keys, one trailing newline
    assert f"{MAIN_REGION}: Vpcs {len(doc['Vpcs'])}" in err.getvalue().splitlines()
    assert not list(tmp_path.glob(".*.tmp"))


def test_run_collect_to_stdout_and_quietly(
    aws_env: str, capsys: pytest.CaptureFixture[str], three_tier: Built
) -> None:
    err = io.StringIO()
    assert aws.run_collect(None, (MAIN_REGION,), None, True, err) == 0
    assert err.getvalue() == ""
    assert json.loads(capsys.readouterr().out)["Region"] == MAIN_REGION


def test_run_collect_several_regions_writes_one_file_each(
    aws_env: str, three_tier: Built, small: Built, tmp_path: Path
) -> None:
    out = tmp_path / "snapshots"
    assert aws.run_collect(None, (MAIN_REGION, SECOND_REGION), str(out), True, io.StringIO()) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"123456789012-{SECOND_REGION}.json", f"123456789012-{MAIN_REGION}.json"]
    for region in (MAIN_REGION, SECOND_REGION):
        assert json.loads((out / f"123456789012-{region}.json").read_text())["Region"] == region


def test_run_collect_several_regions_needs_a_directory(aws_env: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--output"):
        aws.run_collect(None, (MAIN_REGION, QUIET_REGION), None, True, io.StringIO())
    file = tmp_path / "x.json"
    file.write_text("{}")
    with pytest.raises(InputError, match="a directory"):
        aws.run_collect(None, (MAIN_REGION, QUIET_REGION), str(file), True, io.StringIO())
    with pytest.raises(InputError, match="a file path"):
        aws.run_collect(None, (MAIN_REGION,), str(tmp_path), True, io.StringIO())
    with pytest.raises(InputError, match="no directory"):
        aws.run_collect(
            None, (MAIN_REGION,), str(tmp_path / "missing" / "x.json"), True, io.StringIO()
        )


def test_a_profile_brings_its_region_and_credentials(
    aws_env: str, small: Built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.write_text(f"[profile audit]\nregion = {SECOND_REGION}\n", encoding="utf-8")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    doc = aws.collect_merged("audit", (), None)
    assert doc["Region"] == SECOND_REGION
    assert small["vpc:edge"] in {v["VpcId"] for v in doc["Vpcs"]}
