"""Fixtures for the Terraform plan source: paths to the committed examples and a plan builder."""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "terraform"
PLANS = Path(__file__).resolve().parent / "plans"


@functools.cache
def tf_mirror() -> Path | None:
    """The folder holding a `registry.terraform.io` provider mirror (TF_PLUGIN_MIRROR, or a usual place)."""
    env = os.environ.get("TF_PLUGIN_MIRROR")
    candidates = [Path(env)] if env else []
    candidates += [Path("/opt/tf-plugins"), Path.home() / ".terraform.d" / "plugins",
                   Path("/usr/share/terraform/plugins"), Path("/usr/local/share/terraform/plugins")]
    candidates += [Path(p).parent for p in sorted(glob.glob("/*/*/registry.terraform.io"))]
    candidates += [Path(p).parent for p in sorted(glob.glob("/*/registry.terraform.io"))]
    for c in candidates:
        if (c / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return c
    return None


def terraform_missing() -> str | None:
    """Why plans cannot be made here (no terraform, no provider mirror), or None when they can."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH"
    if tf_mirror() is None:
        return "no hashicorp/aws provider mirror (a registry.terraform.io folder; set TF_PLUGIN_MIRROR)"
    return None


def terraform_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment the regen scripts run in: PATH, HOME and the provider mirror."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/local/bin"), "HOME": str(home),
            "TF_PLUGIN_MIRROR": str(tf_mirror()), **extra}


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
