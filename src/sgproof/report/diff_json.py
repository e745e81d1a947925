"""The JSON document of contract section 6 (`sgproof diff --format json`)."""

from __future__ import annotations

import json

from .diff_model import DiffReport


def render_diff_json(report: DiffReport) -> str:
    return json.dumps(report.as_json(), indent=2) + "\n"
