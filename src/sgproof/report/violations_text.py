"""Plain text with every violation (`verify --all`): today's text, then the violation groups per invariant."""

from __future__ import annotations

from .audit import class_pairs, violations_note
from .model import Report
from .text import counterexample_lines, render_text


def violation_lines(report: Report) -> list[str]:
    """The violation groups of every enumerated result; no lines when nothing was enumerated."""
    out: list[str] = []
    for r in report.results:
        if r.violations_complete is None:
            continue
        out += ["", f"violations of {r.id} ({r.kind}): {violations_note(r)}"]
        for n, pair in enumerate(class_pairs(r), 1):
            out.append(f"  group {n}: {pair.source} -> {pair.destination} on {pair.services}")
            for v in pair.traced:
                out += ["  " + line for line in counterexample_lines(v.counterexample)]
            if pair.others:
                out.append(f"    and {len(pair.others)} more flow(s) of this pair:")
                out += [f"      {t}" for t in pair.others]
    return out


def render_text_all(report: Report) -> str:
    """`render_text`, byte for byte, followed by the violation groups when `--all` enumerated them."""
    base = render_text(report)
    extra = violation_lines(report)
    return base + ("\n".join(extra) + "\n" if extra else "")
