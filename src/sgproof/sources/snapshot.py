"""Snapshot documents (contract section 2): read a file or directory, and build the model from one.

This module is the boundary: AWS's PascalCase dicts become frozen model objects here, and nothing
past it touches a raw dict. Every malformed item is an InputError naming its JSON path.
"""

from __future__ import annotations

import json
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
from ..model.addr import V4_MAX, V6_MAX, complement, normalize, parse_address, parse_cidr

REQUIRED = ("SecurityGroups", "NetworkInterfaces", "Subnets", "NetworkAcls", "Vpcs")
METADATA = ("AccountId", "Region", "CollectedAt")
PROTO_WORDS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "-1": -1, "all": -1}
# Keys whose presence means the snapshot holds something this version does not model.
NOT_MODELLED: dict[str, str] = {}


def _json_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".json")


def input_files(path: str) -> list[tuple[str, str]]:
    """Every file a snapshot path consists of, with its sha256."""
    from . import sha256_file

    p = Path(path)
    files = _json_files(p) if p.is_dir() else [p]
    return [(str(f), sha256_file(f)) for f in files]


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError(str(path), None, "an existing snapshot file or directory") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"{exc.lineno}:{exc.colno}", f"valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, "a readable UTF-8 JSON file", str(exc)) from None


def read_document(path: str) -> dict[str, Any]:
    """Read a snapshot: one JSON object, or a directory whose JSON files are merged key by key."""
    p = Path(path)
    if not p.exists():
        raise InputError(path, None, "an existing snapshot file or directory")
    if not p.is_dir():
        doc = _load_json(p)
        if not isinstance(doc, dict):
            raise InputError(path, "$", "a JSON object whose keys are describe-API response keys", type(doc).__name__)
        return doc
    files = _json_files(p)
    if not files:
        raise InputError(path, None, "a directory holding describe-API JSON files (*.json)", "no .json file")
    merged: dict[str, Any] = {}
    for f in files:
        part = _load_json(f)
        if not isinstance(part, dict):
            raise InputError(str(f), "$", "a JSON object (an aws ec2 describe-* output)", type(part).__name__)
        for key, value in part.items():
            if isinstance(value, list):
                merged.setdefault(key, [])
                if not isinstance(merged[key], list):
                    raise InputError(str(f), key, "a list, as in the other files", type(value).__name__)
                merged[key].extend(value)
            elif key in METADATA and key in merged and merged[key] != value:
                merged[key] = f"{merged[key]},{value}"
            else:
                merged.setdefault(key, value)
    return merged


class _Reader:
    """Typed access to one snapshot document, with JSON paths in every error."""

    def __init__(self, doc: dict[str, Any], file: str):
        self.doc = doc
        self.file = file
        self.warnings: list[str] = []

    def fail(self, place: str, expected: str, found: object = None) -> InputError:
        return InputError(self.file, place, expected, found)

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
        value = item.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(f"{place}.{key}", "a non-empty string", "missing" if value is None else value)
        return value

    def list_(self, item: dict[str, Any], key: str, place: str) -> list[Any]:
        value = item.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{place}.{key}", "a list", type(value).__name__)
        return value

    def cidr(self, text: object, place: str) -> tuple[int, int, int]:
        if not isinstance(text, str):
            raise self.fail(place, "a CIDR block such as 10.0.0.0/16", text)
        try:
            return parse_cidr(text)
        except ValueError:
            raise self.fail(place, "a CIDR block such as 10.0.0.0/16 or 2001:db8::/56", text) from None

    def address(self, text: object, place: str) -> tuple[int, int]:
        if not isinstance(text, str):
            raise self.fail(place, "an IP address", text)
        try:
            return parse_address(text)
        except ValueError:
            raise self.fail(place, "an IP address", text) from None

    def tags(self, item: dict[str, Any], key: str, place: str) -> tuple[tuple[str, str], ...]:
        out = []
        for j, tag in enumerate(self.list_(item, key, place)):
            if not isinstance(tag, dict) or "Key" not in tag:
                raise self.fail(f"{place}.{key}[{j}]", "a {Key, Value} object", tag)
            out.append((str(tag["Key"]), str(tag.get("Value", ""))))
        return tuple(out)

    def proto(self, value: object, place: str) -> int:
        text = str(value).lower() if value is not None else ""
        if text in PROTO_WORDS:
            return PROTO_WORDS[text]
        if text.isdigit() and 0 <= int(text) <= 255:
            return int(text)
        raise self.fail(place, "a protocol: tcp, udp, icmp, icmpv6, -1 or a number 0-255", value)


def _tf(item: dict[str, Any]) -> str | None:
    value = item.get("SgproofTfAddress")
    return str(value) if value else None


def _int_or(value: object, default: int, reader: _Reader, place: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise reader.fail(place, "an integer", value)
    return value


def _sg_match(r: _Reader, perm: dict[str, Any], place: str) -> Match:
    """The protocol and service interval of an IpPermission (contract 4.4 for -1 and other numbers)."""
    proto = r.proto(perm.get("IpProtocol"), f"{place}.IpProtocol")
    frm = _int_or(perm.get("FromPort"), -1, r, f"{place}.FromPort")
    to = _int_or(perm.get("ToPort"), -1, r, f"{place}.ToPort")
    if proto in PORTED:
        lo = 0 if frm == -1 else frm
        hi = SERVICE_MAX if to == -1 else to
        if not (0 <= lo <= hi <= SERVICE_MAX):
            raise r.fail(place, "FromPort <= ToPort within 0-65535", f"{frm}-{to}")
        return Match(proto, lo, hi)
    if proto in ICMPS:
        return _icmp_match(r, proto, frm, to, place)
    return Match(ANY_PROTO if proto == ANY_PROTO else proto)


def _icmp_match(r: _Reader, proto: int, icmp_type: int, code: int, place: str) -> Match:
    if icmp_type == -1:
        if code != -1:
            r.warnings.append(
                f"{place}: ICMP type -1 (all) with code {code}; AWS ignores the code, so it is read as all ICMP"
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
    for key, why in NOT_MODELLED.items():
        if doc.get(key):
            r.warnings.append(why)
    for w in r.list_(doc, "SgproofWarnings", "$"):
        r.warnings.append(str(w))

    vpcs: dict[str, Vpc] = {}
    for place, item in r.items("Vpcs", True):
        vid = r.str_(item, "VpcId", place)
        blocks: list[tuple[int, int, int]] = []
        if item.get("CidrBlock"):
            blocks.append(r.cidr(item["CidrBlock"], f"{place}.CidrBlock"))
        for j, assoc in enumerate(r.list_(item, "CidrBlockAssociationSet", place)):
            state = (assoc.get("CidrBlockState") or {}).get("State", "associated")
            if state in ("associated", "associating"):
                blocks.append(r.cidr(assoc.get("CidrBlock"), f"{place}.CidrBlockAssociationSet[{j}].CidrBlock"))
        for j, assoc in enumerate(r.list_(item, "Ipv6CidrBlockAssociationSet", place)):
            state = (assoc.get("Ipv6CidrBlockState") or {}).get("State", "associated")
            if state in ("associated", "associating"):
                blocks.append(r.cidr(assoc.get("Ipv6CidrBlock"), f"{place}.Ipv6CidrBlockAssociationSet[{j}].Ipv6CidrBlock"))
        if vid in vpcs:
            raise r.fail(place, f"one item per VPC id ({vid} appears twice)")
        vpcs[vid] = Vpc(vid, tuple(sorted(set(blocks))), r.tags(item, "Tags", place), _tf(item))

    prefix_lists: dict[str, PrefixList] = {}
    for place, item in r.items("ManagedPrefixLists", False):
        pid = r.str_(item, "PrefixListId", place)
        if "Entries" not in item:
            continue  # a list no rule uses may come without entries; a rule that uses it fails below
        cidrs = tuple(
            r.cidr((e or {}).get("Cidr"), f"{place}.Entries[{j}].Cidr")
            for j, e in enumerate(r.list_(item, "Entries", place))
        )
        prefix_lists[pid] = PrefixList(pid, str(item.get("PrefixListName", pid)), cidrs, _tf(item))

    sg_items = list(r.items("SecurityGroups", True))
    known_groups: dict[str, str] = {}
    for place, item in sg_items:
        gid = r.str_(item, "GroupId", place)
        if gid in known_groups:
            raise r.fail(place, f"one item per security group id ({gid} is also {known_groups[gid]})")
        known_groups[gid] = place

    unknown_groups: set[str] = set()
    sgs: dict[str, SecurityGroup] = {}
    for place, item in sg_items:
        gid = item["GroupId"]
        rules: dict[bool, list[SgRule]] = {False: [], True: []}
        for egress, key in ((False, "IpPermissions"), (True, "IpPermissionsEgress")):
            for j, perm in enumerate(r.list_(item, key, place)):
                pplace = f"{place}.{key}[{j}]"
                if not isinstance(perm, dict):
                    raise r.fail(pplace, "an IpPermission object", perm)
                match = _sg_match(r, perm, pplace)
                tf = _tf(perm) or _tf(item)
                for peer, desc, ppl in _peers(r, perm, pplace, known_groups, prefix_lists, unknown_groups):
                    rules[egress].append(SgRule(gid, egress, match, peer, ppl, desc, tf))
        sgs[gid] = SecurityGroup(
            gid,
            str(item.get("GroupName", gid)),
            item.get("VpcId"),
            tuple(rules[False]),
            tuple(rules[True]),
            str(item.get("Description", "")),
            r.tags(item, "Tags", place),
            _tf(item),
        )
    for gid in sorted(unknown_groups):
        r.warnings.append(
            f"rules reference security group {gid}, which the snapshot does not hold (another account or "
            "deleted): it is taken to match every external address"
        )

    nacls: dict[str, Nacl] = {}
    subnet_nacl: dict[str, str] = {}
    default_nacl: dict[str, str] = {}
    for place, item in r.items("NetworkAcls", True):
        nid = r.str_(item, "NetworkAclId", place)
        vid = r.str_(item, "VpcId", place)
        entries = [_nacl_entry(r, e, f"{place}.Entries[{j}]") for j, e in enumerate(r.list_(item, "Entries", place))]
        subnets = []
        for j, assoc in enumerate(r.list_(item, "Associations", place)):
            sid = r.str_(assoc, "SubnetId", f"{place}.Associations[{j}]")
            if sid in subnet_nacl and subnet_nacl[sid] != nid:
                raise r.fail(f"{place}.Associations[{j}]", f"one network ACL per subnet ({sid} is also in {subnet_nacl[sid]})")
            subnet_nacl[sid] = nid
            subnets.append(sid)
        is_default = bool(item.get("IsDefault", False))
        if is_default:
            default_nacl[vid] = nid
        for egress in (False, True):
            seen: dict[int, str] = {}
            for e in entries:
                if e.egress == egress:
                    if e.number in seen:
                        raise r.fail(e.origin, f"unique rule numbers per direction ({e.number} is also {seen[e.number]})")
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
    for place, item in r.items("Subnets", True):
        sid = r.str_(item, "SubnetId", place)
        vid = r.str_(item, "VpcId", place)
        if vid not in vpcs:
            raise r.fail(f"{place}.VpcId", "a VPC that the snapshot's Vpcs list holds", vid)
        blocks = []
        if item.get("CidrBlock"):
            blocks.append(r.cidr(item["CidrBlock"], f"{place}.CidrBlock"))
        for j, assoc in enumerate(r.list_(item, "Ipv6CidrBlockAssociationSet", place)):
            blocks.append(r.cidr(assoc.get("Ipv6CidrBlock"), f"{place}.Ipv6CidrBlockAssociationSet[{j}].Ipv6CidrBlock"))
        nacl_id = subnet_nacl.get(sid) or default_nacl.get(vid)
        if nacl_id is None:
            raise r.fail(place, f"a network ACL for subnet {sid}: an association, or a default NACL of {vid} in NetworkAcls")
        az = item.get("AvailabilityZone")
        subnets_by_id[sid] = Subnet(sid, vid, tuple(blocks), nacl_id, r.tags(item, "Tags", place), _tf(item),
                                    az if isinstance(az, str) else None)

    instance_tags: dict[str, tuple[tuple[str, str], ...]] = {}
    instance_tf: dict[str, str | None] = {}
    for place, res in r.items("Reservations", False):
        for j, inst in enumerate(r.list_(res, "Instances", place)):
            iplace = f"{place}.Instances[{j}]"
            iid = r.str_(inst, "InstanceId", iplace)
            instance_tags[iid] = r.tags(inst, "Tags", iplace)
            instance_tf[iid] = _tf(inst)

    enis = [
        _eni(r, place, item, subnets_by_id, sgs, instance_tags, instance_tf)
        for place, item in r.items("NetworkInterfaces", True)
    ]
    seen_eni: set[str] = set()
    for item_eni in enis:
        if item_eni.id in seen_eni:
            raise r.fail("NetworkInterfaces", f"one item per network interface id ({item_eni.id} appears twice)")
        seen_eni.add(item_eni.id)

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
    for key, field, family, expected in (
        ("IpRanges", "CidrIp", 4, "an IPv4 block (IPv6 goes in Ipv6Ranges)"),
        ("Ipv6Ranges", "CidrIpv6", 6, "an IPv6 block (IPv4 goes in IpRanges)"),
    ):
        for j, rng in enumerate(r.list_(perm, key, place)):
            text = (rng or {}).get(field)
            fam, lo, hi = r.cidr(text, f"{place}.{key}[{j}].{field}")
            if fam != family:
                raise r.fail(f"{place}.{key}[{j}].{field}", expected, text)
            yield Peer("cidr", str(text), fam, lo, hi), str(rng.get("Description", "")), f"{place}.{key}[{j}]"
    for j, pl in enumerate(r.list_(perm, "PrefixListIds", place)):
        pid = (pl or {}).get("PrefixListId")
        ppl = f"{place}.PrefixListIds[{j}]"
        if not isinstance(pid, str) or pid not in prefix_lists:
            raise r.fail(
                ppl,
                "a prefix list whose entries the snapshot holds (ManagedPrefixLists with Entries)",
                pid,
            )
        yield Peer("pl", pid), str(pl.get("Description", "")), ppl
    for j, pair in enumerate(r.list_(perm, "UserIdGroupPairs", place)):
        gid = (pair or {}).get("GroupId")
        ppl = f"{place}.UserIdGroupPairs[{j}]"
        if not isinstance(gid, str) or not gid:
            raise r.fail(f"{ppl}.GroupId", "a security group id", gid)
        if gid not in known_groups:
            unknown_groups.add(gid)
        yield Peer("sg", gid), str(pair.get("Description", "")), ppl


def _nacl_entry(r: _Reader, e: object, place: str) -> NaclEntry:
    if not isinstance(e, dict):
        raise r.fail(place, "a NACL entry object", e)
    number = e.get("RuleNumber")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 32768:
        raise r.fail(f"{place}.RuleNumber", "a rule number 1-32768", number)
    action = e.get("RuleAction")
    if action not in ("allow", "deny"):
        raise r.fail(f"{place}.RuleAction", "allow or deny", action)
    egress = e.get("Egress")
    if not isinstance(egress, bool):
        raise r.fail(f"{place}.Egress", "true or false", egress)
    if e.get("CidrBlock"):
        text = e["CidrBlock"]
        fam, lo, hi = r.cidr(text, f"{place}.CidrBlock")
    elif e.get("Ipv6CidrBlock"):
        text = e["Ipv6CidrBlock"]
        fam, lo, hi = r.cidr(text, f"{place}.Ipv6CidrBlock")
    else:
        raise r.fail(place, "a CidrBlock or an Ipv6CidrBlock")
    proto = r.proto(e.get("Protocol"), f"{place}.Protocol")
    if proto in PORTED:
        pr = e.get("PortRange")
        if pr is None:
            match = Match(proto)
        else:
            lo_p = _int_or(pr.get("From"), 0, r, f"{place}.PortRange.From")
            hi_p = _int_or(pr.get("To"), SERVICE_MAX, r, f"{place}.PortRange.To")
            if not 0 <= lo_p <= hi_p <= SERVICE_MAX:
                raise r.fail(f"{place}.PortRange", "From <= To within 0-65535", pr)
            match = Match(proto, lo_p, hi_p)
    elif proto in (ICMP, ICMPV6):
        tc = e.get("IcmpTypeCode") or {}
        match = _icmp_match(
            r, proto, _int_or(tc.get("Type"), -1, r, f"{place}.IcmpTypeCode.Type"),
            _int_or(tc.get("Code"), -1, r, f"{place}.IcmpTypeCode.Code"), place,
        )
    else:
        match = Match(proto)
    return NaclEntry(number, egress, action == "allow", match, fam, lo, hi, str(text), place, _tf(e))


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
    for j, g in enumerate(r.list_(item, "Groups", place)):
        gid = (g or {}).get("GroupId")
        if gid not in sgs:
            raise r.fail(
                f"{place}.Groups[{j}].GroupId",
                "a security group that the snapshot describes (the proof would rest on rules nobody can see)",
                gid,
            )
        groups.append(gid)
    private: list[tuple[int, int, int]] = []
    public: list[int] = []
    public_map: dict[int, int] = {}  # private IPv4 -> its public IPv4
    seen: set[str] = set()
    primary = item.get("PrivateIpAddress")
    primary_value = None
    if primary:
        fam, value = r.address(primary, f"{place}.PrivateIpAddress")
        private.append((fam, value, value))
        seen.add(primary)
        primary_value = value
    for j, pip in enumerate(r.list_(item, "PrivateIpAddresses", place)):
        text = (pip or {}).get("PrivateIpAddress")
        fam, value = r.address(text, f"{place}.PrivateIpAddresses[{j}].PrivateIpAddress")
        if text not in seen:
            private.append((fam, value, value))
            seen.add(str(text))
        pub = ((pip or {}).get("Association") or {}).get("PublicIp")
        if pub:
            pub_value = r.address(pub, f"{place}.PrivateIpAddresses[{j}].Association.PublicIp")[1]
            public.append(pub_value)
            public_map[value] = pub_value
    for j, a in enumerate(r.list_(item, "Ipv6Addresses", place)):
        fam, value = r.address((a or {}).get("Ipv6Address"), f"{place}.Ipv6Addresses[{j}].Ipv6Address")
        private.append((fam, value, value))
    for key, sub in (("Ipv4Prefixes", "Ipv4Prefix"), ("Ipv6Prefixes", "Ipv6Prefix")):
        for j, pfx in enumerate(r.list_(item, key, place)):
            private.append(r.cidr((pfx or {}).get(sub), f"{place}.{key}[{j}].{sub}"))
    unknown = item.get("SgproofUnknownPrivateIpv4")
    unknown_block = None
    if unknown:
        unknown_block = r.cidr(unknown, f"{place}.SgproofUnknownPrivateIpv4")
        private.append(unknown_block)
    pub = (item.get("Association") or {}).get("PublicIp")
    if pub:
        pub_value = r.address(pub, f"{place}.Association.PublicIp")[1]
        public.append(pub_value)
        if primary_value is not None:
            public_map.setdefault(primary_value, pub_value)
    if not private:
        raise r.fail(place, f"at least one private address on {eid} (PrivateIpAddress or PrivateIpAddresses)")
    instance_id = (item.get("Attachment") or {}).get("InstanceId")
    return Eni(
        eid,
        sid,
        str(item.get("VpcId") or subnet.vpc_id),
        tuple(groups),
        tuple(private),
        tuple(sorted(set(public))),
        str(item.get("InterfaceType") or "interface"),
        str(item.get("Description") or ""),
        bool(item.get("RequesterManaged", False)),
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
