"""JUnit XML for CI test reports: one testcase per invariant, failure with flow and trace when refuted."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .audit import spec_uri, violations_note
from .model import Counterexample, Report, Result
from .safe import clean, xml_text
from .text import counterexample_lines


def _cx_text(cx: Counterexample) -> str:
    return "\n".join(counterexample_lines(cx))


def _failure_text(r: Result) -> str:
    parts = [f"claim: {r.statement}"]
    if r.violations:
        for n, (v, g) in enumerate(zip(r.violations, r.group_numbers(), strict=True), 1):
            parts.append(f"violation {n} (group {g}): {v.source_class} -> {v.destination_class} on {v.services}")
            parts.append(_cx_text(v.counterexample))
        parts.append(violations_note(r))
    elif r.counterexample is not None:
        parts.append(_cx_text(r.counterexample))
    return "\n".join(parts) + "\n"


def _testcase(suite: ET.Element, report: Report, r: Result) -> None:
    case = ET.SubElement(suite, "testcase", classname=spec_uri(report.spec), name=r.id,
                         time=f"{r.seconds:.3f}", file=spec_uri(report.spec), line=str(r.line))
    ET.SubElement(ET.SubElement(case, "properties"), "property", name="severity", value=r.severity)
    if r.status == "refuted":
        cx = r.violations[0].counterexample if r.violations else r.counterexample
        flow = f": {cx.flow.text()}" if cx is not None else ""
        fail = ET.SubElement(case, "failure", message=f"{r.kind} refuted{flow}", type="refuted")
        fail.text = _failure_text(r)
    elif r.status == "error":
        err = ET.SubElement(case, "error", message=r.error or "error", type="error")
        err.text = (r.error or "") + "\n"
    else:
        out = ET.SubElement(case, "system-out")
        out.text = f"proven: {r.statement}\n"


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_junit(report: Report) -> str:
    report = clean(report, xml_text)  # ElementTree escapes markup, not the characters XML cannot hold
    c = report.counts()
    total = str(len(report.results))
    root = ET.Element("testsuites", name="sgproof", tests=total, failures=str(c["refuted"]),
                      errors=str(c["errors"]), time=f"{report.seconds:.3f}")
    suite = ET.SubElement(root, "testsuite", name=report.spec_name or spec_uri(report.spec), tests=total,
                          failures=str(c["refuted"]), errors=str(c["errors"]), skipped="0",
                          time=f"{report.seconds:.3f}", timestamp=report.started_at)
    props = ET.SubElement(suite, "properties")
    a = report.assumptions
    for name, value in (("sgproof", report.version), ("z3", report.z3_version), ("spec", report.spec),
                        ("source", f"{report.source.kind} {report.source.path or ''}".strip()),
                        ("routing", a.routing), ("ephemeral_ports", a.ephemeral_ports),
                        *([("checking_seconds", f"{report.check_seconds:.3f}")]
                          if report.check_seconds is not None else []),
                        *(("warning", w) for w in a.warnings)):
        ET.SubElement(props, "property", name=name, value=value)
    for r in report.results:
        _testcase(suite, report, r)
    return _xml(root)


def render_junit_error(message: str, spec: str | None) -> str:
    """A JUnit report for a run that stopped on bad input: one testcase in error carrying the message."""
    message = xml_text(message)
    root = ET.Element("testsuites", name="sgproof", tests="1", failures="0", errors="1")
    name = spec_uri(spec) if spec else "sgproof"
    suite = ET.SubElement(root, "testsuite", name=name, tests="1", failures="0", errors="1", skipped="0")
    case = ET.SubElement(suite, "testcase", classname=name, name="input")
    err = ET.SubElement(case, "error", message=message, type="input-error")
    err.text = message + "\n"
    return _xml(root)
