"""Values a plan leaves open range over every choice (contract 4), ENIs that host nothing (4.6), and
witnesses that do not depend on the run (contract 1: deterministic output)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sgproof.encode.check import PREFERENCE_RLIMIT, Checker
from sgproof.model import Network
from sgproof.model.addr import parse_address, parse_cidr
from sgproof.sources.internal import UNKNOWN_PRIVATE_IPV4
from sgproof.sources.snapshot import _assignable, build_network
from sgproof.spec.parse import load_spec_text

from .builders import SUB_A, SUB_B, base, eni, perm, sg

SG1, SG2 = "sg-00000000000000001", "sg-00000000000000002"
ROOT = Path(__file__).resolve().parents[1]


def _unknown_address(net: Network, eni_id: str, block: str) -> Network:
    """The network as a plan gives it: the ENI's one private IPv4 is somewhere in `block`, at an address
    AWS may assign (as the reader gives it)."""
    cidr = _assignable(parse_cidr(block))
    enis = tuple(dataclasses.replace(e, private=(cidr,), address_unknown=True, unknown_block=cidr)
                 if e.id == eni_id else e for e in net.enis)
    return dataclasses.replace(net, enis=enis)


def _check(net: Network, body: str) -> dict[str, str]:
    spec = load_spec_text("sgproof: 1\ninvariants:\n" + body, "<test>")
    checker = Checker(net, spec)
    out = {}
    for inv in spec.invariants:
        r = checker.check(inv)
        assert r.status != "error", r.error
        out[inv.id] = r.status
    return out


INVARIANTS = """\
  - id: reach
    reach: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/3306}
  - id: deny
    deny: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/3306}
"""


def test_unknown_address_reach_must_hold_for_every_choice() -> None:
    # the database admits only the lower half of the app subnet: where AWS puts the address decides
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.1.0/25")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    net = _unknown_address(build_network(doc, "<test>"), "eni-1", "10.0.1.0/24")
    got = _check(net, INVARIANTS)
    assert got == {"reach": "refuted", "deny": "refuted"}


def test_unknown_address_reach_proven_when_every_choice_connects() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.1.0/24")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    net = _unknown_address(build_network(doc, "<test>"), "eni-1", "10.0.1.0/24")
    assert _check(net, INVARIANTS) == {"reach": "proven", "deny": "refuted"}


def test_unknown_address_deny_proven_when_no_choice_connects() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.9.0/24")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    net = _unknown_address(build_network(doc, "<test>"), "eni-1", "10.0.1.0/24")
    assert _check(net, INVARIANTS) == {"reach": "refuted", "deny": "proven"}


def test_unknown_address_on_the_destination_side() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.1.0/24")],
                                         egress=[perm("tcp", 3306, cidr="10.0.2.0/25")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG2]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    # eni-1 may only send to the lower half of the db subnet, where eni-2's address is not yet known
    net = _unknown_address(build_network(doc, "<test>"), "eni-2", "10.0.2.0/24")
    assert _check(net, INVARIANTS) == {"reach": "refuted", "deny": "refuted"}


def _planned(doc: dict, eni_id: str, block: str) -> Network:
    """The document as the Terraform source gives it for an ENI whose address is assigned at apply."""
    item = next(e for e in doc["NetworkInterfaces"] if e["NetworkInterfaceId"] == eni_id)
    del item["PrivateIpAddress"]
    item["PrivateIpAddresses"] = []
    item[UNKNOWN_PRIVATE_IPV4] = block
    return build_network(doc, "<test>")


def test_an_unknown_address_is_never_one_aws_reserves() -> None:
    """AWS gives no ENI the first four or the last address of a subnet (CreateSubnet). The database
    admits only those: no choice connects, so deny is proven and reach refuted. Admitting the fifth
    address too, deny is refuted by it and nothing else, and its witness is that address."""
    for admitted, want in (("10.0.1.0/30", "proven"), ("10.0.1.255/32", "proven"), ("10.0.1.0/29", "refuted")):
        doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr=admitted)])],
                   [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
        net = _planned(doc, "eni-1", "10.0.1.0/24")
        first, last = parse_address("10.0.1.4")[1], parse_address("10.0.1.254")[1]
        assert net.enis[0].unknown_block == (4, first, last) and net.enis[0].private == ((4, first, last),)
        spec = load_spec_text("sgproof: 1\ninvariants:\n" + INVARIANTS, "<test>")
        for search in (1 << 30, 0):  # the solver alone, and the plain evaluator's search first
            checker = Checker(net, spec)
            checker.search_classes = search
            deny = checker.check(spec.invariants[1])
            assert deny.status == want, (admitted, search, deny.counterexample)
            if want == "refuted":
                assert deny.counterexample.flow.text().startswith("tcp 10.0.1.4:"), deny.counterexample.flow.text()
            assert checker.check(spec.invariants[0]).status == "refuted"


def _nat_doc() -> dict:
    nat = eni("eni-9", SUB_A, ["10.0.1.9"], [])
    nat["InterfaceType"] = "nat_gateway"
    return base([sg(SG1, "app", [perm("-1", cidr="0.0.0.0/0")])],
                [eni("eni-1", SUB_B, ["10.0.2.10"], [SG1]), nat])


def test_a_nat_gateway_interface_hosts_nothing() -> None:
    net = build_network(_nat_doc(), "<test>")
    got = _check(net, """\
  - id: deny-into-nat
    deny: {to: {eni: eni-9}, ports: all}
  - id: reach-nat
    reach: {from: {eni: eni-1}, to: {eni: eni-9}, ports: tcp/443}
  - id: deny-from-nat
    deny: {from: {eni: eni-9}, to: {eni: eni-1}, ports: all}
""")
    assert got == {"deny-into-nat": "proven", "reach-nat": "refuted", "deny-from-nat": "proven"}
    spec = load_spec_text("sgproof: 1\ninvariants:\n  - id: r\n    reach: {from: {eni: eni-1}, to: {eni: eni-9}, "
                          "ports: tcp/443}\n", "<t>")
    cx = Checker(net, spec).check(spec.invariants[0]).counterexample
    assert cx is not None and "NAT gateway accepts no connection" in cx.note


def _verify_json(args: list[str], seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-m", "sgproof", "verify", *args, "--format", "json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    for r in doc["results"]:
        r.pop("seconds", None)
    for key in ("seconds", "started", "run", "timing"):
        doc.pop(key, None)
    return doc


def test_witnesses_do_not_depend_on_hash_seed_or_jobs() -> None:
    spec = str(ROOT / "examples" / "three-tier" / "spec.yaml")
    a = _verify_json([spec, "--jobs", "1"], "1")
    b = _verify_json([spec, "--jobs", "2"], "2")
    c = _verify_json([spec, "--jobs", "2"], "12345")
    assert a == b == c


def test_witnesses_are_flows_a_person_can_try() -> None:
    # everything open: the witness must still name a routable internet address, a real port, an echo
    # request, the ICMP of its family, and aim at the public address of the ENI
    doc = base([sg(SG1, "web", [perm("-1", cidr="0.0.0.0/0")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1], public="54.1.2.3")])
    net = build_network(doc, "<test>")
    spec = load_spec_text("sgproof: 1\ninvariants:\n"
                          "  - {id: all, deny: {from: {internet: true}, to: {eni: eni-1}, ports: all}}\n"
                          "  - {id: udp, deny: {from: {internet: true}, to: {eni: eni-1}, ports: udp/0-65535}}\n"
                          "  - {id: icmp, deny: {from: {internet: true}, to: {eni: eni-1}, ports: icmp}}\n", "<t>")
    checker = Checker(net, spec)
    import ipaddress

    for inv in spec.invariants:
        cx = checker.check(inv).counterexample
        assert cx is not None
        flow = cx.flow
        assert ipaddress.ip_address(flow.src.address).is_global, flow.text()
        assert flow.dst.address == int(ipaddress.ip_address("54.1.2.3")), flow.text()
        if flow.proto in (6, 17):
            assert flow.value != 0, flow.text()
        if flow.proto == 1:
            assert flow.value == 8 * 256, flow.text()  # echo request, not a reply
        assert flow.proto != 58, flow.text()  # no icmpv6 between IPv4 addresses


def test_no_solver_budget_is_wall_clock_below_the_checkers_timeout(monkeypatch: Any) -> None:
    """A witness must not depend on the machine's load: the readable-witness preferences are bounded by
    z3 resource units (`rlimit`, deterministic), never by a short wall-clock timeout that a loaded
    machine would hit sooner and answer with another model."""
    import z3

    from sgproof.sources import load_network
    from sgproof.spec.parse import load_spec

    seen: list[tuple[str, Any]] = []
    real = z3.Solver.set

    def record(self: z3.Solver, *args: Any, **kw: Any) -> None:
        if len(args) == 2:
            seen.append((str(args[0]), args[1]))
        real(self, *args, **kw)

    monkeypatch.setattr(z3.Solver, "set", record)
    for name in ("three-tier", "seed-blog"):
        spec = load_spec(str(ROOT / "examples" / name / "spec.yaml"))
        net, _ = load_network(snapshot=str(ROOT / "examples" / name / "network.json"))
        checker = Checker(net, spec)
        for inv in spec.invariants:
            checker.check(inv)
    assert ("rlimit", PREFERENCE_RLIMIT) in seen  # the preference passes ran
    assert {v for k, v in seen if k == "timeout"} <= {checker.timeout_ms}
