"""Smoke test of the benchmark generator: a small network is well formed and gets the designed verdicts."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..benchgen import load_generator

ROOT = Path(__file__).resolve().parents[2]
ID = re.compile(
    r"^(sg|eni|subnet|vpc|acl|aclassoc|i|pcx|r|ami|eni-attach|ela-attach|vpc-cidr-assoc|subnet-cidr-assoc)-[0-9a-f]{17}$"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-ENI network and its spec in a temporary directory."""
    out = tmp_path_factory.mktemp("bench300")
    load_generator().write(out, 300, 7, "friendly", False)
    return out


@pytest.fixture(scope="module")
def doc(generated: Path) -> dict[str, Any]:
    """The generated snapshot document."""
    with open(generated / "network.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def test_counts_and_ids(doc: dict[str, Any]) -> None:
    """Exactly the requested ENIs, all ids unique and well formed."""
    assert len(doc["NetworkInterfaces"]) == 300
    ids: list[str] = [e["NetworkInterfaceId"] for e in doc["NetworkInterfaces"]]
    ids += [g["GroupId"] for g in doc["SecurityGroups"]]
    ids += [s["SubnetId"] for s in doc["Subnets"]]
    ids += [v["VpcId"] for v in doc["Vpcs"]]
    ids += [a["NetworkAclId"] for a in doc["NetworkAcls"]]
    ids += [i["InstanceId"] for r in doc["Reservations"] for i in r["Instances"]]
    assert len(ids) == len(set(ids))
    bad = [x for x in ids if not ID.match(x)]
    assert not bad
    for pl in doc["ManagedPrefixLists"]:
        assert re.match(r"^pl-([0-9a-f]{8}|[0-9a-f]{17})$", pl["PrefixListId"])


def test_addresses_unique_and_inside_subnets(doc: dict[str, Any]) -> None:
    """Every private address is unique, inside its subnet and not one of the five AWS reserves."""
    subnets = {s["SubnetId"]: s for s in doc["Subnets"]}
    seen: Counter[str] = Counter()
    for eni in doc["NetworkInterfaces"]:
        subnet = subnets[eni["SubnetId"]]
        assert subnet["VpcId"] == eni["VpcId"]
        assert eni["AvailabilityZone"] == subnet["AvailabilityZone"]
        net4 = ipaddress.IPv4Network(subnet["CidrBlock"])
        addrs = [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"]]
        assert addrs[0] == eni["PrivateIpAddress"]
        for a in addrs:
            ip = ipaddress.IPv4Address(a)
            assert ip in net4
            assert 4 <= int(ip) - int(net4.network_address) < net4.num_addresses - 1
        v6 = [x["Ipv6Address"] for x in eni["Ipv6Addresses"]]
        if v6:
            nets6 = [
                ipaddress.IPv6Network(x["Ipv6CidrBlock"])
                for x in subnet["Ipv6CidrBlockAssociationSet"]
            ]
            assert all(any(ipaddress.IPv6Address(a) in n for n in nets6) for a in v6)
        seen.update(addrs + v6)
        if "Association" in eni:
            seen[eni["Association"]["PublicIp"]] += 1
    assert max(seen.values()) == 1
    vpc_blocks = {
        v["VpcId"]: [ipaddress.IPv4Network(c["CidrBlock"]) for c in v["CidrBlockAssociationSet"]]
        for v in doc["Vpcs"]
    }
    for s in doc["Subnets"]:
        assert any(
            ipaddress.IPv4Network(s["CidrBlock"]).subnet_of(b) for b in vpc_blocks[s["VpcId"]]
        )
    all_blocks = [b for blocks in vpc_blocks.values() for b in blocks]
    assert not any(a.overlaps(b) for i, a in enumerate(all_blocks) for b in all_blocks[i + 1 :])


def test_references_resolve(doc: dict[str, Any]) -> None:
    """Groups on ENIs and prefix lists in rules exist; only the planted foreign-account reference does not."""
    groups = {g["GroupId"] for g in doc["SecurityGroups"]}
    pls = {p["PrefixListId"] for p in doc["ManagedPrefixLists"] if p["Entries"]}
    for eni in doc["NetworkInterfaces"]:
        assert all(g["GroupId"] in groups for g in eni["Groups"])
        assert len(eni["Groups"]) <= 5
        assert eni["Groups"] or eni["InterfaceType"] == "nat_gateway"
    missing = []
    for g in doc["SecurityGroups"]:
        for rule in g["IpPermissions"] + g["IpPermissionsEgress"]:
            assert all(p["PrefixListId"] in pls for p in rule["PrefixListIds"])
            missing += [p for p in rule["UserIdGroupPairs"] if p["GroupId"] not in groups]
    assert len(missing) == 1 and missing[0]["UserId"] != doc["AccountId"]
    instances = {i["InstanceId"] for r in doc["Reservations"] for i in r["Instances"]}
    attached = {e["Attachment"].get("InstanceId") for e in doc["NetworkInterfaces"]} - {None}
    assert attached == instances


def test_nacls(doc: dict[str, Any]) -> None:
    """Every subnet has one NACL and every NACL ends with the `*` entries of both families, both ways."""
    associated = Counter(a["SubnetId"] for acl in doc["NetworkAcls"] for a in acl["Associations"])
    assert set(associated) == {s["SubnetId"] for s in doc["Subnets"]}
    assert max(associated.values()) == 1
    for acl in doc["NetworkAcls"]:
        stars = {
            (e["Egress"], e["RuleNumber"])
            for e in acl["Entries"]
            if e["RuleAction"] == "deny" and e["Protocol"] == "-1"
        }
        assert {(True, 32767), (True, 32768), (False, 32767), (False, 32768)} <= stars
        numbers = Counter((e["Egress"], e["RuleNumber"]) for e in acl["Entries"])
        assert max(numbers.values()) == 1
        for e in acl["Entries"]:
            assert ("CidrBlock" in e) != ("Ipv6CidrBlock" in e)
            assert e["Protocol"] in ("-1", "6", "17", "1", "58")


def test_spec_is_complete(generated: Path) -> None:
    """Twenty invariants with ids and descriptions, both verdicts expected."""
    spec = yaml.safe_load((generated / "spec.yaml").read_text(encoding="utf-8"))
    expected = json.loads((generated / "expected.json").read_text(encoding="utf-8"))
    invariants = spec["invariants"]
    assert len(invariants) == 20
    assert all(inv.get("id") and inv.get("description") for inv in invariants)
    assert [inv["id"] for inv in invariants] == list(expected)
    assert set(expected.values()) == {"proven", "refuted"}
    kinds = {k for inv in invariants for k in ("deny", "only", "reach") if k in inv}
    assert kinds == {"deny", "only", "reach"}


def test_seeded(tmp_path: Path) -> None:
    """The same seed gives the same document."""
    gen = load_generator()
    a = gen.Builder(250, 3).document()
    b = gen.Builder(250, 3).document()
    assert json.dumps(a) == json.dumps(b)


def test_verify_gets_designed_verdicts(generated: Path) -> None:
    """sgproof verify on the small network refutes some invariants, errs on none, and matches the design."""
    if importlib.util.find_spec("sgproof.cli") is None:
        pytest.skip("the sgproof CLI is not there yet")
    proc = subprocess.run(
        [sys.executable, "-m", "sgproof", "verify", str(generated / "spec.yaml"), "--snapshot",
         str(generated / "network.json"), "--format", "json", "--quiet", "--jobs", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    statuses = {r["id"]: r["status"] for r in report["results"]}
    assert "error" not in statuses.values()
    expected = json.loads((generated / "expected.json").read_text(encoding="utf-8"))
    assert statuses == expected
