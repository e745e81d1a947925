"""Markdown, HTML, text with every violation, and the terminal layout."""

from __future__ import annotations

import json
import re
import sys

import pytest

from sgproof.encode.check import Checker
from sgproof.explain.flowmap import flow_map
from sgproof.report.model import FlowMap, GroupFlow
from sgproof.report.picture import flow_graph, render_mermaid, render_svg
from sgproof.report.text import render_text
from sgproof.run import verify
from sgproof.sources import load_network
from sgproof.spec import load_spec

from .conftest import REPO, SEED


def test_markdown_report_has_scope_summary_picture_and_evidence(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--format", "markdown", "--jobs", "1", "--quiet")
    assert r.code == 1
    md = r.stdout
    assert md.startswith("# sgproof report: seed-blog")
    for needle in ("| Account | 123456789012 |", "| Region | us-east-1 |", "| Collected at | 2026-11-01T10:00:00Z |",
                   "examples/seed-blog/network.json sha256 ", "| Z3 |", "Routing: modelled", "routing modelled",
                   "| no-app-mysql | deny | ❌ refuted |", "```mermaid", "| ap | db | tcp/3306 |",
                   "Counterexample:", "`tcp 10.0.3.20:1024 -> 10.0.1.11:3306`", "| source ENIs | 4 |"):
        assert needle in md, needle
    assert re.search(r"sha256 [0-9a-f]{64}", md)


def test_html_report_is_self_contained(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.html"
    r = run("verify", SEED, "--format", "html", "--output", str(out), "--jobs", "1", "--quiet")
    assert r.code == 1 and r.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="flowmap"' in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page), "external asset"
    assert "<script" not in page
    assert "no-app-mysql" in page and "tcp 10.0.3.20:1024 -&gt; 10.0.1.11:3306" in page


def test_piped_text_is_render_text_byte_for_byte(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--jobs", "1", "--quiet")
    spec = load_spec(SEED)  # relative, as the CLI got it (run() works in the repository folder)
    net, info = load_network(snapshot=spec.source)
    expected = render_text(verify(spec, net, info))
    strip = re.compile(r" in [0-9.]+ s wall \(checking invariants [0-9.]+ s\)\n$")
    assert strip.sub("", r.stdout) == strip.sub("", expected)
    assert "\x1b[" not in r.stdout


def test_all_lists_every_violation_and_says_complete(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--all", "--format", "json", "--jobs", "1", "--quiet")
    doc = json.loads(r.stdout)
    by_id = {x["id"]: x for x in doc["results"]}
    refuted = by_id["no-app-mysql"]
    assert refuted["violations_complete"] is True
    (v,) = refuted["violations"]
    assert v["allowed"] is True and v["dst"]["eni"] == "eni-0f00000000000a002"
    assert v["group"]["services"] == "tcp/3306" and v["group"]["destination"].startswith("app-hosts: ")
    assert "violations" not in by_id["db-only-from-ap"] and "violations" not in by_id["ap-reaches-db"]
    text = run("verify", SEED, "--all", "--jobs", "1", "--quiet").stdout
    assert "  violations: All 1 violation group(s) (1 violation(s), one flow each) are listed" in text


def test_max_violations_cut_is_reported(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", wide_spec, "--all", "--max-violations", "1", "--format", "json", "--jobs", "1", "--quiet")
    results = {x["id"]: x for x in json.loads(r.stdout)["results"]}
    assert len(results["app-closed"]["violations"]) == 1
    assert results["app-closed"]["violations_complete"] is False
    assert results["app-closed"]["violations"][0]["group"]["services"] == "all traffic"
    assert results["app-mysql-closed"]["violations_complete"] is True
    for fmt, needle in (("text", "--max-violations cut the list"), ("markdown", "--max-violations cut the list"),
                        ("html", "--max-violations cut the list")):
        out = run("verify", wide_spec, "--all", "--max-violations", "1", "--format", fmt, "--jobs", "1", "--quiet")
        assert needle in out.stdout, fmt


def test_many_violations_of_one_pair_are_summarised(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    md = run("verify", wide_spec, "--all", "--max-violations", "10", "--format", "markdown", "--jobs", "1",
             "--quiet").stdout
    assert md.count("#### Violation group") == 2  # one class pair per invariant
    assert "2 more flow(s) of this group" in md  # tcp, udp, icmp, icmpv6 and every other protocol


def test_max_violations_must_be_positive(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--all", "--max-violations", "0", "--jobs", "1", "--quiet")
    assert r.code == 2 and "--max-violations" in r.stderr


def test_terminal_layout_only_on_a_tty(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from sgproof import cli

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Tty())
    assert cli._default_format(None) == "terminal"
    assert cli._default_format("out.txt") == "text"
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._default_format(None) == "text"


def test_terminal_renderer_colours() -> None:
    from sgproof.report.terminal import render_terminal

    spec = load_spec(str(REPO / SEED))
    net, info = load_network(snapshot=spec.source)
    out = render_terminal(verify(spec, net, info))
    assert "\x1b[" in out and "REFUTED" in out and "tcp 10.0.3.20:1024 -> 10.0.1.11:3306" in out


def test_flow_map_of_seed_blog() -> None:
    spec = load_spec(str(REPO / SEED))
    net, _ = load_network(snapshot=spec.source)
    fm = flow_map(Checker(net, spec))
    g = flow_graph(fm)
    assert set(g.nodes) == {"ap", "db", "app-hosts", "default-members", "internet"}
    # egress and NACLs are open, but no ENI has a public IP for the internet gateway: nothing goes out
    # to the internet, and nothing comes in
    assert set(g.edges) == {("ap", "db"), ("app-hosts", "db")}
    assert g.edges["ap", "db"]["services"] == "tcp/3306"


def test_svg_escapes_and_draws_self_loops() -> None:
    fm = FlowMap(("a<b", "c"), (GroupFlow("a<b", "a<b", "tcp/22", "x"), GroupFlow("a<b", "c", "all traffic", "y")))
    svg = render_svg(fm)
    assert "a&lt;b" in svg and "a<b" not in svg
    assert svg.count('class="edge"') == 2 and svg.count('class="node"') == 2


def test_the_pictures_draw_what_the_networkx_graph_holds() -> None:
    """The SVG and Mermaid pictures read the map's edges without networkx (its import is a tenth of a
    second of every HTML report): their nodes and edges, in their order, are those of `flow_graph`,
    with a self-loop, an unknown pair, a pair given twice (the later wins) and an end outside the
    groups."""
    from sgproof.report.picture import _edges, _nodes

    fm = FlowMap(("a", "b", "c"), (GroupFlow("a", "a", "tcp/22", "x"), GroupFlow("b", "a", "why", "", "unknown"),
                                   GroupFlow("a", "c", "udp/53", "y"), GroupFlow("a", "c", "tcp/443", "z"),
                                   GroupFlow("c", "d", "all traffic", "w", dst_part="203.0.113.0/24")))
    g = flow_graph(fm)
    assert list(g.nodes) == _nodes(fm) == ["a", "b", "c", "d"]
    assert list(g.edges(data=True)) == _edges(fm)
    assert [d["services"] for _, _, d in _edges(fm)] == ["tcp/22", "tcp/443", "why", "all traffic"]
    assert render_svg(fm).count('class="node"') == 4 and "g3" in render_mermaid(fm)


def test_each_invariant_labels_its_groups_with_its_own_services(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    """Both invariants of the wide spec meet the same class pairs; each group's services are what the
    pair connects on within its own invariant's services, whatever was labelled before it and in
    whichever worker."""
    outs = []
    for jobs in ("1", "2"):
        r = run("verify", wide_spec, "--all", "--format", "json", "--jobs", jobs, "--quiet")
        doc = json.loads(r.stdout)
        results = {x["id"]: x for x in doc["results"]}
        assert {v["group"]["services"] for v in results["app-mysql-closed"]["violations"]} == {"tcp/3306"}
        assert results["app-closed"]["violations"][0]["group"]["services"] != "tcp/3306"
        outs.append([{k: v for k, v in x.items() if k != "seconds"} for x in doc["results"]])
    assert outs[0] == outs[1]
