"""Read-only, provably: the operations a full collection sends, the product's own guard, and the IAM policy."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sgproof.sources import aws
from tests.aws.moto_env import MAIN_REGION, SECOND_REGION, Built, new_session

POLICY = Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json"


class Spy:
    """A `before-call` handler that records every operation and fails the test on a non-read one."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.endpoint_prefix}:{model.name}"
        self.calls.append(name)
        if not (model.name.startswith(("Describe", "Get")) or name == "sts:GetCallerIdentity"):
            pytest.fail(f"collect sent a non-read operation: {name}")

    def session(self) -> Any:
        """A boto3 session whose every client reports to this spy."""
        session = new_session()
        session.events.register("before-call", self)
        return session


def policy_actions() -> set[str]:
    """Every action the shipped IAM policy allows."""
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == "*"
        actions.update(statement["Action"])
    return actions


def test_a_full_collection_sends_only_reads_and_exactly_the_policy(
    aws_env: str, three_tier: Built
) -> None:
    spy = Spy()
    aws.collect_snapshot(spy.session(), MAIN_REGION)
    assert spy.calls, "the spy saw nothing: the hook is not wired"
    assert set(spy.calls) == policy_actions()


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
            "sts",
            "assume_role",
            {"RoleArn": "arn:aws:iam::123456789012:role/x", "RoleSessionName": "x"},
        ),
    ],
)
def test_the_guard_refuses_every_non_read_operation(
    aws_env: str, service: str, call: str, params: dict[str, Any]
) -> None:
    client = aws.guarded_client(new_session(), service, MAIN_REGION)
    with pytest.raises(aws.ReadOnlyViolation, match="sgproof only reads"):
        getattr(client, call)(**params)


def test_the_policy_grants_reads_only() -> None:
    for action in policy_actions():
        service, name = action.split(":")
        assert service in {"ec2", "sts"}
        assert name.startswith(("Describe", "Get")), action
