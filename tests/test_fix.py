"""`verify --fix` (contract 9): every repair is verified on the whole spec, is the smallest among the changes
the search considers (brute force over their subsets), and uses only the changes its kind allows."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from sgproof.cli import main
from sgproof.encode.check import Checker
from sgproof.model import Network
from sgproof.remedy.changes import TAKE_AWAY, Change, apply
from sgproof.remedy.fix import Repair, find_repair
from sgproof.sources.snapshot import build_network
from sgproof.spec import Spec
from sgproof.spec.parse import load_spec_text

from . import netgen, oracle
from .builders import SUB_A, SUB_B, base, eni, entry, perm, sg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ADDITIONS = ("add-rule", "add-entry", "add-route")


def _cli_json(*args: str) -> dict[str, Any]:
    got = CliRunner().invoke(main, ["verify", *args, "--fix", "--format", "json", "--jobs", "1", "--quiet"])
    assert got.exit_code in (0, 1), got.output
    doc: dict[str, Any] = json.loads(got.output)
    return doc


def _oracle_ok(net: Network, spec: Spec, target: str, proven: set[str]) -> bool:
    """The brute-force evaluator's word: the target is proven and so is every invariant that was."""
    return all(oracle.verdict(net, spec, inv) == "proven" for inv in spec.invariants
               if inv.id == target or inv.id in proven)


def _repairs(doc: dict[str, Any], text: str, seconds: float = 60.0
             ) -> tuple[Network, Spec, set[str], dict[str, tuple[Repair, tuple[Change, ...]]]]:
    net = build_network(doc, "<test>")
    spec = load_spec_text(text, "<test>")
    checker = Checker(net, spec)
    results = {inv.id: checker.check(inv) for inv in spec.invariants}
    assert all(r.status != "error" for r in results.values()), [r.error for r in results.values()]
    proven = {i for i, r in results.items() if r.status == "proven"}
    out = {}
    for inv in spec.invariants:
        if results[inv.id].status == "refuted":
            out[inv.id] = find_repair(checker, inv, results[inv.id], frozenset(proven), seconds)
    return net, spec, proven, out


def _no_smaller(net: Network, spec: Spec, target: str, proven: set[str], rep: Repair,
                cands: tuple[Change, ...]) -> None:
    """No set of fewer candidate changes is a repair (brute force, the plain evaluator deciding)."""
    for size in range(len(rep.changes)):
        for subset in combinations(cands, size):
            if len({c.target for c in subset}) < size:
                continue  # two changes of one rule or entry
            try:
                changed = apply(net, subset)
            except ValueError:
                continue
            assert not _oracle_ok(changed, spec, target, proven), [c.text() for c in subset]


# ---- golden cases from the examples -------------------------------------------------------------------
def test_seed_blog_fix_narrows_the_shared_self_rule() -> None:
    doc = _cli_json(str(EXAMPLES / "seed-blog" / "spec.yaml"))
    results = {r["id"]: r for r in doc["results"]}
    rep = results["no-app-mysql"]["repair"]
    assert rep["verified"] is True
    assert rep["verdicts_after"] == {r: "proven" for r in results}
    [change] = rep["changes"]
    # the shared self-referencing group's own rule: narrowed so that it no longer carries tcp 3306
    assert change["resource"] == "sg-0d1e2f3a4b5c60004" and change["direction"] == "ingress"
    assert change["action"] in ("narrow-rule", "remove-rule")
    assert change["before"]["UserIdGroupPairs"] == [{"GroupId": "sg-0d1e2f3a4b5c60004"}]
    for item in change["after"] or []:
        assert not (item["IpProtocol"] == "tcp" and item["FromPort"] <= 3306 <= item["ToPort"])
    assert all("repair" not in r for r in doc["results"] if r["status"] == "proven")


def test_a_choice_beyond_the_optimisers_budget_says_so(monkeypatch: Any) -> None:
    """The optimiser is bounded by z3 resource units (the same on any machine and load); when it runs
    out, no repair is guessed."""
    from sgproof.remedy import fix as fix_module

    monkeypatch.setattr(fix_module, "OPTIMIZE_RLIMIT", 1)
    doc = _cli_json(str(EXAMPLES / "seed-blog" / "spec.yaml"))
    rep = {r["id"]: r for r in doc["results"]}["no-app-mysql"]["repair"]
    assert rep["verified"] is False and not rep["changes"]
    assert "optimiser's budget" in rep["note"]


def test_terraform_open_3306_fix_edits_the_world_rule() -> None:
    d = EXAMPLES / "terraform" / "open-3306"
    doc = _cli_json(str(d / "spec.yaml"), "--terraform", str(d / "plan.json"))
    results = {r["id"]: r for r in doc["results"]}
    for rid in ("no-internet-mysql", "mysql-only-from-app"):
        rep = results[rid]["repair"]
        assert rep["verified"] is True, rep
        assert rep["verdicts_after"] == {r: "proven" for r in results}
        [change] = rep["changes"]
        assert change["tf_address"] == "aws_vpc_security_group_ingress_rule.db_mysql_world[0]"
        assert change["before"]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
        assert change["action"] in ("narrow-rule", "remove-rule")
    # nothing from the internet: the world rule narrowed to the VPC's own block
    change = results["no-internet-mysql"]["repair"]["changes"][0]
    assert change["action"] == "narrow-rule"
    assert [i["IpRanges"] for i in change["after"]] == [[{"CidrIp": "10.30.0.0/16"}]]
    assert change["aws_cli"][0].startswith("aws ec2 revoke-security-group-ingress --group-id sg-")


def test_fix_text_shows_the_aws_change() -> None:
    d = EXAMPLES / "terraform" / "open-3306"
    got = CliRunner().invoke(main, ["verify", str(d / "spec.yaml"), "--terraform", str(d / "plan.json"), "--fix",
                                    "--jobs", "1", "--quiet"])
    assert got.exit_code == 1
    assert "repair (1 change, verified" in got.output
    assert "Terraform: aws_vpc_security_group_ingress_rule.db_mysql_world[0]" in got.output
    assert "$ aws ec2 revoke-security-group-ingress" in got.output
    assert "verdicts after: app-reaches-db proven" in got.output


def test_without_fix_no_repair() -> None:
    got = CliRunner().invoke(main, ["verify", str(EXAMPLES / "seed-blog" / "spec.yaml"), "--format", "json",
                                    "--jobs", "1", "--quiet"])
    assert all("repair" not in r for r in json.loads(got.output)["results"])


# ---- small networks: deny, reach, and the brute-force minimality check -------------------------------
A, B, C = "sg-0000000000000000a", "sg-0000000000000000b", "sg-0000000000000000c"
NACL_A, NACL_B = "acl-0000000000000000a", "acl-0000000000000000b"


def _two_hosts(ingress_b: list[dict[str, Any]], groups_b: list[str] | None = None,
               extra: list[dict[str, Any]] | None = None, nacls: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    groups = [sg(A, "app", []), sg(B, "db", ingress_b), *(extra or [])]
    enis = [eni("eni-0000000000000000a", SUB_A, ["10.0.1.10"], [A], tags={"Role": "app"}),
            eni("eni-0000000000000000b", SUB_B, ["10.0.2.20"], groups_b or [B], tags={"Role": "db"}),
            eni("eni-0000000000000000c", SUB_A, ["10.0.1.30"], [A], tags={"Role": "batch"})]
    return base(groups, enis, nacls)


SPEC = """sgproof: 1
invariants:
  - id: only-app
    only: {from: {tag: {Role: app}}, to: {tag: {Role: db}}, ports: tcp/3306}
  - id: app-reaches-db
    reach: {from: {tag: {Role: app}}, to: {tag: {Role: db}}, ports: tcp/3306}
  - id: no-ssh
    deny: {to: {tag: {Role: db}}, ports: tcp/22}
"""


def test_deny_fix_narrows_the_block_and_keeps_the_reach() -> None:
    doc = _two_hosts([perm("tcp", 3306, cidr="10.0.0.0/16")])
    net, spec, proven, reps = _repairs(doc, SPEC)
    assert proven == {"app-reaches-db", "no-ssh"}
    rep, cands = reps["only-app"]
    assert rep.verified and len(rep.changes) == 1
    [ch] = rep.changes
    assert ch.action == "narrow-rule" and ch.resource == B
    # only the app host's own address is left (the batch host shares the app group but not the tag)
    assert [r.peer.ref for r in ch.after] == ["10.0.1.10/32"]  # type: ignore[union-attr]
    assert _oracle_ok(apply(net, rep.changes), spec, "only-app", proven)
    _no_smaller(net, spec, "only-app", proven, rep, cands)


def test_two_rules_admit_it_so_two_changes_are_needed() -> None:
    doc = _two_hosts([perm("tcp", 3306, cidr="0.0.0.0/0")], groups_b=[B, C],
                     extra=[sg(C, "ops", [perm("tcp", 3300, 3310, cidr="10.0.1.0/24")])])
    net, spec, proven, reps = _repairs(doc, SPEC)
    rep, cands = reps["only-app"]
    assert rep.verified and len(rep.changes) == 2, rep
    assert {c.resource for c in rep.changes} == {B, C}
    assert all(c.action in TAKE_AWAY for c in rep.changes)
    assert _oracle_ok(apply(net, rep.changes), spec, "only-app", proven)
    _no_smaller(net, spec, "only-app", proven, rep, cands)


def test_reach_fix_adds_the_narrowest_rule() -> None:
    doc = _two_hosts([perm("tcp", 22, cidr="10.0.3.0/24")])  # no ENI there: no-ssh holds
    net, spec, proven, reps = _repairs(doc, SPEC)
    assert "no-ssh" in proven and "only-app" in proven
    rep, cands = reps["app-reaches-db"]
    assert rep.verified, rep
    [ch] = rep.changes
    assert ch.action == "add-rule" and ch.resource == B and ch.direction == "ingress"
    [rule] = ch.after
    assert rule.text() == "tcp 3306 from 10.0.1.10/32"  # type: ignore[union-attr]
    assert dict(rep.verdicts_after) == {"only-app": "proven", "app-reaches-db": "proven", "no-ssh": "proven"}
    assert _oracle_ok(apply(net, rep.changes), spec, "app-reaches-db", proven)
    _no_smaller(net, spec, "app-reaches-db", proven, rep, cands)


def test_reach_fix_places_an_allow_entry_before_the_blocking_one() -> None:
    entries_b = [entry(50, False, "deny", "6", "10.0.1.0/24", (3000, 4000)), entry(100, False, "allow"),
                 entry(100, True, "allow"), entry(32767, False, "deny"), entry(32767, True, "deny")]
    nacls = [{"NetworkAclId": NACL_A, "VpcId": "vpc-00000000000000001", "IsDefault": True,
              "Associations": [{"SubnetId": SUB_A}],
              "Entries": [entry(100, False, "allow"), entry(100, True, "allow"), entry(32767, False, "deny"),
                          entry(32767, True, "deny")]},
             {"NetworkAclId": NACL_B, "VpcId": "vpc-00000000000000001", "IsDefault": False,
              "Associations": [{"SubnetId": SUB_B}], "Entries": entries_b}]
    doc = _two_hosts([perm("tcp", 3306, sg=A)], nacls=nacls)
    net, spec, proven, reps = _repairs(doc, SPEC.replace("{tag: {Role: app}}, to", "{eni: eni-0000000000000000a}, to"))
    rep, cands = reps["app-reaches-db"]
    assert rep.verified, rep
    [ch] = rep.changes
    assert ch.action == "add-entry" and ch.resource == NACL_B and ch.direction == "ingress"
    doc_after = ch.as_json()["after"]
    assert doc_after["RuleAction"] == "allow" and doc_after["RuleNumber"] < 50
    assert doc_after["PortRange"] == {"From": 3306, "To": 3306}
    _no_smaller(net, spec, "app-reaches-db", proven, rep, cands)


def test_no_repair_is_said_not_guessed() -> None:
    # a NAT gateway's interface accepts no connection (contract 4.6): nothing to add fixes that
    doc = _two_hosts([perm("tcp", 3306, sg=A)])
    doc["NetworkInterfaces"][1]["InterfaceType"] = "nat_gateway"
    _, _, _, reps = _repairs(doc, SPEC)
    rep, _ = reps["app-reaches-db"]
    assert not rep.verified and not rep.changes
    assert "NAT gateway accepts no connection" in rep.note
    assert "verdicts_after" not in rep.as_json() and rep.as_json()["verified"] is False


# ---- random small networks ----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=netgen.network(), text=netgen.spec_text())
def test_every_repair_proves_its_invariant_and_breaks_none(doc: dict[str, Any], text: str) -> None:
    net, spec, proven, reps = _repairs(doc, text, seconds=20.0)
    for target, (rep, cands) in reps.items():
        if not rep.verified:
            assert rep.note and not rep.changes
            continue
        kind = next(inv.kind for inv in spec.invariants if inv.id == target)
        allowed = ADDITIONS if kind == "reach" else TAKE_AWAY
        assert rep.changes and all(c.action in allowed for c in rep.changes), [c.text() for c in rep.changes]
        # an added NACL entry denies for deny/only and allows for reach
        assert all(e.allow == (kind == "reach") for c in rep.changes if c.action == "add-entry" for e in c.after)  # type: ignore[union-attr]
        changed = apply(net, rep.changes)
        assert _oracle_ok(changed, spec, target, proven), (target, [c.text() for c in rep.changes], text)
        assert dict(rep.verdicts_after)[target] == "proven"
        if len(rep.changes) <= 2 and len(cands) <= 24:
            _no_smaller(net, spec, target, proven, rep, cands)


# ---- the AWS item shapes read back as the same rules ---------------------------------------------------
def test_items_read_back_as_the_same_rules_and_entries() -> None:
    from sgproof.remedy.changes import nacl_item, sg_item

    perms = [perm("tcp", 22, 25, cidr="10.0.0.0/8"), perm("icmp", 8, -1, cidr="0.0.0.0/0"),
             perm("icmp", 3, 4, cidr="0.0.0.0/0"), perm("icmp", -1, -1, cidr6="::/0"), perm("-1", sg=A),
             perm("47", cidr="192.0.2.0/24"), perm("udp", 53, cidr="10.0.1.10/32")]
    entries = [entry(10, False, "allow", "6", "10.0.0.0/8", (80, 443)), entry(20, True, "deny", "1", icmp=(8, -1)),
               entry(30, False, "allow", "58", "::/0", icmp=(128, 0)), entry(40, True, "allow", "-1")]
    nacl = {"NetworkAclId": NACL_A, "VpcId": "vpc-00000000000000001", "IsDefault": True,
            "Associations": [{"SubnetId": SUB_A}, {"SubnetId": SUB_B}], "Entries": entries}
    net = build_network(base([sg(A, "a", perms)], [], [nacl]), "<test>")
    rules = net.sgs[A].ingress
    again = build_network(base([sg(A, "a", [sg_item(r) for r in rules])], [],
                               [{**nacl, "Entries": [nacl_item(e) for e in (*net.nacls[NACL_A].ingress,
                                                                            *net.nacls[NACL_A].egress)]}]),
                          "<test>")
    assert [r.content() for r in again.sgs[A].ingress] == [r.content() for r in rules]
    for old, new in zip((*net.nacls[NACL_A].ingress, *net.nacls[NACL_A].egress),
                        (*again.nacls[NACL_A].ingress, *again.nacls[NACL_A].egress), strict=True):
        assert (old.number, old.egress, old.allow, old.match, old.family, old.lo, old.hi) == \
            (new.number, new.egress, new.allow, new.match, new.family, new.lo, new.hi)


def test_doctests_of_the_change_module() -> None:
    import doctest

    import sgproof.remedy.changes

    result = doctest.testmod(sgproof.remedy.changes)
    assert result.attempted >= 3 and result.failed == 0
