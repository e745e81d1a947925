"""Mutation fuzzing of the snapshot reader: a mutated snapshot is read, or refused with one InputError.

The corpus is every golden case and example network, and the real describe-API samples under
../shared/data. Each example applies a few mutations (type swaps, huge numbers, deep nesting, non-ASCII
digits, wrong address families, deleted keys, duplicated items) and requires that `build_network`
either succeeds or raises InputError, and that the command line exits 0, 1 or 2 with, on 2, one
`sgproof: error:` line and never a traceback. The example count is fixed (CI cost); raise it with
SGPROOF_FUZZ_EXAMPLES for a longer local run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgproof.cli import main
from sgproof.errors import InputError
from sgproof.sources.snapshot import build_network, read_document

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
EXAMPLES = int(os.environ.get("SGPROOF_FUZZ_EXAMPLES", "0"))
FIXTURES = ("batfish-hybrid-cloud-aws/us-west-2", "batfish-test-nat-gateway/aws_configs",
            "batfish-test-subnet/aws_configs", "batfish-test-vpc-peering/aws_configs",
            "pybatfish-hybrid-cloud/us-east-2")


def _batfish_account() -> dict[str, Any]:
    """The batfish-aws sample groups and interfaces, with the VPCs, subnet and NACL they lack."""
    doc: dict[str, Any] = {}
    for name in ("SecurityGroups.json", "NetworkInterfaceTest.json"):
        doc.update(json.loads((SHARED / "batfish-aws" / name).read_text()))
    doc["Vpcs"] = [{"VpcId": v, "CidrBlock": c} for v, c in (
        ("vpc-815775e7", "10.100.0.0/16"), ("vpc-925131f4", "10.101.0.0/16"),
        ("vpc-b390fad5", "10.193.0.0/16"), ("vpc-f8fad69d", "10.194.0.0/16"))]
    doc["Subnets"] = [{"SubnetId": "subnet-9a0c48fc", "VpcId": "vpc-815775e7", "CidrBlock": "10.100.1.0/24"}]
    nacls = json.loads((SHARED / "batfish-aws" / "NetworkAclTest.json").read_text())["NetworkAcls"]
    doc["NetworkAcls"] = [*nacls, {
        "NetworkAclId": "acl-00000001", "VpcId": "vpc-815775e7", "IsDefault": True, "Associations": [],
        "Entries": [{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": e,
                     "CidrBlock": "0.0.0.0/0"} for e in (False, True)]}]
    return doc


def _corpus() -> dict[str, dict[str, Any]]:
    seeds = {}
    for path in sorted([*ROOT.glob("tests/cases/*/network.json"), *ROOT.glob("examples/*/network.json")]):
        seeds[str(path.relative_to(ROOT))] = json.loads(path.read_text())
    if (SHARED / "batfish-aws").is_dir():
        seeds["batfish-aws"] = _batfish_account()
    for name in FIXTURES:
        folder = SHARED / "aws-public-fixtures" / name
        if folder.is_dir():
            seeds[name] = json.loads(json.dumps(read_document(str(folder))))
    return seeds


SEEDS = _corpus()


def test_every_seed_is_a_valid_snapshot() -> None:
    assert len(SEEDS) >= 4
    for name, doc in SEEDS.items():
        build_network(copy.deepcopy(doc), name)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


REPLACEMENTS: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**70, -(2**70), 65536, 32769, "", "x", "-1", "6", "06", "６", "tcp", "all",
    "１０.0.0.0/8", "010.0.1.5", "10.0.0.0/08", "2.2.2.2/28", "0.0.0.0/0", "::/0", "10.0.1.10", "2600:1f18::1",
    "fe80::1%eth0", "10.0.0.0/8\nsecond line", "\u00a0", "x" * 5000, [], {}, [[]], [{}], {"a": 1}, [None],
    _deep(150), {"State": 1}, {"GroupId": ["sg-1"]}, {"Key": 1, "Value": []},
]

FAMILY_SWAPS = {"0.0.0.0/0": "::/0", "::/0": "0.0.0.0/0"}


def _paths(doc: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        value, where = stack.pop()
        if where:
            out.append(where)
        if isinstance(value, dict):
            stack += [(v, (*where, k)) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, (*where, i)) for i, v in enumerate(value)]
    return sorted(out, key=repr)


def _swap_type(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return int(value)
        if value in FAMILY_SWAPS:
            return FAMILY_SWAPS[value]
        if "." in value and "/" in value:
            return "2001:db8::/" + value.rsplit("/", 1)[1]
        if ":" in value and "/" in value:
            return "10.0.0.0/" + value.rsplit("/", 1)[1]
        return [value]
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value[0] if value else {}
    return value


@st.composite
def mutated(draw: Any) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    doc = copy.deepcopy(SEEDS[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        kind = draw(st.sampled_from(["replace", "replace", "swap", "delete", "duplicate"]))
        if kind == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
        elif kind == "swap":
            parent[key] = _swap_type(parent[key])
        elif kind == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = [parent[key], copy.deepcopy(parent[key])]
    return name, doc


@settings(max_examples=EXAMPLES or 400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_snapshots_are_read_or_refused_with_an_input_error(case: tuple[str, dict[str, Any]]) -> None:
    name, doc = case
    try:
        build_network(doc, name)
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)


SPEC = "sgproof: 1\ninvariants:\n  - id: x\n    allow_empty: true\n    deny: {from: {internet: true}, to: {anywhere: true}, ports: tcp/22}\n"

# byte-level damage that only the loader sees
TEXT_DAMAGE = [
    lambda t: re.sub(rb": [0-9]+", b": " + b"9" * 5000, t, count=1),
    lambda t: t.replace(b"[", b"[" * 50000, 1),
    lambda t: t[: len(t) // 2],
    lambda t: t.replace(b'"', b'"\xff', 1),
    lambda t: t.replace(b"{", b'{"Vpcs": [], ', 1),
    lambda t: t.replace(b'": "', b'": "\\udc00', 1),
    lambda t: t,
]


@settings(max_examples=EXAMPLES // 10 or 30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(mutated(), st.integers(0, len(TEXT_DAMAGE) - 1))
def test_mutated_snapshots_through_the_cli_exit_0_1_or_2_with_one_line(
        tmp_path: Path, case: tuple[str, dict[str, Any]], damage: int) -> None:
    _name, doc = case
    folder = tmp_path / "fuzz"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    snap = folder / "network.json"
    snap.write_bytes(TEXT_DAMAGE[damage](json.dumps(doc).encode()))
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    res = CliRunner().invoke(main, ["verify", str(spec), "--snapshot", str(snap), "--format", "json", "--jobs", "1",
                                    "--quiet"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 1, 2)
    assert "Traceback" not in res.stderr
    if res.exit_code == 2:
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sgproof: error: "), res.stderr


@pytest.mark.parametrize("damage", range(len(TEXT_DAMAGE) - 1))
def test_each_kind_of_byte_damage_is_refused_with_one_line(tmp_path: Path, damage: int) -> None:
    doc = SEEDS["tests/cases/seed-blog/network.json"]
    snap = tmp_path / "network.json"
    snap.write_bytes(TEXT_DAMAGE[damage](json.dumps(doc).encode()))
    with pytest.raises(InputError):
        build_network(read_document(str(snap)), str(snap))
