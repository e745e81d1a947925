"""Seeded mutation of a generated snapshot: the NEW side of the `diff` benchmark.

The default is ten security group rule changes spread over the tiers (one SG of each role the
generator names: alb, web, app, worker, postgres, mysql, svc, client, ...), each of one kind in turn:
a port added from a peer group, a rule removed, a CIDR widened, a port range widened, an office CIDR
opened. `--extra` adds changes of other kinds (a membership change, a NACL entry, a route), so that the
benchmark can also time the parts of diff they reach.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

TIERS = ("alb", "web", "app", "worker", "postgres", "mysql", "svc", "client", "bastion", "logging")
RULE_KINDS = ("add-peer", "remove", "widen-cidr", "widen-ports", "add-cidr")
EXTRA_KINDS = ("membership", "nacl", "route")
OFFICE = "203.0.113.0/24"


def _perm(proto: str, lo: int | None, hi: int | None) -> dict[str, Any]:
    p: dict[str, Any] = {"IpProtocol": proto, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                         "UserIdGroupPairs": []}
    if lo is not None:
        p["FromPort"], p["ToPort"] = lo, hi
    return p


def _rule_change(rng: random.Random, doc: dict[str, Any], sg: dict[str, Any], kind: str) -> str:
    """Apply one rule change of `kind` to sg; returns a line saying what changed."""
    name = f"{sg['GroupId']} ({sg['GroupName']})"
    same_vpc = [g for g in doc["SecurityGroups"] if g["VpcId"] == sg["VpcId"] and g is not sg]
    ingress = sg["IpPermissions"]
    if kind == "remove" and ingress:
        k = rng.randrange(len(ingress))
        ingress.pop(k)
        return f"{name}: ingress rule {k} removed"
    if kind == "widen-cidr":
        for p in ingress:
            if p["IpRanges"]:
                old = p["IpRanges"][0]["CidrIp"]
                p["IpRanges"][0] = {**p["IpRanges"][0], "CidrIp": "10.0.0.0/8" if old != "10.0.0.0/8" else "0.0.0.0/0"}
                return f"{name}: ingress {old} widened to {p['IpRanges'][0]['CidrIp']}"
        kind = "add-cidr"
    if kind == "widen-ports":
        for p in ingress:
            if p["IpProtocol"] == "tcp" and "FromPort" in p and p["FromPort"] == p["ToPort"]:
                old = p["FromPort"]
                p["FromPort"], p["ToPort"] = old, min(old + 10, 65535)
                return f"{name}: ingress tcp {old} widened to {old}-{p['ToPort']}"
        kind = "add-peer"
    if kind == "add-peer" and same_vpc:
        peer = rng.choice(same_vpc)
        port = rng.choice((22, 443, 5432, 6379, 8080, 9090))
        p = _perm("tcp", port, port)
        p["UserIdGroupPairs"] = [{"GroupId": peer["GroupId"], "UserId": sg["OwnerId"]}]
        ingress.append(p)
        return f"{name}: ingress tcp {port} from {peer['GroupId']} added"
    port = rng.choice((22, 80, 443, 3389))
    p = _perm("tcp", port, port)
    p["IpRanges"] = [{"CidrIp": OFFICE, "Description": "office"}]
    ingress.append(p)
    return f"{name}: ingress tcp {port} from {OFFICE} added"


def _extra_change(rng: random.Random, doc: dict[str, Any], kind: str) -> str:
    if kind == "membership":
        # an ENI joins a group that another group's rule references: that rule now admits it
        referenced = {pair["GroupId"] for g in doc["SecurityGroups"] for p in g["IpPermissions"]
                      for pair in p["UserIdGroupPairs"]}
        enis = [e for e in doc["NetworkInterfaces"] if e.get("InterfaceType", "interface") == "interface"]
        e = rng.choice(enis)
        cands = sorted(g["GroupId"] for g in doc["SecurityGroups"] if g["VpcId"] == e["VpcId"]
                       and g["GroupId"] in referenced and all(x["GroupId"] != g["GroupId"] for x in e["Groups"]))
        g = rng.choice(cands)
        e["Groups"] = [*e["Groups"], {"GroupId": g}]
        return f"{e['NetworkInterfaceId']}: joins {g}"
    if kind == "nacl":
        custom = [n for n in doc["NetworkAcls"] if not n["IsDefault"]]
        n = rng.choice(custom)
        taken = {x["RuleNumber"] for x in n["Entries"] if not x["Egress"]}
        number = next(k for k in range(5, 32000, 5) if k not in taken)
        n["Entries"].append({"CidrBlock": OFFICE, "Egress": False, "Protocol": "6", "PortRange": {"From": 3389, "To": 3389},
                             "RuleAction": "allow", "RuleNumber": number})
        return f"{n['NetworkAclId']}: ingress entry {number} allows tcp 3389 from {OFFICE}"
    tables = [t for t in doc.get("RouteTables", []) if any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in t["Routes"])]
    t = rng.choice(tables)
    t["Routes"] = [r for r in t["Routes"] if r.get("DestinationCidrBlock") != "0.0.0.0/0"]
    return f"{t['RouteTableId']}: default route removed"


def mutate(doc: dict[str, Any], seed: int, changes: int = 10, extra: bool = False) -> tuple[dict[str, Any], list[str]]:
    """A copy of doc with `changes` rule changes over the tiers (and the extra kinds); and what changed."""
    rng = random.Random(seed)
    new = copy.deepcopy(doc)
    by_tier: dict[str, list[dict[str, Any]]] = {}
    used_enis = {x["GroupId"] for e in new["NetworkInterfaces"] for x in e["Groups"]}
    for g in new["SecurityGroups"]:
        if g["GroupId"] in used_enis:
            by_tier.setdefault(g["GroupName"].rsplit("-", 1)[-1], []).append(g)
    tiers = [t for t in TIERS if t in by_tier] or sorted(by_tier)
    log = []
    for k in range(changes):
        tier = tiers[k % len(tiers)]
        sg = rng.choice(by_tier[tier])
        log.append(_rule_change(rng, new, sg, RULE_KINDS[k % len(RULE_KINDS)]))
    if extra:
        log += [_extra_change(rng, new, kind) for kind in EXTRA_KINDS]
    return new, log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("network", type=Path, help="the snapshot to mutate (bench/generate.py's network.json)")
    parser.add_argument("--out", type=Path, required=True, help="where the mutated snapshot goes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--changes", type=int, default=10, help="rule changes (default 10)")
    parser.add_argument("--extra", action="store_true", help="also a membership, a NACL entry and a route change")
    args = parser.parse_args(argv)
    doc = json.loads(args.network.read_text())
    new, log = mutate(doc, args.seed, args.changes, args.extra)
    args.out.write_text(json.dumps(new))
    print("\n".join(log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
