"""End to end: `sgproof verify --terraform` on the committed example plans, and on freshly made plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

from .conftest import EXAMPLES, terraform_env, terraform_missing


def verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", *args, "--quiet", "--jobs", "1"])
    return result.exit_code, result.output


def statuses(output: str) -> dict[str, str]:
    return {r["id"]: r["status"] for r in json.loads(output)["results"]}


def test_three_tier_plan_proves_everything() -> None:
    d = EXAMPLES / "three-tier"
    code, out = verify(str(d / "spec.yaml"), "--terraform", str(d / "plan.json"), "--format", "json")
    assert code == 0, out
    assert set(statuses(out).values()) == {"proven"}
    assert json.loads(out)["source"]["kind"] == "terraform"


def test_plan_before_the_change_is_proven() -> None:
    d = EXAMPLES / "open-3306"
    code, out = verify(str(d / "spec.yaml"), "--terraform", str(d / "plan-before.json"))
    assert code == 0, out


def test_change_opening_3306_is_refuted_and_the_trace_names_the_rule() -> None:
    d = EXAMPLES / "open-3306"
    code, out = verify(str(d / "spec.yaml"), "--terraform", str(d / "plan.json"), "--format", "json")
    assert code == 1, out
    assert statuses(out) == {"app-reaches-db": "proven", "mysql-only-from-app": "refuted",
                             "no-internet-mysql": "refuted"}
    report = json.loads(out)
    refuted = next(r for r in report["results"] if r["id"] == "no-internet-mysql")
    trace = refuted["counterexample"]["trace"]
    ingress = next(step for step in trace if step["gate"] == "sg-ingress")
    assert ingress["tf_address"] == "aws_vpc_security_group_ingress_rule.db_mysql_world[0]"


def test_plan_on_top_of_live_snapshot_keeps_unmanaged_enis() -> None:
    d = EXAMPLES / "open-3306"
    spec = d / "replica.yaml"
    code, out = verify(str(spec), "--terraform", str(d / "plan.json"), "--snapshot", str(d / "live.json"),
                       "--format", "json")
    assert code == 1, out
    assert statuses(out) == {"replica-exists-and-is-exposed": "refuted", "replica-from-app": "proven"}


def test_bad_plan_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"format_version": "2.0", "resource_changes": []}))
    code, out = verify(str(EXAMPLES / "three-tier" / "spec.yaml"), "--terraform", str(bad))
    assert code == 2
    assert "format_version" in out


@pytest.mark.terraform
@pytest.mark.skipif(terraform_missing() is not None, reason=str(terraform_missing()))
def test_regenerated_plans_give_the_same_verdicts(tmp_path: Path) -> None:
    subprocess.run(["bash", str(EXAMPLES / "regen.sh"), str(tmp_path)], check=True, timeout=600,
                   env=terraform_env(tmp_path, PYTHON=sys.executable),
                   capture_output=True)
    cases = [("three-tier", "spec.yaml", "plan.json", None), ("open-3306", "spec.yaml", "plan.json", None),
             ("open-3306", "spec.yaml", "plan-before.json", None),
             ("open-3306", "replica.yaml", "plan.json", "live.json")]
    for example, spec, planfile, live in cases:
        results = []
        for root in (EXAMPLES, tmp_path):
            extra = ["--snapshot", str(root / example / live)] if live else []
            code, out = verify(str(EXAMPLES / example / spec), "--terraform", str(root / example / planfile),
                               *extra, "--format", "json")
            results.append((code, statuses(out)))
        assert results[0] == results[1], (example, planfile)


def test_source_names_the_plan_and_the_snapshot() -> None:
    d = EXAMPLES / "open-3306"
    _code, out = verify(str(d / "replica.yaml"), "--terraform", str(d / "plan.json"), "--snapshot",
                        str(d / "live.json"), "--format", "json")
    source = json.loads(out)["source"]
    assert source["kind"] == "terraform" and source["path"] == str(d / "plan.json")
    assert source["snapshot"] == str(d / "live.json")
    _code, out = verify(str(d / "spec.yaml"), "--terraform", str(d / "plan.json"), "--format", "json")
    assert "snapshot" not in json.loads(out)["source"]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_sarif_for_a_plan_points_at_the_resource_in_the_tf_file() -> None:
    d = EXAMPLES / "open-3306"
    code, out = verify(str(d / "spec.yaml"), "--terraform", str(d / "plan.json"), "--format", "sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    world = [r for r in results if r["ruleId"] == "no-internet-mysql"]
    assert world
    loc = world[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("examples/terraform/open-3306/main.tf")
    want = _line_of(d / "main.tf", 'resource "aws_vpc_security_group_ingress_rule" "db_mysql_world"')
    assert loc["region"]["startLine"] == want


def test_resource_location_follows_local_module_sources() -> None:
    from sgproof.sources.terraform import resource_location

    d = EXAMPLES / "three-tier"
    found = resource_location(str(d / "plan.json"), "module.app.aws_instance.app[1]")
    assert found == (str((d / "modules" / "app" / "main.tf").resolve()),
                     _line_of(d / "modules" / "app" / "main.tf", 'resource "aws_instance" "app"'))
    assert resource_location(str(d / "plan.json"), 'aws_subnet.tier["web"]') == (
        str((d / "main.tf").resolve()), _line_of(d / "main.tf", 'resource "aws_subnet" "tier"'))
    assert resource_location(str(d / "plan.json"), "aws_subnet.nothing") is None
