"""Read-only, provably: the operations a full collection sends, the product's own guard, and the IAM policy."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from sgproof.sources import aws
from tests.aws.moto_env import MAIN_REGION, SECOND_REGION, Built, new_session

POLICY = Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json"


def policy_actions() -> set[str]:
    """Every action the shipped IAM policy allows."""
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == "*"
        actions.update(statement["Action"])
    return actions


class Spy:
    """A `before-call` handler that records every operation and fails the test on one the policy lacks."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.allowed = policy_actions()

    def __call__(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        self.calls.append(name)
        if name not in self.allowed:
            pytest.fail(f"collect sent an operation docs/iam-policy.json does not grant: {name}")

    def session(self) -> Any:
        """A boto3 session whose every client reports to this spy."""
        session = new_session()
        session.events.register("before-call", self)
        return session


def test_a_full_collection_sends_exactly_the_policy_and_the_guard_list(
    aws_env: str, three_tier: Built
) -> None:
    spy = Spy()
    aws.collect_snapshot(spy.session(), MAIN_REGION)
    assert spy.calls, "the spy saw nothing: the hook is not wired"
    # the three-tier network has a transit gateway route table and a customer prefix list, so every
    # per-item read is made too
    assert set(spy.calls) == policy_actions() == aws.READ_OPERATIONS


def test_the_guard_list_names_real_operations_and_every_collector_call() -> None:
    session = boto3.Session(region_name=MAIN_REGION)
    ec2 = session.client("ec2", aws_access_key_id="k", aws_secret_access_key="s")
    sts = session.client("sts", aws_access_key_id="k", aws_secret_access_key="s")
    names = {
        "ec2": set(ec2.meta.service_model.operation_names),
        "sts": set(sts.meta.service_model.operation_names),
    }
    for operation in aws.READ_OPERATIONS:
        service, name = operation.split(":")
        assert name in names[service], operation
    used = {f"ec2:{ec2.meta.method_to_api_mapping[method]}" for _, method, _ in aws.EC2_LISTS}
    assert used <= aws.READ_OPERATIONS


def test_run_collect_over_several_regions_sends_only_reads(
    aws_env: str, three_tier: Built, small: Built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spy = Spy()
    monkeypatch.setattr(aws, "open_session", lambda profile: spy.session())
    aws.run_collect(None, (MAIN_REGION, SECOND_REGION), str(tmp_path), True, io.StringIO())
    assert set(spy.calls) <= policy_actions()
    assert spy.calls.count("sts:GetCallerIdentity") == 2


def test_the_product_guard_refuses_a_write_before_it_is_sent(
    aws_env: str, three_tier: Built
) -> None:
    session = new_session()
    sent: list[str] = []
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    ec2 = aws.guarded_client(session, "ec2", MAIN_REGION)
    with pytest.raises(aws.ReadOnlyViolation, match="ec2:AuthorizeSecurityGroupIngress"):
        ec2.authorize_security_group_ingress(
            GroupId=three_tier["sg:db"],
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
    assert sent == []
    rules = aws.collect_snapshot(session, MAIN_REGION)["SecurityGroups"]
    db = next(g for g in rules if g["GroupId"] == three_tier["sg:db"])
    assert all(p["IpProtocol"] != "-1" for p in db["IpPermissions"])


@pytest.mark.parametrize(
    ("service", "call", "params"),
    [
        ("ec2", "create_vpc", {"CidrBlock": "10.99.0.0/16"}),
        ("ec2", "modify_vpc_attribute", {"VpcId": "vpc-1", "EnableDnsSupport": {"Value": True}}),
        (
            "ec2",
            "create_transit_gateway_route",
            {
                "TransitGatewayRouteTableId": "tgw-rtb-1",
                "DestinationCidrBlock": "10.0.0.0/8",
                "Blackhole": True,
            },
        ),
        (
            "sts",
            "assume_role",
            {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "x"},
        ),
        # reads, but none the collector needs: an allow-list, not a prefix rule
        ("ec2", "describe_images", {}),
        ("ec2", "get_password_data", {"InstanceId": "i-1"}),
        ("ec2", "get_console_output", {"InstanceId": "i-1"}),
        ("ec2", "search_transit_gateway_multicast_groups", {}),
        (
            "ec2",
            "get_transit_gateway_route_table_propagations",
            {"TransitGatewayRouteTableId": "tgw-rtb-1"},
        ),
        ("sts", "get_session_token", {}),
    ],
)
def test_the_guard_refuses_every_operation_outside_its_list(
    aws_env: str, service: str, call: str, params: dict[str, Any]
) -> None:
    sent: list[str] = []
    session = new_session()
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    client = aws.guarded_client(session, service, MAIN_REGION)
    with pytest.raises(aws.ReadOnlyViolation, match="sgproof only reads"):
        getattr(client, call)(**params)
    assert sent == []


def test_the_guard_admits_search_transit_gateway_routes(aws_env: str, three_tier: Built) -> None:
    ec2 = aws.guarded_client(new_session(), "ec2", MAIN_REGION)
    answer = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=three_tier["tgw-rtb:hub"],
        Filters=[{"Name": "state", "Values": ["active", "blackhole"]}],
    )
    assert {r["DestinationCidrBlock"] for r in answer["Routes"]} >= {"10.10.0.0/16"}


def test_the_policy_grants_reads_only() -> None:
    for action in policy_actions():
        service, name = action.split(":")
        assert service in {"ec2", "sts"}
        assert name.startswith(("Describe", "Get")) or action == "ec2:SearchTransitGatewayRoutes", (
            action
        )
