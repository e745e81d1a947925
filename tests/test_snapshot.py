"""The snapshot reader (contract section 2): every malformed input is one InputError naming file and place."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sgproof import sources
from sgproof.cli import main
from sgproof.errors import InputError
from sgproof.sources import MAX_JSON_BYTES, load_json
from sgproof.sources.snapshot import build_network, read_document

from .builders import SUB_A, SUB_B, VPC, allow_all_nacl, base, eni, entry, perm, sg, verdicts

SG1, SG2 = "sg-00000000000000001", "sg-00000000000000002"


def doc0() -> dict[str, Any]:
    """Two ENIs, a database group open to the VPC on 3306, the allow-all default NACL."""
    return base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.0.0/16")])],
                [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1], public="54.1.1.1"), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])


def refused(mutate: Callable[[dict[str, Any]], object], file: str = "<test>") -> str:
    doc = doc0()
    mutate(doc)
    with pytest.raises(InputError) as info:
        build_network(doc, file)
    return str(info.value)


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


# --- 1. a NACL item without Entries ------------------------------------------------------------------


def test_nacl_without_entries_is_an_input_error_not_deny_all() -> None:
    msg = refused(lambda d: d["NetworkAcls"][0].pop("Entries"))
    assert msg.startswith("<test>:NetworkAcls[0].Entries: expected the NACL's Entries list")


def test_nacl_with_an_empty_entries_list_denies_with_a_loud_warning() -> None:
    doc = doc0()
    doc["NetworkAcls"].append({"NetworkAclId": "acl-0e", "VpcId": VPC, "IsDefault": False, "Entries": [],
                               "Associations": [{"SubnetId": SUB_B}]})
    net = build_network(doc, "<test>")
    assert any("acl-0e has no entries" in w and "NetworkAcls[1]" in w for w in net.warnings)
    inv = "  - id: t\n    deny: {from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/3306}\n"
    assert verdicts(doc, inv) == {"t": "proven"}


# --- 2. host bits -----------------------------------------------------------------------------------


def test_cidr_with_host_bits_says_so_with_its_path() -> None:
    msg = refused(lambda d: d["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"][0].update(CidrIp="2.2.2.2/28"))
    assert "<test>:SecurityGroups[1].IpPermissions[0].IpRanges[0].CidrIp: expected" in msg
    assert "host bits set in 2.2.2.2/28" in msg and "2.2.2.0/28" in msg


# --- 3. directories ----------------------------------------------------------------------------------


def _split(folder: Path, doc: dict[str, Any]) -> None:
    folder.mkdir()
    for key, value in doc.items():
        (folder / f"{key}.json").write_text(json.dumps({key: value}))


def test_directory_errors_name_the_member_file_and_its_own_index(tmp_path: Path) -> None:
    doc = doc0()
    folder = tmp_path / "snap"
    _split(folder, doc)
    # a second interfaces file: its item 0 is item 2 of the merged list
    bad = eni("eni-3", SUB_A, ["10.0.1.11"], [SG1])
    bad["PrivateIpAddresses"][0] = 7
    (folder / "zz-more.json").write_text(json.dumps({"NetworkInterfaces": [bad]}))
    with pytest.raises(InputError) as info:
        build_network(read_document(str(folder)), str(folder))
    assert str(info.value).startswith(f"{folder / 'zz-more.json'}:NetworkInterfaces[0].PrivateIpAddresses[0]: expected an object")


def test_directory_duplicate_names_both_files(tmp_path: Path) -> None:
    doc = doc0()
    folder = tmp_path / "snap"
    _split(folder, doc)
    (folder / "again.json").write_text(json.dumps({"Subnets": doc["Subnets"][:1]}))
    with pytest.raises(InputError) as info:
        build_network(read_document(str(folder)), str(folder))
    msg = str(info.value)
    assert msg.startswith(f"{folder / 'again.json'}:Subnets[0]: expected one item per subnet id")
    assert f"{folder / 'Subnets.json'}:Subnets[0]" in msg


@pytest.mark.parametrize("name", ["aa-extra.json", "zz-extra.json"])
def test_wrongly_typed_key_in_an_extra_file_is_blamed_on_it_whatever_the_order(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "snap"
    _split(folder, doc0())
    (folder / name).write_text(json.dumps({"NetworkAcls": {"NetworkAclId": "acl-x"}}))
    with pytest.raises(InputError) as info:
        read_document(str(folder))
    assert str(info.value).startswith(f"{folder / name}:NetworkAcls: expected a list")


def test_json_symlink_loop_in_a_directory_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    _split(folder, doc0())
    os.symlink(folder / "loop-b.json", folder / "loop-a.json")
    os.symlink(folder / "loop-a.json", folder / "loop-b.json")
    with pytest.raises(InputError) as info:
        read_document(str(folder))
    assert str(info.value) == f"{folder / 'loop-a.json'}: expected a readable snapshot file (got a symbolic link loop)"


def test_directory_errors_through_the_cli_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    doc = doc0()
    doc["Subnets"][1]["CidrBlock"] = "10.0.2.7/24"
    _split(folder, doc)
    spec = tmp_path / "spec.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {anywhere: true}}\n")
    code, _, err = run("verify", str(spec), "--snapshot", str(folder))
    assert code == 2
    assert err.strip() == (f"sgproof: error: {folder / 'Subnets.json'}:Subnets[1].CidrBlock: expected an IPv4 CIDR "
                           "block such as 10.0.0.0/16 (got host bits set in 10.0.2.7/24 (the network is 10.0.2.0/24))")


# --- 4. the bounded JSON loader ----------------------------------------------------------------------

BAD_JSON = {
    "huge-int": (b'{"Unknown": {"x": ' + b"9" * 5000 + b"}}", ":1:19: expected integers of at most 4300 digits"),
    "deep": (b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}", ": expected JSON nested at most 200 levels deep"),
    "deep-but-parseable": (b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}", ":$.x[0][0][0][0][0][0][0]...: expected JSON nested"),
    # brackets written in strings, escaped quotes and backslashes must not hide the depth from the text's bound
    "deep-behind-strings": (b'{"a": "' + b"]}" * 400 + b'", "b\\\\": "\\"]]\\\\", "x": ' + b"[" * 300 + b"]" * 300 + b"}",
                            ":$.x[0][0][0][0][0][0][0]...: expected JSON nested"),
    "not-utf8": (b'{"Vpcs": [], "x": "\xff\xfe"}', ":1:20: expected UTF-8 text"),
    "utf16": ('{"Vpcs": []}'.encode("utf-16"), ":1:1: expected UTF-8 text in the snapshot file (got UTF-16"),
    "nan": (b'{"x": NaN}', ": expected standard JSON numbers"),
    "duplicate-key": (b'{"Vpcs": [], "Vpcs": []}', ": expected each key once in a JSON object (got 'Vpcs' twice)"),
    "lone-surrogate": (b'{"x": ["\\ud800"]}', ":$.x[0]: expected valid Unicode text"),
    "syntax": (b'{"x": [1,]}', ":1:10: expected valid JSON"),
}


@pytest.fixture(params=["serial", "checked aside"])
def json_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every loader test runs serially and with the duplicate-key parse in a forked child."""
    aside = request.param == "checked aside"
    monkeypatch.setattr(sources, "PARALLEL_JSON_CHARS", 0 if aside else 1 << 62)
    if aside:  # whatever threads earlier tests in this worker left running
        monkeypatch.setattr(sources, "_may_fork", lambda: True)
    return str(request.param)


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_bad_json_is_one_located_line_and_exit_2(tmp_path: Path, name: str, json_mode: str) -> None:
    data, fragment = BAD_JSON[name]
    path = tmp_path / "network.json"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_document(str(path))
    assert str(info.value).startswith(f"{path}{fragment}"), str(info.value)
    spec = tmp_path / "spec.yaml"
    spec.write_text("sgproof: 1\ninvariants:\n  - id: x\n    deny: {to: {anywhere: true}}\n")
    code, _, err = run("verify", str(spec), "--snapshot", str(path), "--format", "json")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"sgproof: error: {path}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\:,ab\u00e9\u2028'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\a'), inner, max_size=4),
    max_leaves=40)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    return 1 + max(map(_depth, value), default=0) if isinstance(value, list) else 0


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans(), st.sampled_from([None, 0, 2]))
def test_the_text_s_depth_bound_is_never_below_the_tree_s_depth(value: Any, ascii_only: bool, indent: int | None) -> None:
    from sgproof.sources import SHAPE_ROUNDS, _depth_bound

    data = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    bound = _depth_bound(data)
    depth = _depth(value)
    if depth <= SHAPE_ROUNDS:
        assert bound is not None
    assert bound is None or depth <= bound <= 2 * depth


def test_the_first_refusal_in_the_text_wins_whoever_parses(tmp_path: Path, json_mode: str) -> None:
    path = tmp_path / "network.json"
    # an object with a duplicate key closes, then a syntax error: the parse without the hook sees only the second
    path.write_bytes(b'{"a": {"Vpcs": [], "Vpcs": []}, "x": [1,]}')
    with pytest.raises(InputError, match=r"expected each key once in a JSON object \(got 'Vpcs' twice\)$"):
        load_json(str(path), "snapshot file")
    path.write_bytes(b'{"a": [{"b": 1, "b": 2}], "c": NaN}')
    with pytest.raises(InputError, match="got 'b' twice"):
        load_json(str(path), "snapshot file")
    path.write_bytes(b'{"a": [1,], "b": 1, "b": 2}')
    with pytest.raises(InputError, match=r":1:10: expected valid JSON"):
        load_json(str(path), "snapshot file")
    doc = {"Vpcs": [{"VpcId": VPC, "Tags": [{"Key": "a\\\"]", "Value": "{[\u00e9"}]}], "n": [[1.5, None, True]]}
    path.write_text(json.dumps(doc))
    assert load_json(str(path), "snapshot file") == doc


def test_a_child_that_does_not_finish_leaves_the_check_to_the_serial_parse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forks = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid == 0:
            os._exit(3)  # the child dies before it answers
        forks.append(pid)
        return pid

    monkeypatch.setattr(sources, "PARALLEL_JSON_CHARS", 0)
    monkeypatch.setattr(sources, "_may_fork", lambda: True)
    monkeypatch.setattr(os, "fork", fork)
    path = tmp_path / "network.json"
    path.write_bytes(b'{"Vpcs": [], "Vpcs": []}')
    with pytest.raises(InputError, match="got 'Vpcs' twice"):
        load_json(str(path), "snapshot file")
    path.write_bytes(b'{"Vpcs": []}')
    assert load_json(str(path), "snapshot file") == {"Vpcs": []}
    assert len(forks) == 2


def test_no_child_is_forked_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not sources._may_fork()
    finally:
        stop.set()
        other.join()


def test_non_regular_files_are_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: expected a regular file for the snapshot file"):
        read_document("/dev/zero")
    folder = tmp_path / "snap"
    _split(folder, doc0())
    (folder / "dir.json").mkdir()
    with pytest.raises(InputError, match=r"dir\.json: expected a regular file for the snapshot file \(got a directory\)"):
        read_document(str(folder))


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(MAX_JSON_BYTES + 1)  # sparse: nothing is written, nothing must be read
    with pytest.raises(InputError) as info:
        load_json(str(big), "snapshot file")
    assert str(info.value) == f"{big}: expected a snapshot file of at most 1 GiB (got {MAX_JSON_BYTES + 1} bytes)"


def test_a_path_too_long_is_an_input_error(tmp_path: Path) -> None:
    path = str(tmp_path / ("x" * 5000))
    with pytest.raises(InputError, match="a path too long for the file system"):
        read_document(path)
    with pytest.raises(InputError, match="a path too long for the file system"):
        load_json(path + ".json", "Terraform plan JSON file")


def test_terraform_plans_use_the_same_loader(tmp_path: Path) -> None:
    from sgproof.sources.terraform import load_plan

    plan = tmp_path / "plan.json"
    plan.write_bytes(b'{"format_version": "1.2", "x": ' + b"1" * 5000 + b"}")
    with pytest.raises(InputError, match="integers of at most 4300 digits"):
        load_plan(str(plan))
    plan.write_bytes(b'{"format_version": "\xff"}')
    with pytest.raises(InputError, match="UTF-8 text"):
        load_plan(str(plan))
    with pytest.raises(InputError, match="regular file"):
        load_plan("/dev/zero")


# --- 5. items of the wrong shape ---------------------------------------------------------------------

WRONG_SHAPES: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "ip-range-a-list": (lambda d: d["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"].__setitem__(0, ["x"]),
                        "SecurityGroups[1].IpPermissions[0].IpRanges[0]: expected an object"),
    "private-ip-a-number": (lambda d: d["NetworkInterfaces"][0]["PrivateIpAddresses"].__setitem__(0, 5),
                            "NetworkInterfaces[0].PrivateIpAddresses[0]: expected an object"),
    "private-ip-text-a-list": (
        lambda d: d["NetworkInterfaces"][0]["PrivateIpAddresses"][0].update(PrivateIpAddress=["10.0.1.10"]),
        "NetworkInterfaces[0].PrivateIpAddresses[0].PrivateIpAddress: expected an IPv4 address"),
    "group-id-a-dict": (lambda d: d["NetworkInterfaces"][0]["Groups"][0].update(GroupId={"a": 1}),
                        "NetworkInterfaces[0].Groups[0].GroupId: expected a non-empty string"),
    "instance-id-a-list": (lambda d: d["NetworkInterfaces"][0].update(Attachment={"InstanceId": ["i-1"]}),
                           "NetworkInterfaces[0].Attachment.InstanceId: expected a non-empty string"),
    "attachment-a-string": (lambda d: d["NetworkInterfaces"][0].update(Attachment="i-1"),
                            "NetworkInterfaces[0].Attachment: expected an object"),
    "tag-value-a-number": (lambda d: d["NetworkInterfaces"][0].update(TagSet=[{"Key": "Name", "Value": 5}]),
                           "NetworkInterfaces[0].TagSet[0].Value: expected a string"),
    "tag-key-a-list": (lambda d: d["Vpcs"][0].update(Tags=[{"Key": ["Name"], "Value": "x"}]),
                       "Vpcs[0].Tags[0].Key: expected a tag key"),
    "tag-a-string": (lambda d: d["NetworkInterfaces"][0].update(TagSet=[{"Key": "a", "Value": "b"}, "Name=x"]),
                     "NetworkInterfaces[0].TagSet[1]: expected an object"),
    "second-tag-without-key": (lambda d: d["NetworkInterfaces"][0].update(TagSet=[{"Key": "a"}, {"Value": "c"}]),
                               "NetworkInterfaces[0].TagSet[1].Key: expected a tag key"),
    "group-name-a-dict": (lambda d: d["SecurityGroups"][0].update(GroupName={"x": 1}),
                          "SecurityGroups[0].GroupName: expected a string"),
    "description-a-list": (lambda d: d["NetworkInterfaces"][0].update(Description=["x"]),
                           "NetworkInterfaces[0].Description: expected a string"),
    "association-a-list": (lambda d: d["NetworkInterfaces"][0].update(Association=["54.1.1.1"]),
                           "NetworkInterfaces[0].Association: expected an object"),
    "public-ip-a-number": (lambda d: d["NetworkInterfaces"][0].update(Association={"PublicIp": 5}),
                           "NetworkInterfaces[0].Association.PublicIp: expected an IPv4 address"),
    "cidr-state-a-list": (lambda d: d["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0].update(Ipv6CidrBlockState=[]),
                          "Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlockState: expected an object"),
    "port-range-a-list": (lambda d: d["NetworkAcls"][0]["Entries"].insert(0, entry(90, False, "deny", "6") | {"PortRange": [1, 2]}),
                          "NetworkAcls[0].Entries[0].PortRange: expected an object"),
    "icmp-type-a-string": (lambda d: d["NetworkAcls"][0]["Entries"].insert(0, entry(90, False, "deny", "1", icmp=(8, 0)) | {"IcmpTypeCode": {"Type": "8"}}),
                           "NetworkAcls[0].Entries[0].IcmpTypeCode.Type: expected an integer"),
    "requester-managed-a-string": (lambda d: d["NetworkInterfaces"][0].update(RequesterManaged="false"),
                                   "NetworkInterfaces[0].RequesterManaged: expected true or false"),
    "prefix-entry-a-string": (lambda d: d.update(ManagedPrefixLists=[{"PrefixListId": "pl-1", "Entries": ["10.0.0.0/8"]}]),
                              "ManagedPrefixLists[0].Entries[0]: expected an object"),
    "instances-a-dict": (lambda d: d.update(Reservations=[{"Instances": {"InstanceId": "i-1"}}]),
                         "Reservations[0].Instances: expected a list"),
    "region-a-list": (lambda d: d.update(Region=["us-east-1"]), "Region: expected a string"),
    "id-with-a-newline": (lambda d: d["Subnets"][0].update(SubnetId="subnet-1\nTraceback"),
                          "Subnets[0].SubnetId: expected a non-empty string (got 'subnet-1\\nTraceback')"),
}


@pytest.mark.parametrize("name", sorted(WRONG_SHAPES))
def test_items_of_the_wrong_shape_are_refused_with_their_path(name: str) -> None:
    mutate, fragment = WRONG_SHAPES[name]
    msg = refused(mutate)
    assert msg.startswith(f"<test>:{fragment}"), msg
    assert "\n" not in msg


# --- 6. malformed input that was accepted ------------------------------------------------------------


def _nacl_entry(d: dict[str, Any], **fields: Any) -> None:
    e = {"RuleNumber": 90, "Egress": False, "RuleAction": "deny", "Protocol": "-1", "CidrBlock": "0.0.0.0/0"}
    e.update(fields)
    d["NetworkAcls"][0]["Entries"].insert(0, {k: v for k, v in e.items() if v is not None})


def _second_vpc(d: dict[str, Any], cidr: str = "10.9.0.0/16") -> None:
    d["Vpcs"].append({"VpcId": "vpc-9", "CidrBlock": cidr})
    d["NetworkAcls"].append(allow_all_nacl("acl-9", True, []) | {"VpcId": "vpc-9"})


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "tcp-rule-without-ports": (lambda d: [d["SecurityGroups"][1]["IpPermissions"][0].pop(k) for k in ("FromPort", "ToPort")],
                               "SecurityGroups[1].IpPermissions[0].FromPort: expected an integer (got missing)"),
    "udp-rule-without-to-port": (lambda d: d["SecurityGroups"][1]["IpPermissions"].append(
        perm("udp", 53, cidr="10.0.0.0/16") | {"ToPort": None}),
        "SecurityGroups[1].IpPermissions[1].ToPort: expected an integer (got missing)"),
    "nacl-tcp-without-port-range": (lambda d: _nacl_entry(d, Protocol="6"),
                                    "NetworkAcls[0].Entries[0].PortRange: expected an object (got missing)"),
    "nacl-ipv6-in-cidr-block": (lambda d: _nacl_entry(d, CidrBlock="::/0"),
                                "NetworkAcls[0].Entries[0].CidrBlock: expected an IPv4 CIDR block"),
    "nacl-ipv4-in-ipv6-block": (lambda d: _nacl_entry(d, CidrBlock=None, Ipv6CidrBlock="0.0.0.0/0"),
                                "NetworkAcls[0].Entries[0].Ipv6CidrBlock: expected an IPv6 CIDR block"),
    "nacl-both-families": (lambda d: _nacl_entry(d, Ipv6CidrBlock="::/0"),
                           "NetworkAcls[0].Entries[0]: expected one of CidrBlock and Ipv6CidrBlock"),
    "vpc-ipv6-primary": (lambda d: d["Vpcs"][0].update(CidrBlock="2600:1f18:1:100::/56"),
                         "Vpcs[0].CidrBlock: expected an IPv4 CIDR block"),
    "eni-ipv6-private-ip": (lambda d: d["NetworkInterfaces"][1].update(PrivateIpAddress="2600:1f18:1:102::10"),
                            "NetworkInterfaces[1].PrivateIpAddress: expected an IPv4 address"),
    "eni-ipv4-in-ipv6-list": (lambda d: d["NetworkInterfaces"][1].update(Ipv6Addresses=[{"Ipv6Address": "10.0.2.11"}]),
                              "NetworkInterfaces[1].Ipv6Addresses[0].Ipv6Address: expected an IPv6 address"),
    "fullwidth-digits": (lambda d: d["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"][0].update(CidrIp="１０.0.0.0/8"),
                         "SecurityGroups[1].IpPermissions[0].IpRanges[0].CidrIp: expected an IPv4 CIDR block"),
    "leading-zero-address": (lambda d: d["NetworkInterfaces"][1].update(PrivateIpAddress="010.0.2.10"),
                             "NetworkInterfaces[1].PrivateIpAddress: expected an IPv4 address (got 010.0.2.10)"),
    "leading-zero-prefix": (lambda d: d["Subnets"][0].update(CidrBlock="10.0.1.0/024"),
                            "Subnets[0].CidrBlock: expected an IPv4 CIDR block"),
    "ipv6-zone-index": (lambda d: d["NetworkInterfaces"][1].update(Ipv6Addresses=[{"Ipv6Address": "2600:1f18:1:102::10%eth0"}]),
                        "NetworkInterfaces[1].Ipv6Addresses[0].Ipv6Address: expected an IPv6 address"),
    "fullwidth-protocol": (lambda d: d["SecurityGroups"][1]["IpPermissions"][0].update(IpProtocol="６"),
                           "SecurityGroups[1].IpPermissions[0].IpProtocol: expected a protocol"),
    "leading-zero-protocol": (lambda d: _nacl_entry(d, Protocol="06", PortRange={"From": 1, "To": 2}),
                              "NetworkAcls[0].Entries[0].Protocol: expected a protocol"),
    "integer-protocol": (lambda d: d["SecurityGroups"][1]["IpPermissions"][0].update(IpProtocol=6),
                         "SecurityGroups[1].IpPermissions[0].IpProtocol: expected a protocol string"),
    "is-default-a-string": (lambda d: d["NetworkAcls"][0].update(IsDefault="false"),
                            "NetworkAcls[0].IsDefault: expected true or false (a JSON boolean) (got false)"),
    "state-not-a-string": (lambda d: d["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0].update(Ipv6CidrBlockState={"State": 1}),
                           "Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlockState.State: expected a block state"),
    "duplicate-subnet": (lambda d: d["Subnets"].append(copy.deepcopy(d["Subnets"][0])),
                         "Subnets[2]: expected one item per subnet id (subnet-0000000000000000a is also Subnets[0])"),
    "duplicate-nacl": (lambda d: d["NetworkAcls"].append(copy.deepcopy(d["NetworkAcls"][0]) | {"IsDefault": False}),
                       "NetworkAcls[1]: expected one item per network ACL id"),
    "two-default-nacls": (lambda d: d["NetworkAcls"].append(allow_all_nacl("acl-2", True, [])),
                          "NetworkAcls[1].IsDefault: expected one default network ACL per VPC"),
    "duplicate-instance": (lambda d: d.update(Reservations=[{"Instances": [{"InstanceId": "i-1"}]},
                                                            {"Instances": [{"InstanceId": "i-1"}]}]),
                           "Reservations[1].Instances[0]: expected one item per instance id (i-1 is also Reservations[0].Instances[0])"),
    "duplicate-eni": (lambda d: d["NetworkInterfaces"].append(copy.deepcopy(d["NetworkInterfaces"][0])),
                      "NetworkInterfaces[2]: expected one item per network interface id (eni-1 is also NetworkInterfaces[0])"),
    "duplicate-prefix-list": (lambda d: d.update(ManagedPrefixLists=[{"PrefixListId": "pl-1", "Entries": []}] * 2),
                              "ManagedPrefixLists[1]: expected one item per prefix list id"),
    "eni-vpc-undescribed": (lambda d: d["NetworkInterfaces"][0].update(VpcId="vpc-nowhere"),
                            "NetworkInterfaces[0].VpcId: expected the VPC of its subnet"),
    "eni-vpc-not-its-subnets": (lambda d: (_second_vpc(d), d["NetworkInterfaces"][0].update(VpcId="vpc-9")),
                                "NetworkInterfaces[0].VpcId: expected the VPC of its subnet subnet-0000000000000000a"),
    "subnet-outside-its-vpc": (lambda d: d["Subnets"][1].update(CidrBlock="10.1.2.0/24"),
                               "Subnets[1].CidrBlock: expected addresses inside the blocks of"),
    "ipv6-subnet-outside-its-vpc": (
        lambda d: d["Subnets"][1]["Ipv6CidrBlockAssociationSet"][0].update(Ipv6CidrBlock="2600:1f18:2:102::/64"),
        "Subnets[1].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock: expected addresses inside the blocks of"),
    "eni-address-outside-its-subnet": (
        lambda d: d["NetworkInterfaces"][1].update(PrivateIpAddress="10.0.1.99", PrivateIpAddresses=[]),
        "NetworkInterfaces[1]: expected addresses inside its subnet subnet-0000000000000000b (10.0.2.0/24) "
        "(got 10.0.1.99)"),
    "nacl-of-another-vpc": (lambda d: (_second_vpc(d), d["NetworkAcls"].append(
        allow_all_nacl("acl-x", False, [SUB_A]) | {"VpcId": "vpc-9"})),
        "NetworkAcls[2]: expected network ACL associations with subnets of its own VPC"),
    "nacl-vpc-undescribed": (lambda d: d["NetworkAcls"][0].update(VpcId="vpc-nowhere"),
                             "NetworkAcls[0].VpcId: expected a VPC that the snapshot's Vpcs list holds"),
    "sg-without-egress-list": (lambda d: d["SecurityGroups"][0].pop("IpPermissionsEgress"),
                               "SecurityGroups[0].IpPermissionsEgress: expected a list (AWS always returns it"),
    "eni-without-groups": (lambda d: d["NetworkInterfaces"][0].pop("Groups"),
                           "NetworkInterfaces[0].Groups: expected a list"),
    "nacl-without-associations": (lambda d: d["NetworkAcls"][0].pop("Associations"),
                                  "NetworkAcls[0].Associations: expected a list"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_refused_with_its_path(name: str) -> None:
    mutate, fragment = MALFORMED[name]
    msg = refused(mutate)
    assert msg.startswith(f"<test>:{fragment}"), msg


def test_the_document_itself_is_valid() -> None:
    net = build_network(doc0(), "<test>")
    assert {e.id for e in net.enis} == {"eni-1", "eni-2"} and not net.warnings


def test_disassociated_vpc_blocks_hold_no_addresses() -> None:
    doc = doc0()
    doc["Vpcs"][0]["CidrBlockAssociationSet"] = [{"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}},
                                                 {"CidrBlock": "10.5.0.0/16", "CidrBlockState": {"State": "disassociated"}}]
    net = build_network(doc, "<test>")
    assert net.vpcs[VPC].cidrs[0][:2] == (4, 10 << 24) and len([c for c in net.vpcs[VPC].cidrs if c[0] == 4]) == 1


def test_ipv6_only_subnet_and_icmp_without_ports_stay_valid() -> None:
    """What real AWS data omits is not required: an IPv6-only subnet, ports on a protocol -1 rule."""
    doc = doc0()
    doc["Subnets"][0].pop("CidrBlock")
    six = eni("eni-6", SUB_A, ["10.0.1.10"], [SG1], ipv6=["2600:1f18:1:101::10"])
    six.pop("PrivateIpAddress")
    six["PrivateIpAddresses"] = []
    doc["NetworkInterfaces"] = [six]
    doc["SecurityGroups"][0]["IpPermissions"] = [perm("-1", cidr="0.0.0.0/0"), perm("icmp", cidr="0.0.0.0/0")]
    net = build_network(doc, "<test>")
    assert net.enis[0].private[0][0] == 6


# --- 7. overlapping VPCs -----------------------------------------------------------------------------


def test_overlapping_vpcs_are_accepted_with_a_warning_naming_both() -> None:
    doc = doc0()
    _second_vpc(doc, "10.0.128.0/17")
    net = build_network(doc, "<test>")
    [w] = [w for w in net.warnings if "share addresses" in w]
    assert VPC in w and "vpc-9" in w and "10.0.128.0/17" in w
    doc = doc0()
    _second_vpc(doc, "10.1.0.0/16")
    assert not any("share addresses" in w for w in build_network(doc, "<test>").warnings)


def test_many_overlapping_vpcs_give_one_bounded_warning() -> None:
    doc = doc0()
    for i in range(30):
        doc["Vpcs"].append({"VpcId": f"vpc-{i:03d}", "CidrBlock": "10.0.0.0/16"})
    [w] = [w for w in build_network(doc, "<test>").warnings if "share addresses" in w]
    assert "more pair(s)" in w and len(w) < 1000



def test_the_cycle_collector_pauses_while_a_snapshot_is_read_and_comes_back_even_on_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing and modelling make millions of objects and no cycles: the collector is paused for them
    (a third of the reading time at 10k ENIs) and enabled again afterwards, whatever happens."""
    import gc

    from sgproof.sources import load_network
    from sgproof.sources import snapshot as snap

    seen: list[bool] = []
    real = snap.build_network

    def spy(doc: Any, file: str) -> Any:
        seen.append(gc.isenabled())
        return real(doc, file)

    monkeypatch.setattr(snap, "build_network", spy)
    assert gc.isenabled()
    load_network(snapshot=str(Path(__file__).resolve().parents[1] / "examples" / "three-tier" / "network.json"))
    assert seen == [False] and gc.isenabled()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError):
        load_network(snapshot=str(bad))
    assert gc.isenabled()
