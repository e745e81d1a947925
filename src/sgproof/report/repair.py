"""`verify --fix` in words (contract 9): the changes of a repair as the AWS change to make, and what the
re-run of the whole spec on the repaired network said."""

from __future__ import annotations

from typing import Any

from .model import Result


def repair_lines(r: Result) -> list[str]:
    """The repair of a refuted result, one line per change and its AWS CLI call; no lines without one."""
    rep: Any = r.repair
    if rep is None:
        return []
    if not rep.verified:
        return [f"repair: none found: {rep.note}"]
    n = len(rep.changes)
    out = [f"repair ({n} change{'s' if n != 1 else ''}, verified: the whole spec re-run on the repaired "
           "network; every invariant that was proven stays proven):"]
    for k, ch in enumerate(rep.changes, 1):
        out.append(f"  {k}. {ch.text()}")
        out += [f"     $ {call}" for call in ch.aws_cli()]
    out.append("  verdicts after: " + ", ".join(f"{i} {s}" for i, s in rep.verdicts_after))
    return out
