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
    from .report import formats  # SARIF, JUnit, Markdown, HTML
    from .report.json_format import render_json
    from .report.text import render_text

    table: dict[str, Callable[[Any], str]] = {"text": render_text, "json": render_json}
    table.update(formats.RENDERERS)
    if fmt not in table:
        raise SgproofError(f"--format {fmt} is not available in this version")
    return table[fmt]


def _fail(exc: SgproofError) -> None:
    click.echo(f"sgproof: error: {exc.render()}", err=True)
    sys.exit(exc.exit_code)


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
    """A transient progress bar on a terminal's stderr; silent when piped or with --quiet."""

    def __init__(self, quiet: bool, stream: TextIO):
        self.bar: Any = None
        self.task: Any = None
        if quiet or not stream.isatty() or os.environ.get("TERM") == "dumb":
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

    def phase(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=text)

    def step(self, n: int, total: int, ident: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"checked {ident}", completed=n, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


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
@click.option("--max-violations", type=int, default=100, help="with --all: at most N violations per invariant")
def verify(spec: str, snapshot: str | None, aws: bool, profile: str | None, regions: tuple[str, ...],
           terraform: str | None, fmt: str | None, output: str | None, jobs: int | None, quiet: bool,
           all_violations: bool, max_violations: int) -> None:
    """Check every invariant of SPEC: exit 0 all proven, 1 some refuted, 2 bad input."""
    try:
        from .encode.check import Checker
        from .run import default_jobs
        from .run import verify as run_verify
        from .sources import load_network
        from .spec import load_spec

        parsed = load_spec(spec)
        render = _renderer(fmt or _default_format(output))
        if not (snapshot or aws or terraform) and parsed.source:
            snapshot = parsed.source
        if jobs is not None and jobs < 1:
            raise SgproofError("--jobs takes a number of processes, 1 or more")
        bar = _ProgressBar(quiet, sys.stderr)
        try:
            net, info = load_network(snapshot=snapshot, aws=aws, profile=profile, regions=regions,
                                     terraform=terraform, progress=bar.phase if bar.bar else None)
            bar.phase(f"checking {len(parsed.invariants)} invariants over {len(net.enis)} ENIs")
            bar.phase(f"preparing {len(net.enis)} ENIs")
            checker = Checker(net, parsed)
            report = run_verify(parsed, net, info, jobs or default_jobs(), bar.step, checker)
        finally:
            bar.close()
        if all_violations:
            from .explain.enumerate import add_all_violations

            report = add_all_violations(report, checker, max_violations)
        if fmt in ("markdown", "html"):
            from .explain.flowmap import add_flow_map

            report = add_flow_map(report, checker)
        _emit(render(report), output)
    except SgproofError as exc:
        _error_document(fmt, output, spec, exc)
        _fail(exc)
    sys.exit(report.exit_code())


@main.command()
@click.option("--from", "src", default=None, help="source selector, YAML: e.g. '{security_group: web}'")
@click.option("--to", "dst", required=True, help="destination selector, YAML")
@click.option("--ports", default="all", help="ports, e.g. tcp/3306 or '[tcp/80, tcp/443]'")
@source_options
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text")
@click.option("--output", metavar="FILE")
def query(src: str | None, dst: str, ports: str, snapshot: str | None, aws: bool, profile: str | None,
          regions: tuple[str, ...], terraform: str | None, fmt: str, output: str | None) -> None:
    """Can any flow go from --from to --to on --ports? Prints a witness flow or a proof that none can."""
    try:
        from .run import verify as run_verify
        from .sources import load_network
        from .spec.parse import load_spec_text

        body = f"to: {dst}, ports: {ports}" + (f", from: {src}" if src else "")
        parsed = load_spec_text(f"sgproof: 1\ninvariants:\n  - id: query\n    deny: {{{body}}}\n", "<query>")
        net, info = load_network(snapshot=snapshot, aws=aws, profile=profile, regions=regions,
                                 terraform=terraform)
        report = run_verify(parsed, net, info, 1)
        if fmt == "text":
            from .report.text import render_query_text

            _emit(render_query_text(report), output)
        else:
            _emit(_renderer(fmt)(report), output)
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


if __name__ == "__main__":  # pragma: no cover
    main()
