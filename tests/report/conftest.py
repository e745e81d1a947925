"""Fixtures for the report tests: the seed-blog example run through the CLI in the repository folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

REPO = Path(__file__).resolve().parents[2]
SEED = "examples/seed-blog/spec.yaml"
SHARED = REPO / ".." / "shared"
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `sgproof ARGS...` in the repository folder; returns exit code, stdout and stderr."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("NO_COLOR", raising=False)

    def invoke(*args: str) -> Run:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def wide_spec(tmp_path: Path) -> str:
    """A spec whose one invariant (nothing reaches the app hosts on anything) has many violations."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(
        "sgproof: 1\nname: wide\n"
        f"source: {REPO / 'examples/seed-blog/network.json'}\n"
        "groups:\n  app-hosts: {tag: {Role: app}}\n"
        "invariants:\n  - id: app-closed\n    deny: {to: app-hosts, ports: all}\n"
        "  - id: app-mysql-closed\n    deny: {to: app-hosts, ports: tcp/3306}\n"
    )
    return str(spec)


@pytest.fixture
def bad_spec(tmp_path: Path) -> str:
    spec = tmp_path / "bad.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: nowhere}\n")
    return str(spec)
