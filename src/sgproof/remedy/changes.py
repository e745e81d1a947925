"""The changes a repair is made of (contract 9): each applies to a frozen Network and gives a new one, and
renders as the AWS item it touches (`IpPermissions`, `Entries` or `Routes` shape) with the AWS CLI call
that makes it and, for a plan, the Terraform resource to edit."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import ANY_PROTO, ICMPS, PORTED, SERVICE_MAX, Nacl, NaclEntry, Network, SgRule
from ..model.addr import Interval, complement, format_address, intersect, normalize
from ..model.routing import RANK_PROPAGATED, Route

ACTIONS = ("remove-rule", "narrow-rule", "add-rule", "replace-entry", "add-entry", "add-route", "remove-route")
TAKE_AWAY = ("remove-rule", "narrow-rule", "replace-entry", "add-entry", "remove-route")


def cidr_blocks(family: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The fewest CIDR blocks that cover exactly [lo, hi], in address order.

    >>> [cidr_text(4, a, b) for a, b in cidr_blocks(4, 10, 17)]
    ['0.0.0.10/31', '0.0.0.12/30', '0.0.0.16/31']
    """
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << (32 if family == 4 else 128)
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, lo + size - 1))
        lo += size
    return out


def covering_block(family: int, lo: int, hi: int) -> tuple[int, int]:
    """The smallest CIDR block that holds [lo, hi].

    >>> cidr_text(4, *covering_block(4, 167772426, 167772687))
    '10.0.0.0/22'
    """
    span = (lo ^ hi).bit_length()
    mask = (1 << span) - 1
    return lo & ~mask, (lo & ~mask) | mask


def cidr_text(family: int, lo: int, hi: int) -> str:
    """A CIDR block as AWS writes it (a single address keeps its /32 or /128).

    >>> cidr_text(4, 167772426, 167772426), cidr_text(6, 0, (1 << 128) - 1)
    ('10.0.1.10/32', '::/0')
    """
    bits = 32 if family == 4 else 128
    return f"{format_address(family, lo)}/{bits - (hi - lo + 1).bit_length() + 1}"


def minus(lo: int, hi: int, cut: Iterable[Interval]) -> list[Interval]:
    """[lo, hi] without the intervals of `cut`."""
    return list(intersect(((lo, hi),), complement(normalize(cut), hi)))


# ---- AWS item shapes --------------------------------------------------------------------------------
def _proto_text(proto: int) -> str:
    return {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", ANY_PROTO: "-1"}.get(proto, str(proto))


def _icmp_pair(lo: int, hi: int) -> tuple[int, int]:
    """ICMP (type, code) as AWS writes them from a service interval (-1 meaning all)."""
    if (lo, hi) == (0, SERVICE_MAX):
        return -1, -1
    if hi - lo == 255 and lo % 256 == 0:
        return lo // 256, -1
    return divmod(lo, 256)


def sg_item(rule: SgRule) -> dict[str, Any]:
    """One rule as an `IpPermissions` item with its one peer."""
    m = rule.match
    item: dict[str, Any] = {"IpProtocol": _proto_text(m.proto)}
    if m.proto in PORTED:
        item["FromPort"], item["ToPort"] = m.lo, m.hi
    elif m.proto in ICMPS:
        item["FromPort"], item["ToPort"] = _icmp_pair(m.lo, m.hi)
    peer: dict[str, Any]
    if rule.peer.kind == "cidr":
        key, field = ("IpRanges", "CidrIp") if rule.peer.family == 4 else ("Ipv6Ranges", "CidrIpv6")
        peer = {field: rule.peer.ref}
    elif rule.peer.kind == "sg":
        key, peer = "UserIdGroupPairs", {"GroupId": rule.peer.ref}
    else:
        key, peer = "PrefixListIds", {"PrefixListId": rule.peer.ref}
    if rule.description:
        peer["Description"] = rule.description
    item[key] = [peer]
    return item


def nacl_item(entry: NaclEntry) -> dict[str, Any]:
    """One NACL entry in the `Entries` item shape."""
    m = entry.match
    item: dict[str, Any] = {"RuleNumber": entry.number, "Protocol": str(m.proto),
                            "RuleAction": "allow" if entry.allow else "deny", "Egress": entry.egress,
                            "CidrBlock" if entry.family == 4 else "Ipv6CidrBlock": entry.cidr}
    if m.proto in PORTED:
        item["PortRange"] = {"From": m.lo, "To": m.hi}
    elif m.proto in ICMPS:
        t, c = _icmp_pair(m.lo, m.hi)
        item["IcmpTypeCode"] = {"Type": t, "Code": c}
    return item


TARGET_KEYS = {"local": "GatewayId", "igw": "GatewayId", "vgw": "GatewayId", "vpce": "GatewayId",
               "eigw": "EgressOnlyInternetGatewayId", "nat": "NatGatewayId", "pcx": "VpcPeeringConnectionId",
               "tgw": "TransitGatewayId"}
_OTHER_TARGETS = {"eni-": "NetworkInterfaceId", "i-": "InstanceId", "cagw-": "CarrierGatewayId",
                  "lgw-": "LocalGatewayId"}


def _target_key(route: Route) -> str:
    if route.kind in TARGET_KEYS:
        return TARGET_KEYS[route.kind]
    return next((k for p, k in _OTHER_TARGETS.items() if route.target.startswith(p)), "GatewayId")


def route_item(route: Route) -> dict[str, Any]:
    """One route in the `Routes` item shape (a prefix-list route by its list id)."""
    if route.prefix_list:
        item: dict[str, Any] = {"DestinationPrefixListId": route.prefix_list}
    elif route.family == 4:
        item = {"DestinationCidrBlock": route.dest}
    else:
        item = {"DestinationIpv6CidrBlock": route.dest}
    item[_target_key(route)] = route.target
    item["Origin"] = "EnableVgwRoutePropagation" if route.rank == RANK_PROPAGATED else "CreateRoute"
    item["State"] = "blackhole" if route.blackhole else "active"
    return item


# ---- changes ----------------------------------------------------------------------------------------
Item = SgRule | NaclEntry | Route


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one rule, entry or route.

    `before` is what the change takes away (the rule, the entry, the route: every destination of one
    prefix-list route), `after` what it puts in its place or adds; `rank` orders changes of one count,
    narrowest first (a cut range before a removal)."""

    action: str
    resource: str  # the group, ACL or route table id
    direction: str | None  # "ingress" | "egress" for rules and entries; None for routes
    before: tuple[Item, ...]
    after: tuple[Item, ...]
    rank: int = 1
    tf_address: str | None = None

    @property
    def target(self) -> tuple[Any, ...]:
        """What the change touches: at most one change per rule, entry number or route destination."""
        if self.before:
            first = self.before[0]
            return (self.resource, self.direction, first.origin)
        item = self.after[0]
        if isinstance(item, NaclEntry):
            return (self.resource, self.direction, item.number)
        if isinstance(item, Route):
            return (self.resource, None, item.family, item.lo, item.hi)
        return (self.resource, self.direction, id(self))

    def text(self) -> str:
        """The change in one line for people."""
        d = f" {self.direction}" if self.direction else ""
        where = f"{self.resource}{d}"
        if self.action == "remove-rule":
            body = f"revoke {_rule_text(self.before[0])}"
        elif self.action == "narrow-rule":
            after = "; ".join(_rule_text(r) for r in self.after) or "nothing"
            body = f"narrow {_rule_text(self.before[0])} to {after}"
        elif self.action == "add-rule":
            body = f"authorize {_rule_text(self.after[0])}"
        elif self.action == "replace-entry":
            old = self.before[0]
            assert isinstance(old, NaclEntry)
            body = f"delete entry {old.text()}" if not self.after else \
                f"replace entry {old.text()} with {self.after[0].text()}"
        elif self.action == "add-entry":
            body = f"add entry {self.after[0].text()}"
        elif self.action == "remove-route":
            body = f"delete route {self.before[0].text()}"
        else:
            body = f"add route {self.after[0].text()}"
        tf = f" (Terraform: {self.tf_address})" if self.tf_address else ""
        return f"{self.action} {where}: {body}{tf}"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "resource": self.resource}
        if self.direction is not None:
            out["direction"] = self.direction
        out["before"] = _item_json(self.before[0]) if self.before else None
        if self.action == "narrow-rule":
            out["after"] = [_item_json(i) for i in self.after]  # the items that replace `before`
        else:
            out["after"] = _item_json(self.after[0]) if self.after else None
        out["tf_address"] = self.tf_address
        out["aws_cli"] = self.aws_cli()
        return out

    def aws_cli(self) -> list[str]:
        """The AWS CLI calls that make the change."""
        if self.action in ("remove-rule", "narrow-rule", "add-rule"):
            word = self.direction or "ingress"
            calls = []
            if self.before:
                calls.append(f"aws ec2 revoke-security-group-{word} --group-id {self.resource} --ip-permissions "
                             f"'{json.dumps([sg_item(_rule(self.before[0]))])}'")
            if self.after:
                perms = json.dumps([sg_item(_rule(r)) for r in self.after])
                calls.append(f"aws ec2 authorize-security-group-{word} --group-id {self.resource} "
                             f"--ip-permissions '{perms}'")
            return calls
        if self.action in ("replace-entry", "add-entry"):
            flag = "--egress" if self.direction == "egress" else "--ingress"
            if not self.after:
                old = self.before[0]
                assert isinstance(old, NaclEntry)
                return [f"aws ec2 delete-network-acl-entry --network-acl-id {self.resource} --rule-number "
                        f"{old.number} {flag}"]
            new = self.after[0]
            assert isinstance(new, NaclEntry)
            verb = "replace" if self.action == "replace-entry" else "create"
            return [f"aws ec2 {verb}-network-acl-entry --network-acl-id {self.resource} {_entry_args(new)}"]
        if self.action == "remove-route":
            old_route = self.before[0]
            assert isinstance(old_route, Route)
            return [f"aws ec2 delete-route --route-table-id {self.resource} {_dest_arg(old_route)}"]
        new_route = self.after[0]
        assert isinstance(new_route, Route)
        key = _target_key(new_route)
        flag = "--" + "".join("-" + c.lower() if c.isupper() else c for c in key).lstrip("-")
        return [f"aws ec2 create-route --route-table-id {self.resource} {_dest_arg(new_route)} "
                f"{flag} {new_route.target}"]


def _rule(item: Item) -> SgRule:
    assert isinstance(item, SgRule)
    return item


def _rule_text(item: Item) -> str:
    rule = _rule(item)
    return rule.text() + (f' "{rule.description}"' if rule.description else "")


def _item_json(item: Item) -> dict[str, Any]:
    if isinstance(item, SgRule):
        return sg_item(item)
    if isinstance(item, NaclEntry):
        return nacl_item(item)
    return route_item(item)


def _entry_args(e: NaclEntry) -> str:
    flag = "--egress" if e.egress else "--ingress"
    cidr = f"--cidr-block {e.cidr}" if e.family == 4 else f"--ipv6-cidr-block {e.cidr}"
    out = (f"--rule-number {e.number} {flag} --protocol {e.match.proto} "
           f"--rule-action {'allow' if e.allow else 'deny'} {cidr}")
    if e.match.proto in PORTED:
        out += f" --port-range From={e.match.lo},To={e.match.hi}"
    elif e.match.proto in ICMPS:
        t, c = _icmp_pair(e.match.lo, e.match.hi)
        out += f" --icmp-type-code Type={t},Code={c}"
    return out


def _dest_arg(r: Route) -> str:
    if r.prefix_list:
        return f"--destination-prefix-list-id {r.prefix_list}"
    return f"--destination-cidr-block {r.dest}" if r.family == 4 else f"--destination-ipv6-cidr-block {r.dest}"


# ---- applying changes -------------------------------------------------------------------------------
def apply(net: Network, changes: Sequence[Change]) -> Network:
    """The network with the changes made (each to the original rule, entry or route it names)."""
    sgs = dict(net.sgs)
    nacls = dict(net.nacls)
    routing = net.routing
    tables = dict(routing.tables) if routing is not None else {}
    for ch in changes:
        if ch.action in ("remove-rule", "narrow-rule", "add-rule"):
            sg = sgs[ch.resource]
            egress = ch.direction == "egress"
            rules = list(sg.egress if egress else sg.ingress)
            if ch.before:
                at = rules.index(_rule(ch.before[0]))
                rules[at:at + 1] = [_rule(r) for r in ch.after]
            else:
                rules.extend(_rule(r) for r in ch.after)
            sgs[ch.resource] = (dataclasses.replace(sg, egress=tuple(rules)) if egress
                                else dataclasses.replace(sg, ingress=tuple(rules)))
        elif ch.action in ("replace-entry", "add-entry"):
            nacl = nacls[ch.resource]
            nacls[ch.resource] = _nacl_with(nacl, ch)
        else:
            table = tables[ch.resource]
            routes = list(table.routes)
            if ch.before:
                origins = {r.origin for r in ch.before}
                routes = [r for r in routes if r.origin not in origins]
            for r in ch.after:
                assert isinstance(r, Route)
                routes.append(r)
            tables[ch.resource] = dataclasses.replace(table, routes=tuple(routes))
    if routing is not None:
        routing = dataclasses.replace(routing, tables=tables)
    return dataclasses.replace(net, sgs=sgs, nacls=nacls, routing=routing)


def _nacl_with(nacl: Nacl, ch: Change) -> Nacl:
    egress = ch.direction == "egress"
    entries = list(nacl.egress if egress else nacl.ingress)
    if ch.before:
        entries.remove(ch.before[0])  # type: ignore[arg-type]
    for e in ch.after:
        assert isinstance(e, NaclEntry)
        if any(o.number == e.number for o in entries):
            raise ValueError(f"{nacl.id} already has a {ch.direction} entry {e.number}")
        entries.append(e)
    entries.sort(key=lambda e: e.number)
    if egress:
        return dataclasses.replace(nacl, egress=tuple(entries))
    return dataclasses.replace(nacl, ingress=tuple(entries))
