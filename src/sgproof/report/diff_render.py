"""`sgproof diff` output by --format name."""

from __future__ import annotations

from .diff_json import render_diff_json
from .diff_model import DiffReport


def render_diff(report: DiffReport, fmt: str) -> str:
    if fmt == "json":
        return render_diff_json(report)
    if fmt == "markdown":
        from .diff_markdown import render_diff_markdown

        return render_diff_markdown(report)
    if fmt == "sarif":
        from .diff_sarif import render_diff_sarif

        return render_diff_sarif(report)
    from .diff_text import render_diff_text

    return render_diff_text(report)
