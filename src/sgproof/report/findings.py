"""config_findings (contract section 8): the rules and entries a control's literal check flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Counterexample
from .rests import rests_lines


@dataclass(frozen=True, slots=True)
class ConfigFinding:
    """One flagged SG rule item (one peer) or NACL entry, and whether some allowed flow of the invariant
    uses it: `witness` when it does, `reason` (why no flow can) when it does not."""

    resource: str  # sg-… or acl-…
    direction: str  # ingress | egress
    rule: str | int  # the SG rule's text, or the NACL entry's rule number
    item: dict[str, Any]  # the IpPermissions item (one peer) or the Entries item
    exposed: bool
    witness: Counterexample | None
    reason: str | None
    place: str = ""  # JSON path in the source
    tf_address: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resource": self.resource, "direction": self.direction, "rule": self.rule,
                               "item": self.item, "exposed": self.exposed,
                               "witness": self.witness.as_json() if self.witness is not None else None,
                               "reason": self.reason}
        if self.place:
            out["place"] = self.place
        if self.tf_address:
            out["tf_address"] = self.tf_address
        return out

    def text(self) -> str:
        """One line for people: what is flagged, and exposed with its witness or why not."""
        what = f"{self.resource} {self.direction} " + (f"rule {self.rule}" if isinstance(self.rule, str)
                                                        else f"entry #{self.rule}")
        if self.exposed and self.witness is not None:
            return f"{what}: exposed, e.g. {self.witness.flow.text()}"
        return f"{what}: not exposed ({self.reason})"


def finding_lines(r: Any) -> list[str]:
    """A result's control and config findings, one line each (empty for an invariant of no control)."""
    out: list[str] = []
    if getattr(r, "control", None):
        out.append(f"control: {r.control}")
    found = getattr(r, "config_findings", None)
    if found is not None:
        exposed = sum(1 for f in found if f.exposed)
        out.append(f"config findings (the control's literal check): {len(found)} flagged, {exposed} exposed")
        out += [f"- {f.text()}" for f in found]
    return out + rests_lines(r)
