"""Read a spec file (contract section 3) into a Spec, keeping line:column for every error."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import stat
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from .services import ServiceSet, ascii_int, parse_service

SELECTOR_KEYS = (
    "security_group", "tag", "subnet", "vpc", "eni", "instance", "interface_type", "tf_address",
    "cidr", "internet", "anywhere", "any_of", "all_of", "not",
)
KINDS = ("deny", "only", "reach")
SEVERITIES = ("low", "medium", "high", "critical")

MAX_SPEC_BYTES = 4 * 1024 * 1024  # a spec is written by hand: a few MiB is far beyond any real one
MAX_DEPTH = 64  # levels of YAML nesting, aliases expanded
MAX_NODES = 50_000  # YAML nodes after alias expansion
TEXT_LIMIT = 300  # characters of a selector's text kept for reports


def today() -> datetime.date:
    """Today's date (UTC), against which an exception's `until` is compared; tests replace it."""
    return datetime.datetime.now(datetime.UTC).date()


@dataclass(frozen=True, slots=True)
class Selector:
    """A selector node: a leaf (key, value) or a combinator over children; `text` is what the user wrote.

    `norm` is the selector's structure (key, value, children's norms) and nothing else: selections are
    cached by it, never by `text`, which is for people and may print two different selectors alike.
    """

    key: str  # a SELECTOR_KEYS entry, "and" (several keys in one mapping) or "group"
    value: Any
    children: tuple[Selector, ...]
    where: str  # file:line:col
    text: str
    norm: Hashable = field(default=None, compare=False)

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, list):
            value = tuple(value)
        object.__setattr__(self, "norm", (self.key, value, tuple(c.norm for c in self.children)))


@dataclass(frozen=True, slots=True)
class Exemption:
    """One `except:` item of an invariant (contract section 8): flows it accepts, and why.

    An absent `from`/`to` is None (restricts nothing on that side); absent `ports` is every service.
    `expired` is true when `until` lies before today(): the exemption no longer applies.
    """

    src: Selector | None
    dst: Selector | None
    services: ServiceSet
    ports_text: str
    reason: str
    until: datetime.date | None
    expired: bool
    where: str  # file:line:col of the item


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
    severity: str = "high"
    exemptions: tuple[Exemption, ...] = ()


@dataclass(frozen=True, slots=True)
class Spec:
    path: str
    name: str
    source: str | None  # absolute or relative to cwd, already resolved against the spec's folder
    ephemeral: tuple[int, int]
    groups: dict[str, Selector]
    invariants: tuple[Invariant, ...]
    source_where: str | None = None  # file:line:col of `source:`
    includes: tuple[str, ...] = ()  # pack names of `include:`, without the `pack:` prefix


class SpecError(InputError):
    """An input error whose reason is a sentence rather than an expectation."""

    def __init__(self, file: str | None, place: str | None, message: str):
        self.message = message
        super().__init__(file, place, message)

    def render(self) -> str:
        where = ":".join(p for p in (self.file, self.place) if p)
        return f"{where}: {self.message}" if where else self.message


class _Doc:
    def __init__(self, path: str):
        self.path = path

    def at(self, node: yaml.Node) -> str:
        return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def where(self, node: yaml.Node) -> str:
        return f"{self.path}:{self.at(node)}"

    def fail(self, node: yaml.Node, expected: str, found: object = None) -> InputError:
        return InputError(self.path, self.at(node), expected, found)

    def say(self, node: yaml.Node, message: str) -> InputError:
        return SpecError(self.path, self.at(node), message)

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


class _Full(Exception):
    pass


def _text(node: yaml.Node, limit: int = TEXT_LIMIT) -> str:
    """Compact flow-style text of a node, for reports; cut with "..." past `limit` characters."""
    out: list[str] = []
    size = 0

    def put(s: str) -> None:
        nonlocal size
        out.append(s)
        size += len(s)
        if size > limit:
            raise _Full

    def walk(n: yaml.Node) -> None:
        if isinstance(n, yaml.ScalarNode):
            put(_scalar_text(n))
        elif isinstance(n, yaml.SequenceNode):
            put("[")
            for i, c in enumerate(n.value):
                put(", " if i else "")
                walk(c)
            put("]")
        else:
            put("{")
            for i, (k, v) in enumerate(n.value):
                put(", " if i else "")
                walk(k)
                put(": ")
                walk(v)
            put("}")

    try:
        walk(node)
    except _Full:
        return "".join(out)[: limit - 3] + "..."
    return "".join(out)


_PLAIN_SAFE = re.compile(r"[^,{}\[\]\"'#&!|>%@`]*\Z")


def _scalar_text(node: yaml.ScalarNode) -> str:
    """A scalar as the user would write it: quoted when it was quoted and would print ambiguously."""
    v = str(node.value)
    if node.style in ("'", '"') and (not _PLAIN_SAFE.match(v) or ": " in v or v != v.strip() or not v):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


# ---- reading the file, bounded -------------------------------------------------------------------

def load_spec(path: str) -> Spec:
    """Parse and check a spec file; every problem is an InputError at its line and column."""
    return load_spec_text(read_spec_file(path), path)


def read_spec_file(path: str) -> str:
    """The text of a spec file: a regular file of at most MAX_SPEC_BYTES, in UTF-8."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError(path, None, "a spec file (a regular file)", _file_kind(path))
            data = fh.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise InputError(path, None, "an existing spec file") from None
    except IsADirectoryError:
        raise InputError(path, None, "a spec file (a regular file)", "a directory") from None
    except OSError as exc:
        raise InputError(path, None, "a readable spec file", exc.strerror or str(exc)) from None
    if len(data) > MAX_SPEC_BYTES:
        raise InputError(path, None, f"a spec of at most {MAX_SPEC_BYTES // (1024 * 1024)} MiB",
                         "a larger file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, "a UTF-8 YAML file", f"byte {exc.start} is not UTF-8") from None


def _file_kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "an unreadable path"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mark(m: Any) -> str | None:
    return f"{m.line + 1}:{m.column + 1}" if m is not None else None


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> InputError:
    """PyYAML's error as one located line."""
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        place = f"{before.count(chr(10)) + 1}:{exc.position - (before.rfind(chr(10)) + 1) + 1}"
        return InputError(path, place, "characters that YAML allows", f"U+{exc.character:04X}"
                          if isinstance(exc.character, int) else repr(exc.character))
    if isinstance(exc, yaml.MarkedYAMLError):
        return InputError(path, _mark(exc.problem_mark or exc.context_mark), "valid YAML",
                          " ".join((exc.problem or str(exc)).split()))
    return InputError(path, None, "valid YAML", " ".join(str(exc).split()))


def check_yaml(text: str, path: str) -> None:
    """Refuse YAML that sgproof would not read faithfully or cheaply, before composing it:
    explicit tags, nesting deeper than MAX_DEPTH and more than MAX_NODES nodes after alias expansion.
    (Composing is recursive in PyYAML; the event stream is not.)"""
    # one frame per open collection: [anchor, nodes inside so far, depth below]
    frames: list[list[Any]] = []
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, depth) of the anchored node
    total = 0
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            tag = getattr(ev, "tag", None)
            if tag is not None:
                raise SpecError(path, _mark(ev.start_mark),
                                f"a YAML tag ({tag}) is not part of the spec language: remove it")
            if isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                if isinstance(ev, yaml.AliasEvent):
                    nodes, depth = sizes.get(ev.anchor or "", (1, 0))
                else:
                    nodes, depth = 1, 0
                total += nodes
                if total > MAX_NODES:
                    raise SpecError(path, _mark(ev.start_mark),
                                    f"more than {MAX_NODES} YAML nodes once aliases are expanded: "
                                    "a spec that large is refused")
                if len(frames) + depth > MAX_DEPTH:
                    raise SpecError(path, _mark(ev.start_mark),
                                    f"more than {MAX_DEPTH} levels of nesting: a spec that deep is refused")
                if isinstance(ev, yaml.CollectionStartEvent):
                    frames.append([ev.anchor, 1, 0])
                    continue
                if isinstance(ev, yaml.ScalarEvent) and ev.anchor:
                    sizes[ev.anchor] = (1, 0)
                if frames:
                    frames[-1][1] += nodes
                    frames[-1][2] = max(frames[-1][2], depth)
            elif isinstance(ev, yaml.CollectionEndEvent):
                anchor, nodes, depth = frames.pop()
                if anchor:
                    sizes[anchor] = (nodes, depth + 1)
                if frames:
                    frames[-1][1] += nodes
                    frames[-1][2] = max(frames[-1][2], depth + 1)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None


def compose(text: str, path: str) -> yaml.Node | None:
    """The YAML node tree of a text, after check_yaml; None for an empty document."""
    check_yaml(text, path)
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    return node


# ---- the spec --------------------------------------------------------------------------------

def load_spec_text(text: str, path: str) -> Spec:
    """Parse spec text that came from `path` (a file name, or a label such as <test>)."""
    root = compose(text, path)
    if root is None:
        raise InputError(path, "1:1", "a spec mapping with sgproof: 1 and invariants", "an empty file")
    d = _Doc(path)
    top = d.mapping(root, "the spec")
    allowed = {"sgproof", "name", "source", "include", "settings", "groups", "invariants"}
    for key, (knode, _) in top.items():
        if key not in allowed:
            raise d.fail(knode, "a spec key: " + ", ".join(sorted(allowed)), key)
    if "sgproof" not in top:
        raise d.fail(root, "the key sgproof: 1 (the spec format version)", "missing")
    if d.scalar(top["sgproof"][1], "sgproof: 1") != "1":
        raise d.fail(top["sgproof"][1], "sgproof: 1 (the only spec format version)", top["sgproof"][1].value)
    name = d.scalar(top["name"][1], "a name") if "name" in top else Path(path).stem
    source = source_where = None
    if "source" in top:
        snode = top["source"][1]
        source = _source(d, snode)
        source_where = d.where(snode)
    includes = _includes(d, top["include"][1]) if "include" in top else ()
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
            groups[gname] = selector(d, vnode)
    gdepth = _check_groups(groups)
    if "invariants" not in top:
        raise d.fail(root, "the key invariants (a list)", "missing")
    inv_node = top["invariants"][1]
    if not isinstance(inv_node, yaml.SequenceNode) or not inv_node.value:
        raise d.fail(inv_node, "invariants: a non-empty list", _shown(inv_node))
    invariants = []
    seen: set[str] = set()
    for node in inv_node.value:
        inv = _invariant(d, node, groups, gdepth)
        if inv.id in seen:
            raise d.fail(node, "a unique invariant id", inv.id)
        seen.add(inv.id)
        invariants.append(inv)
    return Spec(path, name, source, ephemeral, groups, tuple(invariants), source_where, includes)


def _source(d: _Doc, node: yaml.Node) -> str:
    raw = d.scalar(node, "a snapshot path")
    if not raw.strip():
        raise d.fail(node, "source: the path of a snapshot file or directory", "an empty path")
    if "\0" in raw:
        raise d.fail(node, "source: a path without NUL characters", raw)
    full = raw if Path(raw).is_absolute() else str(Path(d.path).parent / raw)
    encoded = os.fsencode(full)
    if len(encoded) >= 4096 or any(len(part) > 255 for part in encoded.split(b"/")):
        raise d.fail(node, "source: a path the system can open (at most 255 bytes a name, 4095 in all)",
                     raw)
    return full


def check_source(spec: Spec) -> None:
    """Before reading the spec's own `source:`: it must be a regular file or a directory."""
    if spec.source is None:
        return
    try:
        mode = os.stat(spec.source).st_mode
    except OSError:
        return  # a missing or unreadable path is the reader's error, naming the path
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        file, line, col = (spec.source_where or f"{spec.path}::").rsplit(":", 2)
        raise InputError(file, f"{line}:{col}" if line else None, "source: a snapshot file or directory",
                         f"{spec.source}: {_file_kind(spec.source)}")


_PACK = re.compile(r"pack:([a-z0-9][a-z0-9-]*)\Z")


def known_packs() -> dict[str, Path]:
    """The built-in packs by name (spec files shipped in sgproof/packs/)."""
    folder = Path(__file__).resolve().parent.parent / "packs"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def _includes(d: _Doc, node: yaml.Node) -> tuple[str, ...]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    if not items:
        raise d.fail(node, "include: a list of pack:NAME", "an empty list")
    packs = known_packs()
    out: list[str] = []
    for item in items:
        text = d.scalar(item, "include: pack:NAME (a built-in pack)")
        m = _PACK.match(text)
        if m is None:
            raise d.fail(item, "include: pack:NAME with NAME in lower-case letters, digits and -", text)
        if m.group(1) not in packs:
            have = ", ".join(f"pack:{p}" for p in packs) or "none in this version"
            raise d.say(item, f"unknown pack {text} (built-in packs: {have})")
        if m.group(1) in out:
            raise d.fail(item, "each pack once in include", text)
        out.append(m.group(1))
    return tuple(out)


def _port_range(d: _Doc, node: yaml.Node) -> tuple[int, int]:
    text = d.scalar(node, "a port range such as 1024-65535")
    lo_s, dash, hi_s = text.strip().partition("-")
    lo = ascii_int(lo_s.strip())
    hi = ascii_int(hi_s.strip()) if dash else lo
    if lo is None or hi is None or not 0 <= lo <= hi <= 65535:
        raise d.fail(node, "a port range FROM-TO within 0-65535, in ASCII digits without leading zeros",
                     text)
    return lo, hi


def _invariant(d: _Doc, node: yaml.Node, groups: dict[str, Selector], gdepth: dict[str, int]) -> Invariant:
    m = d.mapping(node, "an invariant")
    allowed = ("id", "description", "allow_empty", "severity", "except", *KINDS)
    for key, (knode, _) in m.items():
        if key not in allowed:
            raise d.fail(knode, "an invariant key: " + ", ".join(allowed), key)
    kinds = [k for k in KINDS if k in m]
    if len(kinds) != 1:
        raise d.fail(node, "exactly one of deny, only, reach", ", ".join(kinds) or "none")
    kind = kinds[0]
    if "id" not in m:
        raise d.fail(node, "an id", "missing")
    inv_id = d.scalar(m["id"][1], "an id")
    if not inv_id.strip():
        raise d.fail(m["id"][1], "a non-empty id", "an empty id")
    description = d.scalar(m["description"][1], "a description") if "description" in m else ""
    allow_empty = d.boolean(m["allow_empty"][1], "allow_empty: true or false") if "allow_empty" in m else False
    severity = "high"
    if "severity" in m:
        severity = d.scalar(m["severity"][1], "severity: " + ", ".join(SEVERITIES))
        if severity not in SEVERITIES:
            raise d.fail(m["severity"][1], "severity: " + ", ".join(SEVERITIES), severity)
    body = d.mapping(m[kind][1], f"the {kind} statement")
    for key, (knode, _) in body.items():
        if key not in ("from", "to", "ports", "except_ports"):
            raise d.fail(knode, f"a {kind} key: from, to, ports, except_ports", key)
    if "to" not in body:
        raise d.fail(m[kind][1], f"{kind}: {{to: ...}} (the destination selector)", "missing")
    if kind == "only" and "from" not in body:
        raise d.fail(m[kind][1], "only: {from: ...} (who alone may connect)", "missing")
    src = selector(d, body["from"][1]) if "from" in body else None
    dst = selector(d, body["to"][1])
    for sel in (src, dst):
        if sel is not None:
            _check_use(sel, groups, gdepth)
    services = services_of(d, body["ports"][1]) if "ports" in body else ServiceSet.everything()
    ports_text = _text(body["ports"][1]) if "ports" in body else "all"
    if "except_ports" in body:
        services = services.minus(services_of(d, body["except_ports"][1]))
        ports_text += f" except {_text(body['except_ports'][1])}"
        if services.is_empty():
            raise d.say(body["except_ports"][0],
                        "except_ports removes every port of ports: the invariant would check nothing")
    exemptions = _exemptions(d, m["except"][1], groups, gdepth) if "except" in m else ()
    return Invariant(
        inv_id, kind, description, src, dst, services, ports_text, allow_empty,
        node.start_mark.line + 1, f"{d.path}:{d.at(node)}", severity, exemptions,
    )


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _exemptions(d: _Doc, node: yaml.Node, groups: dict[str, Selector],
                gdepth: dict[str, int]) -> tuple[Exemption, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise d.fail(node, "except: a non-empty list of {from, to, ports, reason, until}", _shown(node))
    out: list[Exemption] = []
    for item in node.value:
        m = d.mapping(item, "an except item")
        for key, (knode, _) in m.items():
            if key not in ("from", "to", "ports", "reason", "until"):
                raise d.fail(knode, "an except key: from, to, ports, reason, until", key)
        if "reason" not in m:
            raise d.fail(item, "an except item with a reason (why these flows are accepted)", "none")
        reason = d.scalar(m["reason"][1], "reason: a sentence")
        if not reason.strip():
            raise d.fail(m["reason"][1], "reason: a sentence", "an empty reason")
        src = selector(d, m["from"][1]) if "from" in m else None
        dst = selector(d, m["to"][1]) if "to" in m else None
        for sel in (src, dst):
            if sel is not None:
                _check_use(sel, groups, gdepth)
        services = services_of(d, m["ports"][1]) if "ports" in m else ServiceSet.everything()
        ports_text = _text(m["ports"][1]) if "ports" in m else "all"
        until = None
        if "until" in m:
            text = d.scalar(m["until"][1], "until: a date YYYY-MM-DD")
            try:
                if not _DATE.match(text):
                    raise ValueError(text)
                until = datetime.date.fromisoformat(text)
            except ValueError:
                raise d.fail(m["until"][1], "until: a date YYYY-MM-DD", text) from None
        expired = until is not None and until < today()
        out.append(Exemption(src, dst, services, ports_text, reason, until, expired, d.where(item)))
    return tuple(out)


def services_of(d: _Doc, node: yaml.Node) -> ServiceSet:
    """The service set of a `ports:` node (one port form or a list of them)."""
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


def selector(d: _Doc, node: yaml.Node) -> Selector:
    """A selector node: a group name or a mapping of selector keys (combined with AND)."""
    where = d.where(node)
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
    where = d.where(knode)
    text = f"{key}: {_text(v)}"
    if key in ("any_of", "all_of"):
        if not isinstance(v, yaml.SequenceNode) or not v.value:
            raise d.fail(v, f"{key}: a non-empty list of selectors", _shown(v))
        return Selector(key, None, tuple(selector(d, n) for n in v.value), where, text)
    if key == "not":
        return Selector(key, None, (selector(d, v),), where, text)
    if key in ("internet", "anywhere"):
        if not d.boolean(v, f"{key}: true"):
            raise d.fail(v, f"{key}: true (use not: {{{key}: true}} for the complement)", "false")
        return Selector(key, True, (), where, text)
    if key == "tag":
        tags = d.mapping(v, "tag: {Key: Value}")
        if not tags:
            raise d.fail(v, "tag: at least one Key: Value pair", "{}")
        pairs = tuple((k, d.scalar(val, "a tag value (* is the only wildcard)")) for k, (_, val) in tags.items())
        return Selector(key, pairs, (), where, text)
    values = v.value if isinstance(v, yaml.SequenceNode) else [v]
    if not values:
        raise d.fail(v, f"{key}: a value or a non-empty list", "an empty list")
    texts = tuple(d.scalar(x, f"{key}: a string value") for x in values)
    if key == "cidr":
        blocks = []
        for x, t in zip(values, texts, strict=True):
            try:
                blocks.append(spec_cidr(t))
            except ValueError as exc:
                raise d.say(x, str(exc)) from None
        texts = tuple(blocks)
    return Selector(key, texts, (), where, text)


_CIDR = re.compile(r"([0-9A-Fa-f:.]+)(?:/([0-9]+))?\Z")


def spec_cidr(text: str) -> str:
    """A spec `cidr` value in canonical form; a bare address is its /32 or /128 (contract section 3).

    >>> spec_cidr("10.1.2.224"), spec_cidr("2001:DB8::/32")
    ('10.1.2.224/32', '2001:db8::/32')
    """
    m = _CIDR.match(text.strip())
    wanted = "a CIDR block such as 203.0.113.0/24, or one address (ASCII digits, no leading zeros)"
    if m is None:
        raise ValueError(f"expected {wanted} (got {text})")
    try:
        addr = ipaddress.ip_address(m.group(1))
    except ValueError:
        raise ValueError(f"expected {wanted} (got {text})") from None
    bits = addr.max_prefixlen
    plen_text = m.group(2)
    plen = bits if plen_text is None else ascii_int(plen_text)
    if plen is None or plen > bits:
        raise ValueError(f"expected a prefix length 0-{bits} without leading zeros (got {text})")
    net = ipaddress.ip_network(f"{addr}/{plen}", strict=False)
    if net.network_address != addr:
        raise ValueError(f"host bits set in {text.strip()}: the block is {net}")
    return str(net)


def _group_leaves(sel: Selector) -> list[Selector]:
    """The `group` leaves inside a selector, in the order written."""
    out: list[Selector] = []
    todo = [sel]
    while todo:
        s = todo.pop()
        if s.key == "group":
            out.append(s)
        else:
            todo.extend(reversed(s.children))
    return out


def _place(sel: Selector) -> tuple[str, str | None]:
    parts = sel.where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], f"{parts[1]}:{parts[2]}"
    return sel.where, None


def _check_known(sel: Selector, groups: dict[str, Selector]) -> None:
    """Every group a selector names is defined."""
    for leaf in _group_leaves(sel):
        if leaf.value not in groups:
            raise InputError(*_place(leaf), "a group defined under groups:", leaf.value)


def _tree_depth(sel: Selector, group_depth: dict[str, int]) -> int:
    if sel.key == "group":
        return group_depth[sel.value]
    return 1 + max((_tree_depth(c, group_depth) for c in sel.children), default=0)


def _check_use(sel: Selector, groups: dict[str, Selector], group_depth: dict[str, int]) -> None:
    """A selector of an invariant names defined groups and nests at most MAX_DEPTH levels in all."""
    _check_known(sel, groups)
    if _tree_depth(sel, group_depth) > MAX_DEPTH:
        raise SpecError(*_place(sel), f"this selector nests more than {MAX_DEPTH} levels deep once the "
                        "groups it names are laid in: a spec that deep is refused")


def _check_groups(groups: dict[str, Selector]) -> dict[str, int]:
    """Groups name defined groups, none refers to itself, and none nests deeper than MAX_DEPTH once the
    groups it names are laid in. Iterative, and each group is walked once."""
    leaves = {g: _group_leaves(sel) for g, sel in groups.items()}
    for sel in groups.values():
        _check_known(sel, groups)
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    depth: dict[str, int] = {}
    for root in groups:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(leaves[root]))]
        while stack:
            g, refs = stack[-1]
            leaf = next(refs, None)
            if leaf is None:
                stack.pop()
                state[g] = 2
                depth[g] = _tree_depth(groups[g], depth)
                if depth[g] > MAX_DEPTH:
                    raise SpecError(*_place(groups[g]), f"group {g} nests more than {MAX_DEPTH} levels deep "
                                    "once the groups it names are laid in: a spec that deep is refused")
                continue
            name = leaf.value
            if state.get(name) == 1:
                path = [x for x, _ in stack]
                cycle = [*path[path.index(name):], name]
                raise SpecError(*_place(leaf), "a group that refers to itself: " + " -> ".join(cycle))
            if name not in state:
                state[name] = 1
                stack.append((name, iter(leaves[name])))
    return depth


# ---- the command line's `query` ------------------------------------------------------------

class _OptionDoc(_Doc):
    """A command-line option's value read as YAML: errors name the option, not a document."""

    def __init__(self, option: str, text: str):
        super().__init__(option)
        self.one_line = "\n" not in text.strip()

    def at(self, node: yaml.Node) -> str:
        return "" if self.one_line else super().at(node)

    def where(self, node: yaml.Node) -> str:
        return self.path if self.one_line else super().where(node)

    def fail(self, node: yaml.Node, expected: str, found: object = None) -> InputError:
        return InputError(self.path, self.at(node) or None, expected, found)

    def say(self, node: yaml.Node, message: str) -> InputError:
        return SpecError(self.path, self.at(node) or None, message)


def _option_node(option: str, text: str) -> yaml.Node:
    if not text.strip():
        raise SpecError(option, None, "expected a selector such as '{security_group: web}' (got nothing)")
    one_line = "\n" not in text.strip()
    try:
        node = compose(text, option)
    except SpecError as exc:
        raise SpecError(option, None if one_line else exc.place, exc.message) from None
    except InputError as exc:
        raise InputError(option, None if one_line else exc.place, exc.expected, exc.found) from None
    if node is None:
        raise SpecError(option, None, "expected a selector such as '{security_group: web}' (got nothing)")
    return node


def query_spec(src: str | None, dst: str, ports: str, base: Spec | None) -> Spec:
    """The one-invariant spec of `sgproof query`: a deny from --from to --to on --ports, with the
    groups and settings of `base` (--spec) when given. Every error names the option it is about."""
    groups = dict(base.groups) if base is not None else {}
    sels: dict[str, Selector | None] = {"--from": None}
    for option, text in (("--from", src), ("--to", dst)):
        if text is None:
            continue
        d = _OptionDoc(option, text)
        sel = selector(d, _option_node(option, text))
        for leaf in _group_leaves(sel):
            if leaf.value in groups:
                continue
            if base is None:
                raise SpecError(option, None, f"{leaf.value!r} is not a selector: write a mapping such as "
                                f"'{{security_group: {leaf.value}}}', or give --spec SPEC to use its groups")
            have = ", ".join(groups) or "none"
            raise SpecError(option, None, f"{base.path} has no group {leaf.value!r} (its groups: {have})")
        if _tree_depth(sel, _group_depths(groups)) > MAX_DEPTH:
            raise SpecError(option, None, f"the selector nests more than {MAX_DEPTH} levels deep")
        sels[option] = sel
    pd = _OptionDoc("--ports", ports)
    services = services_of(pd, _option_node("--ports", ports))
    inv = Invariant("query", "deny", "", sels["--from"], sels["--to"], services, ports.strip(), True, 0, "query")
    ephemeral = base.ephemeral if base is not None else (1024, 65535)
    return Spec(base.path if base is not None else "<query>", "query",
                base.source if base is not None else None, ephemeral, groups, (inv,),
                base.source_where if base is not None else None)


def _group_depths(groups: dict[str, Selector]) -> dict[str, int]:
    """Each group's nesting depth with the groups it names laid in (groups already checked acyclic)."""
    return _check_groups(groups) if groups else {}
