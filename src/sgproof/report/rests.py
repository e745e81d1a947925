"""`rests_on` (contract 9, `verify --explain`) in words: the controls a proof depends on, one line each."""

from __future__ import annotations

from typing import Any

PART_WORDS = {
    "sg-ingress": "security group ingress",
    "sg-egress": "security group egress",
    "nacl": "network ACL",
    "route-table": "route table",
    "membership": "membership of",
}


def rests_lines(r: Any) -> list[str]:
    """The lines under a proof that say what it rests on (none when --explain was not asked)."""
    doc = getattr(r, "explanation", None)
    if not doc:
        return []
    rests = doc.get("rests_on")
    if rests is None:
        return [f"explanation: {doc.get('rests_on_error', 'not computed')}"]
    verb = "closed" if r.kind == "reach" else "opened"
    if not rests:
        return [f"this proof rests on no control: it holds with every part of the network {verb}"]
    n = len(rests)
    out = [f"this proof rests on {n} control{'s' if n != 1 else ''} (each checked: with every other part "
           f"{verb} it still holds, with this one {verb} as well it does not):"]
    out += [f"- {PART_WORDS.get(p['part'], p['part'])} {p['id']}: {p['why']}" for p in rests]
    return out
