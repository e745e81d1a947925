"""The command line: the only code that prints or exits."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

from . import __version__
from .errors import SgproofError

FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")


def _renderer(fmt: str) -> Callable[[Any], str]:
    from .report.formats import renderer

    render = renderer(fmt)
    if render is None:
        raise SgproofError(f"--format {fmt} is not available in this version")
    return render


def _fail(exc: SgproofError) -> None:
    click.echo(f"sgproof: error: {' '.join(exc.render().split())}", err=True)
    sys.exit(exc.exit_code)


def _report_errors(report: Any) -> None:
    """Every invariant in error on stderr, one line each, whatever the format (contract section 1)."""
    for r in report.results:
        if r.status != "error":
            continue
        text = " ".join((r.error or "no reason given").split())
        where = r.where.rsplit(":", 2)[0] if r.where else ""
        if r.where == "query":  # the query's one invariant is the command line's
            text = f"query: {text}"
        elif not (where and text.startswith(where + ":")):
            text = f"{r.where}: invariant {r.id}: {text}" if r.where else f"invariant {r.id}: {text}"
        click.echo(f"sgproof: error: {text}", err=True)


SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _exit_code(report: Any, fail_on: str) -> int:
    """2 with an invariant in error; 1 when a refuted invariant has at least `fail_on`'s severity; else 0."""
    code: int = report.exit_code()
    if code != 1:
        return code
    floor = SEVERITY_RANK[fail_on]
    refuted = [r for r in report.results if r.status == "refuted"]
    return 1 if any(SEVERITY_RANK.get(getattr(r, "severity", "high"), 2) >= floor for r in refuted) else 0


def _only(parsed: Any, only: tuple[str, ...]) -> Any:
    """The spec with only the invariants that --only names; an id it lacks is an input error."""
    if not only:
        return parsed
    import dataclasses

    from .spec.parse import SpecError

    ids = [inv.id for inv in parsed.invariants]
    for wanted in only:
        if wanted not in ids:
            raise SpecError("--only", None, f"{parsed.path} has no invariant {wanted!r} (its ids: {', '.join(ids)})")
    return dataclasses.replace(parsed, invariants=tuple(i for i in parsed.invariants if i.id in only))


def _default_format(output: str | None) -> str:
    """"terminal" (colour, layout) when stdout is a terminal and colour is welcome; "text" otherwise."""
    if output or not sys.stdout.isatty() or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return "text"
    return "terminal"


def _error_document(fmt: str | None, output: str | None, spec: str, exc: SgproofError) -> None:
    """For --format sarif/junit, also write a document carrying the input error, so dashboards show it."""
    if fmt not in ("sarif", "junit"):
        return
    from .report.junit import render_junit_error
    from .report.sarif import render_sarif_error

    message = exc.render()
    if fmt == "sarif":
        file = getattr(exc, "file", None)
        place = getattr(exc, "place", None) or ""
        line, _, col = place.partition(":")
        located = line.isdigit() and col.isdigit()
        text = render_sarif_error(message, spec, __version__, file, int(line) if located else None,
                                  int(col) if located else None)
    else:
        text = render_junit_error(message, spec)
    try:
        _emit(text, output)
    except SgproofError as write_exc:
        click.echo(f"sgproof: error: {write_exc.render()}", err=True)


def _emit(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise SgproofError(f"{output}: cannot write the report ({exc.strerror})") from None
    else:
        click.echo(text, nl=False)


class _ProgressBar:
    """Progress on stderr: a transient bar on a terminal; in CI (stderr not a terminal) a plain line at most
    every `interval` seconds, so a long run shows it is alive; nothing with --quiet."""

    def __init__(self, quiet: bool, stream: TextIO, clock: Callable[[], float] | None = None,
                 interval: float = 5.0):
        import time

        self.bar: Any = None
        self.task: Any = None
        self.stream: TextIO | None = None  # the plain-line mode
        self.clock = clock or time.monotonic
        self.interval = interval
        self.start = self.last = self.clock()
        if quiet:
            return
        if not stream.isatty() or os.environ.get("TERM") == "dumb":
            self.stream = stream
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(file=stream), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("reading the network", total=None)

    @property
    def active(self) -> bool:
        return self.bar is not None or self.stream is not None

    def _line(self, text: str) -> None:
        """One plain progress line, when `interval` seconds have passed since the last one (or the start)."""
        now = self.clock()
        if self.stream is None or now - self.last < self.interval:
            return
        self.last = now
        print(f"sgproof: {text} ({now - self.start:.0f} s)", file=self.stream, flush=True)

    def phase(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)
        self._line(text)

    def step(self, n: int, total: int, ident: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"checked {ident}", completed=n, total=total)
        self._line(f"checked {n}/{total} invariants (last: {ident})")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        self.stream = None


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--terraform", "terraform", metavar="PLAN_JSON", help="terraform show -json output")(f)
    f = click.option("--region", "regions", multiple=True, help="AWS region (repeatable)")(f)
    f = click.option("--profile", help="AWS profile")(f)
    f = click.option("--aws", is_flag=True, help="read the live account with boto3")(f)
    f = click.option("--snapshot", metavar="FILE_OR_DIR", help="a saved snapshot (file or directory)")(f)
    return f


@click.group()
@click.version_option(__version__, prog_name="sgproof")
def main() -> None:
    """Prove or refute reachability invariants over AWS security groups and network ACLs."""


@main.command()
@click.argument("spec")
@source_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="output format")
@click.option("--output", metavar="FILE", help="write the report to FILE")
@click.option("--jobs", type=int, default=None, help="parallel processes (default: all cores)")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
@click.option("--all", "all_violations", is_flag=True, help="list every violation of each refuted invariant")
@click.option("--max-violations", type=int, default=None,
              help="with --all: at most N violations per invariant (default 100)")
@click.option("--only", "only", multiple=True, metavar="ID", help="check only this invariant (repeatable)")
@click.option("--fail-on", "fail_on", type=click.Choice(tuple(SEVERITY_RANK)), default="low",
              help="exit 1 only for a refuted invariant of at least this severity (default: low)")
@click.option("--fix", "fix", is_flag=True,
              help="give each refuted invariant the smallest verified repair (contract 9)")
@click.option("--explain", is_flag=True, help="with each proof, the minimal set of controls it rests on")
def verify(spec: str, snapshot: str | None, aws: bool, profile: str | None, regions: tuple[str, ...],
           terraform: str | None, fmt: str | None, output: str | None, jobs: int | None, quiet: bool,
           all_violations: bool, max_violations: int | None, only: tuple[str, ...], fail_on: str,
           fix: bool, explain: bool) -> None:
    """Check every invariant of SPEC: exit 0 all proven, 1 some refuted, 2 bad input."""
    import dataclasses
    import time

    started = time.perf_counter()  # the report's run time is the wall time of all of this
    try:
        if max_violations is not None and not all_violations:
            raise SgproofError("--max-violations needs --all (it limits the violations --all lists)")
        from .encode.check import Checker
        from .explain.enumerate import check_limit

        if max_violations is not None:
            check_limit(max_violations)  # before the network is read
        from .run import default_jobs
        from .run import verify as run_verify
        from .sources import load_network
        from .spec import load_spec
        from .spec.parse import check_source

        parsed = _only(load_spec(spec), only)
        render = _renderer(fmt or _default_format(output))
        if not (snapshot or aws or terraform) and parsed.source:
            check_source(parsed)
            snapshot = parsed.source
        if jobs is not None and jobs < 1:
            raise SgproofError("--jobs takes a number of processes, 1 or more")
        bar = _ProgressBar(quiet, sys.stderr)
        try:
            net, info = load_network(snapshot=snapshot, aws=aws, profile=profile, regions=regions,
                                     terraform=terraform, progress=bar.phase if bar.active else None)
            bar.phase(f"preparing {len(net.enis)} ENIs")
            checker = Checker(net, parsed)
            bar.phase(f"checking {len(parsed.invariants)} invariants over {len(net.enis)} ENIs")
            limit = (100 if max_violations is None else max_violations) if all_violations else None
            # markdown and html carry the picture of the flows between the spec's groups: its edges are asked
            # in the same workers, after the invariants
            report = run_verify(parsed, net, info, jobs or default_jobs(), bar.step, checker, fix=fix, explain=explain,
                                all_violations=limit, flow_map=fmt in ("markdown", "html"))
        finally:
            bar.close()
        if any(inv.control for inv in parsed.invariants):
            from .packs.findings import add_config_findings

            report = add_config_findings(report, checker)
        report = dataclasses.replace(report, seconds=time.perf_counter() - started)
        _emit(render(report), output)
        _report_errors(report)
    except SgproofError as exc:
        _error_document(fmt, output, spec, exc)
        _fail(exc)
    sys.exit(_exit_code(report, fail_on))


@main.command()
@click.option("--from", "src", default=None, help="source selector, YAML: e.g. 'security_group: web'")
@click.option("--to", "dst", required=True, help="destination selector, YAML")
@click.option("--ports", default="all", help="ports, e.g. tcp/3306 or '[tcp/80, tcp/443]'")
@click.option("--spec", "spec_path", metavar="SPEC", help="a spec whose groups and settings --from/--to may use")
@source_options
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text")
@click.option("--output", metavar="FILE")
def query(src: str | None, dst: str, ports: str, spec_path: str | None, snapshot: str | None, aws: bool,
          profile: str | None, regions: tuple[str, ...], terraform: str | None, fmt: str,
          output: str | None) -> None:
    """Can any flow go from --from to --to on --ports? Prints a witness flow or a proof that none can."""
    import dataclasses
    import time

    started = time.perf_counter()
    try:
        import dataclasses

        from .run import verify as run_verify
        from .sources import load_network
        from .spec import load_spec
        from .spec.parse import SpecError, check_source, query_spec
        from .spec.select import Selection, public_address_notes

        base = load_spec(spec_path) if spec_path else None
        parsed = query_spec(src, dst, ports, base)
        if base is not None and not (snapshot or aws or terraform) and base.source:
            check_source(base)
            snapshot = base.source
        net, info = load_network(snapshot=snapshot, aws=aws, profile=profile, regions=regions,
                                 terraform=terraform)
        inv = parsed.invariants[0]
        selection = Selection(net, parsed)
        for option, sel in (("--from", inv.src), ("--to", inv.dst)):
            if sel is not None and selection.evaluate(sel).is_empty():
                raise SpecError(option, None, f"{sel.text} matches no endpoint of the network")
        notes = public_address_notes(selection, inv.src) + public_address_notes(selection, inv.dst)
        report = run_verify(parsed, net, info, 1)
        if notes:
            assumptions = dataclasses.replace(report.assumptions,
                                              warnings=(*report.assumptions.warnings, *notes))
            report = dataclasses.replace(report, assumptions=assumptions)
        report = dataclasses.replace(report, seconds=time.perf_counter() - started)
        if fmt == "text":
            from .report.text import render_query_text

            _emit(render_query_text(report), output)
        else:
            _emit(_renderer(fmt)(report), output)
        _report_errors(report)
        if any(r.status == "error" for r in report.results):
            sys.exit(2)
    except SgproofError as exc:
        _fail(exc)
    sys.exit(0)


@main.command()
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--terraform", metavar="PLAN_JSON", help="compare the network before this plan with the one after it")
@click.option("--snapshot", metavar="FILE_OR_DIR", help="with --terraform: the live network the plan is applied to")
@click.option("--spec", "spec_path", metavar="SPEC", help="lend the spec's groups and settings")
@click.option("--from", "src", default=None, help="source selector, YAML")
@click.option("--to", "dst", default=None, help="destination selector, YAML")
@click.option("--ports", default=None, help="ports, e.g. tcp/3306 or '[tcp/80, tcp/443]'")
@click.option("--format", "fmt", type=click.Choice(("text", "json", "markdown", "sarif")), default="text")
@click.option("--output", metavar="FILE")
@click.option("--max-changes", type=int, default=100, help="at most N groups per list")
def diff(old: str | None, new: str | None, terraform: str | None, snapshot: str | None, spec_path: str | None,
         src: str | None, dst: str | None, ports: str | None, fmt: str, output: str | None,
         max_changes: int) -> None:
    """Connections NEW allows that OLD did not, and the reverse: exit 0 none, 1 some, 2 bad input."""
    try:
        from .encode.diff import diff_report
        from .report.diff_render import render_diff

        report = diff_report(old, new, terraform, snapshot, spec_path, src, dst, ports, max_changes)
        _emit(render_diff(report, fmt), output)
    except SgproofError as exc:
        _fail(exc)
    sys.exit(report.exit_code())


@main.command()
@source_options
@click.option("--spec", "spec_path", metavar="SPEC", help="take settings (ephemeral ports) and the source from SPEC")
@click.option("--rule", "rules", multiple=True, metavar="ID", help="run only this rule (repeatable)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", help="output format")
@click.option("--output", metavar="FILE", help="write the findings to FILE")
def lint(snapshot: str | None, aws: bool, profile: str | None, regions: tuple[str, ...], terraform: str | None,
         spec_path: str | None, rules: tuple[str, ...], fmt: str, output: str | None) -> None:
    """Rule hygiene, each finding with its evidence: exit 0 no findings, 1 findings, 2 bad input."""
    try:
        from .lint import run_lint
        from .lint.render import RENDERERS
        from .sources import load_network

        ephemeral = (1024, 65535)
        if spec_path:
            from .spec import load_spec

            parsed = load_spec(spec_path)
            ephemeral = parsed.ephemeral
            if not (snapshot or aws or terraform) and parsed.source:
                snapshot = parsed.source
        net, info = load_network(snapshot=snapshot, aws=aws, profile=profile, regions=regions, terraform=terraform)
        report = run_lint(net, info, ephemeral, rules)
        _emit(RENDERERS[fmt](report), output)
    except SgproofError as exc:
        _fail(exc)
    sys.exit(report.exit_code())


@main.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", help="output format")
def packs(fmt: str) -> None:
    """List the built-in compliance packs and their controls (official ids, titles, severities)."""
    from .packs.listing import render_packs

    click.echo(render_packs(fmt), nl=False)
    sys.exit(0)


@main.command()
@click.option("--profile", help="AWS profile")
@click.option("--region", "regions", multiple=True, help="AWS region (repeatable)")
@click.option("--output", metavar="FILE_OR_DIR", help="snapshot file (a directory for several regions)")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
def collect(profile: str | None, regions: tuple[str, ...], output: str | None, quiet: bool) -> None:
    """Read a live account with boto3 (read-only) and write a snapshot."""
    try:
        from .sources import aws

        code = aws.run_collect(profile, regions, output, quiet, sys.stderr)
    except SgproofError as exc:
        _fail(exc)
    sys.exit(code)


def run() -> None:
    """The command line's entry point: main, then an exit that leaves the heap to the kernel.

    A run ends holding the whole network; freeing it object by object takes Python about 0.07 s at 10,000
    ENIs, for nothing. Once main has finished (sys.exit with a code) and the standard streams are flushed,
    no file, child or thread is left open, so the process ends at once with main's code. A crash (any other
    exception) and a stream that cannot be flushed end the ordinary way, with the traceback or message.
    """
    code: str | int | None = 0
    try:
        main()
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):
        sys.exit(code)  # a message: the interpreter prints it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        sys.exit(code)  # e.g. a closed pipe: the ordinary exit reports it
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()
