"""Plans made by real terraform (tests/terraform/plans/*): the committed JSON, and a fresh plan when
terraform and the provider mirror are installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sgproof.sources.terraform import load_plan, placeholder, plan_to_snapshot

from .conftest import PLANS, terraform_env, terraform_missing


def document(case: str, root: Path = PLANS) -> dict:  # type: ignore[type-arg]
    path = str(root / case / "plan.json")
    return plan_to_snapshot(load_plan(path), path, None)


def test_standalone_rules_with_cidr_blocks_only_are_read() -> None:
    doc = document("sg-rule-cidr")
    web = next(g for g in doc["SecurityGroups"] if g["GroupName"] == "web")
    (ingress,) = web["IpPermissions"]
    assert ingress["IpProtocol"] == "tcp" and (ingress["FromPort"], ingress["ToPort"]) == (443, 443)
    assert ingress["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert ingress["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
    assert ingress["UserIdGroupPairs"] == []
    (egress,) = web["IpPermissionsEgress"]
    assert egress["IpProtocol"] == "-1" and egress["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert egress["UserIdGroupPairs"] == []
    assert web["GroupId"] == placeholder("sg", "aws_security_group.web")


@pytest.mark.terraform
@pytest.mark.skipif(terraform_missing() is not None, reason=str(terraform_missing()))
def test_fresh_plans_give_the_committed_documents(tmp_path: Path) -> None:
    cases = sorted(p.name for p in PLANS.iterdir() if (p / "main.tf").is_file())
    subprocess.run(["bash", str(PLANS / "regen.sh"), str(tmp_path), *cases], check=True, timeout=300,
                   capture_output=True, env=terraform_env(tmp_path))
    for case in cases:
        assert document(case, tmp_path) == document(case), case

