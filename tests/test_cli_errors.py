"""Every error reaches stderr as one line, whatever --format is (contract section 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

ROOT = Path(__file__).resolve().parents[1]
NET = str(ROOT / "tests" / "cases" / "seed-blog" / "network.json")
SPEC = ("sgproof: 1\ninvariants:\n  - id: fine\n    deny: {from: {internet: true}, to: {security_group: '*-mysql'}}\n"
        "  - id: empty\n    deny: {to: {tag: {Role: nothing}}}\n"
        "  - id: empty-too\n    reach: {from: {security_group: nosuch}, to: {anywhere: true}}\n")


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown", "html"])
def test_invariants_in_error_reach_stderr_in_every_format(tmp_path: Path, fmt: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    code, _, err = run("verify", str(spec), "--snapshot", NET, "--format", fmt, "--jobs", "1")
    lines = err.strip().splitlines()
    assert code == 2
    assert lines == [
        f"sgproof: error: {spec}:6:17: the to selector 'tag: {{Role: nothing}}' matches no endpoint "
        "(add allow_empty: true to the invariant if that is intended)",
        f"sgproof: error: {spec}:8:20: the from selector 'security_group: nosuch' matches no endpoint "
        "(add allow_empty: true to the invariant if that is intended)",
    ]


def test_only_checks_the_named_invariants(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    code, out, err = run("verify", str(spec), "--snapshot", NET, "--only", "fine", "--format", "json")
    assert code == 0 and err == "" and '"id": "fine"' in out and '"id": "empty"' not in out
    code, _, err = run("verify", str(spec), "--snapshot", NET, "--only", "fine", "--only", "nosuch")
    assert code == 2 and err.strip() == (f"sgproof: error: --only: {spec} has no invariant 'nosuch' "
                                         "(its ids: fine, empty, empty-too)")


SEVERE = ("sgproof: 1\ninvariants:\n"
          "  - id: low-one\n    severity: low\n    deny: {to: {tag: {Role: app}}, ports: tcp/3306}\n"
          "  - id: proven-one\n    severity: critical\n    deny: {from: {internet: true}, to: {security_group: '*-mysql'}}\n")


@pytest.mark.parametrize(("fail_on", "code"), [(None, 1), ("low", 1), ("medium", 0), ("critical", 0)])
def test_fail_on_counts_only_refutations_at_or_above_the_level(tmp_path: Path, fail_on: str | None, code: int) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SEVERE)
    args = ["verify", str(spec), "--snapshot", NET, "--format", "json", "--jobs", "1"]
    got, out, _ = run(*args, *(("--fail-on", fail_on) if fail_on else ()))
    assert got == code
    assert '"severity": "low"' in out and '"severity": "critical"' in out


def test_fail_on_does_not_hide_errors(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SEVERE + "  - id: empty\n    severity: low\n    deny: {to: {tag: {Role: nothing}}}\n")
    code, _, err = run("verify", str(spec), "--snapshot", NET, "--fail-on", "critical")
    assert code == 2 and err.count("sgproof: error:") == 1


def test_exceptions_are_warned_about_expired_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    from sgproof.spec import parse

    monkeypatch.setattr(parse, "today", lambda: datetime.date(2030, 1, 1))
    spec = tmp_path / "spec.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {tag: {Role: app}}, ports: tcp/3306}\n"
                    "    except:\n      - {reason: old ticket, until: 2029-12-31}\n      - {reason: new ticket}\n")
    code, out, _ = run("verify", str(spec), "--snapshot", NET, "--format", "json", "--jobs", "1")
    doc = json.loads(out)
    warnings = doc["assumptions"]["warnings"]
    # the live exception accepts every flow of the invariant (no from/to/ports): proven; the expired one
    # no longer applies and is a warning
    assert code == 0, out
    assert f"{spec}:6:9: an exception of x expired on 2029-12-31: it no longer applies" in warnings
    assert doc["results"][0]["exceptions"] == [
        {"reason": "old ticket", "until": "2029-12-31", "matched": False, "expired": True},
        {"reason": "new ticket", "until": None, "matched": True, "expired": False}]
