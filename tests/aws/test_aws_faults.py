"""Paging, throttling, server faults and every way a live read can fail: each ends in one clear line.

Paging and error codes that moto cannot produce come from botocore's Stubber; retries are exercised on
the real HTTP path (botocore's own retry handler, against the moto server) by answering some requests
with a throttling or server error from the `before-send` event.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from sgproof.errors import SourceError
from sgproof.sources import aws
from tests.aws.moto_env import QUIET_REGION, closed_port, new_session

ACCOUNT = "111122223333"


class StubbedSession:
    """A stand-in for boto3.Session whose clients are real botocore clients with a Stubber queue."""

    def __init__(self, region: str = QUIET_REGION) -> None:
        real = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name=region)
        self.real = real
        self.clients = {name: real.client(name, region_name=region) for name in ("sts", "ec2")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        self.configs: list[Any] = []

    def client(self, service: str, region_name: str, config: Any) -> Any:
        """The pre-made client for `service` (the config sgproof asked for is recorded)."""
        self.configs.append(config)
        return self.clients[service]

    def get_available_partitions(self) -> list[str]:
        """As boto3.Session does."""
        return list(self.real.get_available_partitions())

    def get_available_regions(self, service: str, partition_name: str) -> list[str]:
        """As boto3.Session does."""
        return list(self.real.get_available_regions(service, partition_name=partition_name))

    def queue(
        self,
        pages: dict[str, list[dict[str, Any]]],
        fail: tuple[str, dict[str, Any]] | None = None,
        then: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = (),
        entries_of: str = "pl-0c0ffee",
    ) -> None:
        """Queue a whole collection: the pages given per snapshot key, one empty page for every other call.

        With `fail` = (snapshot key, add_client_error kwargs), that call answers with the error instead.
        `then` holds (method, response, expected params) answers for the calls that complete transit
        gateway route tables; the `Entries` pages answer for the prefix list `entries_of`.
        """
        self.stubs["sts"].add_response(
            "get_caller_identity",
            {
                "Account": ACCOUNT,
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/auditor",
                "UserId": "AIDEXAMPLE",
            },
            {},
        )
        for key, operation, result_key in aws.EC2_LISTS:
            if fail and fail[0] == key:
                self.stubs["ec2"].add_client_error(operation, **fail[1])
                return
            for i, page in enumerate(pages.get(key, [{result_key: []}])):
                self.stubs["ec2"].add_response(
                    operation, page, {"NextToken": f"{key}-{i}"} if i else {}
                )
        for method, response, expected in then:
            self.stubs["ec2"].add_response(method, response, expected)
        for i, page in enumerate(pages.get("Entries", [])):
            expected = {"PrefixListId": entries_of} | ({"NextToken": f"Entries-{i}"} if i else {})
            self.stubs["ec2"].add_response("get_managed_prefix_list_entries", page, expected)

    def __enter__(self) -> StubbedSession:
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        for stub in self.stubs.values():
            stub.deactivate()


def group(gid: str, name: str) -> dict[str, Any]:
    """A minimal describe_security_groups item."""
    return {
        "GroupId": gid,
        "GroupName": name,
        "Description": name,
        "VpcId": "vpc-1",
        "OwnerId": ACCOUNT,
    }


@pytest.fixture
def offline(isolated_aws: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No AWS configuration and no endpoint: a Stubber answers everything."""
    return isolated_aws


def test_paginated_describes_are_followed_to_the_last_page(offline: pytest.MonkeyPatch) -> None:
    pages: dict[str, list[dict[str, Any]]] = {
        "SecurityGroups": [
            {"SecurityGroups": [group("sg-0c", "c")], "NextToken": "SecurityGroups-1"},
            {
                "SecurityGroups": [group("sg-0a", "a"), group("sg-0d", "d")],
                "NextToken": "SecurityGroups-2",
            },
            {"SecurityGroups": [group("sg-0b", "b")]},
        ],
        "ManagedPrefixLists": [
            {
                "PrefixLists": [
                    {"PrefixListId": "pl-0c0ffee", "PrefixListName": "office", "OwnerId": ACCOUNT},
                    {
                        "PrefixListId": "pl-0aws",
                        "PrefixListName": "com.amazonaws.x.s3",
                        "OwnerId": "AWS",
                    },
                ]
            }
        ],
        "Entries": [
            {"Entries": [{"Cidr": "198.51.100.0/24"}], "NextToken": "Entries-1"},
            {"Entries": [{"Cidr": "192.0.2.0/24"}]},
        ],
    }
    with StubbedSession() as session:
        session.queue(pages)
        lines: list[str] = []
        doc = aws.collect_snapshot(session, QUIET_REGION, lines.append)
        for stub in session.stubs.values():
            stub.assert_no_pending_responses()
    assert [g["GroupId"] for g in doc["SecurityGroups"]] == ["sg-0a", "sg-0b", "sg-0c", "sg-0d"]
    office, s3 = sorted(doc["ManagedPrefixLists"], key=lambda p: p["PrefixListName"] != "office")
    assert office["Entries"] == [{"Cidr": "192.0.2.0/24"}, {"Cidr": "198.51.100.0/24"}]
    assert "Entries" not in s3  # AWS-managed and named by no rule
    assert doc["AccountId"] == ACCOUNT
    assert f"{QUIET_REGION}: SecurityGroups 4" in lines


def test_clients_get_the_retry_budget_and_mode(offline: pytest.MonkeyPatch) -> None:
    with StubbedSession() as session:
        session.queue({})
        aws.collect_snapshot(session, QUIET_REGION)
    retries = (
        {c.retries["mode"] for c in session.configs},
        {c.retries["total_max_attempts"] for c in session.configs},
    )
    assert retries == ({"adaptive"}, {8})
    offline.setenv("AWS_RETRY_MODE", "standard")
    offline.setenv("AWS_MAX_ATTEMPTS", "3")
    assert aws.retry_config().retries == {"mode": "standard", "total_max_attempts": 3}


@pytest.mark.parametrize(
    ("name", "value"),
    [("AWS_MAX_ATTEMPTS", "0"), ("AWS_MAX_ATTEMPTS", "many"), ("AWS_RETRY_MODE", "eager")],
)
def test_a_bad_retry_setting_is_one_line(
    offline: pytest.MonkeyPatch, name: str, value: str
) -> None:
    offline.setenv(name, value)
    with pytest.raises(SourceError, match=name):
        aws.retry_config()


@pytest.mark.parametrize(
    ("key", "error", "expected"),
    [
        (
            "NetworkInterfaces",
            {
                "service_error_code": "UnauthorizedOperation",
                "service_message": "You are not authorized to perform this operation.\nEncoded authorization failure message: AbC",
                "http_status_code": 403,
            },
            f"{QUIET_REGION}: DescribeNetworkInterfaces denied (UnauthorizedOperation): You are not authorized"
            " to perform this operation. Encoded authorization failure message: AbC;"
            " docs/iam-policy.json lists the permissions sgproof needs",
        ),
        (
            "Subnets",
            {
                "service_error_code": "RequestLimitExceeded",
                "service_message": "Request limit exceeded.",
                "http_status_code": 503,
                "response_meta": {"RetryAttempts": 7},
            },
            f"{QUIET_REGION}: DescribeSubnets: still throttled (RequestLimitExceeded) after 8 attempt(s);"
            " retry later, or raise AWS_MAX_ATTEMPTS",
        ),
        (
            "Vpcs",
            {
                "service_error_code": "AuthFailure",
                "service_message": "AWS was not able to validate the credentials",
            },
            f"{QUIET_REGION}: DescribeVpcs denied (AuthFailure): AWS was not able to validate the credentials;"
            " docs/iam-policy.json lists the permissions sgproof needs",
        ),
    ],
)
def test_api_errors_become_one_clear_line(
    offline: pytest.MonkeyPatch, key: str, error: dict[str, Any], expected: str
) -> None:
    with StubbedSession() as session:
        session.queue({}, fail=(key, error))
        with pytest.raises(SourceError) as info:
            aws.collect_snapshot(session, QUIET_REGION)
    assert str(info.value) == expected
    assert info.value.exit_code == 2


# --- retries on the real HTTP path, against the moto server -------------------------------------------

THROTTLED = (
    b"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>RequestLimitExceeded</Code>"
    b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
)
BROKEN = (
    b"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>InternalError</Code>"
    b"<Message>An internal error has occurred</Message></Error></Errors><RequestID>r-2</RequestID></Response>"
)


class _Body:
    """The raw body of a canned HTTP response."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


class Faults:
    """A `before-send` handler: answers the first `count` requests of one operation with a canned error."""

    def __init__(self, status: int, body: bytes, count: int) -> None:
        self.status, self.body, self.count = status, body, count
        self.seen = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.seen += 1
        if self.seen > self.count:
            return None  # sent to the server for real
        return AWSResponse(request.url, self.status, {"Content-Type": "text/xml"}, _Body(self.body))


def faulty_session(operation: str, faults: Faults) -> Any:
    """A boto3 session (through AWS_ENDPOINT_URL) whose `operation` requests meet `faults` first."""
    session = new_session()
    session.events.register(f"before-send.ec2.{operation}", faults)
    return session


def test_throttling_is_retried_then_succeeds(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # standard mode: adaptive mode also slows every later call after a throttle (seconds, in a test)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    faults = Faults(503, THROTTLED, count=1)
    doc = aws.collect_snapshot(faulty_session("DescribeSecurityGroups", faults), QUIET_REGION)
    assert faults.seen == 2
    assert doc["SecurityGroups"]  # moto's default group, read on the second attempt


def test_throttling_past_the_budget_is_one_line(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # in the default, adaptive, mode
    faults = Faults(503, THROTTLED, count=99)
    with pytest.raises(SourceError) as info:
        aws.collect_snapshot(faulty_session("DescribeNetworkAcls", faults), QUIET_REGION)
    assert faults.seen == 2
    assert str(info.value) == (
        f"{QUIET_REGION}: DescribeNetworkAcls: still throttled (RequestLimitExceeded) after 2 attempt(s);"
        " retry later, or raise AWS_MAX_ATTEMPTS"
    )


def test_server_errors_are_retried_then_reported(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    once = Faults(500, BROKEN, count=1)
    assert aws.collect_snapshot(faulty_session("DescribeVpcs", once), QUIET_REGION)["Vpcs"]
    always = Faults(500, BROKEN, count=99)
    with pytest.raises(SourceError) as info:
        aws.collect_snapshot(faulty_session("DescribeVpcs", always), QUIET_REGION)
    assert always.seen == 3
    assert str(info.value) == (
        f"{QUIET_REGION}: DescribeVpcs: AWS server error 500 (InternalError) after 3 attempt(s):"
        " An internal error has occurred"
    )


# --- the environment is wrong --------------------------------------------------------------------------


def test_no_credentials(isolated_aws: pytest.MonkeyPatch, moto_url: str) -> None:
    isolated_aws.setenv("AWS_ENDPOINT_URL", moto_url)
    with pytest.raises(SourceError) as info:
        aws.collect_snapshot(new_session(), QUIET_REGION)
    assert str(info.value).startswith(
        f"{QUIET_REGION}: GetCallerIdentity: no usable AWS credentials"
    )
    assert "\n" not in str(info.value)


def test_unknown_profile(isolated_aws: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError, match=r"^AWS profile 'nope' not found"):
        aws.collect_merged("nope", (QUIET_REGION,), None)


def test_no_region_anywhere(isolated_aws: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError, match=r"^no AWS region: pass --region"):
        aws.collect_merged(None, (), None)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("xx-mars-1", "unknown AWS region 'xx-mars-1';"),
        ("us-east1", "unknown AWS region 'us-east1' (a region looks like us-east-1);"),
    ],
)
def test_unknown_region(aws_env: str, region: str, expected: str) -> None:
    sent: list[str] = []
    session = new_session()
    session.events.register("before-send", lambda request, **_: sent.append(request.url))
    with pytest.raises(SourceError) as info:
        aws.collect_snapshot(session, region)
    assert str(info.value).startswith(expected)
    assert sent == []  # refused before any request


def test_endpoint_unreachable(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    with pytest.raises(SourceError) as info:
        aws.collect_snapshot(new_session(), QUIET_REGION)
    message = str(info.value)
    assert message.startswith(f"{QUIET_REGION}: GetCallerIdentity: endpoint unreachable:")
    assert url in message and "\n" not in message


def test_run_collect_raises_before_writing_anything(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    out = tmp_path / "net.json"
    with pytest.raises(SourceError):
        aws.run_collect(None, (QUIET_REGION,), str(out), True, io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_the_order_aws_answers_in_does_not_reach_the_snapshot(offline: pytest.MonkeyPatch) -> None:
    def pages(flip: bool) -> dict[str, list[dict[str, Any]]]:
        def o(items: list[Any]) -> list[Any]:
            return items[::-1] if flip else items

        sg = group("sg-0a", "a") | {
            "Tags": o([{"Key": "Name", "Value": "a"}, {"Key": "Env", "Value": "prod"}]),
            "IpPermissions": o(
                [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "IpRanges": o([{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "0.0.0.0/0"}]),
                    },
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 22,
                        "ToPort": 22,
                        "UserIdGroupPairs": o([{"GroupId": "sg-0b"}, {"GroupId": "sg-0a"}]),
                    },
                    {"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-0c0ffee"}]},
                ]
            ),
        }
        eni = {
            "NetworkInterfaceId": "eni-01",
            "Groups": o(
                [{"GroupId": "sg-0b", "GroupName": "b"}, {"GroupId": "sg-0a", "GroupName": "a"}]
            ),
            "PrivateIpAddresses": o(
                [
                    {"PrivateIpAddress": "10.0.0.9", "Primary": True},
                    {"PrivateIpAddress": "10.0.0.10", "Primary": False},
                ]
            ),
        }
        acl = {
            "NetworkAclId": "acl-01",
            "Entries": o(
                [
                    {
                        "RuleNumber": 32767,
                        "Egress": True,
                        "RuleAction": "deny",
                        "Protocol": "-1",
                        "CidrBlock": "0.0.0.0/0",
                    },
                    {
                        "RuleNumber": 100,
                        "Egress": False,
                        "RuleAction": "allow",
                        "Protocol": "-1",
                        "CidrBlock": "0.0.0.0/0",
                    },
                    {
                        "RuleNumber": 32767,
                        "Egress": False,
                        "RuleAction": "deny",
                        "Protocol": "-1",
                        "CidrBlock": "0.0.0.0/0",
                    },
                ]
            ),
        }
        return {
            "SecurityGroups": [{"SecurityGroups": o([sg, group("sg-0b", "b")])}],
            "NetworkInterfaces": [{"NetworkInterfaces": [eni]}],
            "NetworkAcls": [{"NetworkAcls": [acl]}],
            "ManagedPrefixLists": [
                {"PrefixLists": [{"PrefixListId": "pl-0c0ffee", "OwnerId": ACCOUNT}]}
            ],
            "Entries": [{"Entries": o([{"Cidr": "198.51.100.0/24"}, {"Cidr": "192.0.2.0/24"}])}],
        }

    rendered = []
    for flip in (False, True):
        with StubbedSession() as session:
            session.queue(pages(flip))
            doc = aws.collect_snapshot(session, QUIET_REGION)
        doc.pop("CollectedAt")
        rendered.append(aws.render(doc))
    assert rendered[0] == rendered[1]
    doc = json.loads(rendered[0])
    acl = doc["NetworkAcls"][0]["Entries"]
    assert [(e["Egress"], e["RuleNumber"]) for e in acl] == [
        (False, 100),
        (False, 32767),
        (True, 32767),
    ]
    eni = doc["NetworkInterfaces"][0]
    assert [a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]] == ["10.0.0.10", "10.0.0.9"]
    assert [g["GroupId"] for g in eni["Groups"]] == ["sg-0a", "sg-0b"]
