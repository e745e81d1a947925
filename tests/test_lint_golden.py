"""sgproof lint on the public describe-API samples in ../shared/data (batfish-aws/ and aws-public-fixtures/):
every finding was checked by hand against the JSON once and is kept as a golden case in
tests/lint-golden/<case>.json (the findings as `lint --format json` prints them).

Why each finding is right (a rule's finding appears only where its definition holds):

batfish-aws account (SecurityGroups.json + NetworkInterfaceTest.json, with the VPC, subnet and allow-all
NACL lists the sample lacks, as tests/test_shared_samples.py builds it; no RouteTables: routing is open):
- sg-redundant-rule ×4: sg-331ad04e's ingress `tcp 22 from 38.140.26.4/32` (and .5, .6, .7) lies inside the
  same permission's `tcp 22 from 0.0.0.0/0`.
- sg-unused ×7: sg-331ad04e, sg-6c4d1408, sg-83b348fe, sg-94df21e9, sg-9a1f3ffe, sg-a30183d9, sg-bb550cdf:
  the two ENIs carry only sg-adcd87d0, the only references name sg-55510831, sg-eed02393 and sg-cf3f86b3,
  and none of them is named `default`.
- sg-reference-empty ×2: sg-3dfb3140 names sg-55510831 and sg-eed02393 names itself; no ENI carries either.
- sg-reference-unknown: sg-55510831's `tcp 3306 from sg-cf3f86b3`; sg-cf3f86b3 is not in SecurityGroups.
- No sg-dead-rule: the one carried group (sg-adcd87d0) admits all from 0.0.0.0/0, and the two ENIs of one
  subnet reach each other (same subnet: no NACL; open routing).

batfish-aws account + NetworkAclTest.json on subnet-1f315846 (an RDS ENI in it, as the shared-samples test
does): the NACL has egress #100 allow all, ingress #100 deny tcp 3306 from 162.243.144.192/32 and no * entry
(no entry matches: denied).
- nacl-redundant-entry: ingress #100 denies what no entry would allow anyway (without it, no entry matches:
  denied alike).
- nacl-broken-return ×4 on egress #100: outbound icmp echo requests, protocol 0, tcp and udp requests are
  allowed, but nothing inbound is allowed (the one ingress entry denies), so no echo reply, same-protocol
  reply or reply to any client port 1024-65535 comes back.
- sg-unused drops sg-55510831 (the RDS ENI carries it) and so does sg-reference-empty's finding on
  sg-3dfb3140, which names it.
- sg-dead-rule on sg-55510831's address rules `tcp 3306 from 10.193.0.0/16, 107.170.243.58/32, ...`: the
  RDS ENI's subnet NACL admits nothing inbound, so no flow into it exists (the unknown reference
  sg-cf3f86b3 is taken to match every external address: dead too, for the same NACL). Its egress `all to
  0.0.0.0/0` stays alive: a one-way ICMP message (an echo reply, type 0) needs no reply, and the NACL lets it
  out.

batfish-aws account + NetworkAclIcmpTest.json: egress #100 allow icmp all, #200 allow icmp type 0 code 1;
no ingress entry.
- nacl-shadowed-entry: #200 matches icmp 0/1, which #100 (icmp all) already decides.
- nacl-broken-return on #100: outbound echo requests (type 8) are allowed; no ingress entry admits the echo
  reply (type 0).
- sg-dead-rule ×6 and the rest as above (the subnet admits nothing inbound; no nacl-redundant-entry: the
  NACL has no ingress entry).

aws-public-fixtures/batfish-hybrid-cloud-aws/us-west-2:
- nacl-broken-return ×4: acl-4db39c28 egress #100 allows all; ingress allows only tcp from
  162.243.144.192/32, so for the witness remote 0.0.0.0 the echo reply, protocol 0 and the replies to every
  client port of tcp and udp are denied.
- sg-redundant-rule ×4: as in the batfish-aws account (the same group).
- sg-dead-rule ×5: sg-331ad04e's `tcp 22 from 38.140.26.x/32` and `icmp all from 38.140.26.0/24`: every
  member is a private address of vpc-b390fad5 with no public IP, whose route table sends 0.0.0.0/0 to an
  internet gateway, which carries no traffic to a private address: no external source reaches them. The
  0.0.0.0/0 rule stays alive (other members in 192.168.0.0/16 match it). sg-94df21e9's `tcp 80 from ::/0`
  and `tcp 443 from ::/0`: its one member eni-0681f828 has no IPv6 address.
- sg-unused ×4: sg-6c4d1408, sg-9a1f3ffe, sg-a30183d9, sg-bb550cdf are on no ENI and referenced by no rule.
- sg-reference-empty ×2, sg-reference-unknown: as in the batfish-aws account.
- route-blackhole: rtb-f28e418b `0.0.0.0/0 -> nat-055c00735cace0ec4` has State blackhole.

aws-public-fixtures/batfish-test-nat-gateway:
- nacl-redundant-entry: acl-0792adae678b88f85 ingress #100 allow icmp all from 10.1.1.0/24 is followed by
  #200 allow all from 0.0.0.0/0, which allows every packet #100 decides.
- sg-unused: sg-0b647281e3f8f7c18 is on no ENI and no rule references it.
- sg-reference-empty: the default group sg-0010bf850022667c2 names itself and no ENI carries it.

aws-public-fixtures/batfish-test-public-private-subnet, batfish-test-subnet, pybatfish-hybrid-cloud
us-east-2 and us-west-2: only sg-reference-empty, one per default group that names itself and that no ENI
carries (sg-03a9dc5ba789b0f7f; sg-09918aab1079824f5; sg-00df459b6c23594b4 and sg-085c5c2b682cc6a91;
sg-0303bc4d9216ae923 and sg-0f30d124b450143b9).

aws-public-fixtures/batfish-test-vpc-peering: sg-reference-empty ×3 (sg-0b47189ed64dfaab9,
sg-0d657cf4bcdb03076, sg-0de2882d2df2dec1d: default groups naming themselves, on no ENI) and route-blackhole
(rtb-017c36290c9baf017 `0.0.0.0/0 -> igw-0a2c9ae201b441bff`, State blackhole).

Not linted (the snapshot reader refuses them, exit 2, so lint has nothing to say): batfish-test-aws-configs
(subnet 172.31.0.0/20 outside its VPC's 192.168.0.0/16), cloudmapper-demo and
batfish-test-vpc-peering-multi-account (no NetworkAcls list).

Set SGPROOF_REGEN_GOLDEN=1 to rewrite the files (then check every change by hand and say why here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sgproof.cli import main

from .builders import batfish_nacl_subnet, batfish_sample_account

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BATFISH = DATA / "batfish-aws"
FIXTURES = DATA / "aws-public-fixtures"
GOLDEN = Path(__file__).resolve().parent / "lint-golden"  # not under cases/: those are verify cases
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared samples not found at {DATA}")

FOLDERS = {
    "batfish-hybrid-cloud-aws": "batfish-hybrid-cloud-aws/us-west-2",
    "batfish-test-nat-gateway": "batfish-test-nat-gateway/aws_configs",
    "batfish-test-public-private-subnet": "batfish-test-public-private-subnet/aws_configs",
    "batfish-test-subnet": "batfish-test-subnet/aws_configs",
    "batfish-test-vpc-peering": "batfish-test-vpc-peering/aws_configs",
    "pybatfish-hybrid-cloud-us-east-2": "pybatfish-hybrid-cloud/us-east-2",
    "pybatfish-hybrid-cloud-us-west-2": "pybatfish-hybrid-cloud/us-west-2",
}
REFUSED = ("batfish-test-aws-configs/aws_configs", "cloudmapper-demo/us-east-1",
           "batfish-test-vpc-peering-multi-account/123456789012/us-east-1")


def _account(snap: Path, nacl_sample: str | None) -> Path:
    """The batfish-aws sample account, with the lists it lacks (and optionally one of its NACL samples on
    subnet-1f315846 with an RDS ENI in it), as tests/test_shared_samples.py builds it."""
    batfish_sample_account(snap, BATFISH)
    if nacl_sample:
        batfish_nacl_subnet(snap, BATFISH / nacl_sample)
    return snap


def _lint(snapshot: Path) -> tuple[int, list[dict[str, Any]]]:
    res = CliRunner().invoke(main, ["lint", "--snapshot", str(snapshot), "--format", "json"])
    if res.exit_code not in (0, 1):
        return res.exit_code, []
    return res.exit_code, json.loads(res.stdout)["findings"]


def _check(name: str, snapshot: Path) -> None:
    code, got = _lint(snapshot)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SGPROOF_REGEN_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(path.read_text())
    assert code == (1 if want else 0)
    assert got == want, f"{name}: the findings moved from the hand-checked golden {path.name}"


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_public_fixture_findings_are_the_hand_checked_ones(name: str) -> None:
    _check(name, FIXTURES / FOLDERS[name])


@pytest.mark.parametrize("nacl_sample", [None, "NetworkAclTest.json", "NetworkAclIcmpTest.json"])
def test_batfish_account_findings_are_the_hand_checked_ones(nacl_sample: str | None, tmp_path: Path) -> None:
    name = "batfish-aws-account" + (f"-{nacl_sample.removesuffix('.json')}" if nacl_sample else "")
    _check(name, _account(tmp_path / "snap", nacl_sample))


@pytest.mark.parametrize("folder", REFUSED)
def test_samples_the_reader_refuses_are_bad_input(folder: str) -> None:
    assert _lint(FIXTURES / folder)[0] == 2
