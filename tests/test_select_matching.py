"""Selectors select by structure and match names literally but for `*` (contract section 3)."""

from __future__ import annotations

import pytest

from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text
from sgproof.spec.select import Selection

from .builders import SUB_A, SUB_B, base, eni, perm, sg, verdicts

OPEN = sg("sg-000000000000000a1", "open", [perm("tcp", 22, cidr="0.0.0.0/0")])
CLOSED = sg("sg-000000000000000c1", "closed", [])


def _two_tagged() -> dict[str, object]:
    return base([OPEN, CLOSED], [
        eni("eni-000000000000000a1", SUB_A, ["10.0.1.10"], [OPEN["GroupId"]], tags={"Team": "red, Env: prod"}),
        eni("eni-000000000000000b1", SUB_B, ["10.0.2.10"], [CLOSED["GroupId"]],
            tags={"Team": "red", "Env": "prod"}),
    ])


ONE_TAG = '    deny: {from: {internet: true}, to: {tag: {Team: "red, Env: prod"}}, ports: tcp/22}\n'
TWO_TAGS = "    deny: {from: {internet: true}, to: {tag: {Team: red, Env: prod}}, ports: tcp/22}\n"


@pytest.mark.parametrize("order", ["one-tag-first", "two-tags-first"])
def test_selectors_that_print_alike_are_not_one_cached_selection(order: str) -> None:
    first, second = (ONE_TAG, TWO_TAGS) if order == "one-tag-first" else (TWO_TAGS, ONE_TAG)
    got = verdicts(_two_tagged(), f"  - id: first\n{first}  - id: second\n{second}")
    want_one, want_two = "refuted", "proven"  # the one-tag ENI is open on 22, the two-tag one closed
    assert got == ({"first": want_one, "second": want_two} if order == "one-tag-first"
                   else {"first": want_two, "second": want_one})


def test_selector_norm_is_the_structure_not_the_text() -> None:
    spec = load_spec_text("sgproof: 1\ninvariants:\n  - id: a\n" + ONE_TAG + "  - id: b\n" + TWO_TAGS, "<t>")
    a, b = (inv.dst for inv in spec.invariants)
    assert a is not None and b is not None
    assert a.norm != b.norm
    assert a.text != b.text  # the quoted value prints quoted, so people can tell them apart too


def test_brackets_in_a_group_name_are_literal() -> None:
    real = sg("sg-000000000000000a2", "app[1]", [perm("tcp", 22, cidr="0.0.0.0/0")])
    lookalike = sg("sg-000000000000000a3", "app1", [])
    doc = base([real, lookalike], [
        eni("eni-000000000000000a2", SUB_A, ["10.0.1.10"], [real["GroupId"]]),
        eni("eni-000000000000000a3", SUB_A, ["10.0.1.11"], [lookalike["GroupId"]]),
    ])
    got = verdicts(doc, '  - id: x\n    deny: {from: {internet: true}, to: {security_group: "app[1]"}, '
                        "ports: tcp/22}\n")
    assert got == {"x": "refuted"}  # fnmatch read [1] as a class: it selected app1 and "proved" it


def _selection(doc: dict[str, object], sel: str) -> set[str]:
    net = build_network(doc, "<t>")
    spec = load_spec_text(f"sgproof: 1\ninvariants:\n  - id: x\n    deny: {{to: {sel}}}\n", "<t>")
    es = Selection(net, spec).evaluate(spec.invariants[0].dst)
    return {net.enis[i].id for i in es.enis}


@pytest.mark.parametrize(("sel", "want"), [
    ('{security_group: "web-?"}', {"eni-0000000000000000a"}),
    ('{security_group: "web-*"}', {"eni-0000000000000000a", "eni-0000000000000000b"}),
    ('{tag: {Name: "db[12]"}}', {"eni-0000000000000000a"}),
    ('{tag: {Name: "db?"}}', set()),
    ('{eni: "eni-0000000000000000?"}', set()),
    ('{eni: "eni-*a"}', {"eni-0000000000000000a"}),
    ('{interface_type: "interfac?"}', set()),
    ('{subnet: "[ab]"}', set()),
    ('{vpc: "vpc-?*"}', set()),
])
def test_only_star_is_a_wildcard_in_every_key(sel: str, want: set[str]) -> None:
    web_q = sg("sg-000000000000000a4", "web-?", [])
    web_1 = sg("sg-000000000000000a5", "web-1", [])
    doc = base([web_q, web_1], [
        eni("eni-0000000000000000a", SUB_A, ["10.0.1.10"], [web_q["GroupId"]], tags={"Name": "db[12]"}),
        eni("eni-0000000000000000b", SUB_B, ["10.0.2.10"], [web_1["GroupId"]], tags={"Name": "db1"}),
    ])
    assert _selection(doc, sel) == want


def test_the_matcher() -> None:
    from sgproof.spec.select import matches

    assert matches("a*b", "ab") and matches("a*b", "a[x]?b") and not matches("a*b", "abc")
    assert matches("*", "") and matches("x.y", "x.y") and not matches("x.y", "xzy")
    assert not matches("aws_instance.web[?]", "aws_instance.web[0]")
    assert matches("aws_instance.web[*]", "aws_instance.web[0]")
    assert matches("a\\b", "a\\b") and matches("line*", "line\nbreak")
