"""Terraform plan source: `terraform show -json` output turned into the snapshot document after apply.

The network after apply is the plan's `prior_state` with every `resource_changes` entry applied, laid
over an optional live snapshot document (`--snapshot`). Values known only after apply are resolved
through the plan's `configuration` references to the resources they name; resources not yet created
get deterministic placeholder ids (`sg-tf-<sha1 of the address>`). Every item carries its Terraform
address under the out-of-band key `internal.TF_ADDRESS`; resources that can carry network policy but
are not modelled become loud warnings (`internal.WARNINGS`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, SgproofError, UnsupportedFeature
from ..model import Network
from ..model.addr import parse_address, parse_cidr
from .internal import TF_ADDRESS, UNKNOWN_PRIVATE_IPV4, WARNINGS

Json = dict[Any, Any]  # str keys from JSON, plus the out-of-band keys of .internal

# --------------------------------------------------------------------------------------------------
# reading the plan


def load_plan(path: str) -> Json:
    """Read `terraform show -json` output; reject unreadable JSON and unknown format major versions."""
    from . import load_json

    plan = load_json(path, "Terraform plan JSON file (`terraform show -json`)")
    if not isinstance(plan, dict):
        raise InputError(path, None, "a JSON object from `terraform show -json`", type(plan).__name__)
    version = plan.get("format_version")
    if not isinstance(version, str):
        raise InputError(path, "format_version", "a format_version string (plan JSON 1.x)", version)
    if version.split(".")[0] != "1":
        raise UnsupportedFeature(path, "format_version", "plan JSON format 1.x", version)
    if "resource_changes" not in plan and "prior_state" not in plan and "planned_values" not in plan:
        raise InputError(
            path, None, "a saved plan (`terraform show -json PLANFILE`), with resource_changes", "none"
        )
    return plan


# --------------------------------------------------------------------------------------------------
# the shape of the plan: checked once, so that the converter can trust it

S, N, B, L, T = "a string", "an integer", "true or false", "a list of strings", "a map of strings"
_SG_BLOCK = {"protocol": S, "from_port": N, "to_port": N, "cidr_blocks": L, "ipv6_cidr_blocks": L,
             "prefix_list_ids": L, "security_groups": L, "self": B, "description": S}
_ACL_BLOCK = {"rule_no": N, "action": S, "protocol": S, "cidr_block": S, "ipv6_cidr_block": S,
              "from_port": N, "to_port": N, "icmp_type": N, "icmp_code": N}
_ROUTE_BLOCK = {k: S for k in (
    "cidr_block", "ipv6_cidr_block", "destination_prefix_list_id", "gateway_id", "nat_gateway_id",
    "egress_only_gateway_id", "transit_gateway_id", "vpc_peering_connection_id", "vpc_endpoint_id",
    "network_interface_id", "carrier_gateway_id", "core_network_arn", "local_gateway_id")}
# the attributes the converter reads, by resource type, and what each must be
_SCHEMA: dict[str, dict[str, Any]] = {
    "aws_vpc": {"cidr_block": S, "ipv6_cidr_block": S, "assign_generated_ipv6_cidr_block": B,
                "default_security_group_id": S, "default_network_acl_id": S, "default_route_table_id": S,
                "main_route_table_id": S},
    "aws_subnet": {"cidr_block": S, "vpc_id": S, "availability_zone": S, "ipv6_cidr_block": S,
                   "map_public_ip_on_launch": B},
    "aws_security_group": {"name": S, "name_prefix": S, "description": S, "vpc_id": S,
                           "ingress": _SG_BLOCK, "egress": _SG_BLOCK},
    "aws_default_security_group": {"name": S, "description": S, "vpc_id": S,
                                   "ingress": _SG_BLOCK, "egress": _SG_BLOCK},
    "aws_security_group_rule": {"type": S, "security_group_id": S, "protocol": S, "from_port": N,
                                "to_port": N, "cidr_blocks": L, "ipv6_cidr_blocks": L, "prefix_list_ids": L,
                                "source_security_group_id": S, "self": B, "description": S},
    "aws_vpc_security_group_ingress_rule": {
        "security_group_id": S, "ip_protocol": S, "from_port": N, "to_port": N, "cidr_ipv4": S,
        "cidr_ipv6": S, "prefix_list_id": S, "referenced_security_group_id": S, "description": S},
    "aws_network_acl": {"vpc_id": S, "subnet_ids": L, "ingress": _ACL_BLOCK, "egress": _ACL_BLOCK},
    "aws_default_network_acl": {"vpc_id": S, "subnet_ids": L, "default_network_acl_id": S,
                                "ingress": _ACL_BLOCK, "egress": _ACL_BLOCK},
    "aws_network_acl_rule": {"network_acl_id": S, "rule_number": N, "egress": B, "protocol": S,
                             "rule_action": S, "cidr_block": S, "ipv6_cidr_block": S, "from_port": N,
                             "to_port": N, "icmp_type": N, "icmp_code": N},
    "aws_network_acl_association": {"network_acl_id": S, "subnet_id": S},
    "aws_network_interface": {"subnet_id": S, "security_groups": L, "private_ip_list": L, "private_ips": L,
                              "private_ip": S, "attachment": {"instance": S, "device_index": N},
                              "ipv6_address_list": L, "ipv6_addresses": L, "ipv6_address_count": N,
                              "description": S},
    "aws_instance": {"subnet_id": S, "vpc_security_group_ids": L, "security_groups": L, "private_ip": S,
                     "secondary_private_ips": L, "ipv6_addresses": L, "ipv6_address_count": N, "public_ip": S,
                     "associate_public_ip_address": B, "primary_network_interface_id": S,
                     "network_interface": {"network_interface_id": S, "device_index": N}},
    "aws_network_interface_attachment": {"network_interface_id": S, "instance_id": S, "device_index": N},
    "aws_network_interface_sg_attachment": {"network_interface_id": S, "security_group_id": S},
    "aws_db_instance": {"db_subnet_group_name": S, "vpc_security_group_ids": L, "publicly_accessible": B},
    "aws_db_subnet_group": {"name": S, "subnet_ids": L},
    "aws_lb": {"load_balancer_type": S, "name": S, "internal": B, "subnets": L, "security_groups": L,
               "subnet_mapping": {"subnet_id": S, "private_ipv4_address": S, "allocation_id": S}},
    "aws_lambda_function": {"function_name": S, "vpc_config": {"subnet_ids": L, "security_group_ids": L}},
    "aws_ec2_managed_prefix_list": {"name": S, "address_family": S, "max_entries": N,
                                    "entry": {"cidr": S, "description": S}},
    "aws_ec2_managed_prefix_list_entry": {"prefix_list_id": S, "cidr": S, "description": S},
    "aws_vpc_peering_connection": {"vpc_id": S, "peer_vpc_id": S, "auto_accept": B, "accept_status": S,
                                   "peer_owner_id": S, "peer_region": S},
    "aws_vpc_peering_connection_accepter": {"vpc_peering_connection_id": S, "auto_accept": B,
                                            "accept_status": S},
    "aws_route_table": {"vpc_id": S, "route": _ROUTE_BLOCK, "propagating_vgws": L},
    "aws_default_route_table": {"default_route_table_id": S, "vpc_id": S, "route": _ROUTE_BLOCK,
                                "propagating_vgws": L},
    "aws_route": {"route_table_id": S, "destination_cidr_block": S, "destination_ipv6_cidr_block": S,
                  "destination_prefix_list_id": S, "state": S, "origin": S,
                  **{k: S for k in _ROUTE_BLOCK if k not in ("cidr_block", "ipv6_cidr_block",
                                                             "destination_prefix_list_id")}},
    "aws_route_table_association": {"route_table_id": S, "subnet_id": S, "gateway_id": S},
    "aws_main_route_table_association": {"route_table_id": S, "vpc_id": S, "original_route_table_id": S},
    "aws_internet_gateway": {"vpc_id": S},
    "aws_internet_gateway_attachment": {"vpc_id": S, "internet_gateway_id": S},
    "aws_egress_only_internet_gateway": {"vpc_id": S},
    "aws_nat_gateway": {"subnet_id": S, "allocation_id": S, "connectivity_type": S, "private_ip": S,
                        "public_ip": S, "network_interface_id": S, "secondary_private_ip_addresses": L},
    "aws_eip": {"instance": S, "network_interface": S, "associate_with_private_ip": S, "public_ip": S,
                "private_ip": S, "domain": S, "allocation_id": S},
    "aws_eip_association": {"allocation_id": S, "instance_id": S, "network_interface_id": S,
                            "private_ip_address": S, "public_ip": S},
    "aws_vpn_gateway": {"vpc_id": S, "amazon_side_asn": S},
    "aws_vpn_gateway_attachment": {"vpc_id": S, "vpn_gateway_id": S},
    "aws_vpn_gateway_route_propagation": {"vpn_gateway_id": S, "route_table_id": S},
    "aws_vpc_endpoint": {"vpc_id": S, "service_name": S, "vpc_endpoint_type": S, "route_table_ids": L,
                         "prefix_list_id": S, "subnet_ids": L, "security_group_ids": L},
    "aws_vpc_endpoint_route_table_association": {"vpc_endpoint_id": S, "route_table_id": S},
    "aws_ec2_transit_gateway": {"default_route_table_association": S, "default_route_table_propagation": S,
                                "association_default_route_table_id": S,
                                "propagation_default_route_table_id": S, "amazon_side_asn": N},
    "aws_ec2_transit_gateway_vpc_attachment": {
        "transit_gateway_id": S, "vpc_id": S, "subnet_ids": L, "transit_gateway_default_route_table_association": B,
        "transit_gateway_default_route_table_propagation": B, "vpc_owner_id": S},
    "aws_ec2_transit_gateway_route_table": {"transit_gateway_id": S, "default_association_route_table": B,
                                            "default_propagation_route_table": B},
    "aws_ec2_transit_gateway_route": {"destination_cidr_block": S, "transit_gateway_attachment_id": S,
                                      "transit_gateway_route_table_id": S, "blackhole": B},
    "aws_ec2_transit_gateway_route_table_association": {"transit_gateway_attachment_id": S,
                                                        "transit_gateway_route_table_id": S,
                                                        "replace_existing_association": B},
    "aws_ec2_transit_gateway_route_table_propagation": {"transit_gateway_attachment_id": S,
                                                        "transit_gateway_route_table_id": S},
}
_SCHEMA["aws_alb"] = _SCHEMA["aws_lb"]
_SCHEMA["aws_vpc_security_group_egress_rule"] = _SCHEMA["aws_vpc_security_group_ingress_rule"]
_COMMON = {"id": S, "tags": T, "tags_all": T}


class _Shape:
    """Checks that a plan has the shape of `terraform show -json` output where the converter reads it."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, place: str, expected: str, found: Any) -> InputError:
        shown = found if isinstance(found, str | int | float | bool) or found is None else type(found).__name__
        return InputError(self.path, place, expected, "null" if found is None else shown)

    def obj(self, value: Any, place: str, *, null: bool = True) -> Json:
        if value is None and null:
            return {}
        if not isinstance(value, dict):
            raise self.fail(place, "an object", value)
        return value

    def list_(self, value: Any, place: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(place, "a list", value)
        return value

    def str_(self, value: Any, place: str, *, null: bool = False) -> None:
        if not (isinstance(value, str) or (null and value is None)):
            raise self.fail(place, "a string", value)

    def resource(self, r: Any, place: str) -> None:
        """The fields every resource of prior_state or resource_changes has."""
        self.obj(r, place, null=False)
        for key in ("address", "type", "name"):
            self.str_(r.get(key), f"{place}.{key}")
        if r.get("mode") not in ("managed", "data"):
            raise self.fail(f"{place}.mode ({r['address']})", "mode managed or data", r.get("mode"))
        index = r.get("index")
        if not (index is None or isinstance(index, str) or (isinstance(index, int) and not isinstance(index, bool))):
            raise self.fail(f"{place}.index ({r['address']})", "an index: null, a number or a string", index)

    def check_plan(self, plan: Json) -> None:
        """The parts of the plan the converter reads: changes, prior state, configuration, variables."""
        for i, rc in enumerate(self.list_(plan.get("resource_changes"), "resource_changes")):
            place = f"resource_changes[{i}]"
            self.resource(rc, place)
            for key in ("module_address", "previous_address"):
                self.str_(rc.get(key), f"{place}.{key} ({rc['address']})", null=True)
            change = self.obj(rc.get("change"), f"{place}.change ({rc['address']})", null=False)
            actions = self.list_(change.get("actions"), f"{place}.change.actions")
            if not actions or not all(isinstance(a, str) for a in actions):
                raise self.fail(f"{place}.change.actions ({rc['address']})", "a list of actions", actions)
            for key in ("before", "after"):
                self.obj(change.get(key), f"{place}.change.{key} ({rc['address']})")
            self.unknown(change.get("after_unknown"), f"{place}.change.after_unknown ({rc['address']})")
        prior = self.obj(plan.get("prior_state"), "prior_state")
        values = self.obj(prior.get("values"), "prior_state.values")
        self.state_module(values.get("root_module"), "prior_state.values.root_module")
        conf = self.obj(plan.get("configuration"), "configuration")
        providers = self.obj(conf.get("provider_config"), "configuration.provider_config")
        for name, pconf in providers.items():
            self.exprs(self.obj(pconf, f"configuration.provider_config.{name}").get("expressions"),
                       f"configuration.provider_config.{name}.expressions")
        self.conf_module(conf.get("root_module"), "configuration.root_module")
        for name, var in self.obj(plan.get("variables"), "variables").items():
            self.obj(var, f"variables.{name}")

    def unknown(self, value: Any, place: str) -> None:
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, dict):
            for k, v in value.items():
                self.unknown(v, f"{place}.{k}")
        elif isinstance(value, list):
            for j, v in enumerate(value):
                self.unknown(v, f"{place}[{j}]")
        else:
            raise self.fail(place, "true, false, a list or an object (after_unknown)", value)

    def state_module(self, module: Any, place: str) -> None:
        module = self.obj(module, place)
        for j, r in enumerate(self.list_(module.get("resources"), f"{place}.resources")):
            self.resource(r, f"{place}.resources[{j}]")
            self.obj(r.get("values"), f"{place}.resources[{j}].values ({r['address']})")
        for j, child in enumerate(self.list_(module.get("child_modules"), f"{place}.child_modules")):
            self.state_module(child, f"{place}.child_modules[{j}]")

    def conf_module(self, module: Any, place: str) -> None:
        module = self.obj(module, place)
        for j, r in enumerate(self.list_(module.get("resources"), f"{place}.resources")):
            rplace = f"{place}.resources[{j}]"
            self.obj(r, rplace, null=False)
            self.str_(r.get("address"), f"{rplace}.address")
            self.exprs(r.get("expressions"), f"{rplace}.expressions")
            for key in ("for_each_expression", "count_expression"):
                self.expr(r.get(key), f"{rplace}.{key}")
        for name, call in self.obj(module.get("module_calls"), f"{place}.module_calls").items():
            cplace = f"{place}.module_calls.{name}"
            call = self.obj(call, cplace, null=False)
            self.exprs(call.get("expressions"), f"{cplace}.expressions")
            for key in ("for_each_expression", "count_expression"):
                self.expr(call.get(key), f"{cplace}.{key}")
            self.conf_module(call.get("module"), f"{cplace}.module")
        for name, out in self.obj(module.get("outputs"), f"{place}.outputs").items():
            self.expr(self.obj(out, f"{place}.outputs.{name}").get("expression"),
                      f"{place}.outputs.{name}.expression")
        for name, var in self.obj(module.get("variables"), f"{place}.variables").items():
            self.obj(var, f"{place}.variables.{name}")

    def expr(self, value: Any, place: str) -> None:
        value = self.obj(value, place)
        refs = self.list_(value.get("references"), f"{place}.references")
        for j, ref in enumerate(refs):
            self.str_(ref, f"{place}.references[{j}]")

    def exprs(self, value: Any, place: str) -> None:
        """An `expressions` object: attribute expressions and nested blocks (objects or lists of them)."""
        for key, v in self.obj(value, place).items():
            if isinstance(v, list):
                for j, blk in enumerate(v):
                    self.exprs(blk, f"{place}.{key}[{j}]")
            elif isinstance(v, dict) and ("references" in v or "constant_value" in v or not v):
                self.expr(v, f"{place}.{key}")
            elif isinstance(v, dict):
                self.exprs(v, f"{place}.{key}")
            else:
                raise self.fail(f"{place}.{key}", "an expression object or a list of blocks", v)

    def values(self, rtype: str, values: Json, place: str, address: str) -> None:
        """The attributes of one resource that the converter reads, by its type's schema."""
        self.attrs({**_COMMON, **_SCHEMA.get(rtype, {})}, values, place, address)

    def attrs(self, schema: dict[str, Any], values: Json, place: str, address: str) -> None:
        for key, want in schema.items():
            value = values.get(key)
            if value is None:
                continue
            where = f"{place}.{key} ({address})"
            if isinstance(want, dict):
                if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
                    raise self.fail(where, "a list of blocks", value)
                for j, blk in enumerate(value):
                    self.attrs(want, blk, f"{place}.{key}[{j}]", address)
            elif (want == S and not isinstance(value, str)) or (want == B and not isinstance(value, bool)) or (want == N and not _is_int(value)) or (want == L and not (isinstance(value, list) and all(isinstance(x, str) for x in value))) or (want == T and not (isinstance(value, dict)
                                    and all(isinstance(x, str) or x is None for x in value.values()))):
                raise self.fail(where, want, value)


def _is_int(value: Any) -> bool:
    """True for a whole number (Terraform writes numbers as JSON numbers)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**53)


# --------------------------------------------------------------------------------------------------
# resource instances after apply

_LIVE = {"create", "update", "no-op", "read"}


@dataclass
class Inst:
    """One resource instance as it will be after apply."""

    address: str
    mode: str
    type: str
    name: str
    index: int | str | None
    module: str  # module instance address, "" for the root module
    values: Json
    unknown: Any
    action: str  # create | update | replace | no-op | forget | state
    place: str  # JSON path of the resource in the plan, with its address
    vplace: str = ""  # JSON path of `values` in the plan
    before: Json | None = None
    config: Json | None = None

    def at(self, key: str) -> str:
        """The JSON path of attribute `key` of this instance's values, with the resource's address."""
        return f"{self.vplace}.{key} ({self.address})"

    @property
    def created(self) -> bool:
        """True when AWS will create this resource (create or replace)."""
        return self.action in ("create", "replace")


@dataclass
class Gone:
    """A resource instance that the plan deletes (or replaces): its values before the change."""

    address: str
    type: str
    before: Json


def _action(actions: list[str]) -> str:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if len(actions) == 1:
        return actions[0]
    return "+".join(actions)


def _state_resources(module: Json | None, place: str) -> Iterator[tuple[str, Json]]:
    """Every resource of a state module and its child modules, with its JSON path."""
    if not module:
        return
    for j, r in enumerate(module.get("resources") or []):
        yield f"{place}.resources[{j}]", r
    for j, child in enumerate(module.get("child_modules") or []):
        yield from _state_resources(child, f"{place}.child_modules[{j}]")


_MODULE_SEG = re.compile(r'module\.([A-Za-z0-9_-]+)(?:\[("(?:[^"\\]|\\.)*"|\d+)\])?')


def _module_path(module_address: str) -> list[tuple[str, int | str | None]]:
    """Split `module.a["x"].module.b[0]` into [("a", "x"), ("b", 0)]."""
    out: list[tuple[str, int | str | None]] = []
    for m in _MODULE_SEG.finditer(module_address):
        key = m.group(2)
        out.append((m.group(1), None if key is None else (json.loads(key) if key.startswith('"') else int(key))))
    return out


def _module_address(path: Iterable[tuple[str, int | str | None]]) -> str:
    parts = []
    for name, key in path:
        parts.append(f"module.{name}" + ("" if key is None else f"[{json.dumps(key)}]"))
    return ".".join(parts)


def _module_of(address: str, type_: str, name: str) -> str:
    """The module instance part of a resource address."""
    for marker in (f".data.{type_}.{name}", f".{type_}.{name}"):
        pos = address.find(marker)
        if address.startswith("module.") and pos > 0:
            return address[:pos]
    return ""


# --------------------------------------------------------------------------------------------------
# placeholder ids


def placeholder(prefix: str, address: str, salt: str = "") -> str:
    """Deterministic id for a resource that does not exist yet, e.g. `sg-tf-1a2b3c4d5e`."""
    digest = hashlib.sha1((address + salt).encode()).hexdigest()[:10]
    return f"{prefix}-tf-{digest}"


_ID_PREFIX = {
    "aws_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_security_group": "sg",
    "aws_default_security_group": "sg",
    "aws_network_acl": "acl",
    "aws_default_network_acl": "acl",
    "aws_network_interface": "eni",
    "aws_instance": "i",
    "aws_ec2_managed_prefix_list": "pl",
    "aws_vpc_peering_connection": "pcx",
    "aws_db_subnet_group": "dbsubnet",
    "aws_route_table": "rtb",
    "aws_internet_gateway": "igw",
    "aws_egress_only_internet_gateway": "eigw",
    "aws_nat_gateway": "nat",
    "aws_eip": "eipalloc",
    "aws_vpn_gateway": "vgw",
    "aws_vpc_endpoint": "vpce",
    "aws_ec2_transit_gateway": "tgw",
    "aws_ec2_transit_gateway_vpc_attachment": "tgw-attach",
    "aws_ec2_transit_gateway_route_table": "tgw-rtb",
}

# (resource type, attribute) -> the kind of id the attribute holds
_KIND = {
    ("aws_vpc", "id"): "vpc",
    ("aws_vpc", "default_security_group_id"): "sg",
    ("aws_vpc", "default_network_acl_id"): "acl",
    ("aws_default_vpc", "id"): "vpc",
    ("aws_subnet", "id"): "subnet",
    ("aws_default_subnet", "id"): "subnet",
    ("aws_security_group", "id"): "sg",
    ("aws_default_security_group", "id"): "sg",
    ("aws_network_acl", "id"): "acl",
    ("aws_default_network_acl", "id"): "acl",
    ("aws_network_interface", "id"): "eni",
    ("aws_instance", "id"): "instance",
    ("aws_instance", "primary_network_interface_id"): "eni",
    ("aws_ec2_managed_prefix_list", "id"): "pl",
    ("aws_db_subnet_group", "name"): "dbsubnet",
    ("aws_db_subnet_group", "id"): "dbsubnet",
    ("aws_vpc_peering_connection", "id"): "pcx",
    ("aws_vpc", "main_route_table_id"): "rtb",
    ("aws_vpc", "default_route_table_id"): "rtb",
    ("aws_route_table", "id"): "rtb",
    ("aws_default_route_table", "id"): "rtb",
    ("aws_internet_gateway", "id"): "igw",
    ("aws_egress_only_internet_gateway", "id"): "eigw",
    ("aws_nat_gateway", "id"): "nat",
    ("aws_eip", "id"): "eipalloc",
    ("aws_eip", "allocation_id"): "eipalloc",
    ("aws_vpn_gateway", "id"): "vgw",
    ("aws_vpc_endpoint", "id"): "vpce",
    ("aws_vpc_endpoint", "prefix_list_id"): "pl",
    ("aws_ec2_transit_gateway", "id"): "tgw",
    ("aws_ec2_transit_gateway", "association_default_route_table_id"): "tgw-rtb",
    ("aws_ec2_transit_gateway", "propagation_default_route_table_id"): "tgw-rtb",
    ("aws_ec2_transit_gateway_vpc_attachment", "id"): "tgw-attach",
    ("aws_ec2_transit_gateway_route_table", "id"): "tgw-rtb",
}
_VPC_DEFAULT_PREFIX = {"default_security_group_id": "sg", "default_network_acl_id": "acl",
                       "main_route_table_id": "rtb"}
# kinds that one attribute may hold several of (a route's gateway_id: an internet, virtual private or endpoint gateway)
_KIND_GROUPS = {"gw": {"igw", "vgw", "vpce", "eigw"}}
_DEFAULT_ATTR = {"dbsubnet": "name"}  # every other kind: "id"

_REF_RES = re.compile(
    r'^(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[("(?:[^"\\]|\\.)*"|\d+)\])?(?:\.([A-Za-z0-9_]+))?'
)
_REF_MOD = re.compile(r'^module\.([A-Za-z0-9_-]+)(?:\[("(?:[^"\\]|\\.)*"|\d+)\])?(?:\.([A-Za-z0-9_-]+))?')


def _key(raw: str | None) -> int | str | None:
    if raw is None:
        return None
    return json.loads(raw) if raw.startswith('"') else int(raw)


@dataclass(frozen=True)
class _Ctx:
    """Where an expression is evaluated: a module instance, the instance key, the for_each refs."""

    module: tuple[tuple[str, int | str | None], ...]
    self_key: int | str | None
    for_each_refs: tuple[str, ...] = ()


class _Unresolved(Exception):
    """A reference sgproof cannot follow through plan JSON (a local value, an unknown data source)."""


# --------------------------------------------------------------------------------------------------
# the converter


@dataclass
class _Builder:
    plan: Json
    path: str
    base: Json | None
    base_path: str | None = None
    insts: dict[str, Inst] = field(default_factory=dict)
    gone: list[Gone] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resolved_lists: list[str] = field(default_factory=list)
    doc: Json = field(default_factory=dict)

    # ---------------------------------------------------------------- collecting instances

    def collect(self) -> None:
        """Build the after-apply set of resource instances: prior_state plus resource_changes."""
        chk = _Shape(self.path)
        chk.check_plan(self.plan)
        prior = (self.plan.get("prior_state") or {}).get("values") or {}
        for place, r in _state_resources(prior.get("root_module"), "prior_state.values.root_module"):
            addr = r["address"]
            values = r.get("values") or {}
            chk.values(r["type"], values, f"{place}.values", addr)
            self.insts[addr] = Inst(
                addr, r["mode"], r["type"], r["name"], r.get("index"),
                _module_of(addr, r["type"], r["name"]), values, {}, "state",
                f"{place} ({addr})", f"{place}.values", before=values,
            )
        changes = self.plan.get("resource_changes") or []
        for i, rc in enumerate(changes):
            addr = rc["address"]
            place = f"resource_changes[{i}] ({addr})"
            change = rc["change"]
            for key in ("before", "after"):
                if isinstance(change.get(key), dict):
                    chk.values(rc["type"], change[key], f"resource_changes[{i}].change.{key}", addr)
            action = _action(list(change.get("actions") or []))
            prev = rc.get("previous_address")
            if prev and prev in self.insts:
                del self.insts[prev]
            if rc["mode"] != "managed":
                if change.get("after") is not None:
                    self.insts[addr] = Inst(addr, "data", rc["type"], rc["name"], rc.get("index"),
                                            rc.get("module_address") or "", change.get("after") or {},
                                            change.get("after_unknown") or {}, action, place,
                                            f"resource_changes[{i}].change.after")
                continue
            before = change.get("before")
            if action == "delete":
                self.insts.pop(addr, None)
                if before:
                    self.gone.append(Gone(addr, rc["type"], before))
                continue
            if action == "forget":
                # removed from state, not from AWS: the resource keeps existing as it was
                if addr in self.insts:
                    self.insts[addr].action = "forget"
                continue
            if action not in _LIVE and action != "replace":
                raise UnsupportedFeature(self.path, f"resource_changes[{i}].change.actions ({addr})",
                                         "a change action create/update/delete/replace/no-op", action)
            after = change.get("after")
            if after is None:
                raise InputError(self.path, f"resource_changes[{i}].change.after ({addr})",
                                 "change.after for a resource that exists after apply", None)
            if action == "replace" and before:
                self.gone.append(Gone(addr, rc["type"], before))
            self.insts[addr] = Inst(addr, "managed", rc["type"], rc["name"], rc.get("index"),
                                    rc.get("module_address") or "", after, change.get("after_unknown") or {},
                                    action, place, f"resource_changes[{i}].change.after", before=before)
        for inst in self.insts.values():
            inst.config = self._config_of(inst)

    def _module_config(self, path: Iterable[tuple[str, int | str | None]]) -> Json | None:
        mod = (self.plan.get("configuration") or {}).get("root_module")
        for name, _ in path:
            if mod is None:
                return None
            call = (mod.get("module_calls") or {}).get(name)
            mod = call.get("module") if call else None
        return mod

    def _config_of(self, inst: Inst) -> Json | None:
        mod = self._module_config(_module_path(inst.module))
        if mod is None:
            return None
        rel = ("data." if inst.mode == "data" else "") + f"{inst.type}.{inst.name}"
        for r in mod.get("resources") or []:
            if r.get("address") == rel:
                return dict(r)
        return None

    def managed(self, *types: str) -> list[Inst]:
        """Managed instances of the given types, in address order."""
        return sorted((i for i in self.insts.values() if i.mode == "managed" and i.type in types),
                      key=lambda i: i.address)

    # ---------------------------------------------------------------- values and references

    def known(self, inst: Inst, key: str) -> bool:
        """True when the attribute's value is known at plan time."""
        unk = inst.unknown.get(key) if isinstance(inst.unknown, dict) else None
        return unk is not True and not (isinstance(unk, list) and any(u is True for u in unk))

    def ident(self, inst: Inst) -> str:
        """The id the resource has, or will have: its known id or a placeholder."""
        value = inst.values.get("id")
        if isinstance(value, str) and value and self.known(inst, "id"):
            return value
        if inst.type in ("aws_default_security_group", "aws_default_network_acl"):
            attr = "vpc_id" if inst.type == "aws_default_security_group" else "default_network_acl_id"
            if inst.type == "aws_default_security_group":
                vpcs = self.ids(inst, "vpc_id", "vpc", single=True)
                vpc = self._inst_by_id("vpc", vpcs[0])
                return self._vpc_default(vpc, vpcs[0], "default_security_group_id")
            return self.ids(inst, attr, "acl", single=True)[0]
        return placeholder(_ID_PREFIX.get(inst.type, inst.type.removeprefix("aws_")), inst.address)

    def _vpc_default(self, vpc: Inst | None, vpc_id: str, attr: str) -> str:
        """The id of a VPC's default security group, NACL or main route table (known, or a placeholder)."""
        if vpc is not None:
            value = vpc.values.get(attr)
            if isinstance(value, str) and value and self.known(vpc, attr):
                return value
            if attr == "default_route_table_id":
                attr = "main_route_table_id"  # the same table: AWS creates one main table with the VPC
            return placeholder(_VPC_DEFAULT_PREFIX[attr], vpc.address, "#" + attr)
        if "route_table" in attr:
            for item in self._base_items("RouteTables"):
                if item.get("VpcId") == vpc_id and any(
                        isinstance(a, dict) and a.get("Main") is True for a in item.get("Associations") or []):
                    return str(item.get("RouteTableId"))
        for item in self._base_items("SecurityGroups" if "security" in attr else "NetworkAcls"):
            if item.get("VpcId") == vpc_id and (item.get("GroupName") == "default" or item.get("IsDefault")):
                return str(item.get("GroupId") or item.get("NetworkAclId"))
        raise InputError(self.path, None, f"the {attr} of {vpc_id} (pass --snapshot with that VPC)", "nothing")

    def _inst_by_id(self, kind: str, ident: str) -> Inst | None:
        for inst in self.insts.values():
            if inst.mode == "managed" and _KIND.get((inst.type, "id")) == kind and self.ident(inst) == ident:
                return inst
        return None

    def value_of(self, inst: Inst, attr: str | None, kind: str) -> str | None:
        """The id of `kind` that `inst.attr` yields, or None when the attribute is of another kind."""
        attr = attr or _DEFAULT_ATTR.get(kind, "id")
        rtype = inst.type
        kinds = _KIND_GROUPS.get(kind, {kind})
        if inst.mode == "data":
            if _KIND.get((rtype, attr)) not in kinds and not (attr == "id" and _KIND.get((rtype, "id")) in kinds):
                return None
            value = inst.values.get(attr)
            if not isinstance(value, str) or not self.known(inst, attr):
                raise _Unresolved(f"{inst.address}.{attr} (read at apply time)")
            return value
        if _KIND.get((rtype, attr)) not in kinds:
            return None
        if attr == "id":
            return self.ident(inst)
        if rtype == "aws_vpc":
            return self._vpc_default(inst, self.ident(inst), attr)
        if rtype == "aws_instance":
            return self._instance_primary_eni(inst)
        value = inst.values.get(attr)
        if isinstance(value, str) and value and self.known(inst, attr):
            return value
        return placeholder({"instance": "i"}.get(kind, kind), inst.address, "#" + attr)

    def _instance_primary_eni(self, inst: Inst) -> str:
        value = inst.values.get("primary_network_interface_id")
        if isinstance(value, str) and value and self.known(inst, "primary_network_interface_id"):
            return value
        return placeholder("eni", inst.address)

    def resolve(self, refs: list[str], ctx: _Ctx, kind: str) -> list[str]:
        """Ids of `kind` that an expression with these references evaluates to."""
        out: list[str] = []
        pair_count = "count.index" in refs
        pair_each = "each.key" in refs
        targets: dict[tuple[bool, str, str], list[tuple[int | str | None, str | None]]] = {}
        modules: dict[str, list[tuple[int | str | None, str | None]]] = {}
        for ref in refs:
            head = ref.split(".")[0]
            if ref in ("count.index", "each.key") or head in ("path", "terraform", "self"):
                continue
            if head == "local":
                raise _Unresolved(ref)
            if head == "var":
                out += self._resolve_var(ref.split(".")[1], ctx, kind)
                continue
            if head == "each":
                refs2 = [*ctx.for_each_refs, "each.key"]
                parts = ref.split(".")
                if len(parts) > 2:
                    refs2 = [r + "." + parts[2] if not r.startswith(("var.", "module.", "local.", "each."))
                             else r for r in ctx.for_each_refs] + ["each.key"]
                out += self.resolve(refs2, _Ctx(ctx.module, ctx.self_key), kind)
                continue
            if head == "module":
                m = _REF_MOD.match(ref)
                if m:
                    modules.setdefault(m.group(1), []).append((_key(m.group(2)), m.group(3)))
                continue
            m = _REF_RES.match(ref)
            if m:
                targets.setdefault((bool(m.group(1)), m.group(2), m.group(3)), []).append(
                    (_key(m.group(4)), m.group(5)))
        for (is_data, rtype, rname), forms in targets.items():
            indexed = [f for f in forms if f[0] is not None]
            chosen = indexed or forms
            best: dict[int | str | None, str | None] = {}
            for idx, attr in chosen:
                if best.get(idx) is None:
                    best[idx] = attr
            for idx, attr in best.items():
                for inst in self._instances(ctx.module, is_data, rtype, rname):
                    if idx is not None and inst.index != idx:
                        continue
                    if idx is None and inst.index is not None:
                        if pair_count and isinstance(ctx.self_key, int) and inst.index != ctx.self_key:
                            continue
                        if pair_each and isinstance(ctx.self_key, str) and inst.index != ctx.self_key:
                            continue
                    value = self.value_of(inst, attr, kind)
                    if value is not None:
                        out.append(value)
        for mname, forms in modules.items():
            out += self._resolve_module_output(ctx, mname, forms, kind)
        return out

    def _instances(self, module: tuple[tuple[str, int | str | None], ...], is_data: bool,
                   rtype: str, rname: str) -> list[Inst]:
        maddr = _module_address(module)
        mode = "data" if is_data else "managed"
        return sorted((i for i in self.insts.values() if i.mode == mode and i.type == rtype
                       and i.name == rname and i.module == maddr), key=lambda i: i.address)

    def _resolve_var(self, var: str, ctx: _Ctx, kind: str) -> list[str]:
        if not ctx.module:
            value = ((self.plan.get("variables") or {}).get(var) or {}).get("value")
            return _strings(value)
        parent = ctx.module[:-1]
        name, key = ctx.module[-1]
        pconf = self._module_config(parent) or {}
        call = (pconf.get("module_calls") or {}).get(name) or {}
        expr = (call.get("expressions") or {}).get(var)
        if not expr:
            mconf = call.get("module") or {}
            default = ((mconf.get("variables") or {}).get(var) or {}).get("default")
            return _strings(default)
        fe = tuple((call.get("for_each_expression") or {}).get("references") or ())
        return self._eval(expr, _Ctx(parent, key, fe), kind)

    def _resolve_module_output(self, ctx: _Ctx, mname: str,
                               forms: list[tuple[int | str | None, str | None]], kind: str) -> list[str]:
        prefix = _module_address((*ctx.module, (mname, None)))
        keys: set[int | str | None] = set()
        for inst in self.insts.values():
            rest = inst.module[len(prefix):] if inst.module.startswith(prefix) else None
            if rest is None or (rest and rest[0] not in "[."):
                continue
            sub = _module_path(inst.module)[len(ctx.module)]
            keys.add(sub[1])
        mconf = self._module_config((*ctx.module, (mname, None))) or {}
        out: list[str] = []
        for idx, output in forms:
            if output is None:
                continue
            expr = ((mconf.get("outputs") or {}).get(output) or {}).get("expression") or {}
            for k in sorted(keys, key=str):
                if idx is not None and k != idx:
                    continue
                out += self._eval(expr, _Ctx((*ctx.module, (mname, k)), None), kind)
        return out

    def _eval(self, expr: Any, ctx: _Ctx, kind: str) -> list[str]:
        if not isinstance(expr, dict):
            return []
        if "constant_value" in expr:
            return _strings(expr["constant_value"])
        return self.resolve(list(expr.get("references") or []), ctx, kind)

    def _ctx(self, inst: Inst) -> _Ctx:
        conf = inst.config or {}
        fe = tuple((conf.get("for_each_expression") or {}).get("references") or ())
        return _Ctx(tuple(_module_path(inst.module)), inst.index, fe)

    def ids(self, inst: Inst, key: str, kind: str, *, single: bool = False,
            block: tuple[str, int] | None = None, required: bool = True) -> list[str]:
        """Ids in attribute `key` (optionally inside block element `block`), resolving unknown values."""
        values: Json = inst.values
        unknown: Any = inst.unknown
        if block:
            bname, bi = block
            values = ((values.get(bname) or [{}]) + [{}] * (bi + 1))[bi] or {}
            ub = unknown.get(bname) if isinstance(unknown, dict) else None
            unknown = True if ub is True else ((ub or [{}]) + [{}] * (bi + 1))[bi] if isinstance(ub, list) else {}
        unk = unknown if unknown is True else (unknown.get(key) if isinstance(unknown, dict) else None)
        if unk is not True and not (isinstance(unk, list) and any(u is True for u in unk)):
            found = _strings(values.get(key))
        else:
            found = _strings(values.get(key))  # the known elements of a partly known list
            expr = self._config_expr(inst, key, block)
            try:
                found += self._eval(expr, self._ctx(inst), kind)
            except _Unresolved as exc:
                raise UnsupportedFeature(
                    self.path, inst.at(key),
                    "a value known at plan time, or references sgproof can follow to resources in the plan "
                    "(local values are not in plan JSON; reference the resource directly or pass --snapshot)",
                    str(exc)) from exc
            if not single and f"{inst.address}.{key}" not in self.resolved_lists:
                self.resolved_lists.append(f"{inst.address}.{key}")
        found = list(dict.fromkeys(found))
        if single and len(found) != 1:
            if not found and not required:
                return []
            raise InputError(self.path, inst.at(key),
                             f"exactly one {kind} id (known, or referenced through configuration)",
                             ", ".join(found) or "none")
        return found

    def _config_expr(self, inst: Inst, key: str, block: tuple[str, int] | None) -> Any:
        exprs = (inst.config or {}).get("expressions") or {}
        if block is None:
            return exprs.get(key)
        bname, bi = block
        bexpr = exprs.get(bname)
        if isinstance(bexpr, list):
            if bname == "route":
                want = (inst.values.get(bname) or [{}])[bi]
                for el in bexpr:
                    if any((el.get(k) or {}).get("constant_value") == want.get(k) and want.get(k)
                           for k in ("cidr_block", "ipv6_cidr_block", "destination_prefix_list_id")):
                        return el.get(key)
                return None  # a destination known only at apply: the block cannot be matched
            if bname == "network_interface":
                want = (inst.values.get(bname) or [{}])[bi].get("device_index")
                for el in bexpr:
                    if (el.get("device_index") or {}).get("constant_value") == want:
                        return el.get(key)
            return bexpr[bi].get(key) if bi < len(bexpr) else None
        if isinstance(bexpr, dict):
            return bexpr  # attribute-as-block: one flat reference list for every element
        return None

    # ---------------------------------------------------------------- base snapshot

    def _base_items(self, key: str) -> list[Json]:
        if not self.base:
            return []
        items = self.base.get(key) or []
        return [i for i in items if isinstance(i, dict)]

    def warn(self, msg: str) -> None:
        """Record a loud warning for the report's assumptions."""
        if msg not in self.warnings:
            self.warnings.append(msg)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple | set):
        return [v for v in value if isinstance(v, str) and v]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str) and v]
    return []


def _tags(values: Json) -> list[Json]:
    tags = values.get("tags_all") or values.get("tags") or {}
    if not isinstance(tags, dict):
        return []
    return [{"Key": str(k), "Value": str(v)} for k, v in sorted(tags.items()) if v is not None]


def _network(cidr: str, where: str, path: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise InputError(path, where, "a CIDR block", cidr) from exc


# --------------------------------------------------------------------------------------------------
# protocol spellings

_SG_PROTO = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
             "icmpv6": "icmpv6", "58": "icmpv6", "-1": "-1", "all": "-1"}
_NACL_PROTO = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "-1": "-1", "all": "-1"}


def _sg_proto(raw: Any, path: str, where: str) -> str:
    text = str(raw).strip().lower()
    if text in _SG_PROTO:
        return _SG_PROTO[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return text
    raise InputError(path, where, "a protocol: tcp, udp, icmp, icmpv6, -1/all or a number 0-255", raw)


def _nacl_proto(raw: Any, path: str, where: str) -> str:
    text = str(raw).strip().lower()
    if text in _NACL_PROTO:
        return _NACL_PROTO[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return {"6": "6", "17": "17", "1": "1", "58": "58"}.get(text, text)
    raise InputError(path, where, "a protocol: tcp, udp, icmp, icmpv6, -1/all or a number 0-255", raw)


def _int(raw: Any, default: int) -> int:
    """A whole number (checked by _Shape), or `default` when absent."""
    return int(raw) if _is_int(raw) else default


def _perm(proto: str, from_port: Any, to_port: Any, cidrs: Iterable[str], cidrs6: Iterable[str],
          pls: Iterable[str], groups: Iterable[str], address: str | None) -> Json:
    """One IpPermission in describe-API shape."""
    perm: Json = {"IpProtocol": proto}
    if proto in ("tcp", "udp", "icmp", "icmpv6"):
        perm["FromPort"] = _int(from_port, -1 if proto.startswith("icmp") else 0)
        perm["ToPort"] = _int(to_port, -1 if proto.startswith("icmp") else 65535)
    perm["IpRanges"] = [{"CidrIp": c} for c in cidrs]
    perm["Ipv6Ranges"] = [{"CidrIpv6": c} for c in cidrs6]
    perm["PrefixListIds"] = [{"PrefixListId": p} for p in pls]
    pairs = []
    for g in groups:
        if "/" in g:
            user, gid = g.split("/", 1)
            pairs.append({"UserId": user, "GroupId": gid})
        else:
            pairs.append({"GroupId": g})
    perm["UserIdGroupPairs"] = pairs
    if address:
        perm[TF_ADDRESS] = address
    return perm


def _atoms(perm: Json) -> set[tuple[Any, ...]]:
    """The (protocol, ports, peer) atoms of an IpPermission, for matching rules across sources."""
    proto = _SG_PROTO.get(str(perm.get("IpProtocol")).lower(), str(perm.get("IpProtocol")))
    ports = (perm.get("FromPort"), perm.get("ToPort")) if proto in ("tcp", "udp", "icmp", "icmpv6") else None
    out: set[tuple[Any, ...]] = set()
    for r in perm.get("IpRanges") or []:
        out.add((proto, ports, "cidr", r.get("CidrIp")))
    for r in perm.get("Ipv6Ranges") or []:
        out.add((proto, ports, "cidr6", r.get("CidrIpv6")))
    for r in perm.get("PrefixListIds") or []:
        out.add((proto, ports, "pl", r.get("PrefixListId")))
    for r in perm.get("UserIdGroupPairs") or []:
        out.add((proto, ports, "sg", r.get("GroupId")))
    return out


def _perm_from_atom(atom: tuple[Any, ...], address: str | None) -> Json:
    proto, ports, kind, value = atom
    f, t = ports if ports else (None, None)
    return _perm(proto, f, t, [value] if kind == "cidr" else [], [value] if kind == "cidr6" else [],
                 [value] if kind == "pl" else [], [value] if kind == "sg" else [], address)


def _nacl_entry(number: Any, proto: str, action: Any, egress: bool, cidr: Any, cidr6: Any,
                from_port: Any, to_port: Any, icmp_type: Any, icmp_code: Any, address: str | None) -> Json:
    """One NACL entry in describe-API shape."""
    entry: Json = {"RuleNumber": int(number), "Protocol": proto, "RuleAction": str(action).lower(),
                   "Egress": bool(egress)}
    if cidr6:
        entry["Ipv6CidrBlock"] = cidr6
    else:
        entry["CidrBlock"] = cidr or "0.0.0.0/0"
    if proto in ("6", "17"):
        entry["PortRange"] = {"From": _int(from_port, 0), "To": _int(to_port, 65535)}
    elif proto in ("1", "58"):
        entry["IcmpTypeCode"] = {"Type": _int(icmp_type, -1), "Code": _int(icmp_code, -1)}
    if address:
        entry[TF_ADDRESS] = address
    return entry


def _star_denies() -> list[Json]:
    """The `*` entries AWS puts at the end of every NACL."""
    out = []
    for egress in (False, True):
        out.append(_nacl_entry(32767, "-1", "deny", egress, "0.0.0.0/0", None, None, None, None, None, None))
        out.append(_nacl_entry(32768, "-1", "deny", egress, None, "::/0", None, None, None, None, None))
    return out


def _default_nacl_entries(ipv6: bool, address: str) -> list[Json]:
    """The entries of the default NACL AWS creates with a VPC."""
    out = []
    for egress in (False, True):
        out.append(_nacl_entry(100, "-1", "allow", egress, "0.0.0.0/0", None, None, None, None, None, address))
        if ipv6:
            out.append(_nacl_entry(101, "-1", "allow", egress, None, "::/0", None, None, None, None, address))
    return out + _star_denies()


_MODELLED = {
    "aws_vpc", "aws_subnet", "aws_security_group", "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule",
    "aws_default_security_group", "aws_network_acl", "aws_network_acl_rule",
    "aws_network_acl_association", "aws_default_network_acl", "aws_network_interface",
    "aws_network_interface_sg_attachment", "aws_network_interface_attachment", "aws_instance",
    "aws_db_instance", "aws_db_subnet_group", "aws_lb", "aws_alb", "aws_lambda_function",
    "aws_ec2_managed_prefix_list", "aws_ec2_managed_prefix_list_entry", "aws_vpc_peering_connection",
    "aws_vpc_peering_connection_accepter",
    "aws_route_table", "aws_default_route_table", "aws_route", "aws_route_table_association",
    "aws_main_route_table_association", "aws_internet_gateway", "aws_internet_gateway_attachment",
    "aws_egress_only_internet_gateway", "aws_nat_gateway", "aws_eip", "aws_eip_association",
    "aws_vpn_gateway", "aws_vpn_gateway_attachment", "aws_vpn_gateway_route_propagation", "aws_vpc_endpoint",
    "aws_vpc_endpoint_route_table_association", "aws_ec2_transit_gateway",
    "aws_ec2_transit_gateway_vpc_attachment", "aws_ec2_transit_gateway_route_table",
    "aws_ec2_transit_gateway_route", "aws_ec2_transit_gateway_route_table_association",
    "aws_ec2_transit_gateway_route_table_propagation",
}
_NET_KEYS = {"security_groups", "vpc_security_group_ids", "security_group_ids", "security_group_id",
             "subnet_id", "subnet_ids", "vpc_id", "network_interface_id", "network_interface",
             "vpc_config", "network_configuration", "cidr_block", "route_table_id", "allocation_id",
             "subnet_mapping", "vpc_options", "vpc_settings"}
_NET_PREFIXES = ("aws_route", "aws_eip", "aws_nat_gateway", "aws_internet_gateway",
                 "aws_egress_only_internet_gateway", "aws_vpc_", "aws_ec2_transit_gateway", "aws_network",
                 "aws_security_group", "aws_default_", "aws_vpn", "aws_networkfirewall", "aws_autoscaling_group")


def _has_net_keys(values: Any) -> bool:
    if not isinstance(values, dict):
        return False
    for k, v in values.items():
        if k in _NET_KEYS and v not in (None, [], {}, ""):
            return True
        if isinstance(v, list) and any(isinstance(e, dict) and _has_net_keys(e) for e in v):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# building the document


@dataclass
class _Doc:
    """The snapshot document under construction, with id indexes."""

    b: _Builder
    data: Json

    def items(self, key: str) -> list[Json]:
        """The list under `key`, created empty if absent."""
        value = self.data.setdefault(key, [])
        if not isinstance(value, list):
            raise InputError(self.b.path, key, "a list in the --snapshot document", type(value).__name__)
        return value

    def find(self, key: str, idfield: str, ident: str) -> Json | None:
        """The item of `key` whose `idfield` is `ident`."""
        for item in self.items(key):
            if isinstance(item, dict) and item.get(idfield) == ident:
                return item
        return None

    def upsert(self, key: str, idfield: str, item: Json) -> Json:
        """Put `item` in place of the item with the same id, or append it."""
        lst = self.items(key)
        for i, old in enumerate(lst):
            if isinstance(old, dict) and old.get(idfield) == item[idfield]:
                lst[i] = item
                return item
        lst.append(item)
        return item

    def remove(self, key: str, idfield: str, ident: str) -> None:
        """Drop the item with this id, if present."""
        self.data[key] = [i for i in self.items(key) if not (isinstance(i, dict) and i.get(idfield) == ident)]

    def instances(self) -> Iterator[Json]:
        """Every instance of every reservation."""
        for res in self.items("Reservations"):
            yield from (res.get("Instances") or []) if isinstance(res, dict) else []


# the routing keys of a --snapshot that the converter reads and the snapshot reader may not (yet):
# key -> the list fields of each item that must hold objects
_BASE_ROUTING = {
    "RouteTables": ("Associations", "Routes", "PropagatingVgws"), "InternetGateways": ("Attachments",),
    "EgressOnlyInternetGateways": ("Attachments",), "NatGateways": ("NatGatewayAddresses",),
    "VpnGateways": ("VpcAttachments",), "VpcEndpoints": (), "TransitGatewayAttachments": (),
    "TransitGatewayVpcAttachments": (), "TransitGatewayRouteTables": ("Routes", "Associations"),
    "VpcPeeringConnections": (), "Reservations": ("Instances",),
}


def _check_base(b: _Builder) -> None:
    """The parts of the --snapshot that the converter reads: lists of objects, blamed on the snapshot."""
    if not b.base:
        return
    where = b.base_path or "--snapshot"
    for key, fields in _BASE_ROUTING.items():
        items = b.base.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError(where, key, "a list", type(items).__name__)
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(where, f"{key}[{i}]", "an object", type(item).__name__)
            for f in fields:
                value = item.get(f)
                if value is None:
                    continue
                if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
                    raise InputError(where, f"{key}[{i}].{f}", "a list of objects", type(value).__name__)


def build_document(b: _Builder) -> Json:
    """Turn the collected after-apply instances into the snapshot document."""
    _check_base(b)
    doc = _Doc(b, dict(b.base or {}))
    for key in ("Vpcs", "Subnets", "SecurityGroups", "NetworkAcls", "NetworkInterfaces",
                "ManagedPrefixLists", "Reservations", "VpcPeeringConnections"):
        doc.items(key)
    _drop_gone(b, doc)
    _vpcs(b, doc)
    _subnets(b, doc)
    _prefix_lists(b, doc)
    _security_groups(b, doc)
    _nacls(b, doc)
    _enis(b, doc)
    _peerings(b, doc)
    _routing(b, doc)
    _unmodelled(b)
    _fill_group_names(doc)
    if b.resolved_lists:
        shown = ", ".join(b.resolved_lists[:8]) + (" ..." if len(b.resolved_lists) > 8 else "")
        b.warn("lists of ids unknown until apply were resolved through configuration references "
               f"({shown}); a literal id written beside a reference in the same list is not in plan JSON "
               "and is not modelled")
    if not doc.data.get("Region"):
        region = (((b.plan.get("configuration") or {}).get("provider_config") or {}).get("aws") or {})
        value = ((region.get("expressions") or {}).get("region") or {}).get("constant_value")
        if isinstance(value, str):
            doc.data["Region"] = value
    doc.data[WARNINGS] = list(b.warnings)
    return doc.data


_GONE_KEYS = {
    "aws_vpc": ("Vpcs", "VpcId"), "aws_subnet": ("Subnets", "SubnetId"),
    "aws_security_group": ("SecurityGroups", "GroupId"), "aws_network_acl": ("NetworkAcls", "NetworkAclId"),
    "aws_network_interface": ("NetworkInterfaces", "NetworkInterfaceId"),
    "aws_ec2_managed_prefix_list": ("ManagedPrefixLists", "PrefixListId"),
    "aws_vpc_peering_connection": ("VpcPeeringConnections", "VpcPeeringConnectionId"),
    "aws_route_table": ("RouteTables", "RouteTableId"),
    "aws_internet_gateway": ("InternetGateways", "InternetGatewayId"),
    "aws_egress_only_internet_gateway": ("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId"),
    "aws_nat_gateway": ("NatGateways", "NatGatewayId"),
    "aws_vpn_gateway": ("VpnGateways", "VpnGatewayId"),
    "aws_vpc_endpoint": ("VpcEndpoints", "VpcEndpointId"),
    "aws_ec2_transit_gateway_vpc_attachment": ("TransitGatewayVpcAttachments", "TransitGatewayAttachmentId"),
    "aws_ec2_transit_gateway_route_table": ("TransitGatewayRouteTables", "TransitGatewayRouteTableId"),
}


def _drop_gone(b: _Builder, doc: _Doc) -> None:
    """Remove from the base document every resource the plan deletes or replaces."""
    for g in b.gone:
        ident = g.before.get("id")
        if not isinstance(ident, str):
            continue
        if g.type in _GONE_KEYS:
            key, idfield = _GONE_KEYS[g.type]
            doc.remove(key, idfield, ident)
        if g.type == "aws_ec2_transit_gateway_vpc_attachment":
            doc.remove("TransitGatewayAttachments", "TransitGatewayAttachmentId", ident)
        if g.type == "aws_route_table_association":
            for table in doc.items("RouteTables"):
                table["Associations"] = [a for a in table.get("Associations") or []
                                         if a.get("RouteTableAssociationId") != ident]
        if g.type == "aws_instance":
            for res in doc.items("Reservations"):
                res["Instances"] = [i for i in res.get("Instances") or [] if i.get("InstanceId") != ident]
            doc.data["NetworkInterfaces"] = [
                e for e in doc.items("NetworkInterfaces")
                if (e.get("Attachment") or {}).get("InstanceId") != ident
                or e.get("NetworkInterfaceId") != g.before.get("primary_network_interface_id")]
        if g.type in ("aws_db_instance", "aws_lb", "aws_alb", "aws_lambda_function"):
            for eni in _service_enis(doc, g.type, g.before):
                doc.remove("NetworkInterfaces", "NetworkInterfaceId", eni["NetworkInterfaceId"])


def _service_enis(doc: _Doc, rtype: str, values: Json) -> list[Json]:
    """Base ENIs that AWS created for this RDS instance, load balancer or Lambda function."""
    out = []
    groups = set(_strings(values.get("vpc_security_group_ids") or values.get("security_groups")))
    for cfg in values.get("vpc_config") or []:
        groups |= set(_strings((cfg or {}).get("security_group_ids")))
    for eni in doc.items("NetworkInterfaces"):
        desc = str(eni.get("Description") or "")
        eni_groups = {g.get("GroupId") for g in eni.get("Groups") or []}
        if rtype == "aws_db_instance":
            hit = desc == "RDSNetworkInterface" and bool(groups) and eni_groups == groups
        elif rtype in ("aws_lb", "aws_alb"):
            hit = bool(values.get("name")) and bool(re.match(rf"ELB \w+/{re.escape(str(values.get('name')))}/", desc))
        else:
            hit = desc.startswith(f"AWS Lambda VPC ENI-{values.get('function_name')}-")
        if hit:
            out.append(eni)
    return out


def _vpcs(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_vpc"):
        v = inst.values
        vid = b.ident(inst)
        cidr = v.get("cidr_block") if b.known(inst, "cidr_block") else None
        if not isinstance(cidr, str):
            raise InputError(b.path, inst.at("cidr_block"), "a VPC CIDR block known at plan time "
                             "(IPAM-allocated blocks are not supported)", cidr)
        item: Json = {"VpcId": vid, "CidrBlock": cidr, "State": "available", "IsDefault": False,
                      "CidrBlockAssociationSet": [{"CidrBlock": cidr, "CidrBlockState": {"State": "associated"}}],
                      "Tags": _tags(v), TF_ADDRESS: inst.address}
        ipv6 = v.get("ipv6_cidr_block") if b.known(inst, "ipv6_cidr_block") else None
        if ipv6:
            item["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": ipv6,
                                                    "Ipv6CidrBlockState": {"State": "associated"}}]
        elif v.get("assign_generated_ipv6_cidr_block"):
            b.warn(f"{inst.address}: the IPv6 block Amazon assigns at apply is unknown; IPv6 addresses in it "
                   "count as external to this VPC")
        old = doc.find("Vpcs", "VpcId", vid)
        if old:
            for k in ("OwnerId", "DhcpOptionsId"):
                if k in old:
                    item[k] = old[k]
        doc.upsert("Vpcs", "VpcId", item)
        # the default NACL and SG that AWS creates with the VPC, unless described elsewhere
        acl_id = b._vpc_default(inst, vid, "default_network_acl_id")
        if not doc.find("NetworkAcls", "NetworkAclId", acl_id):
            if not inst.created:
                b.warn(f"{inst.address}: its default network ACL {acl_id} is not in the plan or --snapshot; "
                       "assumed AWS's default entries (allow all)")
            doc.upsert("NetworkAcls", "NetworkAclId", {
                "NetworkAclId": acl_id, "VpcId": vid, "IsDefault": True, "Associations": [],
                "Entries": _default_nacl_entries(bool(ipv6 or v.get("assign_generated_ipv6_cidr_block")),
                                                 inst.address),
                "Tags": [], TF_ADDRESS: inst.address})
        sg_id = b._vpc_default(inst, vid, "default_security_group_id")
        if not doc.find("SecurityGroups", "GroupId", sg_id):
            if not inst.created:
                b.warn(f"{inst.address}: its default security group {sg_id} is not in the plan or --snapshot; "
                       "assumed AWS's default rules")
            egress = [_perm("-1", None, None, ["0.0.0.0/0"], ["::/0"] if ipv6 else [], [], [], inst.address)]
            doc.upsert("SecurityGroups", "GroupId", {
                "GroupId": sg_id, "GroupName": "default", "VpcId": vid,
                "Description": "default VPC security group",
                "IpPermissions": [_perm("-1", None, None, [], [], [], [sg_id], inst.address)],
                "IpPermissionsEgress": egress, "Tags": [], TF_ADDRESS: inst.address})


def _subnets(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_subnet"):
        v = inst.values
        cidr = v.get("cidr_block") if b.known(inst, "cidr_block") else None
        if not isinstance(cidr, str):
            raise InputError(b.path, inst.at("cidr_block"), "a subnet CIDR block known at plan time", cidr)
        vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        item: Json = {"SubnetId": b.ident(inst), "VpcId": vpc, "CidrBlock": cidr, "State": "available",
                      "MapPublicIpOnLaunch": v.get("map_public_ip_on_launch") is True,
                      "Tags": _tags(v), TF_ADDRESS: inst.address}
        if b.known(inst, "availability_zone") and v.get("availability_zone"):
            item["AvailabilityZone"] = v["availability_zone"]
        ipv6 = v.get("ipv6_cidr_block") if b.known(inst, "ipv6_cidr_block") else None
        if ipv6:
            item["Ipv6CidrBlockAssociationSet"] = [{"Ipv6CidrBlock": ipv6,
                                                    "Ipv6CidrBlockState": {"State": "associated"}}]
        doc.upsert("Subnets", "SubnetId", item)


def _prefix_lists(b: _Builder, doc: _Doc) -> None:
    entries_by_pl: dict[str, list[tuple[Inst, Json]]] = {}
    for inst in b.managed("aws_ec2_managed_prefix_list_entry"):
        pl = b.ids(inst, "prefix_list_id", "pl", single=True)[0]
        entries_by_pl.setdefault(pl, []).append(
            (inst, {"Cidr": inst.values.get("cidr"), "Description": inst.values.get("description") or ""}))
    gone_entries = {(str(g.before.get("prefix_list_id")), str(g.before.get("cidr")))
                    for g in b.gone if g.type == "aws_ec2_managed_prefix_list_entry"}
    for inst in b.managed("aws_ec2_managed_prefix_list"):
        pid = b.ident(inst)
        inline = "entry" in ((inst.config or {}).get("expressions") or {})
        standalone = entries_by_pl.get(pid, [])
        if inline and standalone:
            raise InputError(b.path, standalone[0][0].place,
                             f"prefix list entries either inline in {inst.address} or as "
                             "aws_ec2_managed_prefix_list_entry resources, not both",
                             f"{inst.address} and {standalone[0][0].address}")
        entries = [] if standalone else [{"Cidr": e.get("cidr"), "Description": e.get("description") or ""}
                                         for e in inst.values.get("entry") or []]
        if not inline and not standalone and not inst.created:
            entries = [{"Cidr": e.get("cidr"), "Description": e.get("description") or ""}
                       for e in inst.values.get("entry") or []]
        doc.upsert("ManagedPrefixLists", "PrefixListId", {
            "PrefixListId": pid, "PrefixListName": inst.values.get("name"),
            "AddressFamily": inst.values.get("address_family"), "MaxEntries": inst.values.get("max_entries"),
            "Entries": entries, "Tags": _tags(inst.values), TF_ADDRESS: inst.address})
    for pid, ents in entries_by_pl.items():
        pl_item = doc.find("ManagedPrefixLists", "PrefixListId", pid)
        if pl_item is None:
            raise InputError(b.path, ents[0][0].place, f"prefix list {pid} in the plan or --snapshot", "nothing")
        have = [e for e in pl_item.get("Entries") or []
                if (pid, str(e.get("Cidr"))) not in gone_entries and all(e.get("Cidr") != n["Cidr"] for _, n in ents)]
        pl_item["Entries"] = have + [n for _, n in ents]


def _standalone_sg_rules(b: _Builder) -> dict[str, list[tuple[Inst, str, Json]]]:
    """Standalone SG rules after apply, by target group id: (instance, direction, permission)."""
    out: dict[str, list[tuple[Inst, str, Json]]] = {}
    for inst in b.managed("aws_security_group_rule"):
        v = inst.values
        sg = b.ids(inst, "security_group_id", "sg", single=True)[0]
        direction = "egress" if v.get("type") == "egress" else "ingress"
        proto = _sg_proto(v.get("protocol"), b.path, inst.at("protocol"))
        groups = []
        if v.get("self"):
            groups.append(sg)
        if v.get("source_security_group_id") or not b.known(inst, "source_security_group_id"):
            # computed by the provider: unknown on create even when the configuration does not set it
            # (CIDR blocks, prefix lists and self exclude it)
            others = any(_strings(v.get(k)) or not b.known(inst, k)
                         for k in ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids")) or v.get("self") is True
            absent = b._config_expr(inst, "source_security_group_id", None) is None and (
                inst.config is not None or others)
            if not absent:
                groups += b.ids(inst, "source_security_group_id", "sg", single=True)
        pls = b.ids(inst, "prefix_list_ids", "pl")
        perm = _perm(proto, v.get("from_port"), v.get("to_port"), _strings(v.get("cidr_blocks")),
                     _strings(v.get("ipv6_cidr_blocks")), pls, groups, inst.address)
        if not _atoms(perm):
            raise InputError(b.path, inst.place, "one of cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, "
                             "self or source_security_group_id", "none")
        out.setdefault(sg, []).append((inst, direction, perm))
    for rtype, direction in (("aws_vpc_security_group_ingress_rule", "ingress"),
                             ("aws_vpc_security_group_egress_rule", "egress")):
        for inst in b.managed(rtype):
            v = inst.values
            sg = b.ids(inst, "security_group_id", "sg", single=True)[0]
            proto = _sg_proto(v.get("ip_protocol"), b.path, inst.at("ip_protocol"))
            groups = b.ids(inst, "referenced_security_group_id", "sg", single=True, required=False) \
                if (v.get("referenced_security_group_id") or not b.known(inst, "referenced_security_group_id")) else []
            pls = b.ids(inst, "prefix_list_id", "pl", single=True, required=False) \
                if (v.get("prefix_list_id") or not b.known(inst, "prefix_list_id")) else []
            perm = _perm(proto, v.get("from_port"), v.get("to_port"), _strings(v.get("cidr_ipv4")),
                         _strings(v.get("cidr_ipv6")), pls, groups, inst.address)
            if not _atoms(perm):
                raise InputError(b.path, inst.place, "one of cidr_ipv4, cidr_ipv6, prefix_list_id or "
                                 "referenced_security_group_id", "none")
            out.setdefault(sg, []).append((inst, direction, perm))
    return out


def _old_rule_atoms(b: _Builder) -> dict[tuple[str, str], set[tuple[Any, ...]]]:
    """Atoms of standalone rules as they were before the plan, by (group id, direction)."""
    out: dict[tuple[str, str], set[tuple[Any, ...]]] = {}
    olds: list[tuple[str, Json]] = [(g.type, g.before) for g in b.gone]
    olds += [(i.type, i.before) for i in b.insts.values() if i.before and i.mode == "managed"]
    for rtype, v in olds:
        if rtype == "aws_security_group_rule":
            direction = "egress" if v.get("type") == "egress" else "ingress"
            sg = str(v.get("security_group_id"))
            groups = ([sg] if v.get("self") else []) + _strings(v.get("source_security_group_id"))
            perm = _perm(_SG_PROTO.get(str(v.get("protocol")).lower(), str(v.get("protocol"))),
                         v.get("from_port"), v.get("to_port"), _strings(v.get("cidr_blocks")),
                         _strings(v.get("ipv6_cidr_blocks")), _strings(v.get("prefix_list_ids")), groups, None)
        elif rtype in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            direction = "egress" if rtype.endswith("egress_rule") else "ingress"
            sg = str(v.get("security_group_id"))
            perm = _perm(_SG_PROTO.get(str(v.get("ip_protocol")).lower(), str(v.get("ip_protocol"))),
                         v.get("from_port"), v.get("to_port"), _strings(v.get("cidr_ipv4")),
                         _strings(v.get("cidr_ipv6")), _strings(v.get("prefix_list_id")),
                         _strings(v.get("referenced_security_group_id")), None)
        else:
            continue
        out.setdefault((sg, direction), set()).update(_atoms(perm))
    return out


def _inline_perms(b: _Builder, inst: Inst, gid: str, key: str) -> list[Json]:
    """The inline ingress/egress blocks of a security group, one IpPermission per block."""
    unk = inst.unknown.get(key) if isinstance(inst.unknown, dict) else None
    if unk is True:
        raise UnsupportedFeature(b.path, inst.at(key),
                                 "inline rules known at plan time (a dynamic block over values known only "
                                 "after apply cannot be modelled)", "unknown")
    blocks = inst.values.get(key) or []
    unknown_groups = [i for i, u in enumerate(unk or []) if isinstance(u, dict) and u.get("security_groups") is True]
    if len(unknown_groups) > 1:
        raise UnsupportedFeature(b.path, inst.at(key),
                                 "at most one inline block whose security_groups are known only after apply "
                                 "(plan JSON does not say which block references which group; use "
                                 "aws_vpc_security_group_*_rule resources)",
                                 f"{len(unknown_groups)} such blocks")
    out = []
    for i, blk in enumerate(blocks):
        proto = _sg_proto(blk.get("protocol"), b.path, inst.at(f"{key}[{i}].protocol"))
        groups = _strings(blk.get("security_groups"))
        if i in unknown_groups:
            groups += b.ids(inst, "security_groups", "sg", block=(key, i))
        if blk.get("self"):
            groups.append(gid)
        out.append(_perm(proto, blk.get("from_port"), blk.get("to_port"), _strings(blk.get("cidr_blocks")),
                         _strings(blk.get("ipv6_cidr_blocks")), _strings(blk.get("prefix_list_ids")),
                         list(dict.fromkeys(groups)), inst.address))
    return out


def _inline_or_standalone(b: _Builder, inst: Inst, standalone: list[Any], noun: str, kind: str) -> Json:
    """The configuration expressions of a group or NACL, refusing inline blocks beside standalone rules
    (the provider makes the two overwrite each other)."""
    exprs: Json = (inst.config or {}).get("expressions") or {}
    if ("ingress" in exprs or "egress" in exprs) and standalone:
        first = standalone[0][0]
        raise InputError(b.path, first.place,
                         f"{noun} of {inst.address} either inline (ingress/egress blocks) or as {kind}, not both: "
                         "the provider makes them overwrite each other",
                         f"{inst.address} has inline {noun} and {first.address} adds one")
    return exprs


def _security_groups(b: _Builder, doc: _Doc) -> None:
    standalone = _standalone_sg_rules(b)
    old_atoms = _old_rule_atoms(b)
    managed: set[str] = set()
    for inst in b.managed("aws_security_group", "aws_default_security_group"):
        gid = b.ident(inst)
        managed.add(gid)
        v = inst.values
        rules = standalone.get(gid, [])
        exprs = _inline_or_standalone(b, inst, rules, "rules", "standalone rule resources")
        vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        is_default = inst.type == "aws_default_security_group"
        if is_default:
            name = "default"
        elif b.known(inst, "name") and v.get("name"):
            name = str(v["name"])
        else:
            name = f"{v.get('name_prefix') or 'terraform-'}{placeholder('', inst.address)[4:]}"
        item: Json = {"GroupId": gid, "GroupName": name, "VpcId": vpc,
                      "Description": v.get("description") or "", "Tags": _tags(v),
                      TF_ADDRESS: inst.address}
        old = doc.find("SecurityGroups", "GroupId", gid)
        if old and "OwnerId" in old:
            item["OwnerId"] = old["OwnerId"]
        for key, direction in (("IpPermissions", "ingress"), ("IpPermissionsEgress", "egress")):
            if direction in exprs:
                item[key] = _inline_perms(b, inst, gid, direction)
                continue
            existing: list[Json] = []
            if b.known(inst, direction) and not (is_default and not rules):
                # planned dynamic blocks, or the refreshed rules of a group without inline blocks
                existing = _inline_perms(b, inst, gid, direction)
            elif not inst.created and not is_default and old is not None:
                existing = list(old.get(key) or [])
            # otherwise none: the provider revokes AWS's default allow-all egress (and a default group's rules)
            item[key] = _merge_rules(b, gid, direction, existing, rules, old_atoms)
        doc.upsert("SecurityGroups", "GroupId", item)
    for gid, rules in standalone.items():
        if gid in managed:
            continue
        sg = doc.find("SecurityGroups", "GroupId", gid)
        if sg is None:
            raise InputError(b.path, rules[0][0].place,
                             f"security group {gid} in the plan or --snapshot (the rule's target)", "nothing")
        for key, direction in (("IpPermissions", "ingress"), ("IpPermissionsEgress", "egress")):
            sg[key] = _merge_rules(b, gid, direction, list(sg.get(key) or []), rules, old_atoms)


def _merge_rules(b: _Builder, gid: str, direction: str, existing: list[Json],
                 rules: list[tuple[Inst, str, Json]], old_atoms: dict[tuple[str, str], set[tuple[Any, ...]]]) -> list[Json]:
    """Rules of a group without inline rules: live ones minus those the plan changes, plus the plan's."""
    new = [perm for _inst, d, perm in rules if d == direction]
    drop = set(old_atoms.get((gid, direction), set()))
    for perm in new:
        drop |= _atoms(perm)
    kept: list[Json] = []
    for perm in existing:
        atoms = _atoms(perm)
        if atoms and atoms <= drop:
            continue
        if atoms & drop:
            kept += [_perm_from_atom(a, perm.get(TF_ADDRESS)) for a in sorted(atoms - drop, key=str)]
        else:
            kept.append(perm)
    return kept + new


def _nacls(b: _Builder, doc: _Doc) -> None:
    standalone: dict[str, list[tuple[Inst, Json]]] = {}
    for inst in b.managed("aws_network_acl_rule"):
        v = inst.values
        acl = b.ids(inst, "network_acl_id", "acl", single=True)[0]
        proto = _nacl_proto(v.get("protocol"), b.path, inst.at("protocol"))
        standalone.setdefault(acl, []).append((inst, _nacl_entry(
            v.get("rule_number"), proto, v.get("rule_action"), bool(v.get("egress")), v.get("cidr_block"),
            v.get("ipv6_cidr_block"), v.get("from_port"), v.get("to_port"), v.get("icmp_type"),
            v.get("icmp_code"), inst.address)))
    old_keys: dict[str, set[tuple[bool, int]]] = {}
    for v in [g.before for g in b.gone if g.type == "aws_network_acl_rule"] + \
             [i.before for i in b.managed("aws_network_acl_rule") if i.before]:
        old_keys.setdefault(str(v.get("network_acl_id")), set()).add((bool(v.get("egress")), int(v.get("rule_number") or 0)))
    assoc: dict[str, tuple[str, str]] = {}  # subnet -> (acl, address that says so)

    def associate(subnet: str, acl: str, address: str, place: str) -> None:
        prev = assoc.get(subnet)
        if prev and prev[0] != acl:
            raise InputError(b.path, place, f"subnet {subnet} associated with one network ACL",
                             f"{prev[1]} and {address} both associate it")
        assoc[subnet] = (acl, address)

    managed: set[str] = set()
    for inst in b.managed("aws_network_acl", "aws_default_network_acl"):
        aid = b.ident(inst)
        managed.add(aid)
        v = inst.values
        rules = standalone.get(aid, [])
        exprs = _inline_or_standalone(b, inst, rules, "entries", "aws_network_acl_rule resources")
        is_default = inst.type == "aws_default_network_acl"
        if is_default:
            vpc = b.ids(inst, "vpc_id", "vpc", single=True, required=False)
            vpc_id = vpc[0] if vpc else _vpc_of_default_acl(b, doc, aid, inst)
        else:
            vpc_id = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        old = doc.find("NetworkAcls", "NetworkAclId", aid)
        entries = []
        drop = old_keys.get(aid, set()) | {(e["Egress"], e["RuleNumber"]) for _i, e in rules}
        for key, egress in (("ingress", False), ("egress", True)):
            if key in exprs:
                entries += _inline_nacl(b, inst, key, egress)
                continue
            existing: list[Json] = []
            if b.known(inst, key) and not (is_default and not rules):
                existing = _inline_nacl(b, inst, key, egress)  # dynamic blocks, or refreshed entries
            elif not inst.created and not is_default and old is not None:
                existing = [e for e in old.get("Entries") or []
                            if bool(e.get("Egress")) == egress and int(e.get("RuleNumber", 0)) < 32767]
            entries += [e for e in existing if (bool(e.get("Egress")), int(e.get("RuleNumber", 0))) not in drop]
            entries += [e for _i, e in rules if e["Egress"] == egress]
        entries = sorted(entries, key=lambda e: (e["Egress"], e["RuleNumber"])) + _star_denies()
        doc.upsert("NetworkAcls", "NetworkAclId", {
            "NetworkAclId": aid, "VpcId": vpc_id, "IsDefault": is_default, "Entries": entries,
            "Associations": [], "Tags": _tags(v), TF_ADDRESS: inst.address})
        if "subnet_ids" in exprs or (v.get("subnet_ids") and b.known(inst, "subnet_ids")):
            for subnet in b.ids(inst, "subnet_ids", "subnet"):
                associate(subnet, aid, inst.address, inst.place)
    for inst in b.managed("aws_network_acl_association"):
        acl = b.ids(inst, "network_acl_id", "acl", single=True)[0]
        subnet = b.ids(inst, "subnet_id", "subnet", single=True)[0]
        associate(subnet, acl, inst.address, inst.place)
    for aid, rules in standalone.items():
        if aid in managed:
            continue
        acl_item = doc.find("NetworkAcls", "NetworkAclId", aid)
        if acl_item is None:
            raise InputError(b.path, rules[0][0].place, f"network ACL {aid} in the plan or --snapshot", "nothing")
        drop = old_keys.get(aid, set()) | {(e["Egress"], e["RuleNumber"]) for _i, e in rules}
        kept = [e for e in acl_item.get("Entries") or []
                if (bool(e.get("Egress")), int(e.get("RuleNumber", 0))) not in drop]
        acl_item["Entries"] = sorted(kept + [e for _i, e in rules],
                                     key=lambda e: (bool(e.get("Egress")), int(e.get("RuleNumber", 0))))
    # final associations: the plan's, then the base's (unless the plan manages that ACL), then the default
    for acl_item in doc.items("NetworkAcls"):
        if acl_item.get("NetworkAclId") in managed:
            continue
        for a in acl_item.get("Associations") or []:
            subnet = a.get("SubnetId")
            if subnet and subnet not in assoc:
                assoc[subnet] = (str(acl_item.get("NetworkAclId")), "--snapshot")
    defaults = {str(a.get("VpcId")): str(a.get("NetworkAclId")) for a in doc.items("NetworkAcls") if a.get("IsDefault")}
    for sub_item in doc.items("Subnets"):
        sid = str(sub_item.get("SubnetId"))
        if sid not in assoc and str(sub_item.get("VpcId")) in defaults:
            assoc[sid] = (defaults[str(sub_item.get("VpcId"))], "default")
    by_acl: dict[str, list[str]] = {}
    for subnet, (acl, _why) in sorted(assoc.items()):
        by_acl.setdefault(acl, []).append(subnet)
    for acl_item in doc.items("NetworkAcls"):
        aid = str(acl_item.get("NetworkAclId"))
        acl_item["Associations"] = [
            {"NetworkAclAssociationId": placeholder("aclassoc", aid, s), "NetworkAclId": aid, "SubnetId": s}
            for s in by_acl.get(aid, [])]


def _vpc_of_default_acl(b: _Builder, doc: _Doc, aid: str, inst: Inst) -> str:
    for vpc in b.managed("aws_vpc"):
        if b._vpc_default(vpc, b.ident(vpc), "default_network_acl_id") == aid:
            return b.ident(vpc)
    old = doc.find("NetworkAcls", "NetworkAclId", aid)
    if old and old.get("VpcId"):
        return str(old["VpcId"])
    raise InputError(b.path, inst.place, "default_network_acl_id of a VPC in the plan or --snapshot", aid)


def _inline_nacl(b: _Builder, inst: Inst, key: str, egress: bool) -> list[Json]:
    unk = inst.unknown.get(key) if isinstance(inst.unknown, dict) else None
    if unk is True:
        raise UnsupportedFeature(b.path, inst.at(key), "inline NACL entries known at plan time", "unknown")
    out = []
    for i, e in enumerate(inst.values.get(key) or []):
        proto = _nacl_proto(e.get("protocol"), b.path, inst.at(f"{key}[{i}].protocol"))
        out.append(_nacl_entry(e.get("rule_no"), proto, e.get("action"), egress, e.get("cidr_block"),
                               e.get("ipv6_cidr_block"), e.get("from_port"), e.get("to_port"),
                               e.get("icmp_type"), e.get("icmp_code"), inst.address))
    return out


# ---------------------------------------------------------------- ENIs


def _subnet_item(b: _Builder, doc: _Doc, sid: str, place: str) -> Json:
    item = doc.find("Subnets", "SubnetId", sid)
    if item is None:
        raise InputError(b.path, place, f"subnet {sid} in the plan or --snapshot", "nothing")
    return item


def _default_sg(b: _Builder, doc: _Doc, vpc_id: str) -> str:
    for vpc in b.managed("aws_vpc"):
        if b.ident(vpc) == vpc_id:
            return b._vpc_default(vpc, vpc_id, "default_security_group_id")
    for sg in doc.items("SecurityGroups"):
        if sg.get("VpcId") == vpc_id and sg.get("GroupName") == "default":
            return str(sg["GroupId"])
    raise InputError(b.path, None, f"the default security group of {vpc_id} in the plan or --snapshot", "nothing")


def _eni(b: _Builder, doc: _Doc, eni_id: str, subnet_id: str, groups: list[str], place: str, address: str,
         private: list[str] | None, *, ipv6: Iterable[str] = (), interface_type: str = "interface",
         requester: bool = False, description: str = "", instance: str | None = None,
         tags: list[Json] | None = None, public_ip: str | None = None) -> Json:
    """An ENI item; `private=None` means its primary private IPv4 is known only after apply."""
    subnet = _subnet_item(b, doc, subnet_id, place)
    item: Json = {"NetworkInterfaceId": eni_id, "SubnetId": subnet_id, "VpcId": subnet.get("VpcId"),
                  "Groups": [{"GroupId": g} for g in dict.fromkeys(groups)], "InterfaceType": interface_type,
                  "RequesterManaged": requester, "Description": description, "Status": "in-use",
                  "Ipv6Addresses": [{"Ipv6Address": a} for a in ipv6], "Ipv4Prefixes": [], "Ipv6Prefixes": [],
                  "TagSet": tags or [], TF_ADDRESS: address}
    if subnet.get("AvailabilityZone"):
        item["AvailabilityZone"] = subnet["AvailabilityZone"]
    if private:
        item["PrivateIpAddress"] = private[0]
        item["PrivateIpAddresses"] = [{"PrivateIpAddress": a, "Primary": i == 0} for i, a in enumerate(private)]
    else:
        cidr = subnet.get("CidrBlock")
        if not isinstance(cidr, str):
            raise InputError(b.path, place, f"a CIDR block for subnet {subnet_id}", cidr)
        item[UNKNOWN_PRIVATE_IPV4] = cidr
        item["PrivateIpAddresses"] = []
    if public_ip:
        item["Association"] = {"PublicIp": public_ip}
        if item["PrivateIpAddresses"]:
            item["PrivateIpAddresses"][0]["Association"] = {"PublicIp": public_ip}
    if instance:
        item["Attachment"] = {"InstanceId": instance, "DeviceIndex": 0, "Status": "attached"}
    old = doc.find("NetworkInterfaces", "NetworkInterfaceId", eni_id)
    if old and not public_ip and old.get("Association"):
        item["Association"] = old["Association"]
    return doc.upsert("NetworkInterfaces", "NetworkInterfaceId", item)


def _known_list(b: _Builder, inst: Inst, *keys: str) -> list[str] | None:
    """The first of these attributes that is known and non-empty, or None if all are unknown/empty."""
    for key in keys:
        if b.known(inst, key) and _strings(inst.values.get(key)):
            return _strings(inst.values.get(key))
    return None


def _enis(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_network_interface"):
        v = inst.values
        subnet = b.ids(inst, "subnet_id", "subnet", single=True)[0]
        groups = b.ids(inst, "security_groups", "sg")
        if not groups:
            groups = [_default_sg(b, doc, str(_subnet_item(b, doc, subnet, inst.place).get("VpcId")))]
        private = _known_list(b, inst, "private_ip_list", "private_ips")
        primary = v.get("private_ip") if b.known(inst, "private_ip") and v.get("private_ip") else None
        if primary and private and primary in private:
            private = [primary] + [a for a in private if a != primary]
        elif primary:
            private = [primary] + (private or [])
        attach = (v.get("attachment") or [{}])[0] if b.known(inst, "attachment") else {}
        ipv6 = _known_list(b, inst, "ipv6_address_list", "ipv6_addresses") or []
        if not ipv6 and not b.known(inst, "ipv6_addresses") and _int(v.get("ipv6_address_count"), 0) > 0:
            b.warn(f"{inst.address}: its IPv6 addresses are assigned at apply and are not modelled")
        _eni(b, doc, b.ident(inst), subnet, groups, inst.place, inst.address, private, ipv6=ipv6,
             description=v.get("description") or "", instance=(attach or {}).get("instance"), tags=_tags(v))
    reservations: list[Json] = []
    for inst in b.managed("aws_instance"):
        reservations.append(_instance(b, doc, inst))
    if reservations:
        ids = {i["InstanceId"] for r in reservations for i in r["Instances"]}
        for res in doc.items("Reservations"):
            res["Instances"] = [i for i in res.get("Instances") or [] if i.get("InstanceId") not in ids]
        doc.data["Reservations"] = [r for r in doc.items("Reservations") if r.get("Instances")] + reservations
    for inst in b.managed("aws_network_interface_attachment"):
        eni = _find_eni(b, doc, inst, "network_interface_id")
        eni["Attachment"] = {"InstanceId": b.ids(inst, "instance_id", "instance", single=True)[0],
                             "DeviceIndex": _int(inst.values.get("device_index"), 1), "Status": "attached"}
    for inst in b.managed("aws_network_interface_sg_attachment"):
        eni = _find_eni(b, doc, inst, "network_interface_id")
        sg = b.ids(inst, "security_group_id", "sg", single=True)[0]
        if all(g.get("GroupId") != sg for g in eni.get("Groups") or []):
            eni.setdefault("Groups", []).append({"GroupId": sg})
    for inst in b.managed("aws_db_instance"):
        _rds(b, doc, inst)
    for inst in b.managed("aws_lb", "aws_alb"):
        _lb(b, doc, inst)
    for inst in b.managed("aws_lambda_function"):
        _lambda(b, doc, inst)


def _find_eni(b: _Builder, doc: _Doc, inst: Inst, key: str) -> Json:
    eni_id = b.ids(inst, key, "eni", single=True)[0]
    eni = doc.find("NetworkInterfaces", "NetworkInterfaceId", eni_id)
    if eni is None:
        raise InputError(b.path, inst.place, f"network interface {eni_id} in the plan or --snapshot", "nothing")
    return eni


def _instance(b: _Builder, doc: _Doc, inst: Inst) -> Json:
    v = inst.values
    iid = b.ident(inst)
    attached = [i for i, _n in enumerate(v.get("network_interface") or [])]
    item: Json = {"InstanceId": iid, "Tags": _tags(v), "State": {"Name": "running"},
                  TF_ADDRESS: inst.address}
    if attached:
        for i in attached:
            eni = b.ids(inst, "network_interface_id", "eni", single=True, block=("network_interface", i))[0]
            found = doc.find("NetworkInterfaces", "NetworkInterfaceId", eni)
            if found is None:
                raise InputError(b.path, inst.place, f"network interface {eni} in the plan or --snapshot", "nothing")
            found["Attachment"] = {"InstanceId": iid, "Status": "attached",
                                   "DeviceIndex": (v.get("network_interface") or [])[i].get("device_index", 0)}
            if (v.get("network_interface") or [])[i].get("device_index", 0) == 0:
                item.update(SubnetId=found.get("SubnetId"), VpcId=found.get("VpcId"))
                if found.get("PrivateIpAddress"):
                    item["PrivateIpAddress"] = found["PrivateIpAddress"]
    else:
        subnet = b.ids(inst, "subnet_id", "subnet", single=True)[0]
        vpc = str(_subnet_item(b, doc, subnet, inst.place).get("VpcId"))
        groups = b.ids(inst, "vpc_security_group_ids", "sg")
        if not groups and _known_list(b, inst, "security_groups"):
            names = set(_strings(v.get("security_groups")))
            groups = [str(g["GroupId"]) for g in doc.items("SecurityGroups")
                      if g.get("VpcId") == vpc and g.get("GroupName") in names]
        if not groups:
            groups = [_default_sg(b, doc, vpc)]
        primary = v.get("private_ip") if b.known(inst, "private_ip") and v.get("private_ip") else None
        secondary = _strings(v.get("secondary_private_ips")) if b.known(inst, "secondary_private_ips") else []
        if primary is None and secondary:
            raise UnsupportedFeature(b.path, inst.at("private_ip"),
                                     "a known private_ip when secondary_private_ips are set", "unknown")
        private = [primary, *secondary] if primary else None
        ipv6 = _strings(v.get("ipv6_addresses")) if b.known(inst, "ipv6_addresses") else []
        if not b.known(inst, "ipv6_addresses") and _int(v.get("ipv6_address_count"), 0) > 0:
            b.warn(f"{inst.address}: its IPv6 addresses are assigned at apply and are not modelled")
        public = v.get("public_ip") if b.known(inst, "public_ip") and v.get("public_ip") else None
        associate = v.get("associate_public_ip_address") if b.known(inst, "associate_public_ip_address") else None
        if associate is None:  # the subnet decides
            associate = _subnet_item(b, doc, subnet, inst.place).get("MapPublicIpOnLaunch") is True
        if public is None and associate is True and not b.known(inst, "public_ip"):
            public = _public_ip(b, inst)
        eni_id = b._instance_primary_eni(inst)
        _eni(b, doc, eni_id, subnet, groups, inst.place, inst.address, private, ipv6=ipv6,
             instance=iid, tags=[], public_ip=public)
        item.update(SubnetId=subnet, VpcId=vpc)
        if primary:
            item["PrivateIpAddress"] = primary
        item["SecurityGroups"] = [{"GroupId": g} for g in groups]
    return {"ReservationId": placeholder("r", inst.address), "Instances": [item]}


def _service(b: _Builder, doc: _Doc, inst: Inst, subnets: list[str], groups: list[str], *,
             interface_type: str, description: str, privates: dict[str, str] | None = None,
             public: bool = False) -> None:
    """One requester-managed ENI per subnet for an RDS instance, load balancer or Lambda function."""
    live = _service_enis(doc, inst.type, inst.values) if inst.action in ("no-op", "state", "forget") else []
    if live and b.base:
        return  # the --snapshot describes the ENIs AWS made for it
    for old in _service_enis(doc, inst.type, inst.before or inst.values):
        doc.remove("NetworkInterfaces", "NetworkInterfaceId", old["NetworkInterfaceId"])
    for subnet in subnets:
        ip = (privates or {}).get(subnet)
        eni = _eni(b, doc, placeholder("eni", inst.address, subnet), subnet, groups, inst.place, inst.address,
                   [ip] if ip else None, interface_type=interface_type, requester=True, description=description)
        if public:  # an internet-facing load balancer: AWS gives each of its ENIs a public IPv4
            _set_public(b, doc, eni, _public_ip(b, inst, "", subnet), ip, {})


def _rds(b: _Builder, doc: _Doc, inst: Inst) -> None:
    v = inst.values
    group_names = b.ids(inst, "db_subnet_group_name", "dbsubnet", single=True, required=False)
    if not group_names:
        b.warn(f"{inst.address}: no db_subnet_group_name; RDS places it in the default VPC, which is not modelled")
        return
    sgi = [g for g in b.managed("aws_db_subnet_group")
           if b.value_of(g, "name", "dbsubnet") == group_names[0] or b.ident(g) == group_names[0]]
    if not sgi:
        b.warn(f"{inst.address}: DB subnet group {group_names[0]!r} is not in the plan; its ENIs are not "
               "modelled unless the --snapshot describes them")
        return
    subnets = b.ids(sgi[0], "subnet_ids", "subnet")
    groups = b.ids(inst, "vpc_security_group_ids", "sg")
    if not groups:
        groups = [_default_sg(b, doc, str(_subnet_item(b, doc, subnets[0], inst.place).get("VpcId")))]
    # RDS picks the subnet at apply: one candidate ENI per subnet of the group covers every placement
    _service(b, doc, inst, subnets, groups, interface_type="interface", description="RDSNetworkInterface")
    if v.get("publicly_accessible"):
        b.warn(f"{inst.address}: publicly_accessible; its public address is assigned at apply and not modelled")


def _lb(b: _Builder, doc: _Doc, inst: Inst) -> None:
    v = inst.values
    kind = str(v.get("load_balancer_type") or "application")
    subnets = b.ids(inst, "subnets", "subnet")
    privates: dict[str, str] = {}
    for i, m in enumerate(v.get("subnet_mapping") or []):
        sid = b.ids(inst, "subnet_id", "subnet", single=True, block=("subnet_mapping", i))[0]
        subnets.append(sid)
        if m.get("private_ipv4_address"):
            privates[sid] = m["private_ipv4_address"]
    subnets = list(dict.fromkeys(subnets))
    groups = b.ids(inst, "security_groups", "sg")
    if not groups and kind == "application" and subnets:
        groups = [_default_sg(b, doc, str(_subnet_item(b, doc, subnets[0], inst.place).get("VpcId")))]
    short = {"application": "app", "network": "net", "gateway": "gwy"}.get(kind, kind)
    itype = {"application": "interface", "network": "network_load_balancer",
             "gateway": "gateway_load_balancer"}.get(kind, "interface")
    name = v.get("name") or inst.name
    _service(b, doc, inst, subnets, groups, interface_type=itype, public=v.get("internal") is not True,
             description=f"ELB {short}/{name}/{placeholder('', inst.address)[4:]}", privates=privates)


def _lambda(b: _Builder, doc: _Doc, inst: Inst) -> None:
    v = inst.values
    configs = v.get("vpc_config") or []
    if not configs:
        return
    subnets = b.ids(inst, "subnet_ids", "subnet", block=("vpc_config", 0))
    groups = b.ids(inst, "security_group_ids", "sg", block=("vpc_config", 0))
    if not subnets:
        return
    _service(b, doc, inst, subnets, groups, interface_type="lambda",
             description=f"AWS Lambda VPC ENI-{v.get('function_name')}-{placeholder('', inst.address)[4:]}")


def _peerings(b: _Builder, doc: _Doc) -> None:
    accepted = set()
    for acc in b.managed("aws_vpc_peering_connection_accepter"):
        accepted |= set(b.ids(acc, "vpc_peering_connection_id", "pcx", single=True))
    for inst in b.managed("aws_vpc_peering_connection"):
        v = inst.values
        pid = b.ident(inst)
        req = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        peer = b.ids(inst, "peer_vpc_id", "vpc", single=True)[0]

        def info(vpc_id: str) -> Json:
            item = doc.find("Vpcs", "VpcId", vpc_id) or {}
            out: Json = {"VpcId": vpc_id}
            if item.get("CidrBlock"):
                out["CidrBlock"] = item["CidrBlock"]
                out["CidrBlockSet"] = [{"CidrBlock": c.get("CidrBlock")} for c in item.get("CidrBlockAssociationSet") or []]
            return out

        active = bool(v.get("auto_accept")) or pid in accepted or v.get("accept_status") == "active"
        doc.upsert("VpcPeeringConnections", "VpcPeeringConnectionId", {
            "VpcPeeringConnectionId": pid, "RequesterVpcInfo": info(req), "AccepterVpcInfo": info(peer),
            "Status": {"Code": "active" if active else "pending-acceptance"}, "Tags": _tags(v),
            TF_ADDRESS: inst.address})


# ---------------------------------------------------------------- routing (contract 4.5)

# route block / aws_route attribute -> the describe-API target field
_ROUTE_TARGETS = (
    ("gateway_id", "GatewayId", "gw"), ("vpc_endpoint_id", "GatewayId", "vpce"),
    ("nat_gateway_id", "NatGatewayId", "nat"), ("egress_only_gateway_id", "EgressOnlyInternetGatewayId", "eigw"),
    ("transit_gateway_id", "TransitGatewayId", "tgw"),
    ("vpc_peering_connection_id", "VpcPeeringConnectionId", "pcx"),
    ("network_interface_id", "NetworkInterfaceId", "eni"), ("carrier_gateway_id", "CarrierGatewayId", "cagw"),
    ("core_network_arn", "CoreNetworkArn", "arn"), ("local_gateway_id", "LocalGatewayId", "lgw"),
)
_ROUTE_DESTS = (("cidr_block", "DestinationCidrBlock"), ("ipv6_cidr_block", "DestinationIpv6CidrBlock"),
                ("destination_prefix_list_id", "DestinationPrefixListId"))
_ATTACHED = "attached"


def _route(b: _Builder, inst: Inst, values: Json, block: tuple[str, int] | None, dest_keys: tuple[tuple[str, str], ...],
           where: str) -> Json:
    """One route in describe-API shape from a route block or an aws_route."""
    route: Json = {"Origin": "CreateRoute", "State": "active", TF_ADDRESS: inst.address}
    for key, dest in dest_keys:
        value = values.get(key)
        if isinstance(value, str) and value:
            if dest != "DestinationPrefixListId":
                _network(value, f"{where}.{key} ({inst.address})", b.path)
            route[dest] = value
    if not any(f in route for _k, f in dest_keys):
        raise UnsupportedFeature(b.path, f"{where} ({inst.address})",
                                 "a route destination known at plan time (cidr_block, ipv6_cidr_block or a prefix list)",
                                 "none")
    for key, target, kind in _ROUTE_TARGETS:
        value = values.get(key)
        known = _strings(value)
        if block is None:
            unknown = not b.known(inst, key)
        else:
            ub = inst.unknown.get(block[0]) if isinstance(inst.unknown, dict) else None
            el = ub[block[1]] if isinstance(ub, list) and block[1] < len(ub) else {}
            unknown = ub is True or (isinstance(el, dict) and el.get(key) is True)
        if known:
            route[target] = known[0]
        elif unknown:
            if block is not None and b._config_expr(inst, key, block) is None and key != "gateway_id":
                continue
            found = b.ids(inst, key, kind, single=True, block=block, required=False)
            if found:
                route[target] = found[0]
    targets = [f for _k, f, _kind in _ROUTE_TARGETS if f in route]
    if not targets:
        raise InputError(b.path, f"{where} ({inst.address})", "a route target (gateway, NAT gateway, peering, ...) "
                         "known at plan time or referenced through configuration", "none")
    return route


def _local_routes(vpc: Json) -> list[Json]:
    """The local routes AWS puts in every table of a VPC: one per CIDR block."""
    out = []
    blocks = [a.get("CidrBlock") for a in vpc.get("CidrBlockAssociationSet") or [] if isinstance(a, dict)]
    for cidr in dict.fromkeys([vpc.get("CidrBlock"), *blocks]):
        if isinstance(cidr, str):
            out.append({"DestinationCidrBlock": cidr, "GatewayId": "local", "Origin": "CreateRouteTable",
                        "State": "active"})
    for a in vpc.get("Ipv6CidrBlockAssociationSet") or []:
        if isinstance(a, dict) and isinstance(a.get("Ipv6CidrBlock"), str):
            out.append({"DestinationIpv6CidrBlock": a["Ipv6CidrBlock"], "GatewayId": "local",
                        "Origin": "CreateRouteTable", "State": "active"})
    return out


def _route_key(route: Json) -> tuple[Any, ...]:
    return (route.get("DestinationCidrBlock"), route.get("DestinationIpv6CidrBlock"),
            route.get("DestinationPrefixListId"))


def _table(doc: _Doc, rid: str, vpc_id: str, address: str | None, tags: list[Json] | None = None) -> Json:
    """The route table `rid` of the document, created with the VPC's local routes if absent."""
    table = doc.find("RouteTables", "RouteTableId", rid)
    if table is None:
        vpc = doc.find("Vpcs", "VpcId", vpc_id) or {}
        table = {"RouteTableId": rid, "VpcId": vpc_id, "Associations": [], "Routes": _local_routes(vpc),
                 "PropagatingVgws": [], "Tags": tags or []}
        if address:
            table[TF_ADDRESS] = address
        doc.items("RouteTables").append(table)
    return table


def _routing(b: _Builder, doc: _Doc) -> None:
    """Route tables, routes, associations and gateways after apply."""
    had_routes = bool((b.base or {}).get("RouteTables"))
    doc.items("RouteTables")
    unknown_main: list[str] = []
    # the main table AWS creates with each VPC
    for inst in b.managed("aws_vpc"):
        vid = b.ident(inst)
        main = b._vpc_default(inst, vid, "main_route_table_id")
        live_main = any(t.get("VpcId") == vid and any(isinstance(a, dict) and a.get("Main") is True
                                                      for a in t.get("Associations") or [])
                        for t in doc.items("RouteTables"))
        if doc.find("RouteTables", "RouteTableId", main) is None and not (live_main and not inst.created):
            if not inst.created and not b.managed("aws_default_route_table"):
                unknown_main.append(vid)
            main_table = _table(doc, main, vid, inst.address)
            main_table["Associations"] = [_assoc(main, None, inst.address, main=True)]
    for inst in b.managed("aws_default_route_table"):
        rid = b.ids(inst, "default_route_table_id", "rtb", single=True)[0]
        vpc_id = _vpc_of_table(b, doc, rid, inst)
        table = _table(doc, rid, vpc_id, inst.address)
        vpc = doc.find("Vpcs", "VpcId", vpc_id) or {}
        table["Routes"] = _local_routes(vpc) + [
            _route(b, inst, blk, ("route", i), _ROUTE_DESTS, f"{inst.vplace}.route[{i}]")
            for i, blk in enumerate(inst.values.get("route") or [])]
        table["PropagatingVgws"] = [{"GatewayId": g} for g in _strings(inst.values.get("propagating_vgws"))]
        table["Tags"] = _tags(inst.values)
        table[TF_ADDRESS] = inst.address
        if not any(a.get("Main") for a in table.get("Associations") or []):
            table["Associations"] = [*table.get("Associations", []), _assoc(rid, None, inst.address, main=True)]
        unknown_main = [v for v in unknown_main if v != vpc_id]
    standalone: dict[str, list[tuple[Inst, Json]]] = {}
    for inst in b.managed("aws_route"):
        rid = b.ids(inst, "route_table_id", "rtb", single=True)[0]
        dests = (("destination_cidr_block", "DestinationCidrBlock"),
                 ("destination_ipv6_cidr_block", "DestinationIpv6CidrBlock"),
                 ("destination_prefix_list_id", "DestinationPrefixListId"))
        standalone.setdefault(rid, []).append((inst, _route(b, inst, inst.values, None, dests, inst.vplace)))
    old_routes: dict[str, set[tuple[Any, ...]]] = {}
    for v in [g.before for g in b.gone if g.type == "aws_route"] + [i.before for i in b.managed("aws_route") if i.before]:
        old_routes.setdefault(str(v.get("route_table_id")), set()).add(
            (v.get("destination_cidr_block") or None, v.get("destination_ipv6_cidr_block") or None,
             v.get("destination_prefix_list_id") or None))
    for inst in b.managed("aws_route_table"):
        rid = b.ident(inst)
        vpc_id = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        rules = standalone.get(rid, [])
        exprs = (inst.config or {}).get("expressions") or {}
        if "route" in exprs and rules:
            raise InputError(b.path, rules[0][0].place,
                             f"routes of {inst.address} either inline (route blocks) or as aws_route resources, not "
                             "both: the provider makes them overwrite each other",
                             f"{inst.address} has inline routes and {rules[0][0].address} adds one")
        old = doc.find("RouteTables", "RouteTableId", rid)
        vpc_item = doc.find("Vpcs", "VpcId", vpc_id) or {}
        if "route" in exprs or b.known(inst, "route"):
            routes = [_route(b, inst, blk, ("route", i), _ROUTE_DESTS, f"{inst.vplace}.route[{i}]")
                      for i, blk in enumerate(inst.values.get("route") or [])]
        elif old is not None and not inst.created:
            routes = [r for r in old.get("Routes") or [] if r.get("GatewayId") != "local"
                      and r.get("Origin") != "EnableVgwRoutePropagation"]
        else:
            routes = []
        table = {"RouteTableId": rid, "VpcId": vpc_id, "Associations": [], "Routes": _local_routes(vpc_item) + routes,
                 "PropagatingVgws": [{"GatewayId": g} for g in _strings(inst.values.get("propagating_vgws"))],
                 "Tags": _tags(inst.values), TF_ADDRESS: inst.address}
        if old is not None:
            table["Associations"] = list(old.get("Associations") or [])
            if "OwnerId" in old:
                table["OwnerId"] = old["OwnerId"]
        doc.upsert("RouteTables", "RouteTableId", table)
    for rid, rules in standalone.items():
        target_table = doc.find("RouteTables", "RouteTableId", rid)
        if target_table is None:
            raise InputError(b.path, rules[0][0].place, f"route table {rid} in the plan or --snapshot", "nothing")
        drop = old_routes.get(rid, set()) | {_route_key(r) for _i, r in rules}
        target_table["Routes"] = [r for r in target_table.get("Routes") or [] if _route_key(r) not in drop
                           or r.get("GatewayId") == "local"] + [r for _i, r in rules]
    _route_associations(b, doc)
    _gateways(b, doc)
    _transit(b, doc)
    for inst in b.managed("aws_vpn_gateway_route_propagation"):
        rid = b.ids(inst, "route_table_id", "rtb", single=True)[0]
        vgw = b.ids(inst, "vpn_gateway_id", "vgw", single=True)[0]
        vgw_table = doc.find("RouteTables", "RouteTableId", rid)
        if vgw_table is None:
            raise InputError(b.path, inst.place, f"route table {rid} in the plan or --snapshot", "nothing")
        if all(g.get("GatewayId") != vgw for g in vgw_table.get("PropagatingVgws") or []):
            vgw_table.setdefault("PropagatingVgws", []).append({"GatewayId": vgw})
    for table in doc.items("RouteTables"):
        if table.get("PropagatingVgws") and not any(r.get("Origin") == "EnableVgwRoutePropagation"
                                                    for r in table.get("Routes") or []):
            vgws = ", ".join(str(g.get("GatewayId")) for g in table["PropagatingVgws"])
            b.warn(f"{table.get('RouteTableId')}: routes propagated from {vgws} (learned over BGP) are not in "
                   "the plan and are not modelled")
    # routing is modelled only when every VPC's main table is known: a guessed table would prove too much
    vpcs_without_main = [str(v.get("VpcId")) for v in doc.items("Vpcs") if not any(
        t.get("VpcId") == v.get("VpcId") and any(a.get("Main") is True for a in t.get("Associations") or [])
        for t in doc.items("RouteTables"))]
    if unknown_main or (vpcs_without_main and not had_routes):
        missing = sorted(set(unknown_main) | set(vpcs_without_main))
        b.warn("routing is left open: the main route table of " + ", ".join(missing) + " is not in the plan or "
               "--snapshot (declare aws_default_route_table, or pass --snapshot with its route tables)")
        for key in ("RouteTables",):
            doc.data.pop(key, None)
    elif not doc.items("RouteTables"):
        doc.data.pop("RouteTables", None)


def _assoc(rid: str, subnet: str | None, address: str, *, main: bool = False, gateway: str | None = None) -> Json:
    out: Json = {"Main": main, "RouteTableAssociationId": placeholder("rtbassoc", address, subnet or gateway or ""),
                 "RouteTableId": rid, "AssociationState": {"State": "associated"}, TF_ADDRESS: address}
    if subnet:
        out["SubnetId"] = subnet
    if gateway:
        out["GatewayId"] = gateway
    return out


def _vpc_of_table(b: _Builder, doc: _Doc, rid: str, inst: Inst) -> str:
    for vpc in b.managed("aws_vpc"):
        if b._vpc_default(vpc, b.ident(vpc), "main_route_table_id") == rid:
            return b.ident(vpc)
    old = doc.find("RouteTables", "RouteTableId", rid)
    if old and old.get("VpcId"):
        return str(old["VpcId"])
    vpcs = b.ids(inst, "vpc_id", "vpc", single=True, required=False)
    if vpcs:
        return vpcs[0]
    raise InputError(b.path, inst.at("default_route_table_id"),
                     "the default_route_table_id of a VPC in the plan or --snapshot", rid)


def _route_associations(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_route_table_association"):
        rid = b.ids(inst, "route_table_id", "rtb", single=True)[0]
        subnet = b.ids(inst, "subnet_id", "subnet", single=True, required=False)
        gateway = [] if subnet else b.ids(inst, "gateway_id", "gw", single=True)
        table = doc.find("RouteTables", "RouteTableId", rid)
        if table is None:
            raise InputError(b.path, inst.place, f"route table {rid} in the plan or --snapshot", "nothing")
        for other in doc.items("RouteTables"):  # a subnet or gateway has one association
            other["Associations"] = [a for a in other.get("Associations") or [] if a.get("Main") or not (
                (subnet and a.get("SubnetId") == subnet[0]) or (gateway and a.get("GatewayId") == gateway[0]))]
        table["Associations"].append(_assoc(rid, subnet[0] if subnet else None, inst.address,
                                            gateway=gateway[0] if gateway else None))
    for inst in b.managed("aws_main_route_table_association"):
        rid = b.ids(inst, "route_table_id", "rtb", single=True)[0]
        vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        table = doc.find("RouteTables", "RouteTableId", rid)
        if table is None:
            raise InputError(b.path, inst.place, f"route table {rid} in the plan or --snapshot", "nothing")
        for other in doc.items("RouteTables"):
            if other.get("VpcId") == vpc:
                other["Associations"] = [a for a in other.get("Associations") or [] if not a.get("Main")]
        table["Associations"].append(_assoc(rid, None, inst.address, main=True))


def _public_ip(b: _Builder, inst: Inst, key: str = "public_ip", salt: str = "") -> str:
    """A public IPv4 known at plan time, or a deterministic stand-in (198.18.0.0/15) when AWS assigns it."""
    value = inst.values.get(key)
    if isinstance(value, str) and value and b.known(inst, key):
        return value
    n = int(hashlib.sha1((inst.address + salt).encode()).hexdigest()[:8], 16) % (1 << 17)
    ip = str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("198.18.0.0")) + n))
    b.warn(f"{inst.address}: its public IPv4 is assigned at apply; modelled as the stand-in {ip}"
           + (f" ({salt})" if salt else ""))
    return ip


def _inside(address: object, cidr: object) -> bool:
    """Whether an IPv4 address text lies in a CIDR text (False when either does not parse)."""
    try:
        fam, value = parse_address(str(address))
        f, lo, hi = parse_cidr(str(cidr))
    except ValueError:
        return False
    return fam == f and lo <= value <= hi


def _set_public(b: _Builder, doc: _Doc, eni: Json, public: str, private: str | None, extra: Json) -> None:
    """Put a public address where describe_network_interfaces does: on the ENI and its private address."""
    assoc = {"PublicIp": public, "IpOwnerId": "amazon", **extra}
    pips = [p for p in eni.get("PrivateIpAddresses") or [] if isinstance(p, dict)]
    target = next((p for p in pips if p.get("PrivateIpAddress") == private), None) if private else \
        next((p for p in pips if p.get("Primary")), None)
    if target is not None:
        target["Association"] = dict(assoc)
    if target is None or target.get("Primary") or private is None or private == eni.get("PrivateIpAddress"):
        eni["Association"] = dict(assoc)


def _gateways(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_internet_gateway"):
        vpc = b.ids(inst, "vpc_id", "vpc", single=True, required=False)
        doc.upsert("InternetGateways", "InternetGatewayId", {
            "InternetGatewayId": b.ident(inst), "Attachments": [{"VpcId": v, "State": "available"} for v in vpc],
            "Tags": _tags(inst.values), TF_ADDRESS: inst.address})
    for inst in b.managed("aws_internet_gateway_attachment"):
        igw_id = b.ids(inst, "internet_gateway_id", "igw", single=True)[0]
        igw_vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        igw = doc.find("InternetGateways", "InternetGatewayId", igw_id)
        if igw is None:
            raise InputError(b.path, inst.place, f"internet gateway {igw_id} in the plan or --snapshot", "nothing")
        igw["Attachments"] = [{"VpcId": igw_vpc, "State": "available"}]
    for inst in b.managed("aws_egress_only_internet_gateway"):
        eigw_vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        doc.upsert("EgressOnlyInternetGateways", "EgressOnlyInternetGatewayId", {
            "EgressOnlyInternetGatewayId": b.ident(inst), "Attachments": [{"VpcId": eigw_vpc, "State": _ATTACHED}],
            "Tags": _tags(inst.values), TF_ADDRESS: inst.address})
    for inst in b.managed("aws_vpn_gateway"):
        vpc = b.ids(inst, "vpc_id", "vpc", single=True, required=False)
        doc.upsert("VpnGateways", "VpnGatewayId", {
            "VpnGatewayId": b.ident(inst), "State": "available", "Type": "ipsec.1",
            "VpcAttachments": [{"VpcId": v, "State": _ATTACHED} for v in vpc],
            "Tags": _tags(inst.values), TF_ADDRESS: inst.address})
    for inst in b.managed("aws_vpn_gateway_attachment"):
        vgw_id = b.ids(inst, "vpn_gateway_id", "vgw", single=True)[0]
        vgw_vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        vgw = doc.find("VpnGateways", "VpnGatewayId", vgw_id)
        if vgw is None:
            raise InputError(b.path, inst.place, f"virtual private gateway {vgw_id} in the plan or --snapshot", "nothing")
        vgw["VpcAttachments"] = [{"VpcId": vgw_vpc, "State": _ATTACHED}]
    eips: dict[str, tuple[Inst, str]] = {}  # allocation id -> (aws_eip, public ip)
    for inst in b.managed("aws_eip"):
        eips[b.ident(inst)] = (inst, _public_ip(b, inst))
    nat_allocations: set[str] = set()
    for inst in b.managed("aws_nat_gateway"):
        v = inst.values
        subnet = b.ids(inst, "subnet_id", "subnet", single=True)[0]
        sub = _subnet_item(b, doc, subnet, inst.place)
        kind = str(v.get("connectivity_type") or "public")
        nat_id = b.ident(inst)
        address: Json = {"IsPrimary": True, "Status": "succeeded"}
        private = v.get("private_ip") if b.known(inst, "private_ip") and v.get("private_ip") else None
        if private and not _inside(private, sub.get("CidrBlock")):
            # AWS gives a NAT gateway an address of its subnet; a plan made against a mock may not
            b.warn(f"{inst.address}: private_ip {private} is outside its subnet {subnet}; taken as an address "
                   "AWS assigns in the subnet at apply")
            private = None
        if private:
            address["PrivateIp"] = private
        known_eni = v.get("network_interface_id") if b.known(inst, "network_interface_id") else None
        eni_id = known_eni if isinstance(known_eni, str) and known_eni else placeholder("eni", inst.address)
        address["NetworkInterfaceId"] = eni_id
        public = None
        if kind == "public":
            alloc = b.ids(inst, "allocation_id", "eipalloc", single=True, required=False)
            if alloc:
                nat_allocations.add(alloc[0])
                address["AllocationId"] = alloc[0]
                public = eips[alloc[0]][1] if alloc[0] in eips else None
            public = public or _public_ip(b, inst)
            address["PublicIp"] = public
        doc.upsert("NatGateways", "NatGatewayId", {
            "NatGatewayId": nat_id, "SubnetId": subnet, "VpcId": sub.get("VpcId"), "State": "available",
            "ConnectivityType": kind, "NatGatewayAddresses": [address], "Tags": _tags(v), TF_ADDRESS: inst.address})
        eni = _eni(b, doc, eni_id, subnet, [], inst.place, inst.address, [private] if private else None,
                   interface_type="nat_gateway", requester=True, description=f"Interface for NAT Gateway {nat_id}")
        eni["Groups"] = []
        if public:
            _set_public(b, doc, eni, public, private, {})
    for inst in b.managed("aws_eip"):
        if b.ident(inst) in nat_allocations:
            continue  # the NAT gateway's own address, on its ENI already
        target = None
        exprs = (inst.config or {}).get("expressions") or {}
        if exprs.get("network_interface") or _strings(inst.values.get("network_interface")):
            target = b.ids(inst, "network_interface", "eni", single=True)[0]
        if target is None and (exprs.get("instance") or _strings(inst.values.get("instance"))):
            target = _instance_eni(b, doc, inst, b.ids(inst, "instance", "instance", single=True)[0])
        if target is not None:
            eni = _eni_item(b, doc, inst, target)
            private = inst.values.get("associate_with_private_ip")
            _set_public(b, doc, eni, eips[b.ident(inst)][1], private if isinstance(private, str) else None,
                        {"AllocationId": b.ident(inst)})
    for inst in b.managed("aws_eip_association"):
        alloc = b.ids(inst, "allocation_id", "eipalloc", single=True, required=False)
        public = eips[alloc[0]][1] if alloc and alloc[0] in eips else inst.values.get("public_ip")
        if not isinstance(public, str) or not public:
            raise InputError(b.path, inst.at("allocation_id"), "an Elastic IP of the plan, or a known public_ip",
                             alloc[0] if alloc else None)
        enis = b.ids(inst, "network_interface_id", "eni", single=True, required=False)
        target = enis[0] if enis else _instance_eni(b, doc, inst, b.ids(inst, "instance_id", "instance", single=True)[0])
        private = inst.values.get("private_ip_address")
        _set_public(b, doc, _eni_item(b, doc, inst, target), public, private if isinstance(private, str) else None,
                    {"AllocationId": alloc[0]} if alloc else {})
    endpoint_tables: dict[str, list[str]] = {}
    for inst in b.managed("aws_vpc_endpoint_route_table_association"):
        vpce = b.ids(inst, "vpc_endpoint_id", "vpce", single=True)[0]
        endpoint_tables.setdefault(vpce, []).extend(b.ids(inst, "route_table_id", "rtb", single=True))
    for inst in b.managed("aws_vpc_endpoint"):
        v = inst.values
        vid = b.ident(inst)
        kind = str(v.get("vpc_endpoint_type") or "Gateway")
        vpce_vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        tables = b.ids(inst, "route_table_ids", "rtb") + endpoint_tables.get(vid, [])
        item: Json = {"VpcEndpointId": vid, "VpcEndpointType": kind, "VpcId": vpce_vpc,
                      "ServiceName": v.get("service_name"), "State": "available",
                      "RouteTableIds": list(dict.fromkeys(tables)), "SubnetIds": b.ids(inst, "subnet_ids", "subnet"),
                      "Groups": [{"GroupId": g} for g in b.ids(inst, "security_group_ids", "sg")],
                      "Tags": _tags(v), TF_ADDRESS: inst.address}
        doc.upsert("VpcEndpoints", "VpcEndpointId", item)
        if kind != "Gateway":
            b.warn(f"{inst.address}: {kind} VPC endpoints (their ENIs and groups) are not modelled from a plan")
            continue
        pl = v.get("prefix_list_id") if b.known(inst, "prefix_list_id") and v.get("prefix_list_id") else None
        if pl is None or doc.find("ManagedPrefixLists", "PrefixListId", pl) is None:
            b.warn(f"{inst.address}: the prefix list of {v.get('service_name')} is not in the plan or --snapshot; "
                   "the routes of this gateway endpoint are not modelled")
            continue
        for rid in item["RouteTableIds"]:
            table = doc.find("RouteTables", "RouteTableId", rid)
            if table is not None and all(r.get("DestinationPrefixListId") != pl for r in table.get("Routes") or []):
                table.setdefault("Routes", []).append({"DestinationPrefixListId": pl, "GatewayId": vid,
                                                       "Origin": "CreateRoute", "State": "active",
                                                       TF_ADDRESS: inst.address})


def _instance_eni(b: _Builder, doc: _Doc, inst: Inst, instance_id: str) -> str:
    """The primary ENI of an instance of the plan or --snapshot."""
    for eni in doc.items("NetworkInterfaces"):
        att = eni.get("Attachment") or {}
        if att.get("InstanceId") == instance_id and att.get("DeviceIndex", 0) == 0:
            return str(eni.get("NetworkInterfaceId"))
    raise InputError(b.path, inst.place, f"the network interface of instance {instance_id} in the plan or --snapshot",
                     "nothing")


def _eni_item(b: _Builder, doc: _Doc, inst: Inst, eni_id: str) -> Json:
    eni = doc.find("NetworkInterfaces", "NetworkInterfaceId", eni_id)
    if eni is None:
        raise InputError(b.path, inst.place, f"network interface {eni_id} in the plan or --snapshot", "nothing")
    return eni


def _transit(b: _Builder, doc: _Doc) -> None:
    tgws = b.managed("aws_ec2_transit_gateway")
    attachments = b.managed("aws_ec2_transit_gateway_vpc_attachment")
    tables = b.managed("aws_ec2_transit_gateway_route_table")
    if not (tgws or attachments or tables or b.managed("aws_ec2_transit_gateway_route")):
        return
    defaults: dict[str, tuple[str | None, str | None]] = {}  # tgw -> (association table, propagation table)
    for inst in tgws:
        v = inst.values
        tid = b.ident(inst)
        assoc = b.value_of(inst, "association_default_route_table_id", "tgw-rtb") \
            if v.get("default_route_table_association", "enable") == "enable" else None
        prop = b.value_of(inst, "propagation_default_route_table_id", "tgw-rtb") \
            if v.get("default_route_table_propagation", "enable") == "enable" else None
        if assoc is not None and prop is not None and assoc != placeholder("tgw-rtb", inst.address,
                                                                          "#association_default_route_table_id"):
            pass
        if prop is not None and assoc is not None and not b.known(inst, "propagation_default_route_table_id") \
                and not b.known(inst, "association_default_route_table_id"):
            prop = assoc  # AWS makes one default table for both
        defaults[tid] = (assoc, prop)
        for rid in {r for r in (assoc, prop) if r}:
            if doc.find("TransitGatewayRouteTables", "TransitGatewayRouteTableId", rid) is None:
                doc.items("TransitGatewayRouteTables").append({
                    "TransitGatewayRouteTableId": rid, "TransitGatewayId": tid, "State": "available",
                    "DefaultAssociationRouteTable": rid == assoc, "DefaultPropagationRouteTable": rid == prop,
                    "Routes": [], "Associations": [], "Tags": [], TF_ADDRESS: inst.address})
    for inst in tables:
        rid = b.ident(inst)
        old = doc.find("TransitGatewayRouteTables", "TransitGatewayRouteTableId", rid)
        doc.upsert("TransitGatewayRouteTables", "TransitGatewayRouteTableId", {
            "TransitGatewayRouteTableId": rid,
            "TransitGatewayId": b.ids(inst, "transit_gateway_id", "tgw", single=True)[0], "State": "available",
            "DefaultAssociationRouteTable": bool(inst.values.get("default_association_route_table")),
            "DefaultPropagationRouteTable": bool(inst.values.get("default_propagation_route_table")),
            "Routes": list((old or {}).get("Routes") or []), "Associations": list((old or {}).get("Associations") or []),
            "Tags": _tags(inst.values), TF_ADDRESS: inst.address})
    vpc_of: dict[str, str] = {}
    for inst in attachments:
        v = inst.values
        aid = b.ident(inst)
        tgw = b.ids(inst, "transit_gateway_id", "tgw", single=True)[0]
        vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        vpc_of[aid] = vpc
        subnets = b.ids(inst, "subnet_ids", "subnet")
        doc.upsert("TransitGatewayVpcAttachments", "TransitGatewayAttachmentId", {
            "TransitGatewayAttachmentId": aid, "TransitGatewayId": tgw, "VpcId": vpc, "State": "available",
            "SubnetIds": subnets, "Tags": _tags(v), TF_ADDRESS: inst.address})
        item: Json = {"TransitGatewayAttachmentId": aid, "TransitGatewayId": tgw, "ResourceType": "vpc",
                      "ResourceId": vpc, "State": "available", "Tags": _tags(v), TF_ADDRESS: inst.address}
        assoc, prop = defaults.get(tgw, (None, None))
        if v.get("transit_gateway_default_route_table_association", True) is not False and assoc:
            _tgw_associate(doc, assoc, aid, vpc, inst.address)
            item["Association"] = {"TransitGatewayRouteTableId": assoc, "State": "associated"}
        if v.get("transit_gateway_default_route_table_propagation", True) is not False and prop:
            _tgw_propagate(doc, prop, aid, vpc, inst.address)
        doc.upsert("TransitGatewayAttachments", "TransitGatewayAttachmentId", item)
        if tgw not in defaults and not doc.find("TransitGatewayRouteTables", "TransitGatewayId", tgw):
            b.warn(f"{inst.address}: the route tables of transit gateway {tgw} are not in the plan or --snapshot")
    for inst in b.managed("aws_ec2_transit_gateway_route_table_association"):
        rid = b.ids(inst, "transit_gateway_route_table_id", "tgw-rtb", single=True)[0]
        aid = b.ids(inst, "transit_gateway_attachment_id", "tgw-attach", single=True)[0]
        for table in doc.items("TransitGatewayRouteTables"):  # an attachment has one association
            table["Associations"] = [a for a in table.get("Associations") or []
                                     if a.get("TransitGatewayAttachmentId") != aid]
        _tgw_associate(doc, rid, aid, vpc_of.get(aid) or _attachment_vpc(doc, aid), inst.address, b, inst)
        att = doc.find("TransitGatewayAttachments", "TransitGatewayAttachmentId", aid)
        if att is not None:
            att["Association"] = {"TransitGatewayRouteTableId": rid, "State": "associated"}
    for inst in b.managed("aws_ec2_transit_gateway_route_table_propagation"):
        rid = b.ids(inst, "transit_gateway_route_table_id", "tgw-rtb", single=True)[0]
        aid = b.ids(inst, "transit_gateway_attachment_id", "tgw-attach", single=True)[0]
        _tgw_propagate(doc, rid, aid, vpc_of.get(aid) or _attachment_vpc(doc, aid), inst.address, b, inst)
    for inst in b.managed("aws_ec2_transit_gateway_route"):
        rid = b.ids(inst, "transit_gateway_route_table_id", "tgw-rtb", single=True)[0]
        table = _tgw_table(doc, rid, b, inst)
        dest = inst.values.get("destination_cidr_block")
        if not isinstance(dest, str) or not b.known(inst, "destination_cidr_block"):
            raise UnsupportedFeature(b.path, inst.at("destination_cidr_block"), "a destination known at plan time",
                                     dest)
        _network(dest, inst.at("destination_cidr_block"), b.path)
        route: Json = {"DestinationCidrBlock": dest, "Type": "static", TF_ADDRESS: inst.address,
                       "State": "blackhole" if inst.values.get("blackhole") else "active"}
        if not inst.values.get("blackhole"):
            aid = b.ids(inst, "transit_gateway_attachment_id", "tgw-attach", single=True)[0]
            route["TransitGatewayAttachments"] = [{"TransitGatewayAttachmentId": aid, "ResourceType": "vpc",
                                                   "ResourceId": vpc_of.get(aid) or _attachment_vpc(doc, aid)}]
        table["Routes"] = [r for r in table.get("Routes") or [] if r.get("DestinationCidrBlock") != dest] + [route]


def _attachment_vpc(doc: _Doc, aid: str) -> str:
    att = doc.find("TransitGatewayAttachments", "TransitGatewayAttachmentId", aid) or {}
    return str(att.get("ResourceId") or "")


def _tgw_table(doc: _Doc, rid: str, b: _Builder, inst: Inst) -> Json:
    table = _tgw_table_or_none(doc, rid, b, inst)
    assert table is not None
    return table


def _tgw_table_or_none(doc: _Doc, rid: str, b: _Builder | None, inst: Inst | None) -> Json | None:
    """The transit gateway route table; missing, an error at the resource when one is named, else None."""
    table = doc.find("TransitGatewayRouteTables", "TransitGatewayRouteTableId", rid)
    if table is None and b is not None and inst is not None:
        raise InputError(b.path, inst.place, f"transit gateway route table {rid} in the plan or --snapshot", "nothing")
    return table


def _tgw_associate(doc: _Doc, rid: str, aid: str, vpc: str, address: str, b: _Builder | None = None,
                   inst: Inst | None = None) -> None:
    table = _tgw_table_or_none(doc, rid, b, inst)
    if table is None:
        return
    table.setdefault("Associations", []).append({"TransitGatewayAttachmentId": aid, "ResourceId": vpc,
                                                 "ResourceType": "vpc", "State": "associated"})


def _tgw_propagate(doc: _Doc, rid: str, aid: str, vpc_id: str, address: str, b: _Builder | None = None,
                   inst: Inst | None = None) -> None:
    """A propagation: the attachment's VPC CIDR blocks become propagated routes of the table."""
    table = _tgw_table_or_none(doc, rid, b, inst)
    if table is None:
        return
    vpc = doc.find("Vpcs", "VpcId", vpc_id) or {}
    cidrs = [r["DestinationCidrBlock"] for r in _local_routes(vpc) if "DestinationCidrBlock" in r]
    cidrs += [r["DestinationIpv6CidrBlock"] for r in _local_routes(vpc) if "DestinationIpv6CidrBlock" in r]
    for cidr in cidrs:
        table.setdefault("Routes", []).append({
            "DestinationCidrBlock": cidr, "Type": "propagated", "State": "active", TF_ADDRESS: address,
            "TransitGatewayAttachments": [{"TransitGatewayAttachmentId": aid, "ResourceType": "vpc",
                                           "ResourceId": vpc_id}]})


def _unmodelled(b: _Builder) -> None:
    by_type: dict[str, list[str]] = {}
    seen: list[tuple[str, str, Any]] = [(i.type, i.address, i.values) for i in b.insts.values() if i.mode == "managed"]
    seen += [(g.type, g.address, g.before) for g in b.gone]
    for rtype, address, values in seen:
        if rtype in _MODELLED or not rtype.startswith("aws_"):
            continue
        if rtype.startswith(_NET_PREFIXES) or _has_net_keys(values):
            by_type.setdefault(rtype, []).append(address)
    for rtype, addresses in sorted(by_type.items()):
        b.warn(f"{rtype} can change network reachability but is not modelled from a Terraform plan: "
               + ", ".join(sorted(set(addresses))))


def _fill_group_names(doc: _Doc) -> None:
    names = {str(g.get("GroupId")): g.get("GroupName") for g in doc.items("SecurityGroups")}
    for eni in doc.items("NetworkInterfaces"):
        for g in eni.get("Groups") or []:
            if "GroupName" not in g and names.get(str(g.get("GroupId"))):
                g["GroupName"] = names[str(g.get("GroupId"))]
    for inst in doc.instances():
        for g in inst.get("SecurityGroups") or []:
            if "GroupName" not in g and names.get(str(g.get("GroupId"))):
                g["GroupName"] = names[str(g.get("GroupId"))]


def plan_to_snapshot(plan: Json, plan_path: str, base: Json | None, base_path: str | None = None) -> Json:
    """The snapshot document of the network after the plan is applied on top of `base`."""
    return _convert(plan, plan_path, base, base_path)[1]


def _convert(plan: Json, plan_path: str, base: Json | None, base_path: str | None) -> tuple[_Builder, Json]:
    builder = _Builder(plan, plan_path, copy.deepcopy(base) if base else None, base_path)
    builder.collect()
    return builder, build_document(builder)


def plan_network(plan: Json, plan_path: str, base: Json | None,
                 base_path: str | None = None) -> tuple[Json, Network]:
    """The document and the network after apply; errors in what the plan made name the plan's resource.

    `base` must already be a valid snapshot document (load_network checks it, so its errors name the
    snapshot file)."""
    from .snapshot import build_network

    builder, doc = _convert(plan, plan_path, base, base_path)
    try:
        return doc, build_network(doc, plan_path)
    except InputError as exc:
        raise _blame_plan(builder, doc, exc) from None


_DOC_STEP = re.compile(r"\.?([A-Za-z]+)|\[(\d+)\]")


def _blame_plan(b: _Builder, doc: Json, exc: InputError) -> InputError:
    """Turn an error about the converted document into one about the plan resource that made the item."""
    node: Any = doc
    address: str | None = None
    pos = 0
    place = exc.place or ""
    while node is not None:
        if isinstance(node, dict) and isinstance(node.get(TF_ADDRESS), str):
            address = node[TF_ADDRESS]
        m = _DOC_STEP.match(place, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1):
            node = node.get(m.group(1)) if isinstance(node, dict) else None
        else:
            idx = int(m.group(2))
            node = node[idx] if isinstance(node, list) and idx < len(node) else None
    inst = b.insts.get(address) if address else None
    what = f"{exc.expected}, in the network after apply" + (f" ({exc.place.split('.')[-1]})" if exc.place else "")
    if inst is None:
        return InputError(b.path, None, what, exc.found)
    err = InputError(b.path, inst.place, what, exc.found)
    return UnsupportedFeature(err.file, err.place, err.expected, err.found) \
        if isinstance(exc, UnsupportedFeature) else err


# --------------------------------------------------------------------------------------------------
# source positions

_RES_ADDR = re.compile(r"^((?:module\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?\.)*)(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")


@functools.lru_cache(maxsize=8)
def _plan_configuration(plan_path: str) -> Json | None:
    try:
        plan = load_plan(plan_path)
    except SgproofError:
        return None  # no position is better than no report
    conf = plan.get("configuration")
    return conf if isinstance(conf, dict) else None


def resource_location(plan_path: str, address: str) -> tuple[str, int] | None:
    """The `.tf` file and line declaring the resource at `address`, or None when it cannot be found.

    Plan JSON holds no source positions: the configuration is looked for beside the plan file (the root
    module) and in the local `source` folders of the module calls on the way to the resource."""
    m = _RES_ADDR.match(address)
    conf = _plan_configuration(plan_path)
    if m is None or conf is None:
        return None
    folder = Path(plan_path).resolve().parent
    module = conf.get("root_module")
    for name in re.findall(r"module\.([A-Za-z0-9_-]+)", m.group(1)):
        call = ((module or {}).get("module_calls") or {}).get(name) if isinstance(module, dict) else None
        source = call.get("source") if isinstance(call, dict) else None
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            return None  # a registry or remote module: its files are not here
        folder = (folder / source).resolve()
        module = call.get("module") if isinstance(call, dict) else None
    kind = "data" if m.group(2) else "resource"
    decl = re.compile(rf'^\s*{kind}\s+"{re.escape(m.group(3))}"\s+"{re.escape(m.group(4))}"\s*\{{')
    try:
        files = sorted(folder.glob("*.tf"))
        for tf in files:
            for n, line in enumerate(tf.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if decl.match(line):
                    return str(tf), n
    except OSError:
        return None
    return None
