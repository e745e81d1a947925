"""The optimised engine (slicing, rule pruning, class merging) against the plain encoding and the
evaluator, on generated networks of a few hundred ENIs where brute force is out of reach."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sgproof.encode.check import Checker
from sgproof.semantics import Endpoint, connection_exists
from sgproof.sources.snapshot import build_network, read_document
from sgproof.spec import load_spec

from .benchgen import load_generator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=[(300, 3), (500, 11)], ids=["300-enis", "500-enis"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    n, seed = request.param
    out = tmp_path_factory.mktemp(f"net{n}")
    load_generator().write(out, n, seed)
    spec = load_spec(str(out / "spec.yaml"))
    net = build_network(read_document(str(out / "network.json")), str(out / "network.json"))
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
