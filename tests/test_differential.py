"""The SMT verdict must equal the brute-force verdict on generated networks (soundness and completeness)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from sgproof.encode.check import Checker
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

from . import netgen, oracle

EXAMPLES = int(os.environ.get("SGPROOF_DIFF_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text())
def test_smt_verdict_equals_brute_force(doc: dict, text: str) -> None:
    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    checker = Checker(net, spec)
    for inv in spec.invariants:
        got = checker.check(inv)
        assert got.status != "error", got.error
        want = oracle.verdict(net, spec, inv)
        assert got.status == want, (
            f"{inv.id} ({inv.kind}): z3 says {got.status}, brute force says {want}\n{text}\n"
            + (got.counterexample.flow.text() if got.counterexample else "")
        )
