"""Reports say exactly what was checked: flow map states, violation counts, times, trace fields,
terminal ids, CI progress, and input strings made harmless in every format."""

from __future__ import annotations

import io
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sgproof.encode.check import Checker
from sgproof.explain import flowmap
from sgproof.explain.flowmap import flow_map
from sgproof.report.model import FlowMap, GroupFlow
from sgproof.report.picture import flow_graph, render_mermaid, render_svg
from sgproof.report.terminal import render_terminal
from sgproof.run import verify
from sgproof.sources import load_network
from sgproof.spec import load_spec

from . import hostile
from .conftest import SEED
from .test_machine_formats import _validate_sarif

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def spec(tmp_path: Path) -> str:
    return hostile.write(tmp_path)


def _checker(spec: str) -> Checker:
    parsed = load_spec(spec)
    net, _ = load_network(snapshot=parsed.source)
    return Checker(net, parsed)


def _json(run, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = run("verify", *args, "--format", "json", "--jobs", "1", "--quiet")
    return json.loads(r.stdout)  # type: ignore[no-any-return]


# ---- item 12: the flow map -------------------------------------------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
def test_flow_map_in_verify_with_no_budget_claims_nothing(spec: str, jobs: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`verify` asks the map's edges itself, in its workers with --jobs 2: with the budget spent before
    the first edge, every pair is drawn unknown ("not checked"), none as allowed or as no flow."""
    import sgproof.explain.flowmap as flowmap

    monkeypatch.setattr(flowmap, "BUDGET_SECONDS", 0.0)
    parsed = load_spec(spec)
    net, info = load_network(snapshot=parsed.source)
    fm = verify(parsed, net, info, jobs=jobs, flow_map=True).flow_map
    assert fm is not None and len(fm.groups) == 4 and not fm.allowed and not fm.complete
    assert {(e.src, e.dst) for e in fm.unknown} == {(a, b) for a in fm.groups for b in fm.groups}
    assert all("not checked" in e.services for e in fm.unknown)


def test_flow_map_with_no_budget_claims_nothing(spec: str) -> None:
    fm = flow_map(_checker(spec), budget_seconds=0)
    n = len(fm.groups)
    assert n == 4 and not fm.allowed and not fm.complete
    assert {(e.src, e.dst) for e in fm.unknown} == {(a, b) for a in fm.groups for b in fm.groups}
    legend = " ".join(fm.legend())
    assert "for the pairs that were checked" in legend and "neither reaches" not in legend
    assert "office → bastion (not checked: the map's 0 s budget ran out)" in legend
    md = render_mermaid(fm)
    assert md.count("-.->") == n * n and "-->|" not in md
    svg = render_svg(fm)
    assert svg.count('class="edge unknown"') == n * n and 'stroke-dasharray' in svg


def test_flow_map_cut_midway_lists_exactly_the_pairs_not_checked(spec: str) -> None:
    checker = _checker(spec)
    now, started = [0.0], set()
    ask = checker.violations

    def violations(inv, limit, **kw):  # type: ignore[no-untyped-def]
        started.add(inv.id)
        if len(started) == 3:
            now[0] = 100.0  # the budget runs out during the third pair
        return ask(inv, limit, **kw)

    checker.violations = violations  # type: ignore[method-assign]
    fm = flow_map(checker, budget_seconds=20, clock=lambda: now[0])
    pairs = [(a, b) for a in fm.groups for b in fm.groups]
    not_checked = {(e.src, e.dst) for e in fm.unknown if "budget" in e.services}
    assert not_checked == set(pairs[3:])
    legend = fm.legend()[-1]
    for a, b in pairs[:3]:
        assert f"{a} → {b} " not in legend
    for a, b in pairs[3:]:
        assert f"{a} → {b} (not checked" in legend


def test_flow_map_edges_are_proven_and_say_which_external_addresses(spec: str) -> None:
    fm = flow_map(_checker(spec))
    assert fm.complete
    edges = {(e.src, e.dst): e for e in fm.edges}
    # only the office range and the prefix list reach the bastion, not "the internet"
    inet = edges["internet", "bastion"]
    assert inet.end_text("src") == "some of internet (198.51.100.0/24, 203.0.113.0/24)"
    assert inet.services == "tcp/22, tcp/443"  # proven exact: no other service is open
    office = edges["office", "bastion"]
    assert office.end_text("src") == "office" and office.services == "tcp/22"
    assert ("internet", "db") not in edges and ("office", "db") not in edges  # proven absent
    assert edges["bastion", "db"].services == "tcp/5432"
    g = flow_graph(fm)
    assert all(d["status"] == "allowed" for _, _, d in g.edges(data=True))


@pytest.mark.parametrize("seeds", [0, flowmap.SEEDS])
def test_flow_map_cut_while_narrowing_keeps_the_witness_and_says_maybe_more(spec: str, seeds: int,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # the budget runs out after the engine's first answer for internet -> bastion: without the
    # evaluator's first flows that answer is a flow, and the services are cut; with them it is the proof
    # that their services are all, and the external addresses are cut
    monkeypatch.setattr(flowmap, "SEEDS", seeds)
    checker = _checker(spec)
    now = [0.0]
    ask = checker.violations

    def violations(inv, limit, **kw):  # type: ignore[no-untyped-def]
        out = ask(inv, limit, **kw)
        if inv.id == "flow:internet->bastion":
            now[0] = 100.0  # the budget runs out right after the first answer for this pair
        return out

    checker.violations = violations  # type: ignore[method-assign]
    fm = flow_map(checker, budget_seconds=20, clock=lambda: now[0])
    edge = next(e for e in fm.edges if (e.src, e.dst) == ("internet", "bastion"))
    assert edge.status == "allowed"
    assert edge.services.endswith("(at least)") if not seeds else edge.services == "tcp/22, tcp/443"
    assert edge.src_part in ("203.0.113.0/24 and maybe more", "198.51.100.0/24 and maybe more")


def test_flow_map_in_the_reports_draws_unknown_and_legend(run, spec: str) -> None:  # type: ignore[no-untyped-def]
    md = run("verify", spec, "--format", "markdown", "--jobs", "1", "--quiet").stdout
    assert "| some of internet \\(198.51.100.0/24, 203.0.113.0/24\\) | bastion |" not in md  # parens not escaped
    assert "| some of internet (198.51.100.0/24, 203.0.113.0/24) | bastion | tcp/22, tcp/443 |" in md
    assert "proven that no flow on any protocol or port goes that way" in md
    page = run("verify", spec, "--format", "html", "--jobs", "1", "--quiet").stdout
    assert "neither reaches" not in page and "proven that no flow on any protocol or port" in page


def test_flow_map_picture_of_unknown_and_allowed() -> None:
    fm = FlowMap(("a", "b"), (GroupFlow("a", "b", "tcp/22", "x", src_part="203.0.113.0/24"),
                              GroupFlow("b", "a", "the solver could not decide", "", "unknown")))
    md = render_mermaid(fm)
    assert '-->|"tcp/22 from 203.0.113.0/24"|' in md and '-.->|"unknown"|' in md
    assert "b → a (the solver could not decide)" in fm.legend()[-1]


# ---- item 15: --all ----------------------------------------------------------------------------------
def test_all_counts_groups_not_flows_in_every_format(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    doc = _json(run, wide_spec, "--all")
    res = {x["id"]: x for x in doc["results"]}["app-closed"]
    flows = len(res["violations"])
    assert flows == 5 and res["violation_groups"] == 1
    assert {v["group"]["number"] for v in res["violations"]} == {1}
    note = "All 1 violation group(s) (5 violation(s), one flow each) are listed"
    for fmt in ("text", "markdown", "html", "junit"):
        out = run("verify", wide_spec, "--all", "--format", fmt, "--jobs", "1", "--quiet").stdout
        assert note in out, fmt
    md = run("verify", wide_spec, "--all", "--format", "markdown", "--jobs", "1", "--quiet").stdout
    assert md.count("#### Violation group") == 2  # one per invariant, as the notes say


def test_plain_text_ends_with_the_summary(run, wide_spec: str) -> None:  # type: ignore[no-untyped-def]
    out = run("verify", wide_spec, "--all", "--jobs", "1", "--quiet").stdout
    assert out.splitlines()[-1].startswith("summary: 0 proven, 2 refuted, 0 errors in ")
    assert out.index("group 1:") < out.index("assumptions:")


def test_max_violations_without_all_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("verify", SEED, "--max-violations", "5", "--jobs", "1", "--quiet")
    assert r.code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--max-violations needs --all" in r.stderr


def test_external_class_label_is_the_whole_set_not_the_witness_group(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = hostile.write(tmp_path)
    text = Path(spec).read_text() + ("  - id: bastion-closed\n    deny: {to: bastion, ports: all}\n"
                                     "  - id: office-closed\n    deny: {from: office, to: bastion, ports: all}\n")
    Path(spec).write_text(text)
    doc = _json(run, spec, "--all")
    res = {x["id"]: x for x in doc["results"]}["bastion-closed"]
    sources = {v["group"]["source"] for v in res["violations"] if v["src"]["external"]}
    assert sources and all(s.startswith("external addresses (every address outside the snapshot's VPCs; e.g. ")
                           for s in sources), sources
    assert not any(s.startswith("office") for s in sources)
    # a side that is exactly one of the spec's groups is named by it
    res = {x["id"]: x for x in doc["results"]}["office-closed"]
    assert res["violations"][0]["group"]["source"].startswith("office: external addresses (203.0.113.0/24; e.g. ")


# ---- item 16: times ----------------------------------------------------------------------------------
def test_run_time_is_the_wall_time_of_the_whole_run(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import sgproof.sources as sources

    now = [1000.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    real = sources.load_network

    def slow_load(**kw):  # type: ignore[no-untyped-def]
        now[0] += 30.0  # reading the network takes 30 s of the run
        return real(**kw)

    monkeypatch.setattr(sources, "load_network", slow_load)
    doc = _json(run, SEED)
    assert doc["seconds"] == {"wall": 30.0, "checking": 0.0}
    text = run("verify", SEED, "--jobs", "1", "--quiet").stdout
    assert text.endswith("in 30.00 s wall (checking invariants 0.00 s)\n")
    for fmt, needle in (("markdown", "| Run time | 30.00 s wall (checking invariants 0.00 s) |"),
                        ("html", "<td>30.00 s wall (checking invariants 0.00 s)</td>"),
                        ("junit", 'time="30.000"'), ("sarif", '"wall": 30.0')):
        out = run("verify", SEED, "--format", fmt, "--jobs", "1", "--quiet").stdout
        assert needle in out, fmt


# ---- item 17: trace steps ----------------------------------------------------------------------------
def test_trace_steps_carry_description_prefix_list_and_single_ids(run, spec: str) -> None:  # type: ignore[no-untyped-def]
    res = {x["id"]: x for x in _json(run, spec)["results"]}
    step = res["bastion-not-db"]["counterexample"]["trace"][3]
    assert step["gate"] == "sg-ingress" and step["description"] == hostile.TESTED
    assert step["id"] == "sg-00000000000000002" and "ids" not in step
    pl = res["vpn-https-closed"]["counterexample"]["trace"][1]
    assert pl["prefix_list"] == {"id": hostile.PL, "name": "corp-vpn"}
    blocked = res["office-reaches-both"]["counterexample"]["blocked_by"][0]
    assert blocked["verdict"] == "no-match" and blocked["id"] == "sg-00000000000000001"
    assert blocked["ids"] == ["sg-00000000000000001", "sg-00000000000000002"]
    for x in res.values():
        for s in x["counterexample"]["trace"]:
            assert "," not in s["id"]
    for fmt in ("text", "markdown", "html"):
        out = run("verify", spec, "--format", fmt, "--jobs", "1", "--quiet").stdout
        assert hostile.TESTED in out and "corp-vpn" in out, fmt
        assert "sg-00000000000000001, sg-00000000000000002" in out, fmt


# ---- item 21: the terminal and CI progress -----------------------------------------------------------
@pytest.mark.parametrize("which", ["seed", "hostile"])
def test_terminal_at_80_columns_keeps_every_id_whole(which: str, tmp_path: Path) -> None:
    spec = load_spec(SEED if which == "seed" else hostile.write(tmp_path))
    net, info = load_network(snapshot=spec.source)
    report = verify(spec, net, info)
    for width in (80, 120):
        plain = ANSI.sub("", render_terminal(report, width=width))
        assert max(len(line) for line in plain.splitlines()) <= width
        ids = {s.id for r in report.results if r.counterexample for s in r.counterexample.trace}
        ids |= {i for r in report.results if r.counterexample for i in (r.counterexample.src.eni,
                                                                        r.counterexample.dst.eni) if i}
        words = set(re.findall(r"[a-z]+-[0-9a-f]{8,}", plain))
        assert ids <= words, ids - words
        assert "…" not in plain


def test_ci_progress_lines_every_few_seconds_with_a_fake_clock() -> None:
    from sgproof.cli import _ProgressBar

    now = [0.0]
    out = io.StringIO()  # not a terminal: plain lines
    bar = _ProgressBar(False, out, clock=lambda: now[0], interval=5.0)
    for t, n in ((1, 1), (4, 2), (6, 3), (7, 4), (12, 5)):
        now[0] = float(t)
        bar.step(n, 5, f"inv-{n}")
    bar.close()
    assert out.getvalue().splitlines() == ["sgproof: checked 3/5 invariants (last: inv-3) (6 s)",
                                           "sgproof: checked 5/5 invariants (last: inv-5) (12 s)"]
    quiet = io.StringIO()
    bar = _ProgressBar(True, quiet, clock=lambda: now[0], interval=0.0)
    bar.step(1, 1, "x")
    assert quiet.getvalue() == ""


# ---- item 22: hostile strings ------------------------------------------------------------------------
def _formats(run, spec: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {fmt: run("verify", spec, "--format", fmt, "--all", "--jobs", "1", "--quiet").stdout
            for fmt in ("text", "json", "sarif", "junit", "markdown", "html")}


def test_hostile_strings_are_harmless_in_every_format(run, spec: str) -> None:  # type: ignore[no-untyped-def]
    out = _formats(run, spec)
    for fmt in ("text", "markdown", "html", "junit", "sarif", "json"):
        assert "\x1b" not in out[fmt], fmt
    # text: no faked summary line, the real one is last
    lines = out["text"].splitlines()
    assert [x for x in lines if x.startswith("summary:")] == [lines[-1]]
    assert "\\x1b[31mred" in out["text"]
    # markdown: no HTML from the input, metacharacters escaped, tables keep their columns
    md = out["markdown"]
    for raw in ("<img", "<script", "<b>"):
        assert raw not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "\\`tick\\`" in md and "\\[red\\]" in md
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) in (4, 6, 7), line  # 2, 4 or 5 columns
    assert "\\|" in md
    # html: escaped
    page = out["html"]
    assert "<img" not in page and "<script" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # junit parses; json and sarif round-trip the raw strings
    ET.fromstring(out["junit"])
    doc = json.loads(out["json"])
    steps = [s for r in doc["results"] for s in r["counterexample"]["trace"]]
    assert any(s.get("description", "").startswith("office ssh <img") and "\x1b[31m" in s["description"]
               for s in steps)
    sarif = json.loads(out["sarif"])
    _validate_sarif(sarif)
    assert any("office ssh <img" in res["message"]["text"] for res in sarif["runs"][0]["results"])


def test_hostile_strings_in_the_terminal_are_literal(spec: str) -> None:
    parsed = load_spec(spec)
    net, info = load_network(snapshot=parsed.source)
    shown = render_terminal(verify(parsed, net, info), width=120)
    assert "\x1b[31mred" not in shown and "\\x1b[31mred" in ANSI.sub("", shown)
    assert "[red]evil[/red]" in ANSI.sub("", shown) and "[bold]x[/bold]" in ANSI.sub("", shown)


def test_hostile_group_names_in_mermaid_and_svg() -> None:
    evil = '"]; click g0 href "javascript:alert(1)" ```<img src=x>|'
    fm = FlowMap((evil, "b"), (GroupFlow(evil, "b", "tcp/22", "x"),))
    md = render_mermaid(fm)
    for line in md.splitlines()[1:]:
        assert line.count('"') == 2 and line.count("|") == (2 if "-->" in line else 0), line
    assert "```" not in md and "<" not in md.replace("-->", "")
    svg = render_svg(fm)
    assert "<img" not in svg


def test_allowed_services_with_the_cut_cache_equals_without_it() -> None:
    """The flow map and `--all` keep the rule boundaries per protocol for their one network; asked for
    every pair of ENIs of an example, the cached and the uncached answers must be the same."""
    from sgproof.explain.enumerate import allowed_services
    from sgproof.semantics import Endpoint
    from sgproof.semantics.evaluate import ServiceCuts
    from sgproof.spec.services import ServiceSet

    root = Path(__file__).resolve().parents[2]
    net, _ = load_network(snapshot=str(root / "examples" / "three-tier" / "network.json"))
    everything = ServiceSet.everything()
    cuts = ServiceCuts(net)
    eps = [Endpoint(i, fam, lo) for i, e in enumerate(net.enis) for fam, lo, _hi in e.private[:1]]
    for a in eps:
        for b in eps:
            if a.eni == b.eni or a.family != b.family:
                continue
            for proto, _ in everything.by_proto:
                assert (allowed_services(net, a, b, proto, everything, (1024, 65535), cuts)
                        == allowed_services(net, a, b, proto, everything, (1024, 65535)))
    assert cuts._cuts  # the cache was used


def test_the_flow_map_asked_in_workers_is_the_one_asked_in_order(run) -> None:  # type: ignore[no-untyped-def]
    """With --jobs 2 the map's edges are asked in the pool after the invariants; the picture must be the
    one a single process draws (times aside)."""
    import re

    times = re.compile(r"\d+\.\d+ s|\d{4}-\d\d-\d\dT[\d:+]+|\| \d+\.\d{3} \|")
    outs = [times.sub("", run("verify", SEED, "--format", "markdown", "--jobs", jobs, "--quiet").stdout)
            for jobs in ("1", "2")]
    assert "-->" in outs[0] and outs[0] == outs[1]
