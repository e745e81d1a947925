"""Text for a terminal: colour and layout with rich; chosen by the CLI only when stdout is a TTY.

Strings from the input are shown literally: control characters as escapes (`safe.printable`) and
never read as rich markup (every cell is a `Text`). Resource ids never wrap or shorten: they must stay
copyable; the other columns wrap instead."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .audit import class_pairs, violations_note
from .findings import finding_lines
from .model import Counterexample, Report, Result
from .repair import repair_lines
from .safe import clean, printable
from .text import GATE_WORDS, step_resource, step_rule

STYLES = {"proven": "bold green", "refuted": "bold red", "error": "bold yellow"}


WIDE = 110  # narrower terminals get the trace as one block per step instead of a table


def _trace(cx: Counterexample) -> Table:
    t = Table(show_header=True, header_style="dim", box=None, pad_edge=False)
    resources = [step_resource(s) for s in cx.trace]
    t.add_column("#", no_wrap=True)
    t.add_column("gate", overflow="fold", ratio=2)
    # each id whole on one line: a list of groups wraps between ids, never inside one
    widest = max((len(part) for r in resources for part in r.split(", ")), default=8)
    t.add_column("resource", min_width=widest + 1, ratio=2)
    t.add_column("rule", ratio=3)
    t.add_column("verdict", no_wrap=True, min_width=8)
    for n, (s, resource) in enumerate(zip(cx.trace, resources, strict=True), 1):
        style = "green" if s.verdict == "allow" else "bold red"
        t.add_row(Text(str(n)), Text(GATE_WORDS.get(s.gate, s.gate)), Text(resource), Text(step_rule(s)),
                  Text(s.verdict, style=style))
    return t


def _trace_blocks(console: Console, cx: Counterexample) -> None:
    """The trace for a narrow terminal: `n. gate resource verdict`, then the rule on its own (wrapping) line."""
    for n, s in enumerate(cx.trace, 1):
        head = Text(f"    {n}. ")
        head.append(s.gate, style="dim")
        head.append(f" {step_resource(s)} ")
        head.append(s.verdict, style="green" if s.verdict == "allow" else "bold red")
        console.print(head)
        console.print(Padding(Text(step_rule(s)), (0, 0, 0, 7)))


def _endpoint(role: str, cx: Counterexample) -> Text:
    ep = cx.src if role == "source" else cx.dst
    line = Text()
    line.append(f"  {role}: ", style="dim")
    line.append(ep.address, style="bold")
    line.append(ep.place_text())
    return line


def _cx(console: Console, cx: Counterexample) -> None:
    flow = Text()
    flow.append("  flow: ", style="dim")
    flow.append(cx.flow.text(), style="bold cyan")
    console.print(flow)
    console.print(_endpoint("source", cx))
    console.print(_endpoint("destination", cx))
    if cx.note:
        console.print(Text(f"  note: {cx.note}", style="dim"))
    if cx.trace and console.width >= WIDE:
        console.print(Padding(_trace(cx), (0, 0, 0, 4)))
    elif cx.trace:
        _trace_blocks(console, cx)


def _result(console: Console, r: Result) -> None:
    head = Text()
    head.append(f"{r.status.upper():8}", style=STYLES[r.status])
    head.append(f"{r.id}", style="bold")
    head.append(f" ({r.kind}, severity {r.severity}) — {r.description or r.statement}")
    console.print(head)
    for line in finding_lines(r):
        console.print(f"  {line}", markup=False)
    if r.status == "proven":
        console.print(f"  {r.statement}, for every address, port and ENI of the snapshot", style="dim",
                      markup=False)
    elif r.status == "error":
        console.print(f"  error: {r.error}", style="yellow", markup=False)
    else:
        console.print(f"  claim: {r.statement}", markup=False)
        if r.violations:
            console.print(f"  {violations_note(r)}", style="bold", markup=False)
            for n, pair in enumerate(class_pairs(r), 1):
                group = Text()
                group.append(f"  group {n}: ", style="bold")
                group.append(f"{pair.source} -> {pair.destination} on {pair.services}")
                console.print(group)
                for v in pair.traced:
                    _cx(console, v.counterexample)
                if pair.others:
                    console.print(f"  and {len(pair.others)} more flow(s) of this group: " + "; ".join(pair.others),
                                  style="dim", markup=False)
        elif r.counterexample is not None:
            _cx(console, r.counterexample)
        for line in repair_lines(r):
            console.print(f"  {line}", markup=False)
    console.print()


def render_terminal(report: Report, width: int | None = None) -> str:
    """The text report with colour and tables, as ANSI-styled text for the width of the terminal."""
    report = clean(report, printable)
    buf = io.StringIO()
    width = width or shutil.get_terminal_size((100, 24)).columns
    console = Console(file=buf, force_terminal=True, width=width, highlight=False, soft_wrap=False, markup=False,
                      emoji=False)
    title = Text()
    title.append(f"sgproof {report.version}", style="bold")
    title.append(f" — {report.spec_name} ({report.spec})")
    console.print(title)
    console.print(f"source: {report.source.kind} {report.source.path or ''}".rstrip(), style="dim", markup=False)
    console.print()
    for r in report.results:
        _result(console, r)
    a = report.assumptions
    console.print(Panel(Text(
        f"routing {a.routing}\nclient ports {a.ephemeral_ports}\nverdicts hold for this snapshot and for new "
        "connections; flows to another ENI's public address are out of scope"), title="assumptions",
        title_align="left", border_style="dim"))
    for w in a.warnings:
        console.print(f"warning: {w}", style="yellow", markup=False)
    c = report.counts()
    summary = Text("summary: ")
    summary.append(f"{c['proven']} proven", style="green")
    summary.append(", ")
    summary.append(f"{c['refuted']} refuted", style="bold red" if c["refuted"] else "")
    summary.append(", ")
    summary.append(f"{c['errors']} errors", style="yellow" if c["errors"] else "")
    summary.append(f" in {report.time_text()}")
    console.print(summary)
    return buf.getvalue()
