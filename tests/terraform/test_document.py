"""The plan-to-document conversion: shapes, placeholder ids, references, after-apply semantics, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sgproof.errors import InputError, UnsupportedFeature
from sgproof.sources.internal import TF_ADDRESS, UNKNOWN_PRIVATE_IPV4, WARNINGS
from sgproof.sources.terraform import load_plan, placeholder, plan_to_snapshot

from .conftest import conf, plan, rc

VPC = rc("aws_vpc.main", "aws_vpc", {"cidr_block": "10.0.0.0/16"}, unknown={"id": True})
SUBNET = rc("aws_subnet.a", "aws_subnet", {"cidr_block": "10.0.1.0/24"}, unknown={"id": True, "vpc_id": True})
CONF = [conf("aws_vpc.main", "aws_vpc"),
        conf("aws_subnet.a", "aws_subnet", vpc_id=["aws_vpc.main.id", "aws_vpc.main"])]


def sg(address: str = "aws_security_group.db", name: str = "db", **kw: Any) -> dict[str, Any]:
    after = {"name": name, "description": "x", **kw}
    unknown: dict[str, Any] = {"id": True, "vpc_id": True}
    for k in ("ingress", "egress"):
        if k not in kw:
            unknown[k] = True
    return rc(address, "aws_security_group", after, unknown=unknown)


def sg_conf(address: str = "aws_security_group.db", **exprs: Any) -> dict[str, Any]:
    return conf(address, "aws_security_group", vpc_id=["aws_vpc.main.id", "aws_vpc.main"], **exprs)


def doc_of(changes: list[dict[str, Any]], resources: list[dict[str, Any]], base: Any = None) -> dict[str, Any]:
    return plan_to_snapshot(plan([VPC, SUBNET, *changes], CONF + resources), "plan.json", base)


def test_load_plan_rejects_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.json:1:2: expected valid JSON"):
        load_plan(str(bad))
    bad.write_text(json.dumps({"resource_changes": []}))
    with pytest.raises(InputError, match="format_version"):
        load_plan(str(bad))
    bad.write_text(json.dumps({"format_version": "2.0", "resource_changes": []}))
    with pytest.raises(UnsupportedFeature, match=r"1\.x"):
        load_plan(str(bad))
    bad.write_text(json.dumps({"format_version": "1.9", "resource_changes": [], "future_key": 1}))
    assert load_plan(str(bad))["format_version"] == "1.9"


def test_new_vpc_gets_default_nacl_and_sg_and_placeholder_ids() -> None:
    doc = doc_of([], [])
    vpc_id = placeholder("vpc", "aws_vpc.main")
    assert doc["Vpcs"][0]["VpcId"] == vpc_id == doc["Subnets"][0]["VpcId"]
    assert vpc_id.startswith("vpc-tf-")
    (acl,) = doc["NetworkAcls"]
    assert acl["IsDefault"] and acl["Associations"][0]["SubnetId"] == doc["Subnets"][0]["SubnetId"]
    rules = {(e["RuleNumber"], e["Egress"], e["RuleAction"]) for e in acl["Entries"]}
    assert {(100, False, "allow"), (100, True, "allow"), (32767, False, "deny"), (32768, True, "deny")} <= rules
    (default,) = doc["SecurityGroups"]
    assert default["GroupName"] == "default"
    assert default["IpPermissions"][0]["UserIdGroupPairs"] == [{"GroupId": default["GroupId"]}]
    assert default["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert doc[WARNINGS] == []


def test_new_security_group_has_no_default_egress_and_inline_rules_carry_its_address() -> None:
    ingress = [{"protocol": "6", "from_port": 3306, "to_port": 3306, "cidr_blocks": ["10.0.0.0/8"],
                "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": True}]
    doc = doc_of([sg(ingress=ingress)], [sg_conf(ingress={"constant_value": ingress})])
    group = next(g for g in doc["SecurityGroups"] if g["GroupName"] == "db")
    assert group["IpPermissionsEgress"] == []
    (perm,) = group["IpPermissions"]
    assert perm["IpProtocol"] == "tcp" and perm["FromPort"] == 3306
    assert perm["UserIdGroupPairs"] == [{"GroupId": group["GroupId"]}]
    assert perm[TF_ADDRESS] == "aws_security_group.db"


def test_standalone_rules_resolve_references_and_carry_their_own_address() -> None:
    rule = rc("aws_security_group_rule.in", "aws_security_group_rule",
              {"type": "ingress", "protocol": "all", "from_port": 0, "to_port": 0, "self": False},
              unknown={"security_group_id": True, "source_security_group_id": True})
    new = rc("aws_vpc_security_group_egress_rule.out", "aws_vpc_security_group_egress_rule",
             {"ip_protocol": "icmp", "from_port": 8, "to_port": -1, "cidr_ipv4": "0.0.0.0/0"},
             unknown={"security_group_id": True})
    doc = doc_of([sg(), sg("aws_security_group.app", "app"), rule, new], [
        sg_conf(), sg_conf("aws_security_group.app"),
        conf("aws_security_group_rule.in", "aws_security_group_rule",
             security_group_id=["aws_security_group.db.id", "aws_security_group.db"],
             source_security_group_id=["aws_security_group.app.id", "aws_security_group.app"]),
        conf("aws_vpc_security_group_egress_rule.out", "aws_vpc_security_group_egress_rule",
             security_group_id=["aws_security_group.db.id", "aws_security_group.db"])])
    db = next(g for g in doc["SecurityGroups"] if g["GroupName"] == "db")
    (perm,) = db["IpPermissions"]
    assert perm["IpProtocol"] == "-1" and "FromPort" not in perm
    assert perm["UserIdGroupPairs"] == [{"GroupId": placeholder("sg", "aws_security_group.app")}]
    assert perm[TF_ADDRESS] == "aws_security_group_rule.in"
    (out,) = db["IpPermissionsEgress"]
    assert (out["IpProtocol"], out["FromPort"], out["ToPort"]) == ("icmp", 8, -1)
    assert out[TF_ADDRESS] == "aws_vpc_security_group_egress_rule.out"


def test_inline_and_standalone_rules_on_one_group_is_an_input_error_naming_both() -> None:
    rule = rc("aws_security_group_rule.x", "aws_security_group_rule",
              {"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["1.2.3.4/32"]},
              unknown={"security_group_id": True})
    with pytest.raises(InputError) as err:
        doc_of([sg(ingress=[]), rule], [sg_conf(ingress={"constant_value": []}),
               conf("aws_security_group_rule.x", "aws_security_group_rule",
                    security_group_id=["aws_security_group.db.id"])])
    msg = str(err.value)
    assert "aws_security_group.db" in msg and "aws_security_group_rule.x" in msg
    assert "resource_changes[3] (aws_security_group_rule.x)" in msg


def test_inline_and_standalone_nacl_entries_is_an_input_error() -> None:
    acl = rc("aws_network_acl.n", "aws_network_acl", {"ingress": [], "egress": []},
             unknown={"id": True, "vpc_id": True, "subnet_ids": True})
    rule = rc("aws_network_acl_rule.r", "aws_network_acl_rule",
              {"rule_number": 10, "egress": False, "protocol": "tcp", "rule_action": "allow",
               "cidr_block": "0.0.0.0/0", "from_port": 1, "to_port": 2}, unknown={"network_acl_id": True})
    with pytest.raises(InputError, match=r"aws_network_acl\.n.*aws_network_acl_rule\.r"):
        doc_of([acl, rule], [conf("aws_network_acl.n", "aws_network_acl", vpc_id=["aws_vpc.main.id"],
                                  ingress={"constant_value": []}),
                             conf("aws_network_acl_rule.r", "aws_network_acl_rule",
                                  network_acl_id=["aws_network_acl.n.id"])])


def test_custom_nacl_gets_star_denies_and_takes_its_subnets() -> None:
    entry = {"rule_no": 100, "action": "allow", "protocol": "tcp", "cidr_block": "0.0.0.0/0",
             "from_port": 443, "to_port": 443, "icmp_type": None, "icmp_code": None, "ipv6_cidr_block": ""}
    acl = rc("aws_network_acl.n", "aws_network_acl", {"ingress": [entry], "egress": []},
             unknown={"id": True, "vpc_id": True, "subnet_ids": True})
    doc = doc_of([acl], [conf("aws_network_acl.n", "aws_network_acl", vpc_id=["aws_vpc.main.id"],
                              subnet_ids=["aws_subnet.a.id", "aws_subnet.a"], ingress={"constant_value": [entry]},
                              egress={"constant_value": []})])
    custom = next(a for a in doc["NetworkAcls"] if not a["IsDefault"])
    default = next(a for a in doc["NetworkAcls"] if a["IsDefault"])
    assert [a["SubnetId"] for a in custom["Associations"]] == [placeholder("subnet", "aws_subnet.a")]
    assert default["Associations"] == []
    first = custom["Entries"][0]
    assert first == {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "Egress": False,
                     "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 443},
                     TF_ADDRESS: "aws_network_acl.n"}
    assert {(e["RuleNumber"], e["Egress"]) for e in custom["Entries"][1:]} == {
        (32767, False), (32768, False), (32767, True), (32768, True)}


def test_instance_with_unknown_ip_gets_subnet_block_and_default_sg() -> None:
    inst = rc("module.web.aws_instance.x[0]", "aws_instance", {"tags": {"Name": "x"}},
              unknown={"id": True, "subnet_id": True, "private_ip": True, "vpc_security_group_ids": True,
                       "primary_network_interface_id": True, "public_ip": True}, index=0, module="module.web")
    plan_doc = plan([VPC, SUBNET, inst], CONF)
    plan_doc["configuration"]["root_module"]["module_calls"] = {"web": {
        "expressions": {"subnet": {"references": ["aws_subnet.a.id", "aws_subnet.a"]}},
        "module": {"resources": [conf("aws_instance.x", "aws_instance", subnet_id=["var.subnet"])]}}}
    doc = plan_to_snapshot(plan_doc, "plan.json", None)
    (eni,) = doc["NetworkInterfaces"]
    assert eni[UNKNOWN_PRIVATE_IPV4] == "10.0.1.0/24" and eni["PrivateIpAddresses"] == []
    assert "PrivateIpAddress" not in eni
    assert eni["Groups"] == [{"GroupId": placeholder("sg", "aws_vpc.main", "#default_security_group_id"),
                              "GroupName": "default"}]
    assert eni[TF_ADDRESS] == "module.web.aws_instance.x[0]"
    (res,) = doc["Reservations"]
    assert res["Instances"][0][TF_ADDRESS] == "module.web.aws_instance.x[0]"
    assert res["Instances"][0]["Tags"] == [{"Key": "Name", "Value": "x"}]


def test_count_index_pairs_instances_and_ambiguous_single_reference_is_an_error() -> None:
    subnets = [rc(f"aws_subnet.s[{i}]", "aws_subnet", {"cidr_block": f"10.0.{i + 5}.0/24"},
                  unknown={"id": True, "vpc_id": True}, index=i) for i in range(2)]
    enis = [rc(f"aws_network_interface.e[{i}]", "aws_network_interface", {"private_ips": [f"10.0.{i + 5}.9"]},
               unknown={"id": True, "subnet_id": True, "security_groups": True}, index=i) for i in range(2)]
    resources = [conf("aws_subnet.s", "aws_subnet", vpc_id=["aws_vpc.main.id"]),
                 conf("aws_network_interface.e", "aws_network_interface",
                      subnet_id=["aws_subnet.s", "count.index"])]
    doc = doc_of([*subnets, *enis], resources)
    by_addr = {e[TF_ADDRESS]: e for e in doc["NetworkInterfaces"]}
    for i in range(2):
        assert by_addr[f"aws_network_interface.e[{i}]"]["SubnetId"] == placeholder("subnet", f"aws_subnet.s[{i}]")
    resources[1] = conf("aws_network_interface.e", "aws_network_interface", subnet_id=["aws_subnet.s"])
    with pytest.raises(InputError, match="exactly one subnet"):
        doc_of([*subnets, *enis], resources)


def test_local_value_reference_is_unsupported_not_guessed() -> None:
    eni = rc("aws_network_interface.e", "aws_network_interface", {},
             unknown={"id": True, "subnet_id": True, "security_groups": True})
    with pytest.raises(UnsupportedFeature, match=r"local\.sid"):
        doc_of([eni], [conf("aws_network_interface.e", "aws_network_interface", subnet_id=["local.sid"])])


def test_delete_and_replace_apply_on_top_of_base() -> None:
    base = {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.9.0.0/16"}],
            "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.9.1.0/24"}],
            "SecurityGroups": [
                {"GroupId": "sg-keep", "GroupName": "keep", "VpcId": "vpc-1", "IpPermissions": [
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                     "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
                 "IpPermissionsEgress": []},
                {"GroupId": "sg-gone", "GroupName": "gone", "VpcId": "vpc-1", "IpPermissions": [],
                 "IpPermissionsEgress": []}],
            "NetworkAcls": [], "NetworkInterfaces": [{"NetworkInterfaceId": "eni-live", "SubnetId": "subnet-1",
                                                      "Groups": [{"GroupId": "sg-keep"}]}]}
    gone = rc("aws_security_group.gone", "aws_security_group", None, actions=["delete"],  # type: ignore[arg-type]
              before={"id": "sg-gone", "name": "gone"})
    old_rule = rc("aws_security_group_rule.ssh", "aws_security_group_rule", None,  # type: ignore[arg-type]
                  actions=["delete"], before={"id": "r", "type": "ingress", "security_group_id": "sg-keep",
                                              "protocol": "tcp", "from_port": 22, "to_port": 22,
                                              "cidr_blocks": ["10.0.0.0/8"]})
    world = rc("aws_vpc_security_group_ingress_rule.w", "aws_vpc_security_group_ingress_rule",
               {"security_group_id": "sg-keep", "ip_protocol": "tcp", "from_port": 3306, "to_port": 3306,
                "cidr_ipv4": "0.0.0.0/0"})
    doc = plan_to_snapshot(plan([gone, old_rule, world], []), "plan.json", base)
    assert [g["GroupId"] for g in doc["SecurityGroups"]] == ["sg-keep"]
    (perm,) = doc["SecurityGroups"][0]["IpPermissions"]
    assert perm["FromPort"] == 3306 and perm[TF_ADDRESS] == "aws_vpc_security_group_ingress_rule.w"
    assert [e["NetworkInterfaceId"] for e in doc["NetworkInterfaces"]] == ["eni-live"]
    assert base["SecurityGroups"][1]["GroupId"] == "sg-gone"  # the caller's document is not mutated


def test_unmodelled_network_resource_is_a_loud_warning() -> None:
    eip = rc("aws_eip.ip", "aws_eip", {"domain": "vpc"}, unknown={"id": True})
    ecs = rc("aws_ecs_service.s", "aws_ecs_service",
             {"network_configuration": [{"subnets": ["subnet-1"], "security_groups": ["sg-1"]}]})
    role = rc("aws_iam_role.r", "aws_iam_role", {"name": "r"})
    doc = doc_of([eip, ecs, role], [])
    text = "\n".join(doc[WARNINGS])
    assert "aws_eip.ip" in text and "aws_ecs_service.s" in text and "aws_iam_role" not in text


def test_rds_lb_and_lambda_become_requester_managed_enis() -> None:
    group = rc("aws_db_subnet_group.g", "aws_db_subnet_group", {"name": "g"}, unknown={"id": True, "subnet_ids": True})
    db = rc("aws_db_instance.d", "aws_db_instance", {"db_subnet_group_name": "g"},
            unknown={"id": True, "vpc_security_group_ids": True})
    lam = rc("aws_lambda_function.f", "aws_lambda_function", {"function_name": "f", "vpc_config": [{}]},
             unknown={"vpc_config": [{"subnet_ids": True, "security_group_ids": True}]})
    lb = rc("aws_lb.l", "aws_lb", {"name": "l", "load_balancer_type": "network"},
            unknown={"subnets": True, "security_groups": True})
    doc = doc_of([sg(), group, db, lam, lb], [
        sg_conf(), conf("aws_db_subnet_group.g", "aws_db_subnet_group", subnet_ids=["aws_subnet.a.id"]),
        conf("aws_db_instance.d", "aws_db_instance", vpc_security_group_ids=["aws_security_group.db.id"]),
        {**conf("aws_lambda_function.f", "aws_lambda_function"), "expressions": {"vpc_config": [
            {"subnet_ids": {"references": ["aws_subnet.a.id"]},
             "security_group_ids": {"references": ["aws_security_group.db.id"]}}]}},
        conf("aws_lb.l", "aws_lb", subnets=["aws_subnet.a.id"])])
    by = {e[TF_ADDRESS]: e for e in doc["NetworkInterfaces"]}
    assert by["aws_db_instance.d"]["Description"] == "RDSNetworkInterface"
    assert by["aws_db_instance.d"]["RequesterManaged"] is True
    assert by["aws_lambda_function.f"]["InterfaceType"] == "lambda"
    assert by["aws_lb.l"]["InterfaceType"] == "network_load_balancer" and by["aws_lb.l"]["Groups"] == []
    assert all(e[UNKNOWN_PRIVATE_IPV4] == "10.0.1.0/24" for e in by.values())


def test_committed_plans_convert(examples: Path) -> None:
    for name in ("three-tier/plan.json", "open-3306/plan.json", "open-3306/plan-before.json"):
        path = str(examples / name)
        doc = plan_to_snapshot(load_plan(path), path, None)
        assert doc["NetworkInterfaces"] and doc["SecurityGroups"]
        assert all(TF_ADDRESS in e for e in doc["NetworkInterfaces"])
