"""The JSON document of contract section 5."""

from __future__ import annotations

import json
from typing import Any

from .model import Report


def report_json(report: Report) -> dict[str, Any]:
    return {
        "sgproof": report.version,
        "spec": report.spec,
        "source": report.source.as_json(),
        "assumptions": report.assumptions.as_json(),
        "results": [r.as_json() for r in report.results],
        "summary": report.counts(),
        "seconds": report.times_json(),
        "z3": report.z3_version,
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"
