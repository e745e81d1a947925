"""SARIF and JUnit on the seed-blog example and on bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from .conftest import REPO, SARIF_SCHEMA, SEED


def _validate_sarif(doc: dict[str, Any]) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA} (shared/ is expected beside the repository)")
    from jsonschema import Draft4Validator

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_seed_blog_validates_and_points_at_the_invariant(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--format", "sarif", "--jobs", "1", "--quiet")
    assert r.code == 1
    doc = json.loads(r.stdout)
    _validate_sarif(doc)
    (sarif_run,) = doc["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [
        "db-only-from-ap", "ap-reaches-db", "no-app-mysql", "db-closed-to-internet", "default-group-isolated"]
    assert all(rule["defaultConfiguration"]["level"] == "error" and rule["shortDescription"]["text"]
               and rule["fullDescription"]["text"] for rule in rules)
    (result,) = sarif_run["results"]
    assert result["ruleId"] == "no-app-mysql"
    assert "tcp 10.0.3.20:1024 -> 10.0.1.11:3306" in result["message"]["text"]
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "examples/seed-blog/spec.yaml"
    assert loc["region"]["startLine"] == 19


def test_sarif_fingerprints_are_stable_across_runs(run) -> None:  # type: ignore[no-untyped-def]
    def prints() -> list[dict[str, str]]:
        doc = json.loads(run("verify", SEED, "--format", "sarif", "--jobs", "1", "--quiet").stdout)
        return [res["partialFingerprints"] for res in doc["runs"][0]["results"]]

    first, second = prints(), prints()
    assert first == second and first


def test_sarif_all_gives_one_result_per_violation(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", wide_spec, "--format", "sarif", "--all", "--max-violations", "5", "--jobs", "1", "--quiet")
    doc = json.loads(r.stdout)
    _validate_sarif(doc)
    results = doc["runs"][0]["results"]
    assert [res["ruleId"] for res in results].count("app-closed") == 5
    prints = [res["partialFingerprints"]["sgproofFlow/v1"] for res in results]
    assert len(set(prints)) == len(prints)


def test_junit_seed_blog_counts(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--format", "junit", "--jobs", "1", "--quiet")
    assert r.code == 1
    root = ET.fromstring(r.stdout)
    cases = root.findall(".//testcase")
    assert len(cases) == 5
    assert {c.get("classname") for c in cases} == {"examples/seed-blog/spec.yaml"}
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["no-app-mysql"]
    assert not root.findall(".//error")
    text = failed[0].findtext("failure") or ""
    assert "tcp 10.0.3.20:1024 -> 10.0.1.11:3306" in text and "sg-ingress" not in text
    assert "security group ingress" in text
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "1", "0")


def test_junit_error_status_is_an_error_element(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "net.json").write_text((REPO / "examples/seed-blog/network.json").read_text())
    spec = tmp_path / "empty.yaml"
    spec.write_text("sgproof: 1\nsource: net.json\ninvariants:\n  - id: nobody\n"
                    "    deny: {to: {tag: {Role: nothing-has-this}}}\n")
    r = run("verify", str(spec), "--format", "junit", "--jobs", "1", "--quiet")
    assert r.code == 2
    root = ET.fromstring(r.stdout)
    (case,) = root.findall(".//testcase")
    err = case.find("error")
    assert err is not None and "matches no endpoint" in (err.get("message") or "")


def test_bad_input_becomes_a_sarif_document(run, bad_spec: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.sarif"
    r = run("verify", bad_spec, "--format", "sarif", "--output", str(out))
    assert r.code == 2
    assert "expected a group" in r.stderr
    doc = json.loads(out.read_text())
    _validate_sarif(doc)
    (inv,) = doc["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is False
    note = inv["toolExecutionNotifications"][0]
    assert "expected a group" in note["message"]["text"]
    # located where the error is: the spec's line 4, column 16 (the group name)
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 16}


def test_bad_input_becomes_a_junit_error(run, bad_spec: str) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", bad_spec, "--format", "junit")
    assert r.code == 2
    root = ET.fromstring(r.stdout)
    assert len(root.findall(".//testcase")) == 1
    (err,) = root.findall(".//error")
    assert "expected a group" in (err.get("message") or "")


def test_bad_snapshot_in_text_prints_no_document(run, bad_spec: str) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", bad_spec)
    assert r.code == 2 and r.stdout == ""
