"""Transit gateway route tables and the other routing reads, where moto falls short: botocore's Stubber.

moto leaves a transit gateway route's `TransitGatewayAttachments` empty, never propagates routes,
never pages SearchTransitGatewayRoutes and never says AdditionalRoutesAvailable. These tests answer
with the shapes AWS documents, and check that a route search is completed or refused, never cut.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from sgproof.errors import SourceError
from sgproof.sources import aws
from tests.aws.moto_env import QUIET_REGION
from tests.aws.test_aws_faults import ACCOUNT, StubbedSession

TABLE = "tgw-rtb-0s"
BOTH = {"Name": "state", "Values": ["active", "blackhole"]}


def search(
    filters: list[dict[str, Any]], routes: list[dict[str, Any]], more: bool = False
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A queued one-page SearchTransitGatewayRoutes answer for `filters` on TABLE."""
    return (
        "search_transit_gateway_routes",
        {"Routes": routes, "AdditionalRoutesAvailable": more},
        {"TransitGatewayRouteTableId": TABLE, "Filters": filters},
    )


def f(name: str, value: str) -> dict[str, Any]:
    """One filter with one value."""
    return {"Name": name, "Values": [value]}


def route(cidr: str, state: str = "active", kind: str = "static", **extra: Any) -> dict[str, Any]:
    """A transit gateway route to `cidr` (IPv4 or IPv6) through attachment tgw-attach-01."""
    return {
        "DestinationCidrBlock": cidr,
        "Type": kind,
        "State": state,
        "TransitGatewayAttachments": []
        if state == "blackhole"
        else [
            {
                "ResourceId": "vpc-01",
                "TransitGatewayAttachmentId": "tgw-attach-01",
                "ResourceType": "vpc",
            }
        ],
    } | extra


def table_pages(*ids: str) -> dict[str, list[dict[str, Any]]]:
    """DescribeTransitGatewayRouteTables answering with one table per page."""
    key = "TransitGatewayRouteTables"
    pages: list[dict[str, Any]] = []
    for i, tid in enumerate(ids):
        table = {
            "TransitGatewayRouteTableId": tid,
            "TransitGatewayId": "tgw-01",
            "State": "available",
        }
        token = {"NextToken": f"{key}-{i + 1}"} if i + 1 < len(ids) else {}
        pages.append({key: [table]} | token)
    return {key: pages}


def associations(table: str, *attachments: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A queued GetTransitGatewayRouteTableAssociations answer (one page)."""
    return (
        "get_transit_gateway_route_table_associations",
        {
            "Associations": [
                {
                    "TransitGatewayAttachmentId": a,
                    "ResourceId": f"vpc-{a[-2:]}",
                    "ResourceType": "vpc",
                    "State": "associated",
                }
                for a in attachments
            ]
        },
        {"TransitGatewayRouteTableId": table},
    )


def customer_list() -> dict[str, list[dict[str, Any]]]:
    """One customer-managed prefix list and its entries (fresh: the collector adds `Entries` to it)."""
    plist = {"PrefixListId": "pl-0c0ffee", "PrefixListName": "office", "OwnerId": ACCOUNT}
    return {
        "ManagedPrefixLists": [{"PrefixLists": [plist]}],
        "Entries": [{"Entries": [{"Cidr": "198.51.100.0/24"}]}],
    }


def collect(pages: dict[str, Any], then: tuple[Any, ...], **kw: Any) -> dict[str, Any]:
    """Collect QUIET_REGION from a Stubber queue, checking that every queued answer was asked for."""
    with StubbedSession() as session:
        session.queue(pages, then=then, **kw)
        doc = aws.collect_snapshot(session, QUIET_REGION)
        for stub in session.stubs.values():
            stub.assert_no_pending_responses()
    return doc


def test_routes_and_associations_in_the_shapes_aws_returns(
    isolated_aws: pytest.MonkeyPatch,
) -> None:
    aws_list = {"PrefixListId": "pl-0aws", "PrefixListName": "com.amazonaws.x.s3", "OwnerId": "AWS"}
    pages = table_pages("tgw-rtb-0b", "tgw-rtb-0a") | {
        "ManagedPrefixLists": [{"PrefixLists": [aws_list]}],
        "Entries": [{"Entries": [{"Cidr": "52.216.0.0/15"}]}],
        "VpnGateways": [
            {
                "VpnGateways": [
                    {
                        "VpnGatewayId": "vgw-01",
                        "State": "available",
                        "Type": "ipsec.1",
                        "VpcAttachments": [
                            {"VpcId": "vpc-02", "State": "attached"},
                            {"VpcId": "vpc-01", "State": "detached"},
                        ],
                    }
                ]
            }
        ],
        "TransitGatewayVpcAttachments": [
            {
                "TransitGatewayVpcAttachments": [
                    {
                        "TransitGatewayAttachmentId": "tgw-attach-01",
                        "TransitGatewayId": "tgw-01",
                        "VpcId": "vpc-01",
                        "State": "available",
                        "SubnetIds": ["subnet-0b", "subnet-0a"],
                    }
                ]
            }
        ],
    }
    vpn = {
        "ResourceId": "vpn-01",
        "TransitGatewayAttachmentId": "tgw-attach-09",
        "ResourceType": "vpn",
    }
    then = (
        # the first search pages on (newer AWS): the NextToken is followed, not taken as the end
        (
            "search_transit_gateway_routes",
            {
                "Routes": [route("10.1.0.0/16", kind="propagated")],
                "AdditionalRoutesAvailable": True,
                "NextToken": "r2",
            },
            {"TransitGatewayRouteTableId": "tgw-rtb-0b", "Filters": [BOTH]},
        ),
        (
            "search_transit_gateway_routes",
            {
                "Routes": [
                    {
                        "PrefixListId": "pl-0aws",
                        "Type": "static",
                        "State": "active",
                        "TransitGatewayAttachments": [vpn],
                    },
                    route("0.0.0.0/0", state="blackhole"),
                ],
                "AdditionalRoutesAvailable": False,
            },
            {"TransitGatewayRouteTableId": "tgw-rtb-0b", "Filters": [BOTH], "NextToken": "r2"},
        ),
        associations("tgw-rtb-0b", "tgw-attach-02", "tgw-attach-01"),
        (
            "search_transit_gateway_routes",
            {"Routes": [], "AdditionalRoutesAvailable": False},
            {"TransitGatewayRouteTableId": "tgw-rtb-0a", "Filters": [BOTH]},
        ),
        associations("tgw-rtb-0a"),
    )
    doc = collect(pages, then, entries_of="pl-0aws")
    first, second = doc["TransitGatewayRouteTables"]
    assert (first["TransitGatewayRouteTableId"], first["Routes"], first["Associations"]) == (
        "tgw-rtb-0a",
        [],
        [],
    )
    assert [
        (r.get("DestinationCidrBlock") or r["PrefixListId"], r["State"], r["Type"])
        for r in second["Routes"]
    ] == [
        ("pl-0aws", "active", "static"),
        ("0.0.0.0/0", "blackhole", "static"),
        ("10.1.0.0/16", "active", "propagated"),
    ]
    assert second["Routes"][0]["TransitGatewayAttachments"] == [vpn]
    assert (
        second["Routes"][2]["TransitGatewayAttachments"][0]["TransitGatewayAttachmentId"]
        == "tgw-attach-01"
    )
    assert [a["TransitGatewayAttachmentId"] for a in second["Associations"]] == [
        "tgw-attach-01",
        "tgw-attach-02",
    ]
    # an AWS-managed list named by a transit gateway route gets its entries
    assert doc["ManagedPrefixLists"][0]["Entries"] == [{"Cidr": "52.216.0.0/15"}]
    (vgw,) = doc["VpnGateways"]
    assert [a["VpcId"] for a in vgw["VpcAttachments"]] == ["vpc-01", "vpc-02"]
    assert doc["TransitGatewayVpcAttachments"][0]["SubnetIds"] == ["subnet-0a", "subnet-0b"]


def test_a_cut_off_search_is_split_until_complete(isolated_aws: pytest.MonkeyPatch) -> None:
    static = [f("state", "active"), f("type", "static")]
    listed = {
        "PrefixListId": "pl-0c0ffee",
        "Type": "static",
        "State": "active",
        "TransitGatewayAttachments": [],
    }
    v6 = route("::/0")
    then = (
        # AWS of old: no NextToken, only AdditionalRoutesAvailable
        search([BOTH], [route("0.0.0.0/0")], more=True),
        search(static, [route("0.0.0.0/0")], more=True),
        search([*static, f("prefix-list-id", "pl-0c0ffee")], [listed]),
        search([*static, f("route-search.exact-match", "0.0.0.0/0")], [route("0.0.0.0/0")]),
        search(
            [*static, f("route-search.subnet-of-match", "0.0.0.0/0")],
            [route("10.1.0.0/16")],
            more=True,
        ),
        search([*static, f("route-search.exact-match", "0.0.0.0/1")], []),
        search(
            [*static, f("route-search.subnet-of-match", "0.0.0.0/1")],
            [route("10.2.0.0/16"), route("10.1.0.0/16")],
        ),
        search([*static, f("route-search.exact-match", "128.0.0.0/1")], []),
        search(
            [*static, f("route-search.subnet-of-match", "128.0.0.0/1")], [route("192.168.0.0/16")]
        ),
        # a range's own route, answered by both searches, is kept once
        search([*static, f("route-search.exact-match", "::/0")], [v6]),
        search([*static, f("route-search.subnet-of-match", "::/0")], [v6, route("2001:db8::/32")]),
        search(
            [f("state", "active"), f("type", "propagated")],
            [route("10.3.0.0/16", kind="propagated")],
        ),
        search(
            [f("state", "blackhole"), f("type", "static")],
            [route("10.9.0.0/16", state="blackhole")],
        ),
        search([f("state", "blackhole"), f("type", "propagated")], []),
        associations(TABLE),
    )
    doc = collect(table_pages(TABLE) | customer_list(), then)
    (table,) = doc["TransitGatewayRouteTables"]
    destinations = [r.get("DestinationCidrBlock") or r["PrefixListId"] for r in table["Routes"]]
    assert destinations == [
        "pl-0c0ffee",
        "0.0.0.0/0",
        "10.1.0.0/16",
        "10.2.0.0/16",
        "10.3.0.0/16",
        "10.9.0.0/16",
        "192.168.0.0/16",
        "2001:db8::/32",
        "::/0",
    ]


def test_a_search_that_stays_cut_off_fails_the_collection(isolated_aws: pytest.MonkeyPatch) -> None:
    static = [f("state", "active"), f("type", "static")]
    then = (
        search([BOTH], [], more=True),
        search(static, [], more=True),
        search([*static, f("prefix-list-id", "pl-0c0ffee")], [], more=True),
    )
    with StubbedSession() as session:
        session.queue(table_pages(TABLE) | customer_list(), then=then)
        with pytest.raises(SourceError) as info:
            aws.collect_snapshot(session, QUIET_REGION)
    assert str(info.value) == (
        f"{QUIET_REGION}: SearchTransitGatewayRoutes: {TABLE} has more routes than one search returns"
        " even for state=active type=static prefix-list-id=pl-0c0ffee; sgproof writes no truncated route table"
    )


class CutOff:
    """A stand-in EC2 client whose every route search says more routes are available."""

    def __init__(self) -> None:
        self.filters: list[list[dict[str, Any]]] = []

    def search_transit_gateway_routes(self, **params: Any) -> dict[str, Any]:
        self.filters.append(params["Filters"])
        return {"Routes": [], "AdditionalRoutesAvailable": True}


def test_a_single_address_still_cut_off_is_refused() -> None:
    client = CutOff()
    net = ipaddress.ip_network("10.0.0.1/32")
    with pytest.raises(
        SourceError,
        match=r"even for route-search\.(exact|subnet-of)-match=10\.0\.0\.1/32;",
    ):
        aws._routes_within(client, TABLE, [], net, QUIET_REGION)
    assert client.filters[0] == [f("route-search.exact-match", "10.0.0.1/32")]


def test_a_repeated_page_token_is_refused() -> None:
    class Loop:
        def search_transit_gateway_routes(self, **params: Any) -> dict[str, Any]:
            return {
                "Routes": [route("10.0.0.0/8")],
                "AdditionalRoutesAvailable": True,
                "NextToken": "same",
            }

    with pytest.raises(SourceError, match="repeated a page token"):
        aws._search_routes(Loop(), TABLE, [BOTH], QUIET_REGION)


def test_a_denied_route_search_is_one_line(isolated_aws: pytest.MonkeyPatch) -> None:
    with StubbedSession() as session:
        session.queue(table_pages(TABLE))
        session.stubs["ec2"].add_client_error(
            "search_transit_gateway_routes",
            service_error_code="UnauthorizedOperation",
            service_message="You are not authorized to perform this operation.",
            http_status_code=403,
        )
        with pytest.raises(SourceError) as info:
            aws.collect_snapshot(session, QUIET_REGION)
    assert str(info.value) == (
        f"{QUIET_REGION}: SearchTransitGatewayRoutes denied (UnauthorizedOperation): You are not"
        " authorized to perform this operation.; docs/iam-policy.json lists the permissions sgproof needs"
    )


@pytest.mark.parametrize(
    ("key", "id_key", "extra"),
    [
        ("RouteTables", "RouteTableId", {"VpcId": "vpc-01"}),
        ("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId", {}),
        ("VpcEndpoints", "VpcEndpointId", {"VpcEndpointType": "Interface"}),
        ("TransitGatewayAttachments", "TransitGatewayAttachmentId", {"ResourceType": "vpn"}),
        ("TransitGatewayVpcAttachments", "TransitGatewayAttachmentId", {"VpcId": "vpc-01"}),
    ],
)
def test_routing_lists_are_read_to_the_last_page(
    isolated_aws: pytest.MonkeyPatch, key: str, id_key: str, extra: dict[str, Any]
) -> None:
    ids = ["x-0c", "x-0a", "x-0b"]
    pages: dict[str, list[dict[str, Any]]] = {
        key: [
            {key: [{id_key: i} | extra]} | ({"NextToken": f"{key}-{n + 1}"} if n < 2 else {})
            for n, i in enumerate(ids)
        ]
    }
    doc = collect(pages, ())
    assert [item[id_key] for item in doc[key]] == sorted(ids)


def test_a_deleted_table_is_kept_without_searching_it(isolated_aws: pytest.MonkeyPatch) -> None:
    pages = table_pages(TABLE)
    pages["TransitGatewayRouteTables"][0]["TransitGatewayRouteTables"][0]["State"] = "deleted"
    doc = collect(pages, ())  # no search or association call is queued: none may be made
    (table,) = doc["TransitGatewayRouteTables"]
    assert (table["State"], table["Routes"], table["Associations"]) == ("deleted", [], [])
