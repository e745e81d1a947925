"""Network sources: a saved snapshot, a live account (boto3) or a Terraform plan, each turned into a Network.

Every source first produces the snapshot document of contract section 2 (the merged describe-API JSON);
`sgproof.sources.snapshot.build_network` is the one place that turns such a document into the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Network

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a network came from, for the report's scope section."""

    kind: str  # "snapshot" | "aws" | "terraform"
    path: str | None
    inputs: tuple[tuple[str, str], ...] = ()  # (file, sha256) of every input file read
    account: str | None = None
    region: str | None = None
    collected_at: str | None = None
    snapshot: str | None = None  # the live snapshot a Terraform plan is laid over

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": self.path}
        if self.snapshot:
            out["snapshot"] = self.snapshot
        if self.account:
            out["account"] = self.account
        if self.region:
            out["region"] = self.region
        if self.collected_at:
            out["collected_at"] = self.collected_at
        return out


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_network(
    *,
    snapshot: str | None = None,
    aws: bool = False,
    profile: str | None = None,
    regions: tuple[str, ...] = (),
    terraform: str | None = None,
    progress: Progress | None = None,
) -> tuple[Network, SourceInfo]:
    """Read the one source the user named and build the model from it."""
    from . import snapshot as snap

    if aws and (snapshot or terraform):
        raise InputError(None, "--aws", "exactly one source: --aws cannot be combined with --snapshot or --terraform")
    if aws:
        from . import aws as aws_source

        doc = aws_source.collect_merged(profile=profile, regions=regions, progress=progress)
        info = SourceInfo(
            "aws", None, (), _meta(doc, "AccountId"), _meta(doc, "Region"), _meta(doc, "CollectedAt")
        )
        return snap.build_network(doc, "<aws>"), info
    if terraform:
        from . import terraform as tf_source

        base = snap.read_document(snapshot) if snapshot else None
        if base is not None and snapshot:
            snap.build_network(base, snapshot)  # a malformed live document is the snapshot's fault
        plan = tf_source.load_plan(terraform)
        doc, network = tf_source.plan_network(plan, terraform, base, snapshot)
        inputs = [(terraform, sha256_file(terraform))]
        if snapshot:
            inputs += snap.input_files(snapshot)
        info = SourceInfo("terraform", terraform, tuple(inputs), _meta(doc, "AccountId"), _meta(doc, "Region"),
                          snapshot=snapshot)
        return network, info
    if snapshot:
        doc = snap.read_document(snapshot)
        info = SourceInfo(
            "snapshot",
            snapshot,
            tuple(snap.input_files(snapshot)),
            _meta(doc, "AccountId"),
            _meta(doc, "Region"),
            _meta(doc, "CollectedAt"),
        )
        return snap.build_network(doc, snapshot), info
    raise InputError(None, None, "a network source: --snapshot FILE_OR_DIR, --aws or --terraform PLAN_JSON")


def _meta(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return str(value) if value is not None else None
