"""Built-in compliance packs (contract section 8): shipped spec files, and each control's literal check.

A pack is a spec file in this folder; `pack:NAME` loads it wherever a SPEC is expected, and `include:`
adds its invariants to a user's spec. The literal configuration check of each pack invariant (what a
rule checker such as Security Hub flags) lives here, beside the official title and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..spec.services import ServiceSet, parse_service

if TYPE_CHECKING:
    from ..spec.parse import Invariant, Spec

FOLDER = Path(__file__).resolve().parent

FSBP_DOC = "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html"
CIS_DOC = "CIS Amazon Web Services Foundations Benchmark v3.0.0, section 5 (Networking)"

ANY_V4, ANY_V6 = "0.0.0.0/0", "::/0"
ADMIN_TCP = "[tcp/22, tcp/3389]"
ADMIN_TCP_UDP = "[tcp/22, tcp/3389, udp/22, udp/3389]"
HIGH_RISK = ("20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, "
             "5601, 8080, 8088, 8888, 9200, 9300")


@dataclass(frozen=True, slots=True)
class Literal:
    """A control's literal check: which rules or entries its wording flags.

    `kind` "sg": SG rules in `direction` whose peer is exactly one of `peers` and whose protocol and
    ports overlap `ports`; "nacl": NACL allow entries in `direction` likewise; "default-sg": every rule
    in `direction` of every group named `default`, whatever its peer.
    """

    kind: str
    direction: str  # ingress | egress
    peers: tuple[str, ...] = ()
    ports: str = "all"

    @property
    def services(self) -> ServiceSet:
        return _services(self.ports)

    def text(self) -> str:
        """The check in words, for `sgproof packs` and the docs."""
        if self.kind == "default-sg":
            return f"every {self.direction} rule of a security group named default"
        what = "security group rule" if self.kind == "sg" else "NACL allow entry"
        return f"{self.direction} {what} from {' or '.join(self.peers)} that covers {self.ports}"


@dataclass(frozen=True, slots=True)
class Control:
    """One pack invariant's control: official id, title, severity, where they come from, its literal check."""

    invariant: str
    control: str
    title: str
    severity: str
    source: str
    literal: Literal


def _services(text: str) -> ServiceSet:
    out = ServiceSet.of({})
    for part in text.strip("[]").split(","):
        out = out.union(parse_service(part.strip()))
    return out


_EC2_18 = "[tcp/0-79, tcp/81-442, tcp/444-65535, udp/0-65535]"  # everything but the authorised 80, 443

CONTROLS: dict[str, Control] = {c.invariant: c for c in (
    Control("fsbp-ec2.2-ingress", "FSBP EC2.2", "VPC default security groups should not allow inbound or "
            "outbound traffic", "high", f"{FSBP_DOC}#ec2-2", Literal("default-sg", "ingress")),
    Control("fsbp-ec2.2-egress", "FSBP EC2.2", "VPC default security groups should not allow inbound or "
            "outbound traffic", "high", f"{FSBP_DOC}#ec2-2", Literal("default-sg", "egress")),
    Control("fsbp-ec2.13", "FSBP EC2.13", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to "
            "port 22", "high", f"{FSBP_DOC}#ec2-13", Literal("sg", "ingress", (ANY_V4, ANY_V6), "tcp/22")),
    Control("fsbp-ec2.14", "FSBP EC2.14", "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to "
            "port 3389", "high", f"{FSBP_DOC}#ec2-14", Literal("sg", "ingress", (ANY_V4, ANY_V6), "tcp/3389")),
    Control("fsbp-ec2.18", "FSBP EC2.18", "Security groups should only allow unrestricted incoming traffic for "
            "authorized ports", "high", f"{FSBP_DOC}#ec2-18",
            Literal("sg", "ingress", (ANY_V4, ANY_V6), _EC2_18)),
    Control("fsbp-ec2.19", "FSBP EC2.19", "Security groups should not allow unrestricted access to ports with "
            "high risk", "critical", f"{FSBP_DOC}#ec2-19",
            Literal("sg", "ingress", (ANY_V4, ANY_V6), "[" + ", ".join(f"tcp/{p}" for p in HIGH_RISK.split(", "))
                    + "]")),
    Control("fsbp-ec2.21", "FSBP EC2.21", "Network ACLs should not allow ingress from 0.0.0.0/0 to port 22 or "
            "port 3389", "medium", f"{FSBP_DOC}#ec2-21", Literal("nacl", "ingress", (ANY_V4,), ADMIN_TCP)),
    Control("fsbp-ec2.53", "FSBP EC2.53", "EC2 security groups should not allow ingress from 0.0.0.0/0 to remote "
            "server administration ports", "high", f"{FSBP_DOC}#ec2-53",
            Literal("sg", "ingress", (ANY_V4,), ADMIN_TCP)),
    Control("fsbp-ec2.54", "FSBP EC2.54", "EC2 security groups should not allow ingress from ::/0 to remote "
            "server administration ports", "high", f"{FSBP_DOC}#ec2-54",
            Literal("sg", "ingress", (ANY_V6,), ADMIN_TCP)),
    Control("cis-5.1", "CIS 5.1", "Ensure no Network ACLs allow ingress from 0.0.0.0/0 to remote server "
            "administration ports", "high", CIS_DOC, Literal("nacl", "ingress", (ANY_V4, ANY_V6), ADMIN_TCP_UDP)),
    Control("cis-5.2", "CIS 5.2", "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server "
            "administration ports", "high", CIS_DOC, Literal("sg", "ingress", (ANY_V4,), ADMIN_TCP_UDP)),
    Control("cis-5.3", "CIS 5.3", "Ensure no security groups allow ingress from ::/0 to remote server "
            "administration ports", "high", CIS_DOC, Literal("sg", "ingress", (ANY_V6,), ADMIN_TCP_UDP)),
    Control("cis-5.4-ingress", "CIS 5.4", "Ensure the default security group of every VPC restricts all traffic",
            "high", CIS_DOC, Literal("default-sg", "ingress")),
    Control("cis-5.4-egress", "CIS 5.4", "Ensure the default security group of every VPC restricts all traffic",
            "high", CIS_DOC, Literal("default-sg", "egress")),
)}

PACK_TITLES = {
    "cis-aws-networking": "CIS Amazon Web Services Foundations Benchmark v3.0.0, section 5 Networking",
    "fsbp-ec2": "AWS Foundational Security Best Practices (Security Hub), EC2 network controls",
}


def pack_names() -> list[str]:
    """The built-in packs, by name (the spec files shipped in this folder)."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def pack_file(label: str) -> Path:
    """The shipped file of `pack:NAME`; an unknown pack is an input error naming it."""
    from ..spec.parse import SpecError

    name = label.removeprefix("pack:")
    if name not in pack_names():
        have = ", ".join(f"pack:{p}" for p in pack_names())
        raise SpecError(label, None, f"unknown pack {label} (built-in packs: {have})")
    return FOLDER / f"{name}.yaml"


def load_pack(label: str) -> Spec:
    """The spec of `pack:NAME`, its places named `pack:NAME:LINE:COL`."""
    from ..spec.parse import load_spec_text

    path = pack_file(label)
    return load_spec_text(path.read_text(encoding="utf-8"), f"pack:{path.stem}")


def included_invariants(names: tuple[str, ...], own: dict[str, str], where: str) -> list[Invariant]:
    """The invariants that `include:` adds, in pack order. An id that the spec already defines (or that
    two packs share) is an input error naming both places: a pack's proof is never silently replaced."""
    from ..spec.parse import SpecError

    seen = dict(own)
    out: list[Invariant] = []
    for name in names:
        for inv in load_pack(f"pack:{name}").invariants:
            if inv.id in seen:
                file, line, col = where.rsplit(":", 2)
                raise SpecError(file, f"{line}:{col}", f"pack:{name} defines invariant {inv.id!r}, which is also "
                                f"defined at {seen[inv.id]}; ids must be unique (rename yours)")
            seen[inv.id] = inv.where
            out.append(inv)
    return out
