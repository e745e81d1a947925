"""Renderers beyond text and JSON, by --format name; each is a function of one Report."""

from __future__ import annotations

from collections.abc import Callable

from .html import render_html
from .junit import render_junit
from .markdown import render_markdown
from .model import Report
from .sarif import render_sarif
from .terminal import render_terminal
from .violations_text import render_text_all

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text_all,  # render_text byte for byte, plus the violation groups of `verify --all`
    "terminal": render_terminal,  # never a --format choice: the CLI picks it for a TTY
    "sarif": render_sarif,
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}
