"""Plain text with every violation (`verify --all`): `render_text` prints each result's violation groups
under the result, so the summary stays the last line."""

from __future__ import annotations

from .model import Report
from .text import render_text


def render_text_all(report: Report) -> str:
    """`render_text`, which lists the violation groups when `--all` enumerated them."""
    return render_text(report)
