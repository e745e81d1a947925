"""What lint reports: findings, and the report that carries them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..sources import SourceInfo


@dataclass(frozen=True, slots=True)
class Finding:
    """One hygiene finding: which rule, on which resource, where, what to do, and why it is exact."""

    rule: str
    severity: str  # low | medium | high | critical
    resource: str
    place: str  # a JSON path in the snapshot, or the Terraform address
    message: str
    evidence: tuple[dict[str, Any], ...] = ()
    tf_address: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "severity": self.severity, "resource": self.resource,
                               "place": self.place, "message": self.message, "evidence": list(self.evidence)}
        if self.tf_address:
            out["tf_address"] = self.tf_address
        return out

    def sort_key(self) -> tuple[str, str, str, str]:
        return self.rule, self.resource, self.place, self.message


@dataclass(frozen=True, slots=True)
class LintReport:
    version: str
    source: SourceInfo
    rules: tuple[str, ...]  # the rules that ran
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        by_rule = Counter(f.rule for f in self.findings)
        return {
            "sgproof": self.version,
            "source": self.source.as_json(),
            "rules": list(self.rules),
            "warnings": list(self.warnings),
            "findings": [f.as_json() for f in self.findings],
            "summary": {"findings": len(self.findings), "by_rule": {r: by_rule.get(r, 0) for r in self.rules}},
        }

    def exit_code(self) -> int:
        return 1 if self.findings else 0
