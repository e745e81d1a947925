"""The SMT verdict must equal the brute-force verdict on generated networks (soundness and completeness)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sgproof.encode.check import Checker
from sgproof.semantics import evaluate
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


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text())
def test_verdicts_with_the_evaluator_s_search_first_equal_brute_force(doc: dict, text: str) -> None:
    """With the plain evaluator's search for a refutation going first on every query (it goes first on
    large ones only), every verdict is still brute force's, and each refutation it decides replays."""
    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    checker = Checker(net, spec)
    checker.search_classes = 0
    for inv in spec.invariants:
        got = checker.check(inv)
        assert got.status != "error", got.error
        want = oracle.verdict(net, spec, inv)
        assert got.status == want, f"{inv.id} ({inv.kind}): {got.status} ({got.covered}), brute force {want}\n{text}"
        if got.covered.get("decided_by") == "evaluator":
            verdict = evaluate(net, got.counterexample.flow)
            assert verdict.allowed if inv.kind != "reach" else not verdict.connects, inv.id


def test_generated_networks_route_in_a_good_share() -> None:
    """Most generated networks carry route tables, and together they use every kind of routing 4.5 names."""
    kinds: set[str] = set()
    seen = {"all": 0, "routed": 0, "explicit": 0, "public_map": 0, "blackhole": 0, "nat_eni": 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.generate])
    @given(doc=netgen.network())
    def sample(doc: dict) -> None:
        net = build_network(doc, "<generated>")
        seen["all"] += 1
        if net.routing is None:
            return
        seen["routed"] += 1
        seen["explicit"] += any(t.subnet_ids for t in net.routing.tables.values())
        seen["public_map"] += any(e.public_map for e in net.enis)
        seen["nat_eni"] += any(not e.hosts for e in net.enis)
        for t in net.routing.tables.values():
            kinds.update(r.kind for r in t.routes)
            seen["blackhole"] += any(r.blackhole for r in t.routes)

    sample()
    assert seen["routed"] >= seen["all"] // 2, seen
    assert all(seen[k] for k in ("explicit", "public_map", "blackhole", "nat_eni")), seen
    assert kinds >= {"local", "igw", "eigw", "nat", "pcx", "tgw", "vgw", "vpce", "unmodelled"}, kinds


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text())
def test_listed_violations_cover_every_brute_force_violation(doc: dict, text: str) -> None:
    """`--all` lists a flow per violation group (source class, destination class, protocol group) and
    says whether the list is complete: when it says so, every violating flow that brute force finds
    falls in a listed group."""
    from sgproof.encode.alike import class_index

    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    checker = Checker(net, spec)
    for inv in spec.invariants:
        if inv.kind == "reach" or inv.exemptions:
            continue
        found, complete = checker.violations(inv, 10_000)
        assert complete, inv.id
        sels = checker._selections(inv)
        assert not isinstance(sels, str)
        q = checker._exists_query(inv, *sels)
        want = oracle.violations(net, spec, inv)
        if q is None:
            assert not want and not found, inv.id
            continue
        index = (class_index(q.side_s), len(q.side_s.classes), class_index(q.side_d), len(q.side_d.classes))
        listed = {_group(index, cx.flow.src.eni, cx.flow.dst.eni, cx.flow.proto) for cx in found}
        for s, d, p in want:
            assert _group(index, s, d, p) in listed, f"{inv.id}: brute force finds {s} -> {d} on protocol {p}, not listed"


def _group(index: tuple[dict[int, int], int, dict[int, int], int], s: object, d: object, p: int
           ) -> tuple[int, int, int]:
    """The violation group of a flow between two endpoints (ENI indices; anything else is external)."""
    from sgproof.model import ICMP, ICMPV6, TCP, UDP

    index_s, n_s, index_d, n_d = index
    return (index_s[s] if isinstance(s, int) else n_s, index_d[d] if isinstance(d, int) else n_d,
            p if p in (ICMP, TCP, UDP, ICMPV6) else -1)


@settings(max_examples=EXAMPLES // 10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), groups=st.lists(netgen.selector(), min_size=1, max_size=2))
def test_flow_map_edges_are_brute_force_flows(doc: dict, groups: list[str]) -> None:
    """The flow map draws an edge between two groups exactly when brute force finds a flow from one to
    the other that a deny counts (an unknown routing step admits); an edge drawn unknown because every
    flow found crosses an unmodelled route has no flow that connects for certain; and an edge whose
    services are exact has the same services and external addresses whether its first flows come from
    the plain evaluator's search or from the engine alone."""
    import pytest

    from sgproof.explain import flowmap
    from sgproof.spec import Invariant, ServiceSet

    net = build_network(doc, "<generated>")
    text = ("sgproof: 1\ngroups:\n" + "".join(f"  g{k}: {sel}\n" for k, sel in enumerate(groups))
            + "invariants:\n  - id: any\n    allow_empty: true\n    deny: {from: {internet: true}, to: "
            + groups[0] + ", ports: tcp/22}\n")
    spec = load_spec_text(text, "<generated>")
    seeded = flowmap.flow_map(Checker(net, spec), budget_seconds=3600)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(flowmap, "SEEDS", 0)
        plain = flowmap.flow_map(Checker(net, spec), budget_seconds=3600)
    assert seeded.groups == plain.groups
    _, selectors = flowmap.map_groups(Checker(net, spec))
    ours, theirs = ({(e.src, e.dst): e for e in fm.edges} for fm in (seeded, plain))
    for a in seeded.groups:
        for b in seeded.groups:
            inv = Invariant(f"flow:{a}->{b}", "deny", "", selectors[a], selectors[b], ServiceSet.everything(),
                            "all", True, 0, "")
            want = bool(oracle.violations(net, spec, inv))
            for edge in (ours.get((a, b)), theirs.get((a, b))):
                assert (edge is not None) == want, (a, b, edge)
                if edge is not None and edge.services == flowmap.UNMODELLED_ONLY:
                    assert not oracle.violations(net, spec, inv, certain=True), (a, b, edge)
                if edge is not None and edge.status == "allowed":  # some service connects for certain
                    assert edge.services.split(" (")[0], (a, b, edge)
            one, two = ours.get((a, b)), theirs.get((a, b))
            if one and two and "(at least" not in one.services + two.services and one.status == two.status == "allowed":
                assert (one.services, one.src_part, one.dst_part) == (two.services, two.src_part, two.dst_part)
