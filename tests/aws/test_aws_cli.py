"""End to end through the command line: `sgproof collect`, then `verify --snapshot`, and `verify --aws`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sgproof.cli import main
from tests.aws.moto_env import MAIN_REGION, QUIET_REGION, SECOND_REGION, Built, closed_port

# The three-tier network's known verdicts. Each proof rests on collected facts: SG-to-SG references
# (app→db), the db subnet's custom NACL (the db group alone would admit ssh from the whole VPC), a
# prefix-list rule matched across the peering (bastion→web), and instances found by their Name tag.
THREE_TIER_SPEC = """\
sgproof: 1
name: three-tier
invariants:
  - id: db-only-from-app
    only: {from: {security_group: app}, to: {security_group: db}, ports: tcp/3306}
  - id: app-reaches-db
    reach: {from: {security_group: app}, to: {security_group: db}, ports: tcp/3306}
  - id: no-db-ssh-from-web
    deny: {from: {security_group: web}, to: {security_group: db}, ports: tcp/22}
  - id: bastion-reaches-web-ssh
    reach: {from: {security_group: bastion}, to: {security_group: web}, ports: tcp/22}
  - id: web-1-reaches-app-1
    reach: {from: {instance: web-1}, to: {instance: app-1}, ports: tcp/8080}
  - id: web-closed-to-app
    deny: {from: {security_group: web}, to: {security_group: app}, ports: tcp/8080}
  - id: node-exporter-closed
    deny: {from: {security_group: web}, to: {security_group: monitoring}, ports: tcp/9100}
"""
EXPECTED = {
    "db-only-from-app": "proven",
    "app-reaches-db": "proven",
    "no-db-ssh-from-web": "proven",
    "bastion-reaches-web-ssh": "proven",
    "web-1-reaches-app-1": "proven",
    "web-closed-to-app": "refuted",
    "node-exporter-closed": "refuted",
}
# Needs both regions: the proxy group lives only in SECOND_REGION.
TWO_REGION_SPEC = """\
sgproof: 1
invariants:
  - id: proxy-not-into-db
    deny: {from: {security_group: proxy}, to: {security_group: db}, ports: all}
  - id: db-only-from-app
    only: {from: {security_group: app}, to: {security_group: db}, ports: tcp/3306}
"""


def run(*args: str) -> Result:
    """Run the sgproof command line in-process."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def verdicts(result: Result) -> dict[str, str]:
    """Invariant id → status, from a `--format json` report."""
    report: dict[str, Any] = json.loads(result.stdout)
    return {r["id"]: r["status"] for r in report["results"]}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The three-tier spec, written to a file."""
    path = tmp_path / "spec.yaml"
    path.write_text(THREE_TIER_SPEC, encoding="utf-8")
    return path


def test_collect_then_verify_the_snapshot(
    aws_env: str, three_tier: Built, spec: Path, tmp_path: Path
) -> None:
    out = tmp_path / "net.json"
    collected = run("collect", "--region", MAIN_REGION, "--output", str(out))
    assert collected.exit_code == 0, collected.stderr
    assert f"{MAIN_REGION}: SecurityGroups " in collected.stderr
    assert collected.stdout == ""
    verified = run("verify", str(spec), "--snapshot", str(out), "--format", "json")
    assert verified.exit_code == 1, verified.stderr
    assert verdicts(verified) == EXPECTED


def test_verify_aws_collects_in_memory(aws_env: str, three_tier: Built, spec: Path) -> None:
    result = run("verify", str(spec), "--aws", "--format", "json")  # region from AWS_DEFAULT_REGION
    assert result.exit_code == 1, result.stderr
    assert verdicts(result) == EXPECTED
    source = json.loads(result.stdout)["source"]
    assert (source["kind"], source["account"], source["region"]) == (
        "aws",
        "123456789012",
        MAIN_REGION,
    )


def test_all_proven_exits_zero(aws_env: str, three_tier: Built, tmp_path: Path) -> None:
    path = tmp_path / "proven.yaml"
    path.write_text(THREE_TIER_SPEC.split("  - id: web-closed-to-app")[0], encoding="utf-8")
    result = run("verify", str(path), "--aws", "--region", MAIN_REGION, "--quiet")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""


def test_several_regions_round_trip_through_a_directory(
    aws_env: str, three_tier: Built, small: Built, tmp_path: Path
) -> None:
    spec = tmp_path / "two.yaml"
    spec.write_text(TWO_REGION_SPEC, encoding="utf-8")
    out = tmp_path / "snapshots"
    collected = run(
        "collect",
        "--region",
        MAIN_REGION,
        "--region",
        SECOND_REGION,
        "--output",
        str(out),
        "--quiet",
    )
    assert collected.exit_code == 0, collected.stderr
    assert collected.stderr == ""
    assert len(list(out.glob("123456789012-*.json"))) == 2
    from_dir = run("verify", str(spec), "--snapshot", str(out), "--format", "json")
    live = run(
        "verify",
        str(spec),
        "--aws",
        "--region",
        MAIN_REGION,
        "--region",
        SECOND_REGION,
        "--format",
        "json",
    )
    for result in (from_dir, live):
        assert result.exit_code == 0, result.stdout + result.stderr
        assert verdicts(result) == {"proxy-not-into-db": "proven", "db-only-from-app": "proven"}
    assert json.loads(live.stdout)["source"]["region"] == f"{MAIN_REGION},{SECOND_REGION}"


def test_collect_to_stdout(aws_env: str) -> None:
    result = run("collect", "--region", QUIET_REGION, "--quiet")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Region"] == QUIET_REGION
    assert result.stderr == ""


def one_line_error(result: Result) -> str:
    """The single `sgproof: error:` line a failed command printed; fails on anything more."""
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("sgproof: error: ")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.endswith(errors[0] + "\n")  # the last line, after any progress
    return errors[0]


def test_cli_unknown_region(aws_env: str) -> None:
    line = one_line_error(run("collect", "--region", "xx-mars-1"))
    assert "unknown AWS region 'xx-mars-1'" in line


def test_cli_no_credentials(isolated_aws: pytest.MonkeyPatch, moto_url: str, spec: Path) -> None:
    isolated_aws.setenv("AWS_ENDPOINT_URL", moto_url)
    line = one_line_error(run("verify", str(spec), "--aws", "--region", QUIET_REGION))
    assert "no usable AWS credentials" in line


def test_cli_unreachable_endpoint(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    out = tmp_path / "net.json"
    line = one_line_error(run("collect", "--region", QUIET_REGION, "--output", str(out)))
    assert "endpoint unreachable" in line
    assert not out.exists()


def test_cli_several_regions_without_a_directory(aws_env: str) -> None:
    line = one_line_error(run("collect", "--region", MAIN_REGION, "--region", SECOND_REGION))
    assert "--output" in line and "directory" in line
