"""The address parsers at the input boundary agree with the standard library on every text."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from sgproof.model.addr import parse_ipv4

_OCTET_TEXT = st.one_of(
    st.integers(0, 300).map(str),
    st.integers(0, 99).map(lambda n: f"0{n}"),  # leading zeros
    st.text(alphabet="0123456789٣１ +-x\n", min_size=0, max_size=4),  # non-ASCII digits, signs, blanks
)
_DOTTED = st.lists(_OCTET_TEXT, min_size=1, max_size=6).map(".".join)


def _reference(text: str) -> int | None:
    """ASCII dotted quad, each octet 0-255 without leading zeros (what AWS writes)."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and (p == "0" or p[0] != "0") for p in parts):
        return None
    if any(int(p) > 255 for p in parts):
        return None
    return int(ipaddress.IPv4Address(text))


@settings(max_examples=2000)
@given(st.one_of(_DOTTED, st.text(max_size=20), st.ip_addresses(v=4).map(str)))
def test_parse_ipv4_accepts_exactly_the_dotted_quads(text: str) -> None:
    want = _reference(text)
    try:
        got: int | None = parse_ipv4(text)
    except ValueError:
        got = None
    assert got == want, text


def test_parse_ipv4_refuses_a_trailing_newline_and_leading_zeros() -> None:
    for text in ("10.0.0.1\n", "10.0.0.01", "1.2.3", "1.2.3.4.5", "256.0.0.0", "١.2.3.4"):
        try:
            parse_ipv4(text)
        except ValueError:
            continue
        raise AssertionError(text)
