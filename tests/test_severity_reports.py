"""`severity` reaches every format: JSON field, SARIF level, JUnit property, text, Markdown and HTML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from sgproof.cli import main

ROOT = Path(__file__).resolve().parents[1]
NET = str(ROOT / "tests" / "cases" / "seed-blog" / "network.json")
SPEC = ("sgproof: 1\ninvariants:\n"
        "  - id: low-one\n    severity: low\n    deny: {to: {tag: {Role: app}}, ports: tcp/3306}\n"
        "  - id: medium-one\n    severity: medium\n    deny: {to: {tag: {Role: app}}, ports: tcp/3306}\n"
        "  - id: default-one\n    deny: {to: {tag: {Role: app}}, ports: tcp/3306}\n"
        "  - id: critical-one\n    severity: critical\n    deny: {from: {internet: true}, to: {anywhere: true}}\n")


def _run(tmp_path: Path, fmt: str) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    res = CliRunner().invoke(main, ["verify", str(spec), "--snapshot", NET, "--format", fmt, "--jobs", "1"])
    assert res.exit_code == 1, res.stderr
    return res.stdout


def test_json_carries_each_severity(tmp_path: Path) -> None:
    doc = json.loads(_run(tmp_path, "json"))
    assert {r["id"]: r["severity"] for r in doc["results"]} == {
        "low-one": "low", "medium-one": "medium", "default-one": "high", "critical-one": "critical"}


def test_sarif_level_follows_severity(tmp_path: Path) -> None:
    doc = json.loads(_run(tmp_path, "sarif"))
    run = doc["runs"][0]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"low-one": "note", "medium-one": "warning", "default-one": "error"}
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["critical-one"]["properties"]["security-severity"] == "9.5"
    assert rules["low-one"]["defaultConfiguration"]["level"] == "note"


def test_junit_has_a_severity_property_per_testcase(tmp_path: Path) -> None:
    root = ET.fromstring(_run(tmp_path, "junit"))
    got = {c.get("name"): c.find("properties/property[@name='severity']") for c in root.iter("testcase")}
    assert {k: v.get("value") for k, v in got.items() if v is not None} == {
        "low-one": "low", "medium-one": "medium", "default-one": "high", "critical-one": "critical"}


def test_people_formats_show_severity(tmp_path: Path) -> None:
    assert "REFUTED low-one (deny, severity low)" in _run(tmp_path, "text")
    assert "(deny, severity critical" in _run(tmp_path, "markdown")
    assert "severity medium" in _run(tmp_path, "html")
