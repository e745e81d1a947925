#!/usr/bin/env python3
"""Refresh the comparison table of docs/packs.md: for the bundled examples and the shared public samples,
per control, what a single-rule checker reports (the rules and entries the control's literal check flags)
against what sgproof proves (the exposure invariant), and how many flagged items some allowed flow uses.

Run from the repository: `.venv/bin/python scripts/pack_table.py` (rewrites the table between the markers
in docs/packs.md) or with `--print` (writes it to stdout only).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sgproof.encode.check import Checker  # noqa: E402
from sgproof.errors import SgproofError  # noqa: E402
from sgproof.packs import pack_names  # noqa: E402
from sgproof.packs.findings import add_config_findings  # noqa: E402
from sgproof.run import verify  # noqa: E402
from sgproof.sources import SourceInfo  # noqa: E402
from sgproof.sources.snapshot import build_network, read_document  # noqa: E402
from sgproof.spec import load_spec  # noqa: E402

DOC = ROOT / "docs" / "packs.md"
BEGIN, END = "<!-- pack-table:begin -->", "<!-- pack-table:end -->"
SHARED = ROOT.parent / "shared" / "data"
FIXTURES = SHARED / "aws-public-fixtures"
BATFISH = SHARED / "batfish-aws"


def _default_nacls(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """What AWS gives every VPC when nobody made another: a default NACL that admits everything."""
    out = []
    for vpc in doc.get("Vpcs", []):
        subs = [s["SubnetId"] for s in doc.get("Subnets", []) if s.get("VpcId") == vpc["VpcId"]]
        entries = [{"RuleNumber": n, "Protocol": "-1", "RuleAction": a, "Egress": e, k: c}
                   for e in (False, True)
                   for n, a, k, c in ((100, "allow", "CidrBlock", "0.0.0.0/0"), (101, "allow", "Ipv6CidrBlock", "::/0"),
                                      (32767, "deny", "CidrBlock", "0.0.0.0/0"),
                                      (32768, "deny", "Ipv6CidrBlock", "::/0"))]
        out.append({"NetworkAclId": "acl-default-" + vpc["VpcId"], "VpcId": vpc["VpcId"], "IsDefault": True,
                    "Associations": [{"SubnetId": s} for s in subs], "Entries": entries})
    return out


def _batfish_account() -> dict[str, Any]:
    """The batfish-aws account sample with the VPC, subnet and NACL lists it lacks (as tests/test_shared_samples
    fills them in): its groups and interfaces are real, the rest is the least that makes it a snapshot."""
    doc: dict[str, Any] = {}
    for name in ("SecurityGroups.json", "NetworkInterfaceTest.json"):
        doc.update(read_document(str(BATFISH / name)))
    doc["Vpcs"] = [{"VpcId": v, "CidrBlock": c} for v, c in (
        ("vpc-815775e7", "10.100.0.0/16"), ("vpc-925131f4", "10.101.0.0/16"),
        ("vpc-b390fad5", "10.193.0.0/16"), ("vpc-f8fad69d", "10.194.0.0/16"))]
    doc["Subnets"] = [{"SubnetId": "subnet-9a0c48fc", "VpcId": "vpc-815775e7", "CidrBlock": "10.100.1.0/24"}]
    doc["NetworkAcls"] = _default_nacls(doc)
    return doc


def networks() -> list[tuple[str, dict[str, Any] | None, str]]:
    """(name, snapshot document or None when it cannot be read, note)."""
    out: list[tuple[str, dict[str, Any] | None, str]] = []
    for ex in sorted((ROOT / "examples").glob("*/network.json")):
        out.append((f"examples/{ex.parent.name}", read_document(str(ex)), ""))
    if BATFISH.is_dir():
        out.append(("batfish-aws (account sample)", _batfish_account(),
                    "Vpcs, Subnets filled in; NetworkAcls: AWS default (allow all)"))
    if FIXTURES.is_dir():
        for d in sorted(p for p in FIXTURES.glob("**/*") if p.is_dir() and any(p.glob("*.json"))):
            name = str(d.relative_to(FIXTURES))
            try:
                doc = read_document(str(d))
            except SgproofError as exc:
                out.append((name, None, exc.render()))
                continue
            note = ""
            if "NetworkAcls" not in doc:
                doc = copy.deepcopy(doc)
                doc["NetworkAcls"] = _default_nacls(doc)
                note = "NetworkAcls missing: AWS default (allow all) filled in"
            out.append((name, doc, note))
    return out


def cell(status: str, flagged: int, exposed: int) -> str:
    """`flagged/exposed verdict`, with a mark where the two answers disagree."""
    mark = ""
    if status == "proven" and flagged:
        mark = " (false alarm)" if exposed == 0 else ""
    elif status == "refuted" and exposed == 0:
        mark = " (not flagged)"
    return f"{flagged}/{exposed} {status}{mark}"


def table() -> str:
    packs = {name: load_spec(f"pack:{name}") for name in pack_names()}
    rows: dict[str, list[tuple[str, list[str]]]] = {name: [] for name in packs}
    notes: list[str] = []
    for net_name, doc, note in networks():
        if note:
            notes.append(f"- `{net_name}`: {note}")
        for name, spec in packs.items():
            if doc is None:
                rows[name].append((net_name, ["not readable"] * len(spec.invariants)))
                continue
            try:
                net = build_network(doc, net_name)
            except SgproofError as exc:
                if name == next(iter(packs)):
                    notes.append(f"- `{net_name}`: refused by sgproof ({' '.join(exc.render().split())[:160]})")
                rows[name].append((net_name, ["refused"] * len(spec.invariants)))
                continue
            checker = Checker(net, spec)
            rep = add_config_findings(verify(spec, net, SourceInfo("snapshot", net_name), 1, checker=checker),
                                      checker)
            cells = []
            for r in rep.results:
                found = r.config_findings or ()
                cells.append(cell(r.status, len(found), sum(1 for f in found if f.exposed)))
            rows[name].append((net_name, cells))
    out: list[str] = []
    for name, spec in packs.items():
        ids = [inv.id for inv in spec.invariants]
        out.append(f"#### pack:{name}")
        out.append("")
        out.append("| network | " + " | ".join(ids) + " |")
        out.append("| --- |" + " --- |" * len(ids))
        for net_name, cells in rows[name]:
            out.append(f"| `{net_name}` | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Each cell: rules or entries the literal check flags / of those, how many some allowed flow of the "
               "invariant uses / sgproof's verdict. *false alarm*: the rule checker flags, sgproof proves no flow "
               "exists; *not flagged*: sgproof refutes the exposure and the rule checker flags nothing (a combination of rules, "
               "a prefix list, or a range narrower than 0.0.0.0/0 or ::/0 that still lies on the internet).")
    if notes:
        out += ["", "Inputs:", "", *notes]
    return "\n".join(out) + "\n"


def main() -> None:
    text = table()
    if "--print" in sys.argv:
        sys.stdout.write(text)
        return
    doc = DOC.read_text(encoding="utf-8")
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
