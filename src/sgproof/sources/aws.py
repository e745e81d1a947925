"""Live AWS source: read one account's network with boto3, read-only, into a contract-section-2 snapshot.

Only the read operations of READ_OPERATIONS are ever sent: every client this module makes carries a
`before-call` guard that refuses any other operation before it leaves the process.
The endpoint is whatever boto3 resolves, so the standard `AWS_ENDPOINT_URL` points it at any
compatible server. Throttling and transient faults go through botocore's retry modes; whatever
still fails becomes one `SourceError` line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from ..errors import InputError, InternalError, SourceError
from . import Progress

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_RETRY_MODE = "adaptive"
DEFAULT_MAX_ATTEMPTS = 8
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60

# (snapshot key, EC2 method, key of the list in each response); collected in this order. Every call is
# paginated except DescribeVpnGateways, which AWS answers in one response.
EC2_LISTS: tuple[tuple[str, str, str], ...] = (
    ("Vpcs", "describe_vpcs", "Vpcs"),
    ("Subnets", "describe_subnets", "Subnets"),
    ("SecurityGroups", "describe_security_groups", "SecurityGroups"),
    ("NetworkInterfaces", "describe_network_interfaces", "NetworkInterfaces"),
    ("NetworkAcls", "describe_network_acls", "NetworkAcls"),
    ("RouteTables", "describe_route_tables", "RouteTables"),
    ("InternetGateways", "describe_internet_gateways", "InternetGateways"),
    (
        "EgressOnlyInternetGateways",
        "describe_egress_only_internet_gateways",
        "EgressOnlyInternetGateways",
    ),
    ("NatGateways", "describe_nat_gateways", "NatGateways"),
    ("VpnGateways", "describe_vpn_gateways", "VpnGateways"),
    ("VpcPeeringConnections", "describe_vpc_peering_connections", "VpcPeeringConnections"),
    ("VpcEndpoints", "describe_vpc_endpoints", "VpcEndpoints"),
    (
        "TransitGatewayAttachments",
        "describe_transit_gateway_attachments",
        "TransitGatewayAttachments",
    ),
    (
        "TransitGatewayVpcAttachments",
        "describe_transit_gateway_vpc_attachments",
        "TransitGatewayVpcAttachments",
    ),
    (
        "TransitGatewayRouteTables",
        "describe_transit_gateway_route_tables",
        "TransitGatewayRouteTables",
    ),
    ("ManagedPrefixLists", "describe_managed_prefix_lists", "PrefixLists"),
    ("Reservations", "describe_instances", "Reservations"),
)
SNAPSHOT_LISTS = tuple(key for key, _, _ in EC2_LISTS)

# The only operations any client of this module may send (SERVICE:OperationName): the calls above, the
# per-item reads that complete them, and the caller's identity. docs/iam-policy.json grants exactly these.
READ_OPERATIONS: frozenset[str] = frozenset(
    {
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeEgressOnlyInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeVpnGateways",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeTransitGatewayAttachments",
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeTransitGatewayRouteTables",
        "ec2:DescribeManagedPrefixLists",
        "ec2:DescribeInstances",
        "ec2:GetManagedPrefixListEntries",
        "ec2:SearchTransitGatewayRoutes",
        "ec2:GetTransitGatewayRouteTableAssociations",
        "sts:GetCallerIdentity",
    }
)

# SearchTransitGatewayRoutes: the route states the snapshot keeps, and the route types a too-long answer
# is split by.
TGW_ROUTE_STATES = ("active", "blackhole")
TGW_ROUTE_TYPES = ("static", "propagated")
GONE_TGW_ROUTE_TABLE_STATES = frozenset({"deleting", "deleted"})

# Fields that order the items of a list, by the list's key; the item's canonical JSON breaks ties.
# (`TransitGatewayAttachments` also orders the attachments inside a transit gateway route.)
# Every list these describe calls return is a set (NACL entries are ordered by RuleNumber, which is
# a field), so sorting only removes the arbitrary order AWS returns them in.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "Vpcs": ("VpcId",),
    "Subnets": ("SubnetId",),
    "SecurityGroups": ("GroupId",),
    "NetworkInterfaces": ("NetworkInterfaceId",),
    "NetworkAcls": ("NetworkAclId",),
    "RouteTables": ("RouteTableId",),
    "InternetGateways": ("InternetGatewayId",),
    "EgressOnlyInternetGateways": ("EgressOnlyInternetGatewayId",),
    "NatGateways": ("NatGatewayId",),
    "VpnGateways": ("VpnGatewayId",),
    "VpcPeeringConnections": ("VpcPeeringConnectionId",),
    "VpcEndpoints": ("VpcEndpointId",),
    "TransitGatewayAttachments": ("TransitGatewayAttachmentId",),
    "TransitGatewayVpcAttachments": ("TransitGatewayAttachmentId",),
    "TransitGatewayRouteTables": ("TransitGatewayRouteTableId",),
    "ManagedPrefixLists": ("PrefixListId",),
    "Reservations": ("ReservationId",),
    "Instances": ("InstanceId",),
    "Entries": ("Egress", "RuleNumber", "Cidr"),
    "Tags": ("Key",),
    "TagSet": ("Key",),
    "IpPermissions": ("IpProtocol", "FromPort", "ToPort"),
    "IpPermissionsEgress": ("IpProtocol", "FromPort", "ToPort"),
    "IpRanges": ("CidrIp",),
    "Ipv6Ranges": ("CidrIpv6",),
    "PrefixListIds": ("PrefixListId",),
    "UserIdGroupPairs": ("GroupId", "UserId", "VpcId"),
    "Groups": ("GroupId",),
    "PrivateIpAddresses": ("PrivateIpAddress",),
    "Ipv6Addresses": ("Ipv6Address",),
    "Ipv4Prefixes": ("Ipv4Prefix",),
    "Ipv6Prefixes": ("Ipv6Prefix",),
    "Associations": (
        "SubnetId",
        "NetworkAclAssociationId",
        "RouteTableAssociationId",
        "TransitGatewayAttachmentId",
    ),
    "Routes": (
        "DestinationCidrBlock",
        "DestinationIpv6CidrBlock",
        "DestinationPrefixListId",
        "PrefixListId",
    ),
    "CidrBlockAssociationSet": ("CidrBlock",),
    "Ipv6CidrBlockAssociationSet": ("Ipv6CidrBlock",),
    "Attachments": ("VpcId",),
    "VpcAttachments": ("VpcId",),
    "NatGatewayAddresses": ("AllocationId", "PrivateIp"),
}

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "OptInRequired",
    }
)
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "EC2ThrottledException",
    }
)


class ReadOnlyViolation(InternalError):
    """sgproof tried to send an AWS operation outside READ_OPERATIONS: refused before it left."""


def refuse_writes(model: Any, **_: Any) -> None:
    """Event handler (before-parameter-build, before-call): raise unless the operation is in READ_OPERATIONS."""
    operation = f"{model.service_model.service_name}:{model.name}"
    if operation not in READ_OPERATIONS:
        raise ReadOnlyViolation(
            f"refused to call {operation}: sgproof only reads, and only the calls docs/collect.md lists"
        )


def retry_config() -> Config:
    """The botocore client config: retry mode and budget (AWS_RETRY_MODE/AWS_MAX_ATTEMPTS override), timeouts."""
    mode = os.environ.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE
    if mode not in ("adaptive", "standard", "legacy"):
        raise SourceError(f"AWS_RETRY_MODE must be adaptive, standard or legacy (got {mode!r})")
    raw = os.environ.get("AWS_MAX_ATTEMPTS") or str(DEFAULT_MAX_ATTEMPTS)
    if not raw.isdigit() or int(raw) < 1:
        raise SourceError(f"AWS_MAX_ATTEMPTS must be a whole number of at least 1 (got {raw!r})")
    return Config(
        retries={"mode": mode, "total_max_attempts": int(raw)},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


def guarded_client(session: Any, service: str, region: str) -> Any:
    """A boto3 client with sgproof's retry config whose every call passes the read-only guard."""
    client = session.client(service, region_name=region, config=retry_config())
    # Checked before the parameters are even built, and again just before the request is sent.
    events = client.meta.events
    events.register_first(
        "before-parameter-build", refuse_writes, unique_id="sgproof-read-only-params"
    )
    events.register_first("before-call", refuse_writes, unique_id="sgproof-read-only-call")
    return client


def known_regions(session: Any) -> set[str]:
    """Every EC2 region of every partition that this botocore knows."""
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return regions


def check_region(session: Any, region: str) -> None:
    """Raise a SourceError unless `region` is an EC2 region this botocore knows."""
    if region in known_regions(session):
        return
    hint = (
        ""
        if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", region)
        else " (a region looks like us-east-1)"
    )
    raise SourceError(
        f"unknown AWS region {region!r}{hint}; botocore {botocore.__version__} knows no such EC2 region"
        " (if it is new, upgrade boto3)"
    )


def one_line(text: object, limit: int = 240) -> str:
    """`text` squeezed onto one line, cut at `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def source_error(region: str, operation: str, exc: Exception) -> SourceError:
    """The one-line SourceError that explains a boto3/botocore failure of `operation` in `region`."""
    where = f"{region}: {operation}"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return SourceError(
            f"{where}: no usable AWS credentials ({one_line(exc)}); "
            "set AWS_PROFILE or --profile, or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables"
        )
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError | ReadTimeoutError,
    ):
        return SourceError(f"{where}: endpoint unreachable: {one_line(exc)}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = one_line(error.get("Message", ""), 160)
        meta = exc.response.get("ResponseMetadata", {})
        attempts = int(meta.get("RetryAttempts", 0)) + 1
        if code in DENIED_CODES:
            return SourceError(
                f"{where} denied ({code}): {message}; docs/iam-policy.json lists the permissions sgproof needs"
            )
        if code in THROTTLED_CODES:
            return SourceError(
                f"{where}: still throttled ({code}) after {attempts} attempt(s); "
                "retry later, or raise AWS_MAX_ATTEMPTS"
            )
        status = int(meta.get("HTTPStatusCode", 0))
        if status >= 500:
            return SourceError(
                f"{where}: AWS server error {status} ({code}) after {attempts} attempt(s): {message}"
            )
        return SourceError(f"{where} failed ({code}): {message}")
    if isinstance(exc, BotoCoreError):
        return SourceError(f"{where}: {type(exc).__name__}: {one_line(exc)}")
    raise TypeError(f"not a boto3 error: {type(exc).__name__}")


def _jsonable(value: Any) -> Any:
    """`value` with datetimes as ISO-8601 strings and every nested list in its stable order."""
    if isinstance(value, dict):
        return {
            k: _sorted_list(k, v) if isinstance(v, list) else _jsonable(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sorted_list(key: str, items: list[Any]) -> list[Any]:
    """The items of the list found under `key`, made JSON-ready and sorted by SORT_FIELDS[key], then by JSON."""
    fields = SORT_FIELDS.get(key, ())
    ready = [_jsonable(item) for item in items]

    def order(item: Any) -> tuple[Any, ...]:
        text = json.dumps(item, sort_keys=True)
        if not isinstance(item, dict):
            return ((), text)
        return (tuple(_rank(item.get(f)) for f in fields), text)

    return sorted(ready, key=order)


def _rank(value: Any) -> tuple[int, int, str]:
    """A sort key that orders None, then numbers and booleans, then strings, never comparing across kinds."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool | int):
        return (1, int(value), "")
    return (2, 0, str(value))


def _paginate(
    client: Any, operation: str, result_key: str, region: str, **params: Any
) -> list[Any]:
    """Every item of `result_key` across all pages of `operation` (one call if it has no pages), or a SourceError."""
    items: list[Any] = []
    try:
        if not client.can_paginate(operation):
            return list(getattr(client, operation)(**params).get(result_key) or [])
        for page in client.get_paginator(operation).paginate(**params):
            items.extend(page.get(result_key) or [])
    except (ClientError, BotoCoreError) as exc:
        raise source_error(region, _op_name(client, operation), exc) from None
    return items


def _op_name(client: Any, operation: str) -> str:
    """The API name (DescribeVpcs) of a boto3 method name (describe_vpcs)."""
    return str(client.meta.method_to_api_mapping.get(operation, operation))


Filters = list[dict[str, Any]]


def _search_routes(
    ec2: Any, table_id: str, filters: Filters, region: str
) -> tuple[list[dict[str, Any]], bool]:
    """One SearchTransitGatewayRoutes, following NextToken where AWS gives one: (routes, complete).

    The answer is incomplete when its last response still says AdditionalRoutesAvailable: AWS caps
    one search (1000 routes), and a cut-off answer has no token to go on with.
    """
    routes: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TransitGatewayRouteTableId": table_id, "Filters": filters}
    seen: set[str] = set()
    while True:
        try:
            page = ec2.search_transit_gateway_routes(**params)
        except (ClientError, BotoCoreError) as exc:
            raise source_error(region, "SearchTransitGatewayRoutes", exc) from None
        routes.extend(page.get("Routes") or [])
        token = page.get("NextToken")
        if not token:
            return routes, not page.get("AdditionalRoutesAvailable", False)
        if token in seen:
            raise SourceError(
                f"{region}: SearchTransitGatewayRoutes: {table_id}: AWS repeated a page token"
            )
        seen.add(token)
        params["NextToken"] = token


def _truncated(region: str, table_id: str, filters: Filters) -> SourceError:
    """The error for a route search that stays incomplete however it is split."""
    where = " ".join(f"{f['Name']}={','.join(f['Values'])}" for f in filters)
    return SourceError(
        f"{region}: SearchTransitGatewayRoutes: {table_id} has more routes than one search returns"
        f" even for {where}; sgproof writes no truncated route table"
    )


def _route_key(route: dict[str, Any]) -> str:
    """A route's identity, for merging the answers of overlapping searches."""
    return json.dumps(route, sort_keys=True, default=str)


def _filter(name: str, value: str) -> dict[str, Any]:
    """One search filter with one value."""
    return {"Name": name, "Values": [value]}


def _routes_within(
    ec2: Any, table_id: str, filters: Filters, net: IPNetwork, region: str
) -> list[dict[str, Any]]:
    """Every route matching `filters` whose destination is `net` or inside it, halving `net` as needed."""
    exact_filters = [*filters, _filter("route-search.exact-match", str(net))]
    exact, complete = _search_routes(ec2, table_id, exact_filters, region)
    if not complete:
        raise _truncated(region, table_id, exact_filters)
    inside_filters = [*filters, _filter("route-search.subnet-of-match", str(net))]
    inside, complete = _search_routes(ec2, table_id, inside_filters, region)
    if complete:
        return exact + inside
    if net.prefixlen == net.max_prefixlen:
        raise _truncated(region, table_id, inside_filters)
    found = list(exact)
    for half in net.subnets(prefixlen_diff=1):
        found.extend(_routes_within(ec2, table_id, filters, half, region))
    return found


def _tgw_routes(
    ec2: Any, table_id: str, prefix_lists: Iterable[str], region: str
) -> list[dict[str, Any]]:
    """Every active and blackhole route of one transit gateway route table, never a truncated list.

    One search usually holds them all. When it does not, the search is split by state and type; a part
    still too long is split by destination: each prefix list by its id, then the IPv4 and IPv6 address
    space by exact and subnet-of matches, halving a range until each answer is complete.
    """
    routes, complete = _search_routes(
        ec2, table_id, [{"Name": "state", "Values": list(TGW_ROUTE_STATES)}], region
    )
    if complete:
        return routes
    lists = sorted({*prefix_lists, *(r["PrefixListId"] for r in routes if r.get("PrefixListId"))})
    found: dict[str, dict[str, Any]] = {}
    for state in TGW_ROUTE_STATES:
        for kind in TGW_ROUTE_TYPES:
            filters = [_filter("state", state), _filter("type", kind)]
            part, complete = _search_routes(ec2, table_id, filters, region)
            if not complete:
                part = []
                for plid in lists:
                    listed_filters = [*filters, _filter("prefix-list-id", plid)]
                    listed, complete = _search_routes(ec2, table_id, listed_filters, region)
                    if not complete:
                        raise _truncated(region, table_id, listed_filters)
                    part.extend(listed)
                for root in (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")):
                    part.extend(_routes_within(ec2, table_id, filters, root, region))
            found.update((_route_key(r), r) for r in part)
    return list(found.values())


def _complete_tgw_route_tables(ec2: Any, doc: dict[str, Any], region: str, say: Progress) -> None:
    """Give each transit gateway route table its `Routes` and `Associations` lists (contract section 2)."""
    known = [p["PrefixListId"] for p in doc.get("ManagedPrefixLists", []) if p.get("PrefixListId")]
    for table in doc.get("TransitGatewayRouteTables", []):
        tid = table["TransitGatewayRouteTableId"]
        if table.get("State") in GONE_TGW_ROUTE_TABLE_STATES:
            # AWS lists a deleted table for a while; it routes nothing and searching it fails.
            table["Routes"], table["Associations"] = [], []
            continue
        table["Routes"] = _tgw_routes(ec2, tid, known, region)
        table["Associations"] = _paginate(
            ec2,
            "get_transit_gateway_route_table_associations",
            "Associations",
            region,
            TransitGatewayRouteTableId=tid,
        )
        say(
            f"{region}: {tid} Routes {len(table['Routes'])} Associations {len(table['Associations'])}"
        )


def _referenced_prefix_lists(doc: dict[str, Any]) -> set[str]:
    """Ids of the prefix lists that a security-group rule, a route or a gateway endpoint uses."""
    ids: set[str] = set()
    for group in doc.get("SecurityGroups", []):
        for perm in [*group.get("IpPermissions", []), *group.get("IpPermissionsEgress", [])]:
            ids.update(
                p["PrefixListId"] for p in perm.get("PrefixListIds", []) if p.get("PrefixListId")
            )
    for table in doc.get("RouteTables", []):
        ids.update(
            r["DestinationPrefixListId"]
            for r in table.get("Routes", [])
            if r.get("DestinationPrefixListId")
        )
    for table in doc.get("TransitGatewayRouteTables", []):
        ids.update(r["PrefixListId"] for r in table.get("Routes", []) if r.get("PrefixListId"))
    # A gateway endpoint names its service; the AWS-managed list of that name holds its addresses.
    services = {
        e["ServiceName"]
        for e in doc.get("VpcEndpoints", [])
        if e.get("VpcEndpointType") == "Gateway" and e.get("ServiceName")
    }
    ids.update(
        p["PrefixListId"]
        for p in doc.get("ManagedPrefixLists", [])
        if p.get("PrefixListName") in services and p.get("PrefixListId")
    )
    return ids


def account_id(session: Any, region: str) -> str:
    """The account the session's credentials belong to (sts:GetCallerIdentity)."""
    sts = guarded_client(session, "sts", region)
    try:
        return str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise source_error(region, "GetCallerIdentity", exc) from None


def collect_snapshot(session: Any, region: str, progress: Progress | None = None) -> dict[str, Any]:
    """One region's snapshot document (contract section 2), sorted and JSON-ready."""
    say = progress or (lambda _line: None)
    check_region(session, region)
    collected_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    account = account_id(session, region)
    ec2 = guarded_client(session, "ec2", region)
    raw: dict[str, Any] = {}
    for key, operation, result_key in EC2_LISTS:
        raw[key] = _paginate(ec2, operation, result_key, region)
        say(f"{region}: {key} {len(raw[key])}")
    _complete_tgw_route_tables(ec2, raw, region, say)
    wanted = _referenced_prefix_lists(raw)
    for plist in raw["ManagedPrefixLists"]:
        plid = plist.get("PrefixListId")
        if plid in wanted or plist.get("OwnerId") != "AWS":
            plist["Entries"] = _paginate(
                ec2, "get_managed_prefix_list_entries", "Entries", region, PrefixListId=plid
            )
            say(f"{region}: {plid} Entries {len(plist['Entries'])}")
    doc: dict[str, Any] = _jsonable(raw)
    doc.update(AccountId=account, Region=region, CollectedAt=collected_at)
    return doc


def open_session(profile: str | None) -> Any:
    """A boto3 session for `profile` (None: the environment's default), or a SourceError."""
    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound:
        raise SourceError(
            f"AWS profile {profile!r} not found in the AWS config/credentials files"
        ) from None


def resolve_regions(session: Any, regions: Iterable[str]) -> tuple[str, ...]:
    """The regions to read: those given (duplicates dropped), else the session's default one."""
    chosen = tuple(dict.fromkeys(r.strip() for r in regions if r.strip()))
    if chosen:
        return chosen
    default = session.region_name
    if not default:
        raise SourceError(
            "no AWS region: pass --region, or set AWS_REGION/AWS_DEFAULT_REGION or the profile's region"
        )
    return (str(default),)


def collect_all(
    profile: str | None, regions: tuple[str, ...], progress: Progress | None
) -> list[dict[str, Any]]:
    """One snapshot document per region, in the order asked."""
    session = open_session(profile)
    return [
        collect_snapshot(session, region, progress) for region in resolve_regions(session, regions)
    ]


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several regions' documents as one: lists concatenated, `Region` joined with ','."""
    merged: dict[str, Any] = {key: [] for key in SNAPSHOT_LISTS}
    for doc in docs:
        for key in SNAPSHOT_LISTS:
            merged[key].extend(doc.get(key, []))
    merged["AccountId"] = ",".join(dict.fromkeys(str(d["AccountId"]) for d in docs))
    merged["Region"] = ",".join(str(d["Region"]) for d in docs)
    merged["CollectedAt"] = min(str(d["CollectedAt"]) for d in docs)
    return merged


def collect_merged(
    profile: str | None, regions: tuple[str, ...], progress: Progress | None
) -> dict[str, Any]:
    """Every asked region of the account, merged into one snapshot document (for `verify --aws`)."""
    return merge(collect_all(profile, regions, progress))


def render(doc: dict[str, Any]) -> str:
    """The snapshot as written to disk: indented, keys sorted, one trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so a reader never sees half a snapshot."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            str(path), None, "a writable output path", exc.strerror or str(exc)
        ) from None


def run_collect(
    profile: str | None, regions: tuple[str, ...], output: str | None, quiet: bool, stderr: IO[str]
) -> int:
    """`sgproof collect`: one region → FILE (or stdout); several → DIR/<AccountId>-<region>.json each."""
    several = len(set(regions)) > 1
    target = Path(output) if output else None
    if several and target is None:
        raise InputError(
            None,
            "--output",
            "a directory when several --region are given (DIR/<AccountId>-<region>.json)",
        )
    if several and target is not None and target.exists() and not target.is_dir():
        raise InputError(
            output, None, "a directory when several --region are given", "an existing file"
        )
    if not several and target is not None and not target.parent.is_dir():
        raise InputError(
            output, None, "a file in an existing directory", f"no directory {target.parent}"
        )
    if not several and target is not None and target.is_dir():
        raise InputError(
            output, None, "a file path for one region (a directory is for several --region)"
        )

    def progress(line: str) -> None:
        if not quiet:
            print(line, file=stderr, flush=True)

    docs = collect_all(profile, regions, progress)
    if target is None:
        sys.stdout.write(render(docs[0]))
        sys.stdout.flush()
        return 0
    if not several:
        _write(target, render(docs[0]))
        progress(f"wrote {target}")
        return 0
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            output, None, "a directory that can be created", exc.strerror or str(exc)
        ) from None
    for doc in docs:
        path = target / f"{doc['AccountId']}-{doc['Region']}.json"
        _write(path, render(doc))
        progress(f"wrote {path}")
    return 0
