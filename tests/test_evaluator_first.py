"""The plain evaluator's search for a refutation, which goes first on large queries
(`Checker.search_classes`; 0 here, so that it goes first on these small ones): what it may decide, and
what it must leave to the solver because the solver's witness would be more readable (contract 5)."""

from __future__ import annotations

from typing import Any

from sgproof.encode.check import Checker
from sgproof.model.addr import format_address, is_global
from sgproof.semantics import evaluate
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

from .builders import SUB_A, SUB_B, base, eni, perm, sg

SG1, SG2 = "sg-00000000000000001", "sg-00000000000000002"


def _check(doc: dict[str, Any], invariant: str, search: bool = True) -> Any:
    net = build_network(doc, "<test>")
    spec = load_spec_text(f"sgproof: 1\ninvariants:\n  - id: t\n    {invariant}\n", "<test>")
    checker = Checker(net, spec)
    checker.search_classes = 0 if search else 1 << 30
    result = checker.check(spec.invariants[0])
    assert result.status != "error", result.error
    return result, net


def _web(ingress: list[dict[str, Any]]) -> dict[str, Any]:
    return base([sg(SG1, "client", []), sg(SG2, "web", ingress)],
                [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2], public="54.1.1.2")])


def test_a_violation_the_search_finds_is_replayed_and_aims_at_the_public_address() -> None:
    """Routing is open here, so the internet reaches the private address too; the search tries the
    public one first, as the solver's preference does, and its flow is the refutation."""
    result, net = _check(_web([perm("tcp", 443, cidr="0.0.0.0/0")]), "deny: {from: {internet: true}, to: {eni: eni-2}, ports: tcp/443}")
    assert result.status == "refuted" and result.covered["decided_by"] == "evaluator"
    flow = result.counterexample.flow
    assert format_address(4, flow.dst.address) == "54.1.1.2"
    assert is_global(4, flow.src.address) and flow.proto == 6 and flow.value == 443
    assert evaluate(net, flow).allowed


def test_a_violation_only_from_a_documentation_range_is_left_to_the_solver() -> None:
    """Only 203.0.113.0/24 (TEST-NET-3) may open tcp/22: the search finds such a flow, but a witness from a
    special-purpose range is the solver's to give (it looks for a globally routable one first)."""
    doc = _web([perm("tcp", 22, cidr="203.0.113.0/24")])
    inv = "deny: {from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}"
    result, _ = _check(doc, inv)
    plain, _ = _check(doc, inv, search=False)
    assert result.status == "refuted" and result.covered["decided_by"] == "z3"
    assert result.counterexample == plain.counterexample


def test_a_protocol_number_witness_is_left_to_the_solver() -> None:
    """The search tries tcp, udp and the ICMPs first; a flow of another protocol number is no witness it
    gives (the solver prefers tcp or udp when it can)."""
    doc = _web([perm("-1", sg=SG1)])
    result, _ = _check(doc, "deny: {from: {eni: eni-1}, to: {eni: eni-2}, ports: [proto/47, tcp/5432]}")
    assert result.status == "refuted" and result.covered["decided_by"] == "evaluator"
    assert result.counterexample.flow.proto == 6
    gre, _ = _check(doc, "deny: {from: {eni: eni-1}, to: {eni: eni-2}, ports: [proto/47]}")
    assert gre.status == "refuted" and gre.covered["decided_by"] == "z3"


def test_a_reach_refutation_the_search_finds_names_every_blocking_gate() -> None:
    """web admits 443 only: the client cannot reach it on 8443, for every client port; the search finds
    it before any term is built and the witness is the one the solver's replay would give."""
    doc = _web([perm("tcp", 443, sg=SG1)])
    inv = "reach: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/8443}"
    result, net = _check(doc, inv)
    plain, _ = _check(doc, inv, search=False)
    assert result.status == "refuted" and result.covered["decided_by"] == "evaluator"
    assert plain.status == "refuted" and plain.covered["decided_by"] == "z3"
    assert result.counterexample == plain.counterexample
    assert not result.counterexample.allowed
    assert [st.gate for st in result.counterexample.trace if st.verdict in ("deny", "no-match")] == ["sg-ingress"]
    assert not evaluate(net, result.counterexample.flow).connects


def test_a_proven_invariant_is_the_solver_s_proof() -> None:
    """Finding nothing proves nothing: a reach that holds and a deny that holds are decided by z3."""
    doc = _web([perm("tcp", 443, sg=SG1)])
    held, _ = _check(doc, "reach: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/443}")
    denied, _ = _check(doc, "deny: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/22}")
    assert (held.status, held.covered["decided_by"]) == ("proven", "z3")
    assert denied.status == "proven" and denied.covered["decided_by"] in ("z3", "slicing")


def test_an_invariant_with_a_live_exception_is_the_solver_s() -> None:
    """An exception's report says whether it accepted a violation, which only the solver can tell."""
    doc = _web([perm("tcp", 443, cidr="0.0.0.0/0")])
    text = ("sgproof: 1\ninvariants:\n  - id: t\n    deny: {from: {internet: true}, to: {eni: eni-2}, ports: tcp/443}\n"
            "    except:\n      - {from: {cidr: 8.8.8.0/24}, reason: probe}\n")
    net = build_network(doc, "<test>")
    spec = load_spec_text(text, "<test>")
    checker = Checker(net, spec)
    checker.search_classes = 0
    result = checker.check(spec.invariants[0])
    assert result.status == "refuted" and result.covered["decided_by"] == "z3"
    assert [e["matched"] for e in result.exceptions] == [True]


def test_a_source_whose_rules_admit_nothing_is_tried_first() -> None:
    """The client's group admits nothing outbound: its class's pruned behaviour is empty, which the search
    tries first."""
    doc = base([sg(SG1, "client", [], egress=[]), sg(SG2, "web", [perm("tcp", 443, sg=SG1)])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    result, _ = _check(doc, "reach: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/443}")
    assert result.status == "refuted" and result.covered["decided_by"] == "evaluator"
    assert [st.gate for st in result.counterexample.trace if st.verdict in ("deny", "no-match")] == ["sg-egress"]
