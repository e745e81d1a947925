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
    try:
        with open(path, encoding="utf-8") as fh:
            plan = json.load(fh)
    except OSError as exc:
        raise InputError(path, None, "a readable Terraform plan JSON file", exc.strerror) from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"line {exc.lineno} column {exc.colno}", "JSON from `terraform show -json`", exc.msg
        ) from exc
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
        for name, _key_ in path:
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
            if not single:
                self.resolved_lists.append(f"{inst.address}.{key}")
        found = list(dict.fromkeys(found))
        if single:
            if len(found) != 1:
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


