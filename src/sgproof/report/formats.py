"""Renderers by --format name; each is a function of one Report.

Each renderer's module is imported only when its format is asked for: the HTML report pulls in
networkx and the terminal one rich, which would otherwise cost every `--format json` run in CI a
noticeable share of its time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .model import Report

_WHERE: dict[str, tuple[str, str]] = {
    "json": ("json_format", "render_json"),
    "text": ("violations_text", "render_text_all"),  # render_text byte for byte, plus `verify --all`'s groups
    "terminal": ("terminal", "render_terminal"),  # never a --format choice: the CLI picks it for a TTY
    "sarif": ("sarif", "render_sarif"),
    "junit": ("junit", "render_junit"),
    "markdown": ("markdown", "render_markdown"),
    "html": ("html", "render_html"),
}


def renderer(fmt: str) -> Callable[[Report], str] | None:
    """The renderer of one format, or None when this version has none by that name."""
    where = _WHERE.get(fmt)
    if where is None:
        return None
    render: Callable[[Report], str] = getattr(importlib.import_module(f"{__package__}.{where[0]}"), where[1])
    return render
