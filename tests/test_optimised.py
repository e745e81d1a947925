"""The optimised engine (slicing, rule pruning, class merging) against the plain encoding and the
evaluator, on generated networks of a few hundred ENIs where brute force is out of reach; the
networks come unrouted and routed (public, private-with-NAT and isolated tiers, a peering)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgproof.encode.check import Checker
from sgproof.semantics import Endpoint, connection_exists
from sgproof.sources.snapshot import build_network, read_document
from sgproof.spec import load_spec
from sgproof.spec.parse import load_spec_text

from .benchgen import load_generator
from .builders import SUB_A, SUB_B, base, eni, perm, sg

ROOT = Path(__file__).resolve().parents[1]


def _local(vpc: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = {vpc["CidrBlock"]} | {a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])}
    out = [{"DestinationCidrBlock": b, "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}
           for b in sorted(blocks)]
    out += [{"DestinationIpv6CidrBlock": a["Ipv6CidrBlock"], "GatewayId": "local", "State": "active",
             "Origin": "CreateRouteTable"} for a in vpc.get("Ipv6CidrBlockAssociationSet", [])]
    return out


def add_routing(doc: dict[str, Any]) -> dict[str, Any]:
    """Route a generated network as AWS accounts usually are: public subnets (Tier tag) via an internet
    gateway, app subnets via a NAT gateway in the first public subnet, db subnets by the main table
    (local only); the peering's two VPCs route each other's blocks through it."""
    tier = {s["SubnetId"]: dict((t["Key"], t["Value"]) for t in s.get("Tags", [])).get("Tier", "db")
            for s in doc["Subnets"]}
    peer_routes: dict[str, list[dict[str, Any]]] = {}
    for p in doc.get("VpcPeeringConnections", []):
        for me, other in (("RequesterVpcInfo", "AccepterVpcInfo"), ("AccepterVpcInfo", "RequesterVpcInfo")):
            peer_routes.setdefault(p[me]["VpcId"], []).extend(
                {"DestinationCidrBlock": b["CidrBlock"], "VpcPeeringConnectionId": p["VpcPeeringConnectionId"],
                 "State": "active", "Origin": "CreateRoute"} for b in p[other].get("CidrBlockSet", []))
    doc["RouteTables"], doc["InternetGateways"], doc["NatGateways"] = [], [], []
    for k, vpc in enumerate(doc["Vpcs"]):
        vid = vpc["VpcId"]
        igw, nat = f"igw-{k:017d}", f"nat-{k:017d}"
        doc["InternetGateways"].append({"InternetGatewayId": igw, "Attachments": [{"VpcId": vid, "State": "available"}]})
        subs = [s for s in doc["Subnets"] if s["VpcId"] == vid]
        public = [s["SubnetId"] for s in subs if tier[s["SubnetId"]] == "public"]
        app = [s["SubnetId"] for s in subs if tier[s["SubnetId"]] == "app"]
        local, peers = _local(vpc), peer_routes.get(vid, [])

        def table(tid: str, routes: list[dict[str, Any]], subnets: list[str], main: bool = False) -> None:
            assoc = [{"RouteTableId": tid, "SubnetId": s, "Main": False} for s in subnets]
            doc["RouteTables"].append({"RouteTableId": tid, "VpcId": vid, "Routes": local + routes,  # noqa: B023
                                       "Associations": assoc + ([{"RouteTableId": tid, "Main": True}] if main else [])})
        table(f"rtb-{k:08d}main", peers, [], main=True)
        table(f"rtb-{k:08d}pub", [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw},
                                  {"DestinationIpv6CidrBlock": "::/0", "GatewayId": igw}], public)
        if public:
            nat_ip = next(s for s in subs if s["SubnetId"] == public[0])["CidrBlock"].rsplit(".", 1)[0] + ".3"
            doc["NatGateways"].append({"NatGatewayId": nat, "SubnetId": public[0], "VpcId": vid, "State": "available",
                                       "NatGatewayAddresses": [{"NetworkInterfaceId": f"eni-nat{k:014d}",
                                                                "PrivateIp": nat_ip}]})
            doc["NetworkInterfaces"].append({
                "NetworkInterfaceId": f"eni-nat{k:014d}", "SubnetId": public[0], "VpcId": vid, "Groups": [],
                "InterfaceType": "nat_gateway", "PrivateIpAddress": nat_ip, "RequesterManaged": True,
                "PrivateIpAddresses": [{"PrivateIpAddress": nat_ip, "Primary": True}],
                "Association": {"PublicIp": f"54.239.{k}.3"}})
            table(f"rtb-{k:08d}app", [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat}, *peers], app)
    return doc


@pytest.fixture(scope="module", params=[(300, 3, "none"), (500, 11, "none"), (300, 3, "bench"), (400, 7, "tiers"),
                                        (300, 5, "hetero-none"), (400, 2, "hetero-bench")],
                ids=["300-enis", "500-enis", "300-enis-bench-routing", "400-enis-tier-routing",
                     "300-enis-heterogeneous", "400-enis-heterogeneous-routing"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """bench/generate.py's network (friendly or heterogeneous profile): unrouted, with the generator's
    routing, or with add_routing's tiers. The heterogeneous one has a class per ENI or nearly, so the
    indexes by group (rules pruned per group, gates per group block) carry every invariant there."""
    n, seed, routing = request.param
    out = tmp_path_factory.mktemp(f"net{n}")
    profile = "heterogeneous" if routing.startswith("hetero") else "friendly"
    routing = routing.removeprefix("hetero-")
    load_generator().write(out, n, seed, profile=profile, routing=routing == "bench")
    spec = load_spec(str(out / "spec.yaml"))
    doc = read_document(str(out / "network.json"))
    if routing == "tiers":
        doc = add_routing(json.loads(json.dumps(doc)))
        assert doc["RouteTables"] and doc["NatGateways"]
    net = build_network(doc, str(out / "network.json"))
    assert (net.routing is not None) == (routing != "none")
    return net, spec


def test_optimised_verdicts_equal_the_plain_encoding(generated) -> None:  # type: ignore[no-untyped-def]
    net, spec = generated
    fast, plain = Checker(net, spec), Checker(net, spec, optimise=False)
    for inv in spec.invariants:
        a, b = fast.check(inv), plain.check(inv)
        assert a.status != "error" and b.status != "error", (inv.id, a.error, b.error)
        assert a.status == b.status, f"{inv.id}: optimised {a.status}, plain {b.status}"


def test_proofs_survive_random_flows(generated) -> None:  # type: ignore[no-untyped-def]
    """No sampled flow contradicts a proof: deny/only proofs admit none, reach proofs connect each."""
    net, spec = generated
    checker = Checker(net, spec)
    rng = random.Random(5)
    for inv in spec.invariants:
        if checker.check(inv).status != "proven":
            continue
        src = checker.selection.evaluate(inv.src)
        dst = checker.selection.evaluate(inv.dst)
        if inv.kind == "only":
            src = checker.selection.evaluate_not(src)
        srcs, dsts = sorted(src.enis), sorted(dst.enis)
        if not srcs or not dsts:
            continue
        for _ in range(150):
            s, d = rng.choice(srcs), rng.choice(dsts)
            if s == d:
                continue
            proto, ivs = rng.choice(inv.services.by_proto)
            lo, hi = rng.choice(ivs)
            value = rng.randint(lo, hi)
            pairs = [(a, b) for a in net.enis[s].private for b in net.enis[d].private if a[0] == b[0]]
            connects = any(
                connection_exists(net, Endpoint(s, a[0], a[1]), Endpoint(d, b[0], b[1]), proto, value, spec.ephemeral)[0]
                for a, b in pairs
            )
            if inv.kind == "reach":
                assert connects, f"{inv.id}: {net.enis[s].id} -> {net.enis[d].id} {proto}/{value} is blocked"
            else:
                assert not connects, f"{inv.id}: {net.enis[s].id} -> {net.enis[d].id} {proto}/{value} connects"


# ---- the indexes by group, atom and family: each case is refuted only through the one way in that an
# index could lose (a class dropped, a rule pruned, a block left out), so a lossy index flips it to proven

G_CLIENT, G_OTHER, G_DB, G_EXTRA = (f"sg-{k:017d}" for k in (1, 2, 3, 4))
PL = "pl-00000000000000001"


def _both(doc: dict[str, Any], invariants: str) -> dict[str, str]:
    """{id: status} of the optimised engine, asserting the plain encoding agrees on each."""
    net = build_network(doc, "<test>")
    spec = load_spec_text("sgproof: 1\ninvariants:\n" + invariants, "<test>")
    fast, plain = Checker(net, spec), Checker(net, spec, optimise=False)
    out = {}
    for inv in spec.invariants:
        a, b = fast.check(inv), plain.check(inv)
        assert a.status != "error" and b.status != "error", (inv.id, a.error, b.error)
        assert a.status == b.status, f"{inv.id}: optimised {a.status}, plain {b.status}"
        out[inv.id] = a.status
    return out


def _db_net(db_ingress: list[dict[str, Any]], *, client_v6: bool = False, prefix: str | None = None,
            db_groups: tuple[str, ...] = (G_EXTRA, G_DB), extra_ingress: list[dict[str, Any]] | None = None
            ) -> dict[str, Any]:
    """Clients in SUB_A (one carries G_CLIENT second, after G_OTHER; many others do not), a database in
    SUB_B whose admitting rule sits in its second group (db_groups), behind a first group that admits
    nothing the invariants ask about."""
    sgs = [sg(G_CLIENT, "client", []), sg(G_OTHER, "other", []),
           sg(G_EXTRA, "extra", extra_ingress or [perm("tcp", 22, cidr="192.0.2.0/24")]), sg(G_DB, "db", db_ingress)]
    enis = [eni("eni-client", SUB_A, ["10.0.1.10"], [G_OTHER, G_CLIENT],
                ipv6=["2600:1f18:1:101::10"] if client_v6 else None, tags={"Role": "client"})]
    # bystanders: one class each (own /32 rules would cut atoms for them), none admitted by the db
    enis += [eni(f"eni-by{k:02d}", SUB_A, [f"10.0.1.{20 + k}"], [G_OTHER], tags={"Role": "client"})
             for k in range(6)]
    enis.append(eni("eni-db", SUB_B, ["10.0.2.10"], list(db_groups), tags={"Role": "db"},
                    ipv6=["2600:1f18:1:102::10"] if client_v6 else None))
    extra: dict[str, Any] = {}
    if prefix:
        extra["ManagedPrefixLists"] = [{"PrefixListId": PL, "PrefixListName": "clients", "AddressFamily": "IPv4",
                                        "Entries": [{"Cidr": prefix}]}]
    return base(sgs, enis, **extra)


CASES = """  - id: deny-db
    deny: {from: {tag: {Role: client}}, to: {tag: {Role: db}}, ports: tcp/5432}
  - id: only-db
    only: {from: {eni: eni-client}, to: {tag: {Role: db}}, ports: tcp/5432}
  - id: reach-db
    reach: {from: {eni: eni-client}, to: {tag: {Role: db}}, ports: tcp/5432}
"""


@pytest.mark.parametrize("how", ["group-reference", "prefix-list", "ipv6-rule", "per-host-cidr"])
def test_a_class_admitted_only_one_way_is_kept(how: str) -> None:
    """The client is admitted by the db's second group only, and only by one kind of rule; bystanders
    in the same subnet are admitted by nothing (deny refuted, only proven, reach proven)."""
    rule = {"group-reference": perm("tcp", 5432, sg=G_CLIENT), "prefix-list": perm("tcp", 5432, pl=PL),
            "ipv6-rule": perm("tcp", 5432, cidr6="2600:1f18:1:101::10/128"),
            "per-host-cidr": perm("tcp", 5432, cidr="10.0.1.10/32")}[how]
    doc = _db_net([rule], client_v6=how == "ipv6-rule", prefix="10.0.1.10/32" if how == "prefix-list" else None)
    assert _both(doc, CASES) == {"deny-db": "refuted", "only-db": "proven", "reach-db": "proven"}


@pytest.mark.parametrize("how", ["group-reference", "prefix-list", "ipv6-rule", "per-host-cidr"])
def test_a_rule_that_admits_a_bystander_is_kept(how: str) -> None:
    """The same ways in, aimed at a bystander: only must be refuted (a bystander that an index drops, or
    a rule pruned as matching nothing, would leave it proven), and the client no longer reaches."""
    rule = {"group-reference": perm("tcp", 5432, sg=G_OTHER), "prefix-list": perm("tcp", 5432, pl=PL),
            "ipv6-rule": perm("tcp", 5432, cidr6="2600:1f18:1:101::23/128"),
            "per-host-cidr": perm("tcp", 5432, cidr="10.0.1.23/32")}[how]
    doc = _db_net([rule], client_v6=how == "ipv6-rule", prefix="10.0.1.23/32" if how == "prefix-list" else None)
    if how == "ipv6-rule":
        by = next(e for e in doc["NetworkInterfaces"] if e["NetworkInterfaceId"] == "eni-by03")
        by["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f18:1:101::23"}]
    got = _both(doc, CASES)
    assert got["deny-db"] == "refuted" and got["only-db"] == "refuted"
    assert got["reach-db"] == ("proven" if how == "group-reference" else "refuted")  # the client carries G_OTHER too


@pytest.mark.parametrize("order", ["5432-group-first", "5432-group-second"])
def test_gate_blocks_of_two_groups(order: str) -> None:
    """A class's behaviour is the union of its groups' rules (one gate block per group): the db admits the
    client on 5432 by one group (a group reference) and on 5440 by the other (a /32); reaching on both
    ports needs both blocks, whichever comes first."""
    groups = (G_DB, G_EXTRA) if order == "5432-group-first" else (G_EXTRA, G_DB)
    on_5440 = [perm("tcp", 5440, cidr="10.0.1.10/32")]
    both = """  - id: reach-both
    reach: {from: {eni: eni-client}, to: {tag: {Role: db}}, ports: [tcp/5432, tcp/5440]}
  - id: deny-5440
    deny: {from: {tag: {Role: client}}, to: {tag: {Role: db}}, ports: tcp/5440}
"""
    doc = _db_net([perm("tcp", 5432, sg=G_CLIENT)], db_groups=groups, extra_ingress=on_5440)
    assert _both(doc, CASES + both) == {"deny-db": "refuted", "only-db": "proven", "reach-db": "proven",
                                        "reach-both": "proven", "deny-5440": "refuted"}
    doc = _db_net([perm("tcp", 5433, sg=G_CLIENT)], db_groups=groups, extra_ingress=on_5440)  # wrong port
    assert _both(doc, CASES + both) == {"deny-db": "proven", "only-db": "proven", "reach-db": "refuted",
                                        "reach-both": "refuted", "deny-5440": "refuted"}


def test_groups_with_equal_rules_stay_apart_by_membership() -> None:
    """Two databases whose groups hold the same rules (one behaviour object for both) but that differ in
    the groups a client rule references (one atom, one subnet: only membership keeps them apart): the
    client reaches only the one whose group its egress names; db1 reaches db2 (so only is refuted)."""
    sgs = [sg(G_CLIENT, "client", [], [perm("tcp", 5432, sg=G_DB)]), sg(G_OTHER, "other", [perm("tcp", 5432, cidr="10.0.0.0/16")]),
           sg(G_DB, "db", [perm("tcp", 5432, cidr="10.0.0.0/16")])]
    enis = [eni("eni-client", SUB_A, ["10.0.1.10"], [G_CLIENT], tags={"Role": "client"}),
            eni("eni-db1", SUB_B, ["10.0.2.10"], [G_DB], tags={"Role": "db"}),
            eni("eni-db2", SUB_B, ["10.0.2.11"], [G_OTHER], tags={"Role": "db"})]
    got = _both(base(sgs, enis), CASES + """  - id: reach-db1
    reach: {from: {eni: eni-client}, to: {eni: eni-db1}, ports: tcp/5432}
""")
    assert got == {"deny-db": "refuted", "only-db": "refuted", "reach-db": "refuted", "reach-db1": "proven"}


# ---- classes merged over their addresses (existential queries): never an ENI to itself

G_SELF = "sg-00000000000000009"


@pytest.mark.parametrize("peer_too", [False, True])
def test_merged_classes_never_pair_an_eni_with_itself(peer_too: bool) -> None:
    """Two hosts share a group and a subnet but not an atom (the group admits 3306 from per-host /32s).
    When it admits both, the source side merges them into one class holding both atoms, and the first
    host is also the destination: z3 must not choose the first host's atom on both ends (a merge that
    lost which ENI holds which atom does, and the witness cannot be replayed: an error); the second host
    reaches the first, refuted. When it admits the first host only, the second is sliced away and the
    only flow left would be the host to itself, which is no flow: proven."""
    admits = ["10.0.1.10/32", "10.0.1.11/32"] if peer_too else ["10.0.1.10/32"]
    sgs = [sg(G_SELF, "self", [perm("tcp", 3306, cidr=c) for c in admits])]
    enis = [eni("eni-first", SUB_A, ["10.0.1.10"], [G_SELF], tags={"Role": "db", "Name": "first"}),
            eni("eni-second", SUB_A, ["10.0.1.11"], [G_SELF], tags={"Role": "db"})]
    got = _both(base(sgs, enis), """  - id: deny-self
    deny: {from: {tag: {Role: db}}, to: {tag: {Name: first}}, ports: tcp/3306}
  - id: only-self
    only: {from: {internet: true}, to: {tag: {Name: first}}, ports: tcp/3306}
""")
    want = "refuted" if peer_too else "proven"
    assert got == {"deny-self": want, "only-self": want}


def test_route_outcomes_do_not_need_cuts_at_mapped_addresses(generated) -> None:  # type: ignore[no-untyped-def]
    """The tables of routing outcomes by destination, asked once per piece of address space without cuts
    at the privately mapped addresses, equal those asked with them (the reference), for every pair of
    route contexts, towards the internet and back; and the answers back from the internet, shared by the
    contexts that differ in their zone alone, equal those asked afresh for each context."""
    from sgproof.encode.routes import RouteOutcomes

    net, spec = generated
    if net.routing is None:
        pytest.skip("unrouted network")
    checker = Checker(net, spec)
    fast, ref = checker.enc.routes, RouteOutcomes(net, checker.atoms, mapped_cuts=True)
    assert fast is not None
    n = len(fast.contexts)
    assert sum(map(len, fast.pieces.values())) <= sum(map(len, ref.pieces.values()))
    for i in range(n):
        assert fast.to_external(i) == ref.to_external(i)
        assert fast.inbound(i) == ref.inbound(i) == RouteOutcomes(net, checker.atoms).inbound(i)
        for j in range(n):
            assert fast.to_eni(i, j) == ref.to_eni(i, j)


def test_the_model_finder_changes_no_verdict(generated) -> None:  # type: ignore[no-untyped-def]
    """With the bit-blasting model finder on every query (it runs first on large ones only), each
    verdict is the exact solver's, and every refutation it finds replays (no error)."""
    net, spec = generated
    exact, finder = Checker(net, spec), Checker(net, spec)
    exact.finder_classes, finder.finder_classes = 1 << 30, 0
    for inv in spec.invariants:
        a, b = exact.check(inv), finder.check(inv)
        assert a.status != "error" and b.status != "error", (inv.id, a.error, b.error)
        assert a.status == b.status, f"{inv.id}: exact {a.status}, with the model finder {b.status}"


def test_the_evaluator_s_search_first_changes_no_verdict(generated) -> None:  # type: ignore[no-untyped-def]
    """With the plain evaluator's search for a refutation going first on every query, each verdict is the
    solver's alone, and the search decides some refutations (the benchmark's designed ones)."""
    net, spec = generated
    solver, search = Checker(net, spec), Checker(net, spec)
    solver.search_classes, search.search_classes = 1 << 30, 0
    decided = 0
    for inv in spec.invariants:
        a, b = solver.check(inv), search.check(inv)
        assert a.status != "error" and b.status != "error", (inv.id, a.error, b.error)
        assert a.status == b.status, f"{inv.id}: the solver says {a.status}, with the search first {b.status}"
        assert a.covered["decided_by"] != "evaluator"
        decided += b.covered["decided_by"] == "evaluator"
    assert decided, "the search decided no refutation"


def test_a_compacted_model_is_the_model(generated) -> None:  # type: ignore[no-untyped-def]
    """From COMPACT_ENIS ENIs the model is copied into fresh memory after reading: the copy equals the
    model and every invariant gets the same verdict and the same counterexample from it."""
    from sgproof.sources import _compacted

    net, spec = generated
    copy = _compacted([net])  # the fixture keeps its own reference, so both live on here
    assert copy is not net and copy == net
    a, b = Checker(net, spec), Checker(copy, spec)
    for inv in spec.invariants:
        ra, rb = a.check(inv), b.check(inv)
        assert (ra.status, ra.counterexample) == (rb.status, rb.counterexample), inv.id


def _group_keys(checker: Checker, inv: Any, found: list[Any]) -> set[tuple[int, int, int]]:
    """The violation groups of some flows, keyed as `Checker.violations` keys them (class indices of
    the invariant's unmerged query, and the protocol group)."""
    from sgproof.encode.alike import class_index
    from sgproof.model import ICMP, ICMPV6, TCP, UDP

    if not found:
        return set()
    sels = checker._selections(inv)
    assert not isinstance(sels, str)
    q = checker._exists_query(inv, *sels)
    assert q is not None
    index_s, index_d = class_index(q.side_s), class_index(q.side_d)
    return {(len(q.side_s.classes) if cx.flow.src.eni is None else index_s[cx.flow.src.eni],
             len(q.side_d.classes) if cx.flow.dst.eni is None else index_d[cx.flow.dst.eni],
             cx.flow.proto if cx.flow.proto in (ICMP, TCP, UDP, ICMPV6) else -1) for cx in found}


def test_violations_found_alike_are_the_solver_s_groups(generated) -> None:  # type: ignore[no-untyped-def]
    """`--all` fills groups with flows alike each model (tried through the evaluator) between solver
    calls: listed to the end, the groups must be exactly those the solver finds one call at a time,
    one flow each, and a limit must cut the list at that many groups, reported incomplete."""
    net, spec = generated
    fast, slow = Checker(net, spec), Checker(net, spec)
    slow.alike = False
    listed = 0
    for inv in spec.invariants:
        if inv.kind == "reach":
            continue
        a, done_a = fast.violations(inv, 10_000)
        b, done_b = slow.violations(inv, 10_000)
        assert done_a and done_b, inv.id
        keys = _group_keys(fast, inv, a)
        assert len(keys) == len(a), f"{inv.id}: two flows of one group"
        assert keys == _group_keys(fast, inv, b), inv.id
        refuted = fast.check(inv)
        if refuted.counterexample is not None:  # `--all` starts from the result's counterexample
            c, done_c = fast.violations(inv, 10_000, seed=refuted.counterexample)
            assert done_c and c[0] == refuted.counterexample and _group_keys(fast, inv, c) == keys, inv.id
            for limit in (1, 2, 5):
                cut, done = fast.violations(inv, limit, seed=refuted.counterexample)
                assert len(cut) == min(limit, len(a)) and done == (limit >= len(a)), (inv.id, limit)
        listed += len(a)
        if len(a) > 2:
            cut, done = fast.violations(inv, 2)
            assert len(cut) == 2 and not done and _group_keys(fast, inv, cut) <= keys, inv.id
    assert listed, "no invariant of the benchmark spec has violations to list"


def test_flow_map_from_the_evaluator_s_first_flows_is_the_engine_s(generated, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The flow map takes an edge's first flows from the plain evaluator's bounded search and asks the
    engine only for services beyond theirs, with classes merged over their addresses: every edge (its
    services, whether they are exact, the external addresses that take part) must be the one the engine
    alone draws, with unmerged classes too."""
    from sgproof.explain import flowmap

    net, spec = generated
    assert spec.groups, "the benchmark spec names no groups: its report draws no map"
    seeded = flowmap.flow_map(Checker(net, spec), budget_seconds=3600)
    monkeypatch.setattr(flowmap, "SEEDS", 0)
    plain = flowmap.flow_map(Checker(net, spec), budget_seconds=3600)

    def edges(fm: Any) -> dict[tuple[str, str], tuple[str, str, str, str]]:
        return {(e.src, e.dst): (e.status, e.services, e.src_part, e.dst_part) for e in fm.edges}

    monkeypatch.setattr(flowmap, "MERGED", False)
    unmerged = flowmap.flow_map(Checker(net, spec), budget_seconds=3600)

    assert seeded.groups == plain.groups == unmerged.groups
    assert edges(seeded) == edges(plain) == edges(unmerged)
    assert all(e.status == "allowed" and not e.services.endswith("(at least)") for e in seeded.edges)


_IVS = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)).map(sorted).map(tuple), max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([-1, 1, 6, 17, 50]), st.integers(0, 8), st.integers(0, 8),
       st.dictionaries(st.sampled_from([1, 6, 17, 50]), _IVS, max_size=3))
def test_a_rule_meets_the_services_iff_some_service_matches_it(proto: int, a: int, b: int,
                                                              parts: dict[int, list[tuple[int, int]]]) -> None:
    """rule_overlaps (the slicing of rules by an invariant's services) against every (protocol, value); a
    small range of values, so that intervals often touch at one end."""
    from sgproof.encode.query import rule_overlaps
    from sgproof.model import Match
    from sgproof.spec.services import ServiceSet

    m, services = Match(proto, min(a, b), max(a, b)), ServiceSet.of(parts)  # type: ignore[arg-type]
    want = any(services.contains(p, v) and proto in (-1, p) and m.lo <= v <= m.hi
               for p in (1, 6, 17, 50) for v in range(9))
    assert rule_overlaps(m, services) == want
