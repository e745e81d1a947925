"""Real describe-API samples (../shared/data/batfish-aws, Apache-2.0, see its SOURCES.md) read as snapshots."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

from .builders import batfish_nacl_subnet, batfish_sample_account

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "batfish-aws"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared samples not found at {SAMPLES}")


def _run(*args: str) -> tuple[int, dict | None, str]:
    res = CliRunner().invoke(main, [*args, "--format", "json", "--jobs", "1", "--quiet"])
    return res.exit_code, json.loads(res.stdout) if res.stdout.strip() else None, res.stderr


@pytest.fixture
def account(tmp_path: Path) -> Path:
    """The sample account's groups and interfaces, with the VPC, subnet and NACL lists they lack."""
    return batfish_sample_account(tmp_path / "snap", SAMPLES)


def test_sample_account_verdicts_and_the_dangling_reference(account: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "sgproof: 1\ninvariants:\n"
        "  - id: closed-to-internet\n    deny: {from: {internet: true}, to: {vpc: vpc-815775e7}}\n"
        "  - id: hosts-talk\n    reach: {from: {eni: eni-bd11cc9d}, to: {eni: eni-a9d44c8a}, ports: tcp/179}\n"
    )
    code, doc, err = _run("verify", str(spec), "--snapshot", str(account))
    assert code == 1, err
    assert doc is not None
    status = {r["id"]: r["status"] for r in doc["results"]}
    assert status == {"closed-to-internet": "refuted", "hosts-talk": "proven"}
    assert any("sg-cf3f86b3" in w for w in doc["assumptions"]["warnings"])


def test_duplicate_group_ids_are_refused(tmp_path: Path, account: Path) -> None:
    shutil.copy(SAMPLES / "SecurityGroupTest.json", account / "SecurityGroups.json")
    spec = tmp_path / "spec.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {anywhere: true}}\n")
    code, _, err = _run("verify", str(spec), "--snapshot", str(account))
    assert code == 2
    assert "sg-0de0ddfa8a5a12348" in err and "one item per security group id" in err


def test_nacl_without_star_entries_still_denies(tmp_path: Path, account: Path) -> None:
    """The sample NACL denies 3306 from one address at rule 100 and has no allow and no * entry."""
    batfish_nacl_subnet(account, SAMPLES / "NetworkAclTest.json")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "sgproof: 1\ninvariants:\n"
        "  - id: denied-address\n    deny: {from: {cidr: 162.243.144.192/32}, to: {eni: eni-0rds}, ports: tcp/3306}\n"
        "  - id: allowed-by-group\n    reach: {from: {cidr: 107.170.243.58/32}, to: {eni: eni-0rds}, ports: tcp/3306}\n"
    )
    code, doc, err = _run("verify", str(spec), "--snapshot", str(account))
    assert code == 1, err
    assert doc is not None
    results = {r["id"]: r for r in doc["results"]}
    assert results["denied-address"]["status"] == "proven"
    cx = results["allowed-by-group"]["counterexample"]
    assert results["allowed-by-group"]["status"] == "refuted" and cx["allowed"] is False
    assert [s["gate"] for s in cx["blocked_by"]] == ["nacl-in"] and cx["blocked_by"][0]["verdict"] == "no-match"
