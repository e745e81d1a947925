"""The HTML report rendered by a real browser: the page and its picture show."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest

from .conftest import SEED

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.chromium


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and raw scanlines (filter byte first) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8, "8-bit PNG expected"
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    return width, height, [raw[i * stride:(i + 1) * stride] for i in range(height)]


def test_html_report_renders_in_chromium(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian package chromium)")
    page = tmp_path / "report.html"
    assert run("verify", SEED, "--format", "html", "--output", str(page), "--jobs", "1", "--quiet").code == 1
    shot = tmp_path / "shot.png"
    common = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert "<svg" in dom and 'class="flowmap"' in dom and 'class="edge"' in dom
    assert "sgproof report: seed-blog" in dom and "no-app-mysql" in dom
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                   capture_output=True, timeout=60, check=True)
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    # a blank page compresses to identical rows; the report has text, tables and a coloured picture
    assert len(set(rows)) > 200
