"""What `sgproof diff` found: change groups with their witnesses and causes, for every renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import ICMPS, PORTED, SERVICE_MAX, proto_name
from ..model.addr import Interval
from ..spec import ServiceSet
from .model import Assumptions, Counterexample


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """One side of a change group: a set of ENIs the two networks treat alike, or external addresses."""

    text: str
    enis: tuple[str, ...]
    external: tuple[str, ...]  # address ranges, when the side is external
    ranges: tuple[tuple[int, int, int], ...] = ()  # the same ranges as (family, lo, hi)

    @property
    def is_external(self) -> bool:
        return not self.enis

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "enis": list(self.enis), "eni_count": len(self.enis),
                "external": list(self.external)}


def _ranges_text(ivs: tuple[Interval, ...]) -> str:
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)


def _icmp_text(ivs: tuple[Interval, ...]) -> str:
    if ivs == ((0, SERVICE_MAX),):
        return "all"
    out = []
    for lo, hi in ivs:
        t1, c1 = divmod(lo, 256)
        t2, c2 = divmod(hi, 256)
        if c1 == 0 and c2 == 255:
            out.append(f"type {t1}" if t1 == t2 else f"types {t1}-{t2}")
        elif lo == hi:
            out.append(f"type {t1} code {c1}")
        else:
            out.append(f"type {t1} code {c1} - type {t2} code {c2}")
    return ", ".join(out)


def ports_text(services: ServiceSet) -> str:
    """The group's ports as ranges: "22, 8000-8080"; ICMP as types and codes; "all" for other protocols."""
    parts = []
    for proto, ivs in services.by_proto:
        if proto in PORTED:
            parts.append("all" if ivs == ((0, SERVICE_MAX),) else _ranges_text(ivs))
        elif proto in ICMPS:
            parts.append(_icmp_text(ivs))
        else:
            parts.append("all")
    return ", ".join(dict.fromkeys(parts))


@dataclass(frozen=True, slots=True)
class ChangeGroup:
    """Every changed connection of one (source class, destination class, family, protocol group)."""

    change: str  # "added" (NEW allows, OLD does not) or "removed"
    src: ClassInfo
    dst: ClassInfo
    family: int
    services: ServiceSet  # exactly the changed (protocol, service value) pairs of the class pair
    witness: Counterexample  # allowed in the network that allows the group
    other: Counterexample | None  # the same flow in the other network (None when an endpoint is missing)
    blocked: dict[str, Any]  # the step of `other` that blocks, or why the endpoint is missing
    cause: tuple[dict[str, Any], ...]

    @property
    def protocol(self) -> int:
        return self.witness.flow.proto

    def protocol_json(self) -> str | int:
        p = self.protocol
        return proto_name(p) if p in (*PORTED, *ICMPS) else p

    def protocols(self) -> tuple[Interval, ...]:
        """Protocol numbers of the group, as ranges (several only for protocols without ports)."""
        from ..model.addr import normalize

        return normalize((p, p) for p, _ in self.services.by_proto)

    def protocols_text(self) -> str:
        return _ranges_text(self.protocols())

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.src.as_json(), "to": self.dst.as_json(),
            "family": f"ipv{self.family}", "protocol": self.protocol_json(), "ports": ports_text(self.services),
        }
        if self.protocol not in (*PORTED, *ICMPS):
            out["protocols"] = _ranges_text(self.protocols())
        out["services"] = [{"protocol": p, "ranges": [[lo, hi] for lo, hi in ivs]}
                           for p, ivs in self.services.by_proto]
        out["witness"] = self.witness.as_json()
        out["blocked_in_old" if self.change == "added" else "blocked_in_new"] = self.blocked
        if self.other is not None:
            out["trace_in_old" if self.change == "added" else "trace_in_new"] = self.other.as_json()
        out["cause"] = list(self.cause)
        return out


@dataclass(frozen=True, slots=True)
class DiffReport:
    old: dict[str, Any]  # where each network came from (SourceInfo.as_json, plus the plan side)
    new: dict[str, Any]
    assumptions: Assumptions
    added: tuple[ChangeGroup, ...]
    removed: tuple[ChangeGroup, ...]
    complete: bool
    truncated: bool  # --max-changes cut a list
    max_changes: int
    version: str
    z3_version: str
    seconds: float
    scope: dict[str, str]  # the --from/--to/--ports restriction, as written
    undecided: str | None = None  # the solver gave up: the lists are not complete

    def exit_code(self) -> int:
        """0 when the solver proved that nothing changed, 1 when something did, 2 when it could not decide."""
        if self.added or self.removed:
            return 1
        return 0 if self.complete else 2

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed)}

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sgproof": self.version,
            "old": self.old,
            "new": self.new,
            "assumptions": self.assumptions.as_json(),
            "scope": self.scope,
            "added": [g.as_json() for g in self.added],
            "removed": [g.as_json() for g in self.removed],
            "complete": self.complete,
            "summary": self.summary(),
            "z3": self.z3_version,
        }
        if self.undecided:
            out["undecided"] = self.undecided
        if self.truncated:
            out["truncated"] = {"max_changes": self.max_changes,
                                "note": f"--max-changes {self.max_changes} cut the list: more groups changed"}
        return out
