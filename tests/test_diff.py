"""`sgproof diff`: the semantics issue 9 lists, each on a tiny pair of networks, and the command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.encode.diff import Differ, spec_cidrs_of
from sgproof.encode.diff_slice import change_slice
from sgproof.report.diff_model import ChangeGroup
from sgproof.sources.snapshot import build_network
from sgproof.spec.parse import load_spec_text

from .builders import SUB_A, SUB_B, allow_all_nacl, base, eni, entry, perm, sg

WEB, DB, SSH, APP = "sg-0000000000000000a", "sg-0000000000000000d", "sg-00000000000000055", "sg-000000000000000aa"
ENI_A, ENI_B, ENI_C = "eni-0000000000000000a", "eni-0000000000000000b", "eni-0000000000000000c"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "terraform"


def two_tier(db_rules: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    groups = [sg(WEB, "web", [perm("tcp", 443, cidr="0.0.0.0/0")]),
              sg(DB, "db", db_rules if db_rules is not None else [perm("tcp", 3306, sg=WEB)]),
              sg(SSH, "ssh", [perm("tcp", 22, cidr="0.0.0.0/0")]),
              sg(APP, "app", [])]
    enis = [eni(ENI_A, SUB_A, ["10.0.1.10"], [WEB], ipv6=["2600:1f18:1:101::10"]),
            eni(ENI_B, SUB_B, ["10.0.2.10"], [DB], ipv6=["2600:1f18:1:102::10"])]
    return base(groups, enis, **kw)


def diff(old: dict[str, Any], new: dict[str, Any], scope: str = "to: {anywhere: true}"
         ) -> tuple[list[ChangeGroup], list[ChangeGroup]]:
    spec = load_spec_text(f"sgproof: 1\ninvariants:\n  - id: d\n    allow_empty: true\n    deny: {{{scope}}}\n",
                          "<test>")
    inv = spec.invariants[0]
    o, n = build_network(old, "<old>"), build_network(new, "<new>")
    d = Differ(o, n, spec, inv.src, inv.dst, inv.services, spec_cidrs_of(inv.src, inv.dst))
    added, c1 = d.changes("added", 100)
    removed, c2 = d.changes("removed", 100)
    assert c1 and c2
    # the slices (change_slice) find exactly what asking every pair finds
    whole = Differ(o, n, spec, inv.src, inv.dst, inv.services, spec_cidrs_of(inv.src, inv.dst), sliced=False)
    assert _flat(added) == _flat(whole.changes("added", 100)[0])
    assert _flat(removed) == _flat(whole.changes("removed", 100)[0])
    return added, removed


def _flat(groups: list[ChangeGroup]) -> set[tuple[Any, ...]]:
    """Every (source, destination, family, protocol, service range) the groups hold."""
    out = set()
    for g in groups:
        for s in g.src.enis or g.src.ranges:
            for d in g.dst.enis or g.dst.ranges:
                out.update((s, d, g.family, proto, iv) for proto, ivs in g.services.by_proto for iv in ivs)
    return out


def kinds(g: ChangeGroup) -> set[tuple[str, str]]:
    return {(c["kind"], c["change"]) for c in g.cause}


def test_identical_networks_have_no_change() -> None:
    doc = two_tier()
    assert diff(doc, copy.deepcopy(doc)) == ([], [])


def test_an_eni_on_one_side_only_has_all_its_connections_added_and_removed() -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["NetworkInterfaces"].append(eni(ENI_C, SUB_B, ["10.0.2.30"], [DB]))
    added, removed = diff(old, new)
    assert added and not removed
    assert all(ENI_C in (*g.src.enis, *g.dst.enis) for g in added)
    into_c = [g for g in added if g.dst.enis == (ENI_C,) and g.src.enis == (ENI_A,)]
    assert [(g.protocol, g.services.by_proto) for g in into_c] == [(6, ((6, ((3306, 3306),)),))]
    assert ("eni", "added") in kinds(into_c[0])
    assert into_c[0].blocked["reason"] == f"{ENI_C} does not exist in OLD"
    # the same pair the other way round: everything it had is removed
    added2, removed2 = diff(new, old)
    assert not added2 and len(removed2) == len(added)


def test_an_eni_whose_groups_changed() -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    added, removed = diff(old, new)
    assert not removed
    assert {(g.src.is_external, g.dst.enis, g.family, g.protocol) for g in added} == {
        (True, (ENI_B,), 4, 6), (False, (ENI_B,), 4, 6)}
    for g in added:
        assert g.services.by_proto == ((6, ((22, 22),)),)
        assert ("membership", "added") in kinds(g)
        assert g.blocked["gate"] == "sg-ingress"


def test_a_widened_cidr_adds_only_the_new_part() -> None:
    old = two_tier([perm("tcp", 22, cidr="203.0.113.0/25")])
    new = two_tier([perm("tcp", 22, cidr="203.0.113.0/24")])
    added, removed = diff(old, new)
    assert not removed
    assert len(added) == 1
    g = added[0]
    assert g.src.external == ("203.0.113.128/25",)
    assert g.services.by_proto == ((6, ((22, 22),)),)
    assert g.witness.flow.src.address >= 203 << 24 | 113 << 8 | 128
    assert [(c["kind"], c["rule"], c["change"]) for c in g.cause] == [("sg-rule", "tcp 22 from 203.0.113.0/24",
                                                                         "added")]


def _nacl(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    custom = {"NetworkAclId": "acl-0000000000000000b", "VpcId": "vpc-00000000000000001", "IsDefault": False,
              "Associations": [{"SubnetId": SUB_B}],
              "Entries": [*entries, entry(100, True, "allow"), entry(32767, False, "deny"), entry(32767, True, "deny")]}
    return [allow_all_nacl("acl-00000000000000001", True, [SUB_A]), custom]


def test_a_renumbered_nacl_entry_that_changes_the_decision() -> None:
    rules = [perm("tcp", 22, cidr="0.0.0.0/0")]
    old = two_tier(rules, nacls=_nacl([entry(100, False, "deny", "6", "203.0.113.0/24", ports=(22, 22)),
                                       entry(200, False, "allow")]))
    new = two_tier(rules, nacls=_nacl([entry(300, False, "deny", "6", "203.0.113.0/24", ports=(22, 22)),
                                       entry(200, False, "allow")]))
    added, removed = diff(old, new)
    assert not removed
    assert len(added) == 1
    g = added[0]
    assert g.src.external == ("203.0.113.0/24",) and g.services.by_proto == ((6, ((22, 22),)),)
    assert g.blocked["gate"] == "nacl-in" and g.blocked["verdict"] == "deny" and g.blocked["rule"] == 100
    assert {(c["kind"], c["rule"], c["change"]) for c in g.cause} == {("nacl-entry", 100, "removed")}


def test_a_renumbered_nacl_entry_that_changes_nothing() -> None:
    rules = [perm("tcp", 22, cidr="0.0.0.0/0")]
    old = two_tier(rules, nacls=_nacl([entry(100, False, "deny", "6", "203.0.113.0/24", ports=(22, 22)),
                                       entry(200, False, "allow")]))
    new = two_tier(rules, nacls=_nacl([entry(150, False, "deny", "6", "203.0.113.0/24", ports=(22, 22)),
                                       entry(200, False, "allow")]))
    assert diff(old, new) == ([], [])


def test_a_referenced_groups_membership_opens_a_port_on_an_unchanged_group() -> None:
    old = two_tier([perm("tcp", 5432, sg=APP)])
    new = copy.deepcopy(old)
    new["NetworkInterfaces"][0]["Groups"].append({"GroupId": APP})
    added, removed = diff(old, new)
    assert not removed
    g = next(g for g in added if g.dst.enis == (ENI_B,))
    assert g.src.enis == (ENI_A,) and g.services.by_proto == ((6, ((5432, 5432),)),)
    assert any(c["kind"] == "membership" and c["id"] == APP and c["eni"] == ENI_A for c in g.cause)
    db_old = next(s for s in old["SecurityGroups"] if s["GroupId"] == DB)
    db_new = next(s for s in new["SecurityGroups"] if s["GroupId"] == DB)
    assert db_old == db_new


def _pl(cidrs: list[str]) -> list[dict[str, Any]]:
    return [{"PrefixListId": "pl-00000000000000001", "PrefixListName": "office", "AddressFamily": "IPv4",
             "Entries": [{"Cidr": c} for c in cidrs]}]


def test_prefix_list_entries_changed() -> None:
    rules = [perm("tcp", 22, pl="pl-00000000000000001")]
    old = two_tier(rules, ManagedPrefixLists=_pl(["198.51.100.0/24"]))
    new = two_tier(rules, ManagedPrefixLists=_pl(["198.51.100.0/24", "192.0.2.0/24"]))
    added, removed = diff(old, new)
    assert not removed and len(added) == 1
    g = added[0]
    assert g.src.external == ("192.0.2.0/24",)
    pl = next(c for c in g.cause if c["kind"] == "prefix-list")
    assert pl["entries_added"] == ["192.0.2.0/24"] and pl["entries_removed"] == []


def test_ipv6_opened_where_ipv4_already_connects_is_a_change() -> None:
    old = two_tier([perm("tcp", 3306, cidr="10.0.0.0/16")])
    new = two_tier([perm("tcp", 3306, cidr="10.0.0.0/16", cidr6="2600:1f18:1:100::/56")])
    added, removed = diff(old, new)
    assert not removed
    assert [(g.src.enis, g.dst.enis, g.family, g.services.by_proto) for g in added] == [
        ((ENI_A,), (ENI_B,), 6, ((6, ((3306, 3306),)),))]
    assert added[0].witness.flow.src.family == 6


def test_json_order_does_not_matter() -> None:
    old = two_tier([perm("tcp", 22, cidr="0.0.0.0/0"), perm("udp", 53, cidr="10.0.0.0/8")],
                   nacls=_nacl([entry(90, False, "deny", "6", "203.0.113.0/24", ports=(22, 22)),
                                entry(200, False, "allow")]))
    new = copy.deepcopy(old)
    for key in ("SecurityGroups", "NetworkInterfaces", "NetworkAcls", "Subnets"):
        new[key].reverse()
    for g in new["SecurityGroups"]:
        g["IpPermissions"].reverse()
    for n in new["NetworkAcls"]:
        n["Entries"].reverse()
    assert diff(old, new) == ([], [])


def test_scope_restricts_the_comparison() -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    added, _ = diff(old, new, "from: {internet: true}, to: {anywhere: true}")
    assert [g.src.is_external for g in added] == [True]
    assert diff(old, new, "to: {anywhere: true}, ports: tcp/3306") == ([], [])


# ---- the command line --------------------------------------------------------------------------------
def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diff", *args])
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, doc: dict[str, Any]) -> str:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def test_cli_identical_is_exit_0_and_complete(tmp_path: Path) -> None:
    a = write(tmp_path, "a.json", two_tier())
    code, out, err = run(a, a, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["complete"] is True and doc["added"] == [] and doc["removed"] == []
    assert doc["summary"] == {"added": 0, "removed": 0}


def test_cli_json_shape_of_a_change(tmp_path: Path) -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    code, out, err = run(write(tmp_path, "o.json", old), write(tmp_path, "n.json", new), "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert set(doc) >= {"sgproof", "old", "new", "assumptions", "added", "removed", "complete", "summary"}
    assert doc["old"]["kind"] == "snapshot" and doc["assumptions"]["routing"] in ("open", "modelled")
    g = doc["added"][0]
    assert g["from"]["external"] and g["from"]["eni_count"] == 0  # external sources first
    assert set(g) >= {"from", "to", "protocol", "ports", "witness", "blocked_in_old", "cause"}
    assert g["protocol"] == "tcp" and g["ports"] == "22"
    assert g["witness"]["allowed"] is True and g["witness"]["dst_port"] == 22
    assert g["blocked_in_old"]["gate"] == "sg-ingress"
    assert doc["summary"] == {"added": 2, "removed": 0}


def test_cli_max_changes_cuts_and_says_so(tmp_path: Path) -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    code, out, _ = run(write(tmp_path, "o.json", old), write(tmp_path, "n.json", new), "--format", "json",
                       "--max-changes", "1")
    doc = json.loads(out)
    assert code == 1 and len(doc["added"]) == 1 and doc["complete"] is False
    assert doc["truncated"]["max_changes"] == 1


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"Vpcs": [}')
    good = write(tmp_path, "a.json", two_tier())
    for args in ([str(bad), good], [good], [good, good, "--ports", "tcp/99999"], [good, good, "--from", "{nope: 1}"],
                 [good, str(tmp_path / "missing.json")]):
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert err.count("\n") == 1 and err.startswith("sgproof: error: "), err
        assert "Traceback" not in err


def test_cli_terraform_plan_before_and_after() -> None:
    plan = EXAMPLES / "open-3306" / "plan.json"
    code, out, err = run("--terraform", str(plan), "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert doc["old"]["state"] == "before" and doc["new"]["state"] == "after"
    world = [g for g in doc["added"] if g["from"]["external"] and g["ports"] == "3306"]
    assert world, doc["added"]
    assert any(step.get("tf_address") == "aws_vpc_security_group_ingress_rule.db_mysql_world[0]"
               for step in world[0]["witness"]["trace"])
    assert all(c.get("tf_address") for c in world[0]["cause"])


@pytest.mark.parametrize("fmt", ["text", "markdown", "sarif"])
def test_cli_formats(tmp_path: Path, fmt: str) -> None:
    old = two_tier()
    new = copy.deepcopy(old)
    new["SecurityGroups"][2]["GroupName"] = "ssh | <b>*evil*</b>"
    new["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    code, out, err = run(write(tmp_path, "o.json", old), write(tmp_path, "n.json", new), "--format", fmt)
    assert code == 1, err
    if fmt == "text":
        assert out.index("external addresses") < out.index(f"{ENI_A} [")
    if fmt == "markdown":
        assert "<b>" not in out and "*evil*" not in out and "| <" not in out
        assert out.index("external addresses") < out.index(f"{ENI_A} \\[")
    if fmt == "sarif":
        import jsonschema

        schema = json.loads((Path(__file__).resolve().parents[1] / "../shared/schemas/sarif-schema-2.1.0.json")
                            .read_text())
        doc = json.loads(out)
        jsonschema.Draft4Validator(schema).validate(doc)
        assert len(doc["runs"][0]["results"]) == 2


def test_cli_sarif_locates_the_terraform_resource() -> None:
    plan = EXAMPLES / "open-3306" / "plan.json"
    code, out, _ = run("--terraform", str(plan), "--format", "sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    names = {loc["logicalLocations"][0]["fullyQualifiedName"] for r in results for loc in r["locations"]}
    assert "aws_vpc_security_group_ingress_rule.db_mysql_world[0]" in names or "aws_instance.db" in names


def _routes(extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {"RouteTables": [{"RouteTableId": "rtb-00000000000000001", "VpcId": "vpc-00000000000000001",
                             "Associations": [{"Main": True}],
                             "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local",
                                         "Origin": "CreateRouteTable", "State": "active"}, *extra]}],
            "InternetGateways": [{"InternetGatewayId": "igw-00000000000000001",
                                  "Attachments": [{"VpcId": "vpc-00000000000000001", "State": "available"}]}]}


def test_a_route_added() -> None:
    old = two_tier(**_routes([]))
    old["NetworkInterfaces"][1]["Groups"].append({"GroupId": SSH})
    old["NetworkInterfaces"][1]["Association"] = {"PublicIp": "54.0.0.2"}
    new = copy.deepcopy(old)
    new["RouteTables"][0]["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-00000000000000001",
                                            "Origin": "CreateRoute", "State": "active"})
    added, removed = diff(old, new)
    assert not removed
    inbound = [g for g in added if g.src.is_external and g.dst.enis == (ENI_B,) and g.protocol == 6]
    assert inbound and inbound[0].services.contains(6, 22)
    assert inbound[0].blocked["gate"] in ("route", "route-reply")
    assert any(c["kind"] == "route" for c in inbound[0].cause)
    # no internet route, no change: the same networks without it are equal
    assert diff(old, copy.deepcopy(old)) == ([], [])


def test_slices_follow_the_change() -> None:
    old = two_tier()
    assert change_slice(build_network(old, "<old>"), build_network(copy.deepcopy(old), "<new>")) == []
    # a rule of db changed: only pairs into db's members on its port, from what the rule names
    new = copy.deepcopy(old)
    new["SecurityGroups"][1]["IpPermissions"][0]["FromPort"] = 3300
    rects = change_slice(build_network(old, "<old>"), build_network(new, "<new>"))
    assert rects and all(r.dst.enis == frozenset({ENI_B}) and r.src.enis == frozenset({ENI_A}) for r in rects)
    assert all(r.services is not None and not r.services.contains(6, 22) for r in rects)
    # a membership change: the rules that name the group reach the ENI, no other rule changed
    new = copy.deepcopy(old)
    new["NetworkInterfaces"].append(eni(ENI_C, SUB_A, ["10.0.1.30"], [APP]))
    old2 = copy.deepcopy(new)
    new["NetworkInterfaces"][2]["Groups"].append({"GroupId": WEB})
    rects = change_slice(build_network(old2, "<old>"), build_network(new, "<new>"))
    assert rects and all(ENI_C in (r.src.enis or ()) or ENI_C in (r.dst.enis or ()) for r in rects)
    added, removed = diff(old2, new)
    assert any(g.src.enis == (ENI_C,) and g.dst.enis == (ENI_B,) for g in added) and not removed
