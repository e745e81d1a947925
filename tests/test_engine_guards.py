"""Unknown is never a proof, and a counterexample the plain evaluator rejects is never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.encode import check
from sgproof.semantics import Verdict

SEED = Path(__file__).parent / "cases" / "seed-blog" / "spec.yaml"


def test_solver_unknown_is_an_error_not_a_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    res = CliRunner().invoke(main, ["verify", str(SEED), "--jobs", "1", "--format", "json"])
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    # the invariants slicing settles without a query stay proven; every one that asked z3 is an error
    asked = {r["id"]: r for r in doc["results"] if r["status"] != "proven"}
    assert set(asked) == {"ap-reaches-db", "no-app-mysql"}
    assert all(r["status"] == "error" and "could not decide (timeout)" in r["error"] for r in asked.values())


def test_counterexample_that_does_not_replay_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "evaluate", lambda net, flow: Verdict(False, ()))
    res = CliRunner().invoke(main, ["verify", str(SEED), "--jobs", "1"])
    assert res.exit_code == 2
    assert "internal error" in res.stdout and "plain evaluator" in res.stdout
