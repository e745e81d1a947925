"""Fixtures for the Terraform plan source: paths to the committed examples and a plan builder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "terraform"


@pytest.fixture
def examples() -> Path:
    """The examples/terraform directory."""
    return EXAMPLES


def rc(address: str, rtype: str, after: dict[str, Any], *, actions: list[str] | None = None,
       unknown: dict[str, Any] | None = None, before: dict[str, Any] | None = None,
       index: Any = None, module: str = "") -> dict[str, Any]:
    """One resource_changes entry."""
    name = address.split(".")[-1].split("[")[0]
    out: dict[str, Any] = {"address": address, "mode": "managed", "type": rtype, "name": name,
                           "change": {"actions": actions or ["create"], "before": before, "after": after,
                                      "after_unknown": unknown or {}}}
    if index is not None:
        out["index"] = index
    if module:
        out["module_address"] = module
    return out


def conf(address: str, rtype: str, **exprs: Any) -> dict[str, Any]:
    """One configuration resource with the given expressions (lists mean references)."""
    name = address.split(".")[-1]
    return {"address": address, "mode": "managed", "type": rtype, "name": name,
            "expressions": {k: ({"references": v} if isinstance(v, list) else v) for k, v in exprs.items()}}


def plan(changes: list[dict[str, Any]], resources: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A minimal plan document."""
    out = {"format_version": "1.2", "resource_changes": changes,
           "configuration": {"root_module": {"resources": resources}}}
    out.update(extra)
    return json.loads(json.dumps(out))
