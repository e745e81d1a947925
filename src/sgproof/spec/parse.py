"""Read a spec file (contract section 3) into a Spec, keeping line:column for every error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..model.addr import parse_cidr
from .services import ServiceSet, parse_service

SELECTOR_KEYS = (
    "security_group", "tag", "subnet", "vpc", "eni", "instance", "interface_type", "tf_address",
    "cidr", "internet", "anywhere", "any_of", "all_of", "not",
)
KINDS = ("deny", "only", "reach")


@dataclass(frozen=True, slots=True)
class Selector:
    """A selector node: a leaf (key, value) or a combinator over children; `text` is what the user wrote."""

    key: str  # a SELECTOR_KEYS entry, "and" (several keys in one mapping) or "group"
    value: Any
    children: tuple[Selector, ...]
    where: str  # file:line:col
    text: str


@dataclass(frozen=True, slots=True)
class Invariant:
    id: str
    kind: str
    description: str
    src: Selector | None
    dst: Selector | None
    services: ServiceSet
    ports_text: str
    allow_empty: bool
    line: int
    where: str


@dataclass(frozen=True, slots=True)
class Spec:
    path: str
    name: str
    source: str | None  # absolute or relative to cwd, already resolved against the spec's folder
    ephemeral: tuple[int, int]
    groups: dict[str, Selector]
    invariants: tuple[Invariant, ...]


class _Doc:
    def __init__(self, path: str):
        self.path = path

    def at(self, node: yaml.Node) -> str:
        return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def fail(self, node: yaml.Node, expected: str, found: object = None) -> InputError:
        return InputError(self.path, self.at(node), expected, found)

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} (a mapping)", _shown(node))
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.fail(k, "a plain key", _shown(k))
            if k.value in out:
                raise self.fail(k, f"each key once in {what}", k.value)
            out[k.value] = (k, v)
        return out

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, what, _shown(node))
        return str(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        text = self.scalar(node, what).lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.fail(node, what, text)


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"


def _text(node: yaml.Node) -> str:
    """Compact flow-style text of a node, for reports."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return "[" + ", ".join(_text(n) for n in node.value) + "]"
    return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in node.value) + "}"


def load_spec(path: str) -> Spec:
    """Parse and check a spec file; every problem is an InputError at its line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, None, "an existing spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, "a readable UTF-8 YAML file", str(exc)) from None
    return load_spec_text(text, path)


def load_spec_text(text: str, path: str) -> Spec:
    """Parse spec text that came from `path` (a file name, or a label such as <query>)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{mark.line + 1}:{mark.column + 1}" if mark else None
        raise InputError(path, place, "valid YAML", exc.problem or str(exc)) from None
    except yaml.YAMLError as exc:
        raise InputError(path, None, "valid YAML", str(exc)) from None
    if root is None:
        raise InputError(path, "1:1", "a spec mapping with sgproof: 1 and invariants", "an empty file")
    d = _Doc(path)
    top = d.mapping(root, "the spec")
    allowed = {"sgproof", "name", "source", "settings", "groups", "invariants"}
    for key, (knode, _) in top.items():
        if key not in allowed:
            raise d.fail(knode, "a spec key: " + ", ".join(sorted(allowed)), key)
    if "sgproof" not in top:
        raise d.fail(root, "the key sgproof: 1 (the spec format version)", "missing")
    if d.scalar(top["sgproof"][1], "sgproof: 1") != "1":
        raise d.fail(top["sgproof"][1], "sgproof: 1 (the only spec format version)", top["sgproof"][1].value)
    name = d.scalar(top["name"][1], "a name") if "name" in top else Path(path).stem
    source = None
    if "source" in top:
        raw = d.scalar(top["source"][1], "a snapshot path")
        source = str(Path(path).parent / raw) if not Path(raw).is_absolute() else raw
    ephemeral = (1024, 65535)
    if "settings" in top:
        settings = d.mapping(top["settings"][1], "settings")
        for key, (knode, vnode) in settings.items():
            if key != "ephemeral_ports":
                raise d.fail(knode, "a setting: ephemeral_ports", key)
            ephemeral = _port_range(d, vnode)
    groups: dict[str, Selector] = {}
    if "groups" in top:
        for gname, (_, vnode) in d.mapping(top["groups"][1], "groups").items():
            groups[gname] = _selector(d, vnode)
    for gname, sel in groups.items():
        _check_refs(d, sel, groups, (gname,))
    if "invariants" not in top:
        raise d.fail(root, "the key invariants (a list)", "missing")
    inv_node = top["invariants"][1]
    if not isinstance(inv_node, yaml.SequenceNode) or not inv_node.value:
        raise d.fail(inv_node, "invariants: a non-empty list", _shown(inv_node))
    invariants = []
    seen: set[str] = set()
    for node in inv_node.value:
        inv = _invariant(d, node, groups)
        if inv.id in seen:
            raise d.fail(node, "a unique invariant id", inv.id)
        seen.add(inv.id)
        invariants.append(inv)
    return Spec(path, name, source, ephemeral, groups, tuple(invariants))


def _port_range(d: _Doc, node: yaml.Node) -> tuple[int, int]:
    text = d.scalar(node, "a port range such as 1024-65535")
    lo, _, hi = text.partition("-")
    hi = hi or lo
    if not lo.strip().isdigit() or not hi.strip().isdigit() or not 0 <= int(lo) <= int(hi) <= 65535:
        raise d.fail(node, "a port range FROM-TO within 0-65535", text)
    return int(lo), int(hi)


def _invariant(d: _Doc, node: yaml.Node, groups: dict[str, Selector]) -> Invariant:
    m = d.mapping(node, "an invariant")
    for key, (knode, _) in m.items():
        if key not in ("id", "description", "allow_empty", *KINDS):
            raise d.fail(knode, "an invariant key: id, description, allow_empty, deny, only or reach", key)
    kinds = [k for k in KINDS if k in m]
    if len(kinds) != 1:
        raise d.fail(node, "exactly one of deny, only, reach", ", ".join(kinds) or "none")
    kind = kinds[0]
    if "id" not in m:
        raise d.fail(node, "an id", "missing")
    inv_id = d.scalar(m["id"][1], "an id")
    description = d.scalar(m["description"][1], "a description") if "description" in m else ""
    allow_empty = d.boolean(m["allow_empty"][1], "allow_empty: true or false") if "allow_empty" in m else False
    body = d.mapping(m[kind][1], f"the {kind} statement")
    for key, (knode, _) in body.items():
        if key not in ("from", "to", "ports", "except_ports"):
            raise d.fail(knode, f"a {kind} key: from, to, ports, except_ports", key)
    if "to" not in body:
        raise d.fail(m[kind][1], f"{kind}: {{to: ...}} (the destination selector)", "missing")
    if kind == "only" and "from" not in body:
        raise d.fail(m[kind][1], "only: {from: ...} (who alone may connect)", "missing")
    src = _selector(d, body["from"][1]) if "from" in body else None
    dst = _selector(d, body["to"][1])
    for sel in (src, dst):
        if sel is not None:
            _check_refs(d, sel, groups, ())
    services = _services(d, body["ports"][1]) if "ports" in body else ServiceSet.everything()
    ports_text = _text(body["ports"][1]) if "ports" in body else "all"
    if "except_ports" in body:
        services = services.minus(_services(d, body["except_ports"][1]))
        ports_text += f" except {_text(body['except_ports'][1])}"
    if services.is_empty():
        raise d.fail(m[kind][1], "ports that except_ports does not remove entirely", ports_text)
    return Invariant(
        inv_id, kind, description, src, dst, services, ports_text, allow_empty,
        node.start_mark.line + 1, f"{d.path}:{d.at(node)}",
    )


def _services(d: _Doc, node: yaml.Node) -> ServiceSet:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    if not items:
        raise d.fail(node, "at least one port form", "an empty list")
    out = ServiceSet(())
    for item in items:
        text = d.scalar(item, "a port form such as tcp/3306")
        try:
            out = out.union(parse_service(text))
        except ValueError as exc:
            raise d.fail(item, str(exc), text) from None
    return out


def _selector(d: _Doc, node: yaml.Node) -> Selector:
    where = f"{d.path}:{d.at(node)}"
    if isinstance(node, yaml.ScalarNode):
        return Selector("group", str(node.value), (), where, str(node.value))
    m = d.mapping(node, "a selector: a group name or a mapping of selector keys")
    if not m:
        raise d.fail(node, "at least one selector key", "{}")
    parts = []
    for key, (knode, vnode) in m.items():
        if key not in SELECTOR_KEYS:
            raise d.fail(knode, "a selector key: " + ", ".join(SELECTOR_KEYS), key)
        parts.append(_leaf(d, key, knode, vnode))
    if len(parts) == 1:
        return parts[0]
    return Selector("and", None, tuple(parts), where, _text(node))


def _leaf(d: _Doc, key: str, knode: yaml.Node, v: yaml.Node) -> Selector:
    where = f"{d.path}:{d.at(knode)}"
    text = f"{key}: {_text(v)}"
    if key in ("any_of", "all_of"):
        if not isinstance(v, yaml.SequenceNode) or not v.value:
            raise d.fail(v, f"{key}: a non-empty list of selectors", _shown(v))
        return Selector(key, None, tuple(_selector(d, n) for n in v.value), where, text)
    if key == "not":
        return Selector(key, None, (_selector(d, v),), where, text)
    if key in ("internet", "anywhere"):
        if not d.boolean(v, f"{key}: true"):
            raise d.fail(v, f"{key}: true (use not: {{{key}: true}} for the complement)", "false")
        return Selector(key, True, (), where, text)
    if key == "tag":
        tags = d.mapping(v, "tag: {Key: Value}")
        if not tags:
            raise d.fail(v, "tag: at least one Key: Value pair", "{}")
        pairs = tuple((k, d.scalar(val, "a tag value (globs allowed)")) for k, (_, val) in tags.items())
        return Selector(key, pairs, (), where, text)
    values = v.value if isinstance(v, yaml.SequenceNode) else [v]
    if not values:
        raise d.fail(v, f"{key}: a value or a non-empty list", "an empty list")
    texts = tuple(d.scalar(x, f"{key}: a string value") for x in values)
    if key == "cidr":
        for x, t in zip(values, texts, strict=True):
            try:
                parse_cidr(t)
            except ValueError:
                raise d.fail(x, "a CIDR block such as 203.0.113.0/24 (host bits zero)", t) from None
    return Selector(key, texts, (), where, text)


def _check_refs(d: _Doc, sel: Selector, groups: dict[str, Selector], stack: tuple[str, ...]) -> None:
    if sel.key == "group":
        if sel.value not in groups:
            raise InputError(
                d.path, sel.where.rsplit(":", 2)[-2] + ":" + sel.where.rsplit(":", 1)[-1],
                "a group defined under groups:", sel.value,
            )
        if sel.value in stack:
            raise InputError(d.path, None, "groups that do not refer to themselves", " -> ".join((*stack, sel.value)))
        _check_refs(d, groups[sel.value], groups, (*stack, sel.value))
    for child in sel.children:
        _check_refs(d, child, groups, stack)
