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
    "NatGateways",
    "VpcPeeringConnections",
    "TransitGatewayAttachments",
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
    "NatGateways": "NatGatewayId",
    "VpcPeeringConnections": "VpcPeeringConnectionId",
    "TransitGatewayAttachments": "TransitGatewayAttachmentId",
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
    for plist in collected["ManagedPrefixLists"]:
        # customer-managed lists always get entries; AWS-managed ones only when a rule names them
        assert ("Entries" in plist) == (plist["OwnerId"] != "AWS"), plist["PrefixListName"]


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
    routes = [
        r
        for table in collected["RouteTables"]
        for r in table["Routes"]
        if r.get("VpcPeeringConnectionId") == three_tier["pcx"]
    ]
    assert sorted(r["DestinationCidrBlock"] for r in routes) == ["10.10.0.0/16", "10.20.0.0/16"]


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
    assert [line.split()[1] for line in lines[:12]] == [key for key, _, _ in aws.EC2_LISTS]
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
