"""A small network whose names, tags and rule descriptions try to break every report format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.builders import SUB_A, SUB_B, base, eni, perm, sg

IMG = "<img src=x onerror=alert(1)>"
ANSI = "\x1b[31mred\x1b[0m\nsummary: 9 proven, 0 refuted, 0 errors"
MARKUP = "[red]evil[/red] `tick` | pipe *star* _under_ <script>alert(2)</script>"
TESTED = "Connectivity test"
GROUP2 = "<b>db</b>|[bold]x[/bold]`"
BASTION, DB, BOTH = "eni-0aaaaaaaaaaaaaaa1", "eni-0bbbbbbbbbbbbbbb2", "eni-0ccccccccccccccc3"
PL = "pl-0123456789abcdef0"


def _described(p: dict[str, Any], text: str) -> dict[str, Any]:
    for key in ("IpRanges", "UserIdGroupPairs", "PrefixListIds"):
        for item in p[key]:
            item["Description"] = text
    return p


def network() -> dict[str, Any]:
    web = sg("sg-00000000000000001", f"web {MARKUP}", [
        _described(perm("tcp", 22, cidr="203.0.113.0/24"), f"office ssh {IMG} {ANSI}"),
        _described(perm("tcp", 443, pl=PL), "vpn https"),
    ])
    db = sg("sg-00000000000000002", GROUP2, [_described(perm("tcp", 5432, sg="sg-00000000000000001"), TESTED)])
    enis = [eni(BASTION, SUB_A, ["10.0.1.10"], ["sg-00000000000000001"], public="54.0.0.10",
                tags={"Name": IMG}),
            eni(DB, SUB_B, ["10.0.2.20"], ["sg-00000000000000002"], tags={"Name": ANSI}),
            eni(BOTH, SUB_B, ["10.0.2.30"], ["sg-00000000000000001", "sg-00000000000000002"],
                tags={"Name": MARKUP})]
    doc = base([web, db], enis)
    doc["ManagedPrefixLists"] = [{"PrefixListId": PL, "PrefixListName": "corp-vpn",
                                  "Entries": [{"Cidr": "198.51.100.0/24"}]}]
    return doc


SPEC = f"""sgproof: 1
name: hostile
source: network.json
groups:
  office: {{cidr: 203.0.113.0/24}}
  bastion: {{eni: {BASTION}}}
  db: {{eni: {DB}}}
invariants:
  - id: no-ssh-from-internet
    description: "no ssh from the internet {IMG}"
    deny: {{from: {{internet: true}}, to: bastion, ports: tcp/22}}
  - id: bastion-not-db
    deny: {{from: bastion, to: db, ports: tcp/5432}}
  - id: vpn-https-closed
    deny: {{from: {{cidr: 198.51.100.0/24}}, to: bastion, ports: tcp/443}}
  - id: office-reaches-both
    reach: {{from: office, to: {{eni: {BOTH}}}, ports: tcp/5432}}
"""


def write(folder: Path) -> str:
    """The hostile network and its spec in `folder`; returns the spec path."""
    (folder / "network.json").write_text(json.dumps(network()), encoding="utf-8")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return str(spec)
