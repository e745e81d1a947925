"""The small value semantics documented as doctests (addresses, port forms, address globs)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["sgproof.model.addr", "sgproof.spec.services", "sgproof.spec.select"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
