"""Exceptions (contract 8): accepted flows are no violation, an exception hides no more than it names,
expired ones no longer apply, and each result says whether its exceptions matched."""

from __future__ import annotations

import datetime

import pytest

from sgproof.encode.check import Checker
from sgproof.sources.snapshot import build_network
from sgproof.spec import parse
from sgproof.spec.parse import load_spec_text

from .builders import SUB_A, SUB_B, base, eni, perm, sg

SG1, SG2, SG3 = "sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003"


def _doc() -> dict:
    # both the batch host and the app host reach the database on 3306
    return base([sg(SG1, "app", []), sg(SG3, "legacy-batch", []),
                 sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.0.0/16")])],
                [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-3", SUB_A, ["10.0.1.30"], [SG3]),
                 eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])


def run(body: str, doc: dict | None = None) -> dict:
    net = build_network(doc or _doc(), "<t>")
    spec = load_spec_text("sgproof: 1\ninvariants:\n" + body, "<t>")
    checker = Checker(net, spec)
    out = {}
    for inv in spec.invariants:
        r = checker.check(inv)
        assert r.status != "error", r.error
        out[inv.id] = r
    return out


DENY = """\
  - id: no-mysql
    deny: {{to: {{security_group: db}}, ports: tcp/3306}}
    except:
{items}
"""


def test_an_exception_for_one_source_leaves_the_other_source_refuted() -> None:
    r = run(DENY.format(items='      - {from: {security_group: legacy-batch}, reason: "batch, NET-142"}'))["no-mysql"]
    assert r.status == "refuted"
    assert r.counterexample is not None and r.counterexample.src.eni == "eni-1"  # the app host, not batch
    assert r.exceptions == ({"reason": "batch, NET-142", "until": None, "matched": True, "expired": False},)


def test_exceptions_covering_every_violation_prove_the_invariant() -> None:
    items = ('      - {from: {security_group: legacy-batch}, reason: batch}\n'
             '      - {from: {security_group: app}, ports: tcp/3306, reason: app}')
    r = run(DENY.format(items=items))["no-mysql"]
    assert r.status == "proven"
    assert [e["matched"] for e in r.exceptions] == [True, True]


def test_an_exception_on_other_ports_hides_nothing() -> None:
    items = ('      - {from: {security_group: legacy-batch}, ports: tcp/22, reason: ssh}\n'
             '      - {from: {security_group: app}, reason: app}')
    r = run(DENY.format(items=items))["no-mysql"]
    assert r.status == "refuted" and r.counterexample is not None and r.counterexample.src.eni == "eni-3"
    assert [e["matched"] for e in r.exceptions] == [False, True]


def test_an_expired_exception_no_longer_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "today", lambda: datetime.date(2027, 6, 1))
    items = ('      - {from: {security_group: legacy-batch}, reason: batch, until: 2027-03-31}\n'
             '      - {from: {security_group: app}, reason: app}')
    r = run(DENY.format(items=items))["no-mysql"]
    assert r.status == "refuted" and r.counterexample is not None and r.counterexample.src.eni == "eni-3"
    assert r.exceptions[0] == {"reason": "batch", "until": "2027-03-31", "matched": False, "expired": True}


def test_an_exception_on_reach_removes_the_pair() -> None:
    doc = _doc()
    doc["SecurityGroups"][2]["IpPermissions"] = [perm("tcp", 3306, cidr="10.0.1.10/32")]  # only the app host
    body = ("  - id: all-reach-db\n"
            f"    reach: {{from: {{subnet: {SUB_A}}}, to: {{security_group: db}}, ports: tcp/3306}}\n")
    got = run(body, doc)["all-reach-db"]
    assert got.status == "refuted"
    body += '    except:\n      - {from: {security_group: legacy-batch}, reason: "batch has no MySQL"}\n'
    got = run(body, doc)["all-reach-db"]
    assert got.status == "proven"
    assert got.exceptions[0]["matched"] is True


def test_an_exception_by_cidr_on_an_external_source() -> None:
    doc = base([sg(SG2, "db", [perm("tcp", 3306, cidr="0.0.0.0/0")])], [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    body = """\
  - id: no-internet-mysql
    deny: {from: {internet: true}, to: {security_group: db}, ports: tcp/3306}
    except:
      - {from: {cidr: 203.0.113.0/24}, reason: office}
"""
    r = run(body, doc)["no-internet-mysql"]
    assert r.status == "refuted"
    assert r.counterexample is not None
    assert r.counterexample.flow.src.address >> 8 != (203 << 16 | 0 << 8 | 113)  # not from the office
