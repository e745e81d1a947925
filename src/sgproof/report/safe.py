"""Strings from the input (names, tags, descriptions, ids) made harmless for each output format."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from html import escape
from typing import Any, TypeVar

T = TypeVar("T")

# C0 and C1 controls, DEL, and the Unicode controls that reorder or hide text (bidi overrides,
# isolates, zero-width joiners, line and paragraph separators, byte order mark)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MD_META = re.compile(r"([\\`*_\[\]|~])")
_MERMAID = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "|": "#124;", "`": "#96;",
            "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;", "(": "#40;", ")": "#41;"}


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """The text with every control character (ANSI escapes, newlines, bidi overrides) shown as an escape."""
    return _CONTROLS.sub(_visible, text)


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 cannot carry (shown as escapes instead)."""
    return _XML_INVALID.sub(_visible, text)


def md(text: str) -> str:
    """Text safe inline in Markdown (and in a table cell): HTML escaped, Markdown metacharacters escaped."""
    return _MD_META.sub(r"\\\1", escape(printable(text), quote=False))


def mermaid(text: str) -> str:
    """Text safe inside a quoted Mermaid label: every character Mermaid or HTML would read, as an entity."""
    return "".join(_MERMAID.get(c, c) for c in printable(text))


def clean(value: T, fn: Callable[[str], str]) -> T:
    """A copy of a report (or any frozen dataclass tree) with `fn` applied to every string in it."""
    return _clean(value, fn)  # type: ignore[no-any-return]


def _clean(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, tuple):
        return tuple(_clean(v, fn) for v in value)
    if isinstance(value, list):
        return [_clean(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v, fn) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name), fn) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
