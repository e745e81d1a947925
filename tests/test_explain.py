"""`verify --explain` (contract 9): rests_on is sufficient and minimal, checked against brute force; the
part transforms mean the same to the engine and to the plain evaluator; golden cases and the JSON shape."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgproof.cli import main
from sgproof.encode.check import Checker
from sgproof.remedy.explain import Explainer
from sgproof.remedy.parts import CLOSE, KINDS, OPEN, Part, Parts
from sgproof.sources import load_network
from sgproof.sources.snapshot import build_network
from sgproof.spec import load_spec
from sgproof.spec.parse import load_spec_text

from . import builders as b
from . import netgen, oracle

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("SGPROOF_EXPLAIN_EXAMPLES", "40"))


def _explained(example: str) -> dict[str, dict]:
    spec = load_spec(str(ROOT / "examples" / example / "spec.yaml"))
    net, _ = load_network(snapshot=str(ROOT / "examples" / example / "network.json"))
    checker = Checker(net, spec)
    ex = Explainer(checker)
    return {inv.id: ex.explain(inv, checker.check(inv)).as_json() for inv in spec.invariants}


# ---- golden cases on the bundled examples ---------------------------------------------------------
def test_seed_blog_only_rests_on_the_db_ingress_and_the_ap_membership() -> None:
    got = _explained("seed-blog")
    rests = got["db-only-from-ap"]["rests_on"]
    assert [(p["part"], p["id"]) for p in rests] == [("sg-ingress", "sg-0d1e2f3a4b5c60003"),
                                                     ("membership", "sg-0d1e2f3a4b5c60002")]
    assert rests[0]["why"] == "admits tcp 3306 only from sg-0d1e2f3a4b5c60002"
    assert rests[1]["why"] == "carried by eni-0f00000000000a001 only"
    assert rests[0]["witness"].startswith("opening it admits tcp ")
    assert "rests_on" not in got["no-app-mysql"]  # refuted: nothing to explain


def test_an_explanation_beyond_its_check_budget_says_so_and_guesses_nothing(monkeypatch: Any) -> None:
    """The budget is a count of engine checks, not seconds: whether an explanation is given must not
    depend on the machine's load."""
    from sgproof.remedy import explain as explain_module

    monkeypatch.setattr(explain_module, "MAX_CHECKS", 0)  # sufficiency is always the engine's: one check at least
    got = _explained("seed-blog")["db-only-from-ap"]
    assert got["rests_on"] is None
    assert "more than 0 engine checks" in got["rests_on_error"]


def test_three_tier_only_rests_on_the_db_subnet_nacl() -> None:
    got = _explained("three-tier")
    rests = got["db-only-from-app-and-bastion"]["rests_on"]
    assert [(p["part"], p["id"]) for p in rests] == [("nacl", "acl-0f9e8d7c6b5a49304")]
    assert "rule 110 denies tcp 1024-32767 outbound to 10.20.31.0/24" in rests[0]["why"]
    assert "rule 100 allows tcp 5432 from 10.20.11.0/24" in rests[0]["why"]
    # a NACL deny that a proof rests on: web hosts reach no app host on ssh because of the app NACL
    rests = got["no-ssh-from-web-to-app"]["rests_on"]
    assert [(p["part"], p["id"]) for p in rests] == [("nacl", "acl-0f9e8d7c6b5a49303")]


def test_reach_rests_on_what_carries_it() -> None:
    got = _explained("seed-blog")
    parts = {(p["part"], p["id"]) for p in got["ap-reaches-db"]["rests_on"]}
    assert ("sg-ingress", "sg-0d1e2f3a4b5c60003") in parts
    assert ("membership", "sg-0d1e2f3a4b5c60002") in parts
    assert any(k == "route-table" for k, _ in parts)


def test_nacl_deny_is_named_with_its_rule() -> None:
    """A proof that rests on one NACL deny entry names that entry."""
    nacl = {"NetworkAclId": "acl-00000000000000002", "VpcId": b.VPC, "IsDefault": False,
            "Associations": [{"SubnetId": b.SUB_B}],
            "Entries": [b.entry(90, False, "deny", "6", "10.0.0.0/8", ports=(3306, 3306)),
                        b.entry(100, False, "allow"), b.entry(100, True, "allow")]}
    doc = b.base([b.sg("sg-00000000000000001", "app", []),
                  b.sg("sg-00000000000000002", "db", [b.perm("tcp", 3306, cidr="10.0.0.0/16")])],
                 [b.eni("eni-00000000000000001", b.SUB_A, ["10.0.1.10"], ["sg-00000000000000001"]),
                  b.eni("eni-00000000000000002", b.SUB_B, ["10.0.2.20"], ["sg-00000000000000002"])],
                 [b.allow_all_nacl("acl-00000000000000001", True, [b.SUB_A]), nacl])
    net = build_network(doc, "<test>")
    spec = load_spec_text("sgproof: 1\ninvariants:\n  - id: no-mysql\n"
                          "    deny: {from: {eni: eni-00000000000000001}, to: {eni: eni-00000000000000002}, "
                          "ports: tcp/3306}\n", "<test>")
    checker = Checker(net, spec)
    inv = spec.invariants[0]
    got = Explainer(checker).explain(inv, checker.check(inv)).as_json()
    assert got["status"] == "proven"
    assert got["rests_on"] == [{"part": "nacl", "id": "acl-00000000000000002",
                                "why": "rule 90 denies tcp 3306 from 10.0.0.0/8; only these entries admit tcp/3306: "
                                       "rule 100 allows all from anywhere; rule 100 allows all outbound to anywhere",
                                "witness": got["rests_on"][0]["witness"]}]


# ---- the CLI -------------------------------------------------------------------------------------
def test_cli_json_carries_rests_on_for_every_proof() -> None:
    res = CliRunner().invoke(main, ["verify", str(ROOT / "examples" / "three-tier" / "spec.yaml"), "--explain",
                                    "--format", "json", "--jobs", "1"])
    assert res.exit_code == 1, res.stderr
    doc = json.loads(res.stdout)
    for r in doc["results"]:
        if r["status"] != "proven":
            assert "rests_on" not in r
            continue
        assert isinstance(r["rests_on"], list), r
        assert r["rests_on_checks"] >= 1
        for p in r["rests_on"]:
            assert set(p) >= {"part", "id", "why"} and p["part"] in KINDS and p["why"]


def test_cli_text_and_markdown_show_rests_on() -> None:
    spec = str(ROOT / "examples" / "seed-blog" / "spec.yaml")
    text = CliRunner().invoke(main, ["verify", spec, "--explain", "--jobs", "1"]).stdout
    assert "this proof rests on 2 controls" in text
    assert "- security group ingress sg-0d1e2f3a4b5c60003: admits tcp 3306 only from sg-0d1e2f3a4b5c60002" in text
    md = CliRunner().invoke(main, ["verify", spec, "--explain", "--format", "markdown", "--jobs", "1"]).stdout
    assert "this proof rests on 2 controls" in md
    plain = CliRunner().invoke(main, ["verify", spec, "--format", "json", "--jobs", "1"]).stdout
    assert "rests_on" not in plain  # only when asked


# ---- the transforms: engine and plain evaluator agree -----------------------------------------------
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text(), data=st.data())
def test_opened_and_closed_networks_engine_equals_brute_force(doc: dict, text: str, data: st.DataObject) -> None:
    """Every part kind, opened or closed, means the same to z3 and to the plain evaluator; the explainer's
    shared preparation gives the verdicts of a fresh Checker."""
    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    parts = Parts(net)
    chosen = data.draw(st.sets(st.sampled_from(parts.all), max_size=4)) if parts.all else set()
    mode = data.draw(st.sampled_from((OPEN, CLOSE)))
    shared = Explainer(Checker(net, spec))
    moved = parts.network(chosen, mode)
    fresh = Checker(moved, spec)
    for inv in spec.invariants:
        want = oracle.verdict(moved, spec, inv)
        got = fresh.check(inv)
        assert got.status == want, f"{inv.id} with {mode} {sorted(p.text() for p in chosen)}: z3 {got.status}"
        assert shared.check_with(inv, chosen, mode).status == want


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text(), witnesses=st.booleans())
def test_rests_on_is_sufficient_and_minimal_by_brute_force(doc: dict, text: str, witnesses: bool) -> None:
    """Both ways of showing that a part matters: the evaluator's witnesses (the fast path) and the engine's
    re-checks alone (the path taken when no witness is found)."""
    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    checker = Checker(net, spec)
    ex = Explainer(checker)
    if not witnesses:
        ex.witnesses = False
    parts = ex.parts
    for inv in spec.invariants:
        res = ex.explain(inv, checker.check(inv))
        if res.status != "proven":
            assert res.explanation is None
            continue
        assert res.explanation is not None and res.explanation["rests_on"] is not None, res.explanation
        kept = {Part(p["part"], p["id"]) for p in res.explanation["rests_on"]}
        mode = CLOSE if inv.kind == "reach" else OPEN
        others = set(parts.all) - kept
        assert oracle.verdict(parts.network(others, mode), spec, inv) == "proven", (inv.id, sorted(kept))
        for p in kept:
            assert oracle.verdict(parts.network(others | {p}, mode), spec, inv) == "refuted", (inv.id, p)


def test_route_table_open_and_closed_in_the_evaluator() -> None:
    """Opening a table carries every flow (as when routing is open); closing it carries nothing."""
    from sgproof.semantics import Endpoint, Flow, evaluate

    doc = json.loads((ROOT / "examples" / "seed-blog" / "network.json").read_text())
    net = build_network(doc, "<seed-blog>")
    assert net.routing is not None
    parts = Parts(net)
    table = next(p for p in parts.all if p.kind == "route-table")
    i = next(k for k, e in enumerate(net.enis) if e.hosts and not e.public)
    e = net.enis[i]
    fam, lo, _ = e.private[0]
    out = Flow(Endpoint(i, fam, lo), Endpoint(None, 4, 0x08080808), 6, 443, 40000)
    routed = [s for s in evaluate(net, out).steps if s.gate == "route"]
    assert routed and routed[0].verdict == "deny"  # igw needs a public IPv4
    opened = [s for s in evaluate(parts.network({table}, OPEN), out).steps if s.gate == "route"]
    assert opened[0].verdict == "allow"
    j = next(k for k, x in enumerate(net.enis) if k != i and x.hosts and x.vpc_id == e.vpc_id)
    f2, lo2, _ = net.enis[j].private[0]
    inside = Flow(Endpoint(i, fam, lo), Endpoint(j, f2, lo2), 6, 443, 40000)
    closed = [s.verdict for s in evaluate(parts.network({table}, CLOSE), inside).steps if s.gate.startswith("route")]
    assert closed == ["deny", "deny"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text(), data=st.data())
def test_witnesses_refute_and_one_more_part_networks_equal_whole_ones(doc: dict, text: str,
                                                                       data: st.DataObject) -> None:
    """Each witness the fast path finds refutes the invariant on exactly the network it was found on
    (brute force); the network built from a base plus one part is the network built whole."""
    from sgproof.remedy.witness import WitnessFinder

    net = build_network(doc, "<generated>")
    spec = load_spec_text(text, "<generated>")
    checker = Checker(net, spec)
    parts = Parts(net)
    if not parts.all:
        return
    base = frozenset(data.draw(st.sets(st.sampled_from(parts.all), max_size=6)))
    for mode in (OPEN, CLOSE):
        base_net = parts.network(base, mode)
        for p in parts.all:
            plus = parts.network_plus(base, base_net, p, mode)
            whole = parts.network(base | {p}, mode)
            assert (plus.sgs, plus.nacls, plus.routing) == (whole.sgs, whole.nacls, whole.routing), (mode, p)
    for inv in spec.invariants:
        mode = CLOSE if inv.kind == "reach" else OPEN
        finder = WitnessFinder(checker, parts, inv, mode)
        for p in sorted(parts.all, key=lambda q: q.text()):
            if p in base:
                continue
            flow = finder.find(base, p)
            if flow is not None:
                assert oracle.verdict(parts.network(base | {p}, mode), spec, inv) == "refuted", (inv.id, p, flow)
                assert finder.replays(base, p, flow)
