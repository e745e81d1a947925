"""Terraform plan source: `terraform show -json` output turned into the snapshot document after apply.

The network after apply is the plan's `prior_state` with every `resource_changes` entry applied, laid
over an optional live snapshot document (`--snapshot`). Values known only after apply are resolved
through the plan's `configuration` references to the resources they name; resources not yet created
get deterministic placeholder ids (`sg-tf-<sha1 of the address>`). Every item carries its Terraform
address in `SgproofTfAddress`; resources that can carry network policy but are not modelled become
loud `SgproofWarnings`.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, UnsupportedFeature

Json = dict[str, Any]

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
    place: str
    before: Json | None = None
    config: Json | None = None

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


def _state_resources(module: Json | None) -> Iterator[Json]:
    if not module:
        return
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _state_resources(child)


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
}
_DEFAULT_ATTR = {"vpc": "id", "sg": "id", "acl": "id", "subnet": "id", "eni": "id", "instance": "id",
                 "pl": "id", "dbsubnet": "name", "pcx": "id"}

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
    insts: dict[str, Inst] = field(default_factory=dict)
    gone: list[Gone] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resolved_lists: list[str] = field(default_factory=list)
    doc: Json = field(default_factory=dict)

    # ---------------------------------------------------------------- collecting instances

    def collect(self) -> None:
        """Build the after-apply set of resource instances: prior_state plus resource_changes."""
        prior = (self.plan.get("prior_state") or {}).get("values") or {}
        for r in _state_resources(prior.get("root_module")):
            addr = r["address"]
            self.insts[addr] = Inst(
                addr, r.get("mode", "managed"), r["type"], r["name"], r.get("index"),
                _module_of(addr, r["type"], r["name"]), r.get("values") or {}, {}, "state",
                f"prior_state ({addr})", before=r.get("values") or {},
            )
        changes = self.plan.get("resource_changes") or []
        if not isinstance(changes, list):
            raise InputError(self.path, "resource_changes", "a list", type(changes).__name__)
        for i, rc in enumerate(changes):
            if not isinstance(rc, dict) or "address" not in rc or "change" not in rc:
                raise InputError(self.path, f"resource_changes[{i}]", "an object with address and change", rc)
            addr = rc["address"]
            place = f"resource_changes[{i}] ({addr})"
            change = rc["change"]
            action = _action(list(change.get("actions") or []))
            prev = rc.get("previous_address")
            if prev and prev in self.insts:
                del self.insts[prev]
            if rc.get("mode", "managed") != "managed":
                if change.get("after") is not None:
                    self.insts[addr] = Inst(addr, "data", rc["type"], rc["name"], rc.get("index"),
                                            rc.get("module_address", ""), change.get("after") or {},
                                            change.get("after_unknown") or {}, action, place)
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
                raise UnsupportedFeature(self.path, place, "a change action create/update/delete/replace/no-op", action)
            after = change.get("after")
            if after is None:
                raise InputError(self.path, place, "change.after for a resource that exists after apply", None)
            if action == "replace" and before:
                self.gone.append(Gone(addr, rc["type"], before))
            self.insts[addr] = Inst(addr, "managed", rc["type"], rc["name"], rc.get("index"),
                                    rc.get("module_address", ""), after, change.get("after_unknown") or {},
                                    action, place, before=before)
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
        for r in mod.get("resources", []):
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
        """The id of a VPC's default security group or NACL (known, or a placeholder)."""
        if vpc is not None:
            value = vpc.values.get(attr)
            if isinstance(value, str) and value and self.known(vpc, attr):
                return value
            return placeholder("sg" if "security" in attr else "acl", vpc.address, "#" + attr)
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
        attr = attr or _DEFAULT_ATTR[kind]
        rtype = inst.type
        if inst.mode == "data":
            if _KIND.get((rtype, attr)) != kind and not (attr == "id" and _KIND.get((rtype, "id")) == kind):
                return None
            value = inst.values.get(attr)
            if not isinstance(value, str) or not self.known(inst, attr):
                raise _Unresolved(f"{inst.address}.{attr} (read at apply time)")
            return value
        if _KIND.get((rtype, attr)) != kind:
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
        return placeholder(_ID_PREFIX.get(rtype, "x"), inst.address, "#" + attr)

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
                    self.path, f"{inst.place} {key}",
                    "a value known at plan time, or references sgproof can follow to resources in the plan "
                    "(local values are not in plan JSON; reference the resource directly or pass --snapshot)",
                    str(exc)) from exc
            if not single and f"{inst.address}.{key}" not in self.resolved_lists:
                self.resolved_lists.append(f"{inst.address}.{key}")
        found = list(dict.fromkeys(found))
        if single and len(found) != 1:
            if not found and not required:
                return []
            raise InputError(self.path, f"{inst.place} {key}",
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
    return [{"Key": str(k), "Value": str(v)} for k, v in sorted(tags.items())]


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
    return int(raw) if isinstance(raw, int | float) or (isinstance(raw, str) and raw.lstrip("-").isdigit()) else default


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
        perm["SgproofTfAddress"] = address
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
        entry["SgproofTfAddress"] = address
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


def build_document(b: _Builder) -> Json:
    """Turn the collected after-apply instances into the snapshot document."""
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
    if doc.items("RouteTables"):
        b.warn("routes come from the --snapshot only: route, gateway and Elastic IP changes in the plan "
               "are not modelled, and public IPs assigned at apply are not known")
    elif not (b.base or {}).get("RouteTables"):
        doc.data.pop("RouteTables", None)
    warnings = list(doc.data.get("SgproofWarnings") or []) + b.warnings
    doc.data["SgproofWarnings"] = warnings
    return doc.data


_GONE_KEYS = {
    "aws_vpc": ("Vpcs", "VpcId"), "aws_subnet": ("Subnets", "SubnetId"),
    "aws_security_group": ("SecurityGroups", "GroupId"), "aws_network_acl": ("NetworkAcls", "NetworkAclId"),
    "aws_network_interface": ("NetworkInterfaces", "NetworkInterfaceId"),
    "aws_ec2_managed_prefix_list": ("ManagedPrefixLists", "PrefixListId"),
    "aws_vpc_peering_connection": ("VpcPeeringConnections", "VpcPeeringConnectionId"),
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
            raise InputError(b.path, f"{inst.place} cidr_block", "a VPC CIDR block known at plan time "
                             "(IPAM-allocated blocks are not supported)", cidr)
        item: Json = {"VpcId": vid, "CidrBlock": cidr, "State": "available", "IsDefault": False,
                      "CidrBlockAssociationSet": [{"CidrBlock": cidr, "CidrBlockState": {"State": "associated"}}],
                      "Tags": _tags(v), "SgproofTfAddress": inst.address}
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
                "Tags": [], "SgproofTfAddress": inst.address})
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
                "IpPermissionsEgress": egress, "Tags": [], "SgproofTfAddress": inst.address})


def _subnets(b: _Builder, doc: _Doc) -> None:
    for inst in b.managed("aws_subnet"):
        v = inst.values
        cidr = v.get("cidr_block") if b.known(inst, "cidr_block") else None
        if not isinstance(cidr, str):
            raise InputError(b.path, f"{inst.place} cidr_block", "a subnet CIDR block known at plan time", cidr)
        vpc = b.ids(inst, "vpc_id", "vpc", single=True)[0]
        item: Json = {"SubnetId": b.ident(inst), "VpcId": vpc, "CidrBlock": cidr, "State": "available",
                      "Tags": _tags(v), "SgproofTfAddress": inst.address}
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
            "Entries": entries, "Tags": _tags(inst.values), "SgproofTfAddress": inst.address})
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
        proto = _sg_proto(v.get("protocol"), b.path, f"{inst.place} protocol")
        groups = []
        if v.get("self"):
            groups.append(sg)
        if v.get("source_security_group_id") or not b.known(inst, "source_security_group_id"):
            groups += b.ids(inst, "source_security_group_id", "sg", single=True)
        pls = b.ids(inst, "prefix_list_ids", "pl")
        perm = _perm(proto, v.get("from_port"), v.get("to_port"), _strings(v.get("cidr_blocks")),
                     _strings(v.get("ipv6_cidr_blocks")), pls, groups, inst.address)
        out.setdefault(sg, []).append((inst, direction, perm))
    for rtype, direction in (("aws_vpc_security_group_ingress_rule", "ingress"),
                             ("aws_vpc_security_group_egress_rule", "egress")):
        for inst in b.managed(rtype):
            v = inst.values
            sg = b.ids(inst, "security_group_id", "sg", single=True)[0]
            proto = _sg_proto(v.get("ip_protocol"), b.path, f"{inst.place} ip_protocol")
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
        raise UnsupportedFeature(b.path, f"{inst.place} {key}",
                                 "inline rules known at plan time (a dynamic block over values known only "
                                 "after apply cannot be modelled)", "unknown")
    blocks = inst.values.get(key) or []
    unknown_groups = [i for i, u in enumerate(unk or []) if isinstance(u, dict) and u.get("security_groups") is True]
    if len(unknown_groups) > 1:
        raise UnsupportedFeature(b.path, f"{inst.place} {key}",
                                 "at most one inline block whose security_groups are known only after apply "
                                 "(plan JSON does not say which block references which group; use "
                                 "aws_vpc_security_group_*_rule resources)",
                                 f"{len(unknown_groups)} such blocks")
    out = []
    for i, blk in enumerate(blocks):
        proto = _sg_proto(blk.get("protocol"), b.path, f"{inst.place} {key}[{i}].protocol")
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
                      "SgproofTfAddress": inst.address}
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
            kept += [_perm_from_atom(a, perm.get("SgproofTfAddress")) for a in sorted(atoms - drop, key=str)]
        else:
            kept.append(perm)
    return kept + new


def _nacls(b: _Builder, doc: _Doc) -> None:
    standalone: dict[str, list[tuple[Inst, Json]]] = {}
    for inst in b.managed("aws_network_acl_rule"):
        v = inst.values
        acl = b.ids(inst, "network_acl_id", "acl", single=True)[0]
        proto = _nacl_proto(v.get("protocol"), b.path, f"{inst.place} protocol")
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
            "Associations": [], "Tags": _tags(v), "SgproofTfAddress": inst.address})
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
        raise UnsupportedFeature(b.path, f"{inst.place} {key}", "inline NACL entries known at plan time", "unknown")
    out = []
    for i, e in enumerate(inst.values.get(key) or []):
        proto = _nacl_proto(e.get("protocol"), b.path, f"{inst.place} {key}[{i}].protocol")
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
                  "TagSet": tags or [], "SgproofTfAddress": address}
    if subnet.get("AvailabilityZone"):
        item["AvailabilityZone"] = subnet["AvailabilityZone"]
    if private:
        item["PrivateIpAddress"] = private[0]
        item["PrivateIpAddresses"] = [{"PrivateIpAddress": a, "Primary": i == 0} for i, a in enumerate(private)]
    else:
        cidr = subnet.get("CidrBlock")
        if not isinstance(cidr, str):
            raise InputError(b.path, place, f"a CIDR block for subnet {subnet_id}", cidr)
        item["SgproofUnknownPrivateIpv4"] = cidr
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
                  "SgproofTfAddress": inst.address}
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
            raise UnsupportedFeature(b.path, f"{inst.place} private_ip",
                                     "a known private_ip when secondary_private_ips are set", "unknown")
        private = [primary, *secondary] if primary else None
        ipv6 = _strings(v.get("ipv6_addresses")) if b.known(inst, "ipv6_addresses") else []
        if not b.known(inst, "ipv6_addresses") and _int(v.get("ipv6_address_count"), 0) > 0:
            b.warn(f"{inst.address}: its IPv6 addresses are assigned at apply and are not modelled")
        public = v.get("public_ip") if b.known(inst, "public_ip") and v.get("public_ip") else None
        if v.get("associate_public_ip_address") is True and not b.known(inst, "public_ip"):
            b.warn(f"{inst.address}: gets a public IPv4 address at apply; it is not known, so only its private "
                   "addresses are modelled")
        eni_id = b._instance_primary_eni(inst)
        _eni(b, doc, eni_id, subnet, groups, inst.place, inst.address, private, ipv6=ipv6,
             instance=iid, tags=[], public_ip=public)
        item.update(SubnetId=subnet, VpcId=vpc)
        if primary:
            item["PrivateIpAddress"] = primary
        item["SecurityGroups"] = [{"GroupId": g} for g in groups]
    return {"ReservationId": placeholder("r", inst.address), "Instances": [item]}


def _service(b: _Builder, doc: _Doc, inst: Inst, subnets: list[str], groups: list[str], *,
             interface_type: str, description: str, privates: dict[str, str] | None = None) -> None:
    """One requester-managed ENI per subnet for an RDS instance, load balancer or Lambda function."""
    live = _service_enis(doc, inst.type, inst.values) if inst.action in ("no-op", "state", "forget") else []
    if live and b.base:
        return  # the --snapshot describes the ENIs AWS made for it
    for old in _service_enis(doc, inst.type, inst.before or inst.values):
        doc.remove("NetworkInterfaces", "NetworkInterfaceId", old["NetworkInterfaceId"])
    for subnet in subnets:
        ip = (privates or {}).get(subnet)
        _eni(b, doc, placeholder("eni", inst.address, subnet), subnet, groups, inst.place, inst.address,
             [ip] if ip else None, interface_type=interface_type, requester=True, description=description)


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
    _service(b, doc, inst, subnets, groups, interface_type=itype,
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
            "SgproofTfAddress": inst.address})


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


def plan_to_snapshot(plan: Json, plan_path: str, base: Json | None) -> Json:
    """The snapshot document of the network after the plan is applied on top of `base`."""
    builder = _Builder(plan, plan_path, copy.deepcopy(base) if base else None)
    builder.collect()
    return build_document(builder)
