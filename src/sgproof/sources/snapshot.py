"""Snapshot documents (contract section 2): read a file or directory, and build the model from one.

This module is the boundary: AWS's PascalCase dicts become frozen model objects here, and nothing
past it touches a raw dict. Every malformed item is an InputError naming its JSON path.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import (
    ANY_PROTO,
    ICMP,
    ICMPS,
    ICMPV6,
    PORTED,
    SERVICE_MAX,
    Eni,
    Match,
    Nacl,
    NaclEntry,
    Network,
    Peer,
    PrefixList,
    SecurityGroup,
    SgRule,
    Subnet,
    Vpc,
)
from ..model.addr import (
    V4_MAX,
    V6_MAX,
    complement,
    format_interval,
    normalize,
    parse_address,
    parse_cidr,
)
from . import load_json, os_reason
from .internal import TF_ADDRESS, UNKNOWN_PRIVATE_IPV4, WARNINGS, marked

REQUIRED = ("SecurityGroups", "NetworkInterfaces", "Subnets", "NetworkAcls", "Vpcs")
METADATA = ("AccountId", "Region", "CollectedAt")
# Every key of contract section 2 holds a describe-API list: in a directory, a file whose value for one
# of these is not a list is wrong whichever file sorts first.
LIST_KEYS = (
    *REQUIRED, "RouteTables", "InternetGateways", "EgressOnlyInternetGateways", "NatGateways", "VpnGateways",
    "VpcPeeringConnections", "VpcEndpoints", "TransitGatewayAttachments", "TransitGatewayVpcAttachments",
    "TransitGatewayRouteTables", "ManagedPrefixLists", "Reservations",
)
PROTO_WORDS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "-1": -1, "all": -1}
CIDR_STATES = ("associating", "associated", "disassociating", "disassociated", "failing", "failed")
_ITEM = re.compile(r"([A-Za-z][A-Za-z0-9]*)\[(\d+)\](.*)", re.S)


class Document(dict[str, Any]):
    """A snapshot document merged from a directory, remembering which file and index each item came from.

    `origins[key][i]` is (file, index in that file) of the merged list `key`'s item i; `key_files[key]`
    is the file that gave a key that is not a list.
    """

    def __init__(self) -> None:
        super().__init__()
        self.origins: dict[str, list[tuple[str, int]]] = {}
        self.key_files: dict[str, str] = {}

    def locate(self, place: str) -> tuple[str | None, str]:
        """The file holding a merged-document place, and the place within that file (None: not known)."""
        m = _ITEM.fullmatch(place)
        if m and m[1] in self.origins and int(m[2]) < len(self.origins[m[1]]):
            file, index = self.origins[m[1]][int(m[2])]
            return file, f"{m[1]}[{index}]{m[3]}"
        key = re.split(r"[.\[]", place, maxsplit=1)[0]
        return self.key_files.get(key), place


def _json_files(path: Path) -> list[Path]:
    """The *.json entries of a snapshot directory, sorted; an entry that is no readable file fails later."""
    try:
        names = sorted(e.name for e in os.scandir(path) if e.name.lower().endswith(".json"))
    except OSError as exc:
        raise InputError(str(path), None, "a readable snapshot directory", exc.strerror) from None
    return [path / n for n in names]


def input_files(path: str) -> list[tuple[str, str]]:
    """Every file a snapshot path consists of, with its sha256."""
    from . import sha256_file

    p = Path(path)
    files = _json_files(p) if p.is_dir() else [p]
    return [(str(f), sha256_file(f)) for f in files]


def read_document(path: str) -> dict[str, Any]:
    """Read a snapshot: one JSON object, or a directory whose JSON files are merged key by key."""
    try:
        is_dir = stat.S_ISDIR(os.stat(path).st_mode)
    except FileNotFoundError:
        raise InputError(path, None, "an existing snapshot file or directory") from None
    except OSError as exc:
        raise InputError(path, None, "a readable snapshot file or directory", os_reason(exc)) from None
    if not is_dir:
        doc = load_json(path, "snapshot file")
        if not isinstance(doc, dict):
            raise InputError(path, "$", "a JSON object whose keys are describe-API response keys", type(doc).__name__)
        return doc
    files = _json_files(Path(path))
    if not files:
        raise InputError(path, None, "a directory holding describe-API JSON files (*.json)", "no .json file")
    merged = Document()
    for f in files:
        name = str(f)
        part = load_json(name, "snapshot file")
        if not isinstance(part, dict):
            raise InputError(name, "$", "a JSON object (an aws ec2 describe-* output)", type(part).__name__)
        for key, value in part.items():
            if key in LIST_KEYS and not isinstance(value, list):
                raise InputError(name, key, "a list (the describe-API response list)", type(value).__name__)
            if isinstance(value, list) and isinstance(merged.get(key, []), list):
                merged.setdefault(key, []).extend(value)
                merged.origins.setdefault(key, []).extend((name, i) for i in range(len(value)))
            elif key not in merged:
                merged[key] = value
                merged.key_files[key] = name
            elif key in METADATA and merged[key] != value:
                if not isinstance(value, str):
                    raise InputError(name, key, "a string", value)
                merged[key] = f"{merged[key]},{value}"
            # any other key that two files hold is unknown to the contract, hence ignored
    return merged


def _shown(value: object) -> object:
    """A found value as an error may print it: on one line."""
    if isinstance(value, str) and not value.isprintable():
        return repr(value)
    return value


_CIDR_EXAMPLES = {4: "an IPv4 CIDR block such as 10.0.0.0/16", 6: "an IPv6 CIDR block such as 2001:db8::/56",
                  None: "a CIDR block such as 10.0.0.0/16 or 2001:db8::/56"}
_ADDRESS_EXPECTED = {4: "an IPv4 address", 6: "an IPv6 address", None: "an IP address"}


class _Reader:
    """Typed access to one snapshot document, with JSON paths in every error: one accessor per shape."""

    def __init__(self, doc: dict[str, Any], file: str):
        self.doc = doc
        self.file = file
        self.warnings: list[str] = []
        self.merged = doc if isinstance(doc, Document) else None

    def locate(self, place: str) -> tuple[str, str]:
        if self.merged is None:
            return self.file, place
        file, local = self.merged.locate(place)
        return file or self.file, local

    def ref(self, place: str) -> str:
        """A second place named inside a message: with its file when the snapshot is a directory."""
        file, local = self.locate(place)
        return local if self.merged is None else f"{file}:{local}"

    def fail(self, place: str, expected: str, found: object = None) -> InputError:
        file, local = self.locate(place)
        return InputError(file, local, expected, _shown(found))

    def items(self, key: str, required: bool) -> Iterator[tuple[str, dict[str, Any]]]:
        if key not in self.doc:
            if required:
                raise self.fail(key, f"the top-level key {key!r} (the describe-API response list)", "missing")
            return
        value = self.doc[key]
        if not isinstance(value, list):
            raise self.fail(key, "a list", type(value).__name__)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "an object", type(item).__name__)
            yield f"{key}[{i}]", item

    def str_(self, item: dict[str, Any], key: str, place: str) -> str:
        """A required id or name: a non-empty string on one line."""
        value = item.get(key)
        if not isinstance(value, str) or not value or not value.isprintable():
            raise self.fail(f"{place}.{key}", "a non-empty string", "missing" if value is None else value)
        return value

    def opt_str(self, item: dict[str, Any], key: str, place: str, default: str = "") -> str:
        value = item.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(f"{place}.{key}", "a string", value)
        return value

    def opt_id(self, item: dict[str, Any], key: str, place: str) -> str | None:
        """An optional id: absent, null or "" (Terraform's unset) gives None, otherwise a non-empty string."""
        return None if item.get(key) in (None, "") else self.str_(item, key, place)

    def bool_(self, item: dict[str, Any], key: str, place: str, default: bool) -> bool:
        value = item.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{place}.{key}", "true or false (a JSON boolean)", value)
        return value

    def int_(self, item: dict[str, Any], key: str, place: str, default: int | None) -> int:
        """An integer; `default=None` makes it required."""
        value = item.get(key)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{place}.{key}", "an integer", "missing" if value is None else value)
        return value

    def obj(self, item: dict[str, Any], key: str, place: str, required: bool = False) -> dict[str, Any]:
        """A nested object; an optional one that is absent (or null) reads as {}."""
        value = item.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{place}.{key}", "an object", "missing" if value is None else value)
        return value

    def as_obj(self, value: object, place: str) -> dict[str, Any]:
        """A list element that must be an object."""
        if not isinstance(value, dict):
            raise self.fail(place, "an object", value)
        return value

    def list_(self, item: dict[str, Any], key: str, place: str, required: bool = False) -> list[Any]:
        value = item.get(key)
        if value is None:
            if required:
                raise self.fail(f"{place}.{key}", "a list (AWS always returns it, empty or not)", "missing")
            return []
        if not isinstance(value, list):
            raise self.fail(f"{place}.{key}", "a list", type(value).__name__)
        return value

    def objects(self, item: dict[str, Any], key: str, place: str,
                required: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
        """The items of a list of objects, each with its place."""
        items = self.list_(item, key, place, required)
        if not items:
            return
        base = f"{place}.{key}["
        for j, sub in enumerate(items):
            where = f"{base}{j}]"
            yield where, self.as_obj(sub, where)

    def cidr(self, text: object, place: str, family: int | None = None) -> tuple[int, int, int]:
        """A CIDR block; with `family`, only of that family (4 or 6)."""
        example = _CIDR_EXAMPLES[family]
        if not isinstance(text, str):
            raise self.fail(place, example, "missing" if text is None else text)
        try:
            out = parse_cidr(text)
        except ValueError as exc:
            why = str(exc)
            raise self.fail(place, example, why if why.startswith("host bits") else text) from None
        if family is not None and out[0] != family:
            raise self.fail(place, example, text)
        return out

    def address(self, text: object, place: str, family: int | None = None) -> tuple[int, int]:
        if not isinstance(text, str):
            raise self.fail(place, _ADDRESS_EXPECTED[family], "missing" if text is None else text)
        try:
            out = parse_address(text)
        except ValueError:
            raise self.fail(place, _ADDRESS_EXPECTED[family], text) from None
        if family is not None and out[0] != family:
            raise self.fail(place, _ADDRESS_EXPECTED[family], text)
        return out

    def tags(self, item: dict[str, Any], key: str, place: str) -> tuple[tuple[str, str], ...]:
        """A tag list as (key, value) pairs; a missing value reads as "". The well-formed list (every
        reader's, at 10,000 ENIs twenty thousand of them) is read without building a place per tag; any
        other goes through `_tags`, which names the first bad one."""
        out = []
        for tag in self.list_(item, key, place):
            k = tag.get("Key") if isinstance(tag, dict) else None
            v = tag.get("Value") if isinstance(tag, dict) else None
            if not isinstance(k, str) or not (v is None or isinstance(v, str)):
                return self._tags(item, key, place)
            out.append((k, "" if v is None else v))
        return tuple(out)

    def _tags(self, item: dict[str, Any], key: str, place: str) -> tuple[tuple[str, str], ...]:
        out = []
        for tplace, tag in self.objects(item, key, place):
            if not isinstance(tag.get("Key"), str):
                raise self.fail(f"{tplace}.Key", "a tag key (a string)", tag.get("Key", "missing"))
            out.append((tag["Key"], self.opt_str(tag, "Value", tplace)))
        return tuple(out)

    def proto(self, value: object, place: str) -> int:
        """A protocol as AWS writes it: a string, a name or a plain decimal number."""
        if not isinstance(value, str):
            raise self.fail(place, 'a protocol string: "tcp", "udp", "icmp", "icmpv6", "-1" or "0"-"255"',
                            "missing" if value is None else value)
        text = value.lower()
        if text in PROTO_WORDS:
            return PROTO_WORDS[text]
        if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") and int(text) <= 255:
            return int(text)
        raise self.fail(place, "a protocol: tcp, udp, icmp, icmpv6, -1 or a number 0-255", value)

    def state(self, assoc: dict[str, Any], key: str, place: str) -> str:
        """The State of a CIDR block association (absent: associated)."""
        value = self.obj(assoc, key, place).get("State", "associated")
        if value not in CIDR_STATES:
            raise self.fail(f"{place}.{key}.State", f"a block state ({', '.join(CIDR_STATES)})", value)
        return str(value)


def _tf(item: dict[str, Any]) -> str | None:
    value = marked(item, TF_ADDRESS)
    return str(value) if value else None


def _sg_match(r: _Reader, perm: dict[str, Any], place: str) -> Match:
    """The protocol and service interval of an IpPermission (contract 4.4 for -1 and other numbers)."""
    proto = r.proto(perm.get("IpProtocol"), f"{place}.IpProtocol")
    if proto in PORTED:
        # AWS returns both ports for every tcp/udp permission: reading a missing one as "all" is a guess
        frm = r.int_(perm, "FromPort", place, None)
        to = r.int_(perm, "ToPort", place, None)
        lo = 0 if frm == -1 else frm
        hi = SERVICE_MAX if to == -1 else to
        if not (0 <= lo <= hi <= SERVICE_MAX):
            raise r.fail(place, "FromPort <= ToPort within 0-65535", f"{frm}-{to}")
        return Match(proto, lo, hi)
    frm = r.int_(perm, "FromPort", place, -1)
    to = r.int_(perm, "ToPort", place, -1)
    if proto in ICMPS:
        return _icmp_match(r, proto, frm, to, place)
    return Match(ANY_PROTO if proto == ANY_PROTO else proto)


def _icmp_match(r: _Reader, proto: int, icmp_type: int, code: int, place: str) -> Match:
    if icmp_type == -1:
        if code != -1:
            r.warnings.append(
                f"{r.ref(place)}: ICMP type -1 (all) with code {code}; AWS ignores the code, so it is read as all ICMP"
            )
        return Match(proto)
    if not 0 <= icmp_type <= 255 or not -1 <= code <= 255:
        raise r.fail(place, "an ICMP type 0-255 (or -1) and code 0-255 (or -1)", f"{icmp_type}/{code}")
    if code == -1:
        return Match(proto, icmp_type * 256, icmp_type * 256 + 255)
    return Match(proto, icmp_type * 256 + code, icmp_type * 256 + code)


def build_network(doc: dict[str, Any], file: str) -> Network:
    """Turn a snapshot document into the model, failing on anything malformed or unmodelled."""
    r = _Reader(doc, file)
    for key in REQUIRED:
        if key not in doc:
            raise r.fail(key, f"the top-level key {key!r} (the describe-API response list)", "missing")
    for w in marked(doc, WARNINGS) or ():
        r.warnings.append(str(w))

    for key in METADATA:
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise r.fail(key, "a string", doc[key])

    vpcs: dict[str, Vpc] = {}
    vpc_places: dict[str, str] = {}
    for place, item in r.items("Vpcs", True):
        vid = r.str_(item, "VpcId", place)
        blocks: list[tuple[int, int, int]] = []
        if item.get("CidrBlock") not in (None, ""):
            blocks.append(r.cidr(item["CidrBlock"], f"{place}.CidrBlock", 4))
        for aplace, assoc in r.objects(item, "CidrBlockAssociationSet", place):
            block = r.cidr(assoc.get("CidrBlock"), f"{aplace}.CidrBlock", 4)
            if r.state(assoc, "CidrBlockState", aplace) in ("associated", "associating"):
                blocks.append(block)
        for aplace, assoc in r.objects(item, "Ipv6CidrBlockAssociationSet", place):
            block = r.cidr(assoc.get("Ipv6CidrBlock"), f"{aplace}.Ipv6CidrBlock", 6)
            if r.state(assoc, "Ipv6CidrBlockState", aplace) in ("associated", "associating"):
                blocks.append(block)
        if vid in vpcs:
            raise r.fail(place, f"one item per VPC id ({vid} is also {r.ref(vpc_places[vid])})")
        vpc_places[vid] = place
        vpcs[vid] = Vpc(vid, tuple(sorted(set(blocks))), r.tags(item, "Tags", place), _tf(item))
    _warn_overlapping_vpcs(r, vpcs)

    prefix_lists: dict[str, PrefixList] = {}
    pl_places: dict[str, str] = {}
    for place, item in r.items("ManagedPrefixLists", False):
        pid = r.str_(item, "PrefixListId", place)
        if pid in pl_places:
            raise r.fail(place, f"one item per prefix list id ({pid} is also {r.ref(pl_places[pid])})")
        pl_places[pid] = place
        name = r.opt_str(item, "PrefixListName", place, pid)
        if item.get("Entries") is None:
            continue  # a list no rule uses may come without entries; a rule that uses it fails below
        cidrs = tuple(r.cidr(e.get("Cidr"), f"{eplace}.Cidr") for eplace, e in r.objects(item, "Entries", place))
        prefix_lists[pid] = PrefixList(pid, name, cidrs, _tf(item))

    sg_items = list(r.items("SecurityGroups", True))
    known_groups: dict[str, str] = {}
    for place, item in sg_items:
        gid = r.str_(item, "GroupId", place)
        if gid in known_groups:
            raise r.fail(place, f"one item per security group id ({gid} is also {r.ref(known_groups[gid])})")
        known_groups[gid] = place

    unknown_groups: set[str] = set()
    sgs: dict[str, SecurityGroup] = {}
    for place, item in sg_items:
        gid = item["GroupId"]
        rules: dict[bool, list[SgRule]] = {False: [], True: []}
        for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
            # a group without its rule list would read as "no rule": a proof resting on rules nobody saw
            for pplace, perm in r.objects(item, key, place, required=True):
                match = _sg_match(r, perm, pplace)
                tf = _tf(perm) or _tf(item)
                for peer, desc, ppl in _peers(r, perm, pplace, known_groups, prefix_lists, unknown_groups):
                    rules[egress].append(SgRule(gid, egress, match, peer, ppl, desc, tf))
        sgs[gid] = SecurityGroup(
            gid,
            r.opt_str(item, "GroupName", place, gid),
            r.opt_id(item, "VpcId", place),
            tuple(rules[False]),
            tuple(rules[True]),
            r.opt_str(item, "Description", place),
            r.tags(item, "Tags", place),
            _tf(item),
        )
    for gid in sorted(unknown_groups):
        r.warnings.append(
            f"rules reference security group {gid}, which the snapshot does not hold (another account or "
            "deleted): it is taken to match every external address"
        )

    nacls: dict[str, Nacl] = {}
    nacl_places: dict[str, str] = {}
    subnet_nacl: dict[str, str] = {}
    default_nacl: dict[str, str] = {}
    for place, item in r.items("NetworkAcls", True):
        nid = r.str_(item, "NetworkAclId", place)
        vid = r.str_(item, "VpcId", place)
        if nid in nacl_places:
            raise r.fail(place, f"one item per network ACL id ({nid} is also {r.ref(nacl_places[nid])})")
        nacl_places[nid] = place
        if vid not in vpcs:
            raise r.fail(f"{place}.VpcId", "a VPC that the snapshot's Vpcs list holds", vid)
        if item.get("Entries") is None:
            # contract 4.4: read as "no entries" it would deny everything, and prove every deny
            raise r.fail(f"{place}.Entries", "the NACL's Entries list (the proof would rest on rules nobody can see)",
                         "missing")
        entries = [_nacl_entry(r, e, eplace) for eplace, e in r.objects(item, "Entries", place)]
        if not entries:
            r.warnings.append(
                f"{r.ref(place)}: network ACL {nid} has no entries, not even the two * entries AWS always "
                "returns: it is read as denying everything; check that the snapshot is complete"
            )
        subnets = []
        for aplace, assoc in r.objects(item, "Associations", place, required=True):
            sid = r.str_(assoc, "SubnetId", aplace)
            if sid in subnet_nacl and subnet_nacl[sid] != nid:
                raise r.fail(aplace, f"one network ACL per subnet ({sid} is also in {subnet_nacl[sid]})")
            subnet_nacl[sid] = nid
            subnets.append(sid)
        is_default = r.bool_(item, "IsDefault", place, False)
        if is_default:
            if vid in default_nacl:
                raise r.fail(f"{place}.IsDefault", f"one default network ACL per VPC ({default_nacl[vid]} is the "
                             f"default of {vid})", True)
            default_nacl[vid] = nid
        for egress in (False, True):
            seen: dict[int, str] = {}
            for e in entries:
                if e.egress == egress:
                    if e.number in seen:
                        raise r.fail(e.origin, f"unique rule numbers per direction ({e.number} is also {r.ref(seen[e.number])})")
                    seen[e.number] = e.origin
        nacls[nid] = Nacl(
            nid,
            vid,
            is_default,
            tuple(sorted((e for e in entries if not e.egress), key=lambda e: e.number)),
            tuple(sorted((e for e in entries if e.egress), key=lambda e: e.number)),
            tuple(subnets),
            r.tags(item, "Tags", place),
            _tf(item),
        )

    subnets_by_id: dict[str, Subnet] = {}
    subnet_places: dict[str, str] = {}
    for place, item in r.items("Subnets", True):
        sid = r.str_(item, "SubnetId", place)
        vid = r.str_(item, "VpcId", place)
        if sid in subnet_places:
            raise r.fail(place, f"one item per subnet id ({sid} is also {r.ref(subnet_places[sid])})")
        subnet_places[sid] = place
        if vid not in vpcs:
            raise r.fail(f"{place}.VpcId", "a VPC that the snapshot's Vpcs list holds", vid)
        blocks = []
        if item.get("CidrBlock") not in (None, ""):
            blocks.append(r.cidr(item["CidrBlock"], f"{place}.CidrBlock", 4))
            _check_inside(r, f"{place}.CidrBlock", blocks[-1], vpcs[vid].cidrs, f"the blocks of {vid}")
        for aplace, assoc in r.objects(item, "Ipv6CidrBlockAssociationSet", place):
            block = r.cidr(assoc.get("Ipv6CidrBlock"), f"{aplace}.Ipv6CidrBlock", 6)
            if r.state(assoc, "Ipv6CidrBlockState", aplace) in ("associated", "associating"):
                _check_inside(r, f"{aplace}.Ipv6CidrBlock", block, vpcs[vid].cidrs, f"the blocks of {vid}")
                blocks.append(block)
        nacl_id = subnet_nacl.get(sid) or default_nacl.get(vid)
        if nacl_id is None:
            raise r.fail(place, f"a network ACL for subnet {sid}: an association, or a default NACL of {vid} in NetworkAcls")
        if nacls[nacl_id].vpc_id != vid:
            raise r.fail(nacl_places[nacl_id], f"network ACL associations with subnets of its own VPC ({sid} is in "
                         f"{vid}, the ACL in {nacls[nacl_id].vpc_id})")
        az = item.get("AvailabilityZone")
        subnets_by_id[sid] = Subnet(sid, vid, tuple(blocks), nacl_id, r.tags(item, "Tags", place), _tf(item),
                                    az if isinstance(az, str) else None)

    instance_tags: dict[str, tuple[tuple[str, str], ...]] = {}
    instance_tf: dict[str, str | None] = {}
    instance_places: dict[str, str] = {}
    for place, res in r.items("Reservations", False):
        for iplace, inst in r.objects(res, "Instances", place):
            iid = r.str_(inst, "InstanceId", iplace)
            if iid in instance_places:
                raise r.fail(iplace, f"one item per instance id ({iid} is also {r.ref(instance_places[iid])})")
            instance_places[iid] = iplace
            instance_tags[iid] = r.tags(inst, "Tags", iplace)
            instance_tf[iid] = _tf(inst)

    enis = [
        _eni(r, place, item, subnets_by_id, sgs, instance_tags, instance_tf)
        for place, item in r.items("NetworkInterfaces", True)
    ]
    seen_eni: dict[str, int] = {}
    for i, item_eni in enumerate(enis):
        if item_eni.id in seen_eni:
            raise r.fail(f"NetworkInterfaces[{i}]", f"one item per network interface id ({item_eni.id} is also "
                         f"{r.ref(f'NetworkInterfaces[{seen_eni[item_eni.id]}]')})")
        seen_eni[item_eni.id] = i

    vpc_space: dict[int, tuple[tuple[int, int], ...]] = {}
    external: dict[int, tuple[tuple[int, int], ...]] = {}
    for fam, top in ((4, V4_MAX), (6, V6_MAX)):
        inside = normalize((lo, hi) for v in vpcs.values() for f, lo, hi in v.cidrs if f == fam)
        owned = normalize(
            [(lo, hi) for e in enis for f, lo, hi in e.private if f == fam]
            + ([(p, p) for e in enis for p in e.public] if fam == 4 else [])
            + list(inside)
        )
        vpc_space[fam] = inside
        external[fam] = complement(owned, top)
    _check_duplicate_addresses(r, enis)
    from .routing import build_routing

    routing = build_routing(r, doc, vpcs, subnets_by_id, prefix_lists)
    return Network(
        vpcs,
        subnets_by_id,
        tuple(enis),
        sgs,
        nacls,
        prefix_lists,
        tuple(r.warnings),
        vpc_space,
        external,
        frozenset(unknown_groups),
        routing,
    )


def _peers(
    r: _Reader,
    perm: dict[str, Any],
    place: str,
    known_groups: dict[str, str],
    prefix_lists: dict[str, PrefixList],
    unknown_groups: set[str],
) -> Iterator[tuple[Peer, str, str]]:
    for key, field, family in (("IpRanges", "CidrIp", 4), ("Ipv6Ranges", "CidrIpv6", 6)):
        for rplace, rng in r.objects(perm, key, place):
            text = rng.get(field)
            fam, lo, hi = r.cidr(text, f"{rplace}.{field}", family)
            yield Peer("cidr", str(text), fam, lo, hi), r.opt_str(rng, "Description", rplace), rplace
    for ppl, pl in r.objects(perm, "PrefixListIds", place):
        pid = pl.get("PrefixListId")
        if not isinstance(pid, str) or pid not in prefix_lists:
            raise r.fail(
                ppl,
                "a prefix list whose entries the snapshot holds (ManagedPrefixLists with Entries)",
                pid,
            )
        yield Peer("pl", pid), r.opt_str(pl, "Description", ppl), ppl
    for ppl, pair in r.objects(perm, "UserIdGroupPairs", place):
        gid = r.str_(pair, "GroupId", ppl)
        if gid not in known_groups:
            unknown_groups.add(gid)
        yield Peer("sg", gid), r.opt_str(pair, "Description", ppl), ppl


def _nacl_entry(r: _Reader, e: dict[str, Any], place: str) -> NaclEntry:
    number = e.get("RuleNumber")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 32768:
        raise r.fail(f"{place}.RuleNumber", "a rule number 1-32768", number)
    action = e.get("RuleAction")
    if action not in ("allow", "deny"):
        raise r.fail(f"{place}.RuleAction", "allow or deny", action)
    egress = e.get("Egress")
    if not isinstance(egress, bool):
        raise r.fail(f"{place}.Egress", "true or false", egress)
    c4, c6 = e.get("CidrBlock"), e.get("Ipv6CidrBlock")
    if c4 is not None and c6 is not None:
        raise r.fail(place, "one of CidrBlock and Ipv6CidrBlock (an entry matches one family)", "both")
    if c4 is not None:
        text = c4
        fam, lo, hi = r.cidr(text, f"{place}.CidrBlock", 4)
    elif c6 is not None:
        text = c6
        fam, lo, hi = r.cidr(text, f"{place}.Ipv6CidrBlock", 6)
    else:
        raise r.fail(place, "a CidrBlock or an Ipv6CidrBlock")
    proto = r.proto(e.get("Protocol"), f"{place}.Protocol")
    if proto in PORTED:
        # AWS returns a PortRange with every tcp/udp entry; without it the entry's ports are unknown
        pr = r.obj(e, "PortRange", place, required=True)
        lo_p = r.int_(pr, "From", f"{place}.PortRange", None)
        hi_p = r.int_(pr, "To", f"{place}.PortRange", None)
        if not 0 <= lo_p <= hi_p <= SERVICE_MAX:
            raise r.fail(f"{place}.PortRange", "From <= To within 0-65535", f"{lo_p}-{hi_p}")
        match = Match(proto, lo_p, hi_p)
    elif proto in (ICMP, ICMPV6):
        tc = r.obj(e, "IcmpTypeCode", place)
        match = _icmp_match(
            r, proto, r.int_(tc, "Type", f"{place}.IcmpTypeCode", -1),
            r.int_(tc, "Code", f"{place}.IcmpTypeCode", -1), place,
        )
    else:
        match = Match(proto)
    return NaclEntry(number, egress, action == "allow", match, fam, lo, hi, str(text), place, _tf(e))


def _assignable(block: tuple[int, int, int]) -> tuple[int, int, int]:
    """The addresses of a subnet's IPv4 block that AWS may give an ENI: not the first four nor the last
    (CreateSubnet: "AWS reserves both the first four and the last IPv4 address in each subnet's CIDR
    block"). A block smaller than AWS's smallest subnet (/28) is left as it is."""
    fam, lo, hi = block
    return (fam, lo + 4, hi - 1) if fam == 4 and hi - lo + 1 >= 16 else block


def _check_inside(r: _Reader, place: str, block: tuple[int, int, int],
                  outer: tuple[tuple[int, int, int], ...], what: str) -> None:
    """Refuse a block (or address) that lies outside every block of `outer` of its family."""
    fam, lo, hi = block
    for f, olo, ohi in outer:
        if f == fam and olo <= lo and hi <= ohi:
            return
    shown = ", ".join(format_interval(f, a, b) for f, a, b in outer if f == fam) or f"no IPv{fam} block"
    raise r.fail(place, f"addresses inside {what} ({shown})", format_interval(fam, lo, hi))


def _warn_overlapping_vpcs(r: _Reader, vpcs: dict[str, Vpc]) -> None:
    """Contract section 2: VPCs that share addresses are accepted, with a warning naming them."""
    blocks = sorted((f, lo, hi, vid) for vid, v in vpcs.items() for f, lo, hi in v.cidrs)
    pairs: dict[frozenset[str], str] = {}
    furthest: dict[int, tuple[int, int, str]] = {}  # per family: the block seen so far that ends last
    for f, lo, hi, vid in blocks:
        prev = furthest.get(f)
        if prev is not None and lo <= prev[1] and prev[2] != vid:
            pairs.setdefault(frozenset((prev[2], vid)), f"{prev[2]} ({format_interval(f, prev[0], prev[1])}) and "
                             f"{vid} ({format_interval(f, lo, hi)})")
        if prev is None or hi > prev[1]:
            furthest[f] = (lo, hi, vid)
    if pairs:
        more = f" and {len(pairs) - 5} more pair(s)" if len(pairs) > 5 else ""
        r.warnings.append(
            f"VPCs share addresses: {'; '.join(list(pairs.values())[:5])}{more}; security-group references and routes "
            "are resolved per VPC, and a cidr selector matches ENIs of each"
        )


def _eni(
    r: _Reader,
    place: str,
    item: dict[str, Any],
    subnets: dict[str, Subnet],
    sgs: dict[str, SecurityGroup],
    instance_tags: dict[str, tuple[tuple[str, str], ...]],
    instance_tf: dict[str, str | None],
) -> Eni:
    eid = r.str_(item, "NetworkInterfaceId", place)
    sid = r.str_(item, "SubnetId", place)
    subnet = subnets.get(sid)
    if subnet is None:
        raise r.fail(f"{place}.SubnetId", "a subnet that the snapshot's Subnets list holds", sid)
    groups = []
    for gplace, g in r.objects(item, "Groups", place, required=True):
        gid = r.str_(g, "GroupId", gplace)
        if gid not in sgs:
            raise r.fail(
                f"{gplace}.GroupId",
                "a security group that the snapshot describes (the proof would rest on rules nobody can see)",
                gid,
            )
        groups.append(gid)
    vpc_id = r.opt_id(item, "VpcId", place)
    if vpc_id is not None and vpc_id != subnet.vpc_id:
        raise r.fail(f"{place}.VpcId", f"the VPC of its subnet {sid} ({subnet.vpc_id})", vpc_id)
    private: list[tuple[int, int, int]] = []
    public: list[int] = []
    public_map: dict[int, int] = {}  # private IPv4 -> its public IPv4
    primary = item.get("PrivateIpAddress")
    primary_value = None
    if primary:
        fam, value = r.address(primary, f"{place}.PrivateIpAddress", 4)
        private.append((fam, value, value))
        primary_value = value
    for j, pip in enumerate(r.list_(item, "PrivateIpAddresses", place)):
        pplace = f"{place}.PrivateIpAddresses[{j}]"
        pip = r.as_obj(pip, pplace)
        fam, value = r.address(pip.get("PrivateIpAddress"), f"{pplace}.PrivateIpAddress", 4)
        if (fam, value, value) not in private:
            private.append((fam, value, value))
        pub = r.obj(pip, "Association", pplace).get("PublicIp")
        if pub:
            pub_value = r.address(pub, f"{pplace}.Association.PublicIp", 4)[1]
            public.append(pub_value)
            public_map[value] = pub_value
    for aplace, a in r.objects(item, "Ipv6Addresses", place):
        fam, value = r.address(a.get("Ipv6Address"), f"{aplace}.Ipv6Address", 6)
        private.append((fam, value, value))
    for key, sub, family in (("Ipv4Prefixes", "Ipv4Prefix", 4), ("Ipv6Prefixes", "Ipv6Prefix", 6)):
        for pplace, pfx in r.objects(item, key, place):
            private.append(r.cidr(pfx.get(sub), f"{pplace}.{sub}", family))
    unknown = marked(item, UNKNOWN_PRIVATE_IPV4)
    unknown_block = None
    if unknown:
        unknown_block = _assignable(r.cidr(unknown, f"{place}.PrivateIpAddress (assigned at apply)"))
        private.append(unknown_block)
    pub = r.obj(item, "Association", place).get("PublicIp")
    if pub:
        pub_value = r.address(pub, f"{place}.Association.PublicIp", 4)[1]
        public.append(pub_value)
        if primary_value is not None:
            public_map.setdefault(primary_value, pub_value)
    if not private:
        raise r.fail(place, f"at least one private address on {eid} (PrivateIpAddress or PrivateIpAddresses)")
    for block in private:
        _check_inside(r, place, block, subnet.cidrs, f"its subnet {sid}")
    instance_id = r.opt_id(r.obj(item, "Attachment", place), "InstanceId", f"{place}.Attachment")
    return Eni(
        eid,
        sid,
        subnet.vpc_id,
        tuple(groups),
        tuple(private),
        tuple(sorted(set(public))),
        r.opt_str(item, "InterfaceType", place) or "interface",
        r.opt_str(item, "Description", place),
        r.bool_(item, "RequesterManaged", place, False),
        instance_id,
        r.tags(item, "TagSet", place),
        instance_tags.get(instance_id, ()) if instance_id else (),
        _tf(item),
        instance_tf.get(instance_id) if instance_id else None,
        bool(unknown),
        tuple(sorted(public_map.items())),
        unknown_block,
    )


def _check_duplicate_addresses(r: _Reader, enis: list[Eni]) -> None:
    owner: dict[tuple[int, int], str] = {}
    dups = []
    for e in enis:
        for fam, lo, hi in e.private:
            if lo == hi and not e.address_unknown:
                prev = owner.setdefault((fam, lo), e.id)
                if prev != e.id:
                    dups.append((prev, e.id))
    if dups:
        a, b = dups[0]
        r.warnings.append(
            f"{len(dups)} private address(es) are held by more than one ENI (first: {a} and {b}, in "
            "overlapping VPCs); security-group references are resolved per ENI"
        )
