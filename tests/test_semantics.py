"""Contract section 4, one behaviour per test; each verdict flips if the behaviour is implemented wrong."""

from __future__ import annotations

from .builders import SUB_A, SUB_B, allow_all_nacl, base, eni, entry, perm, sg, verdicts

SG1, SG2, SG3 = "sg-00000000000000001", "sg-00000000000000002", "sg-00000000000000003"


def one(doc: dict, body: str, kind: str = "deny", settings: str = "") -> str:
    return verdicts(doc, f"  - id: t\n    {kind}: {body}\n", settings)["t"]


def test_union_of_all_groups_on_an_eni() -> None:
    doc = base([sg(SG1, "a", []), sg(SG2, "b", [perm("tcp", 3306, cidr="10.0.0.0/16")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1, SG2]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG1])])
    assert one(doc, "{to: {eni: eni-1}, ports: tcp/3306}") == "refuted"
    assert one(doc, "{to: {eni: eni-2}, ports: tcp/3306}") == "proven"


def test_stateful_groups_need_no_rule_for_the_reply() -> None:
    # the destination group has no egress rule at all: the reply still returns (stateful)
    doc = base([sg(SG1, "client", []), sg(SG2, "server", [perm("tcp", 443, cidr="10.0.0.0/16")], egress=[])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    assert one(doc, "{from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/443}", "reach") == "proven"


def test_source_egress_is_checked() -> None:
    doc = base([sg(SG1, "client", [], egress=[perm("tcp", 80, cidr="0.0.0.0/0")]),
                sg(SG2, "server", [perm("tcp", 443, cidr="10.0.0.0/16")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    assert one(doc, "{from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/443}", "reach") == "refuted"


def test_group_reference_covers_secondary_addresses_never_public_ones() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, sg=SG1)])],
               [eni("eni-1", SUB_A, ["10.0.1.10", "10.0.1.11"], [SG1], public="54.1.1.1"),
                eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    # the reference admits eni-1 (the witness may use either private address) ...
    assert one(doc, "{from: {cidr: 10.0.1.11/32}, to: {eni: eni-2}, ports: tcp/3306}", "reach") == "proven"
    # ... and nothing on the internet, eni-1's public address included
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/3306}") == "proven"


def test_group_reference_reaches_into_a_peered_vpc() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, sg=SG1)])],
               [eni("eni-1", "subnet-0000000000000000c", ["10.9.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    doc["Vpcs"].append({"VpcId": "vpc-00000000000000009", "CidrBlock": "10.9.0.0/16"})
    doc["Subnets"].append({"SubnetId": "subnet-0000000000000000c", "VpcId": "vpc-00000000000000009",
                           "CidrBlock": "10.9.1.0/24"})
    doc["NetworkAcls"].append(allow_all_nacl("acl-00000000000000009", True, []) | {"VpcId": "vpc-00000000000000009"})
    doc["NetworkInterfaces"][0]["VpcId"] = "vpc-00000000000000009"
    assert one(doc, "{from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/3306}", "reach") == "proven"


def test_unknown_referenced_group_matches_external_addresses_with_a_warning() -> None:
    doc = base([sg(SG2, "db", [perm("tcp", 3306, sg="sg-0ffffffffffffffff")])],
               [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2]), eni("eni-3", SUB_A, ["10.0.1.10"], [])])
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/3306}") == "refuted"
    assert one(doc, "{from: {eni: eni-3}, to: {eni: eni-2}, ports: tcp/3306}") == "proven"
    from sgproof.sources.snapshot import build_network

    assert any("sg-0ffffffffffffffff" in w for w in build_network(doc, "x").warnings)


def test_prefix_list_entries_are_matched() -> None:
    pl = {"PrefixListId": "pl-00000000000000001", "PrefixListName": "office", "Entries": [{"Cidr": "203.0.113.0/24"}]}
    doc = base([sg(SG2, "bastion", [perm("tcp", 22, pl="pl-00000000000000001")])],
               [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2], public="54.1.1.2")], ManagedPrefixLists=[pl])
    assert one(doc, "{from: {cidr: 203.0.113.0/24}, to: {eni: eni-2}, ports: tcp/22}", "reach") == "proven"
    assert one(doc, "{from: {all_of: [{internet: true}, {not: {cidr: 203.0.113.0/24}}]}, to: {eni: eni-2}, ports: tcp/22}") == "proven"


def test_ipv4_rules_never_match_ipv6_traffic() -> None:
    doc = base([sg(SG2, "web", [perm("tcp", 443, cidr="0.0.0.0/0")])],
               [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2], ipv6=["2600:1f18:1:102::10"])])
    assert one(doc, "{from: {cidr: '::/0'}, to: {eni: eni-2}, ports: tcp/443}") == "proven"
    assert one(doc, "{from: {cidr: 0.0.0.0/0}, to: {eni: eni-2}, ports: tcp/443}") == "refuted"


def test_protocol_minus_one_and_other_numbers_mean_every_port() -> None:
    doc = base([sg(SG2, "gre", [perm("47", 10, 20, cidr="0.0.0.0/0")]), sg(SG3, "all", [perm("-1", 10, 20, cidr="0.0.0.0/0")])],
               [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2]), eni("eni-3", SUB_A, ["10.0.1.10"], [SG3])])
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: proto/47}") == "refuted"
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/1-65535}") == "proven"
    assert one(doc, "{from: {internet: true}, to: {eni: eni-3}, ports: tcp/5000}") == "refuted"


def test_icmp_type_and_code() -> None:
    doc = base([sg(SG2, "ping", [perm("icmp", 8, -1, cidr="0.0.0.0/0")])], [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2])])
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: icmp/8}") == "refuted"
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: icmp/3}") == "proven"
    assert one(doc, "{from: {internet: true}, to: {eni: eni-2}, ports: icmpv6}") == "proven"


def _nacl_doc(entries: list[dict]) -> dict:
    custom = {"NetworkAclId": "acl-00000000000000002", "VpcId": "vpc-00000000000000001", "IsDefault": False,
              "Associations": [{"SubnetId": SUB_B}], "Entries": entries}
    return base([sg(SG2, "open", [perm("-1", cidr="0.0.0.0/0")])], [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2]),
                eni("eni-1", SUB_A, ["10.0.1.10"], [SG2]), eni("eni-4", SUB_B, ["10.0.2.11"], [SG2])],
                [allow_all_nacl("acl-00000000000000001", True, [SUB_A]), custom])


def test_nacl_entries_are_ordered_by_rule_number_not_json_order() -> None:
    entries = [entry(200, False, "allow", "6", ports=(22, 22)), entry(100, False, "deny", "6", ports=(22, 22)),
               entry(100, True, "allow")]
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}") == "proven"
    entries[1]["RuleNumber"] = 300
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}") == "refuted"


def test_nacls_are_stateless_the_reply_needs_ephemeral_ports() -> None:
    entries = [entry(100, False, "allow", "6", ports=(22, 22)), entry(100, True, "allow", "6", ports=(22, 22))]
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}") == "proven"
    entries.append(entry(110, True, "allow", "6", ports=(1024, 65535)))
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}") == "refuted"


def test_some_ephemeral_port_suffices_and_the_range_is_a_setting() -> None:
    entries = [entry(100, False, "allow", "6", ports=(22, 22)), entry(100, True, "allow", "6", ports=(50000, 50010))]
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}") == "refuted"
    narrow = "settings: {ephemeral_ports: 32768-40000}\n"
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: tcp/22}", settings=narrow) == "proven"


def test_no_nacl_inside_one_subnet() -> None:
    entries = [entry(100, True, "deny")]  # the custom NACL denies everything
    assert one(_nacl_doc(entries), "{from: {eni: eni-4}, to: {eni: eni-2}, ports: tcp/22}", "reach") == "proven"
    assert one(_nacl_doc(entries), "{from: {eni: eni-1}, to: {eni: eni-2}, ports: tcp/22}", "reach") == "refuted"


def test_missing_star_entry_still_denies() -> None:
    entries = [entry(100, True, "allow")]
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}}") == "proven"


def test_echo_request_needs_its_reply() -> None:
    entries = [entry(100, False, "allow", "1", icmp=(8, -1)), entry(100, True, "allow", "1", icmp=(8, -1))]
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: icmp/8}") == "proven"
    entries.append(entry(110, True, "allow", "1", icmp=(0, 0)))
    assert one(_nacl_doc(entries), "{from: {internet: true}, to: {eni: eni-2}, ports: icmp/8}") == "refuted"
    # destination unreachable is one-way: no reply needed
    entries2 = [entry(100, False, "allow", "1", icmp=(3, -1))]
    assert one(_nacl_doc(entries2), "{from: {internet: true}, to: {eni: eni-2}, ports: icmp/3}") == "refuted"


def test_only_is_refuted_by_a_source_outside_from() -> None:
    doc = base([sg(SG1, "app", []), sg(SG2, "db", [perm("tcp", 3306, cidr="10.0.0.0/16")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG2]),
                eni("eni-3", SUB_A, ["10.0.1.20"], [])])
    assert one(doc, "{from: {security_group: app}, to: {security_group: db}, ports: tcp/3306}", "only") == "refuted"
    doc["SecurityGroups"][1]["IpPermissions"] = [perm("tcp", 3306, sg=SG1)]
    assert one(doc, "{from: {security_group: app}, to: {security_group: db}, ports: tcp/3306}", "only") == "proven"


def test_external_destination_and_eni_without_groups() -> None:
    doc = base([sg(SG1, "no-egress", [], egress=[])], [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]),
                                                        eni("eni-9", SUB_A, ["10.0.1.99"], [])])
    assert one(doc, "{from: {eni: eni-1}, to: {internet: true}}") == "proven"
    assert one(doc, "{from: {eni: eni-9}, to: {internet: true}}") == "refuted"


def test_public_address_receives_from_external_sources() -> None:
    doc = base([sg(SG2, "web", [perm("tcp", 443, cidr="0.0.0.0/0")])],
               [eni("eni-2", SUB_B, ["10.0.2.10"], [SG2], public="54.1.1.2")])
    assert one(doc, "{from: {internet: true}, to: {cidr: 54.1.1.2/32}, ports: tcp/443}") == "refuted"


def test_reach_needs_a_common_address_family() -> None:
    doc = base([sg(SG1, "open", [perm("-1", cidr="0.0.0.0/0", cidr6="::/0")])],
               [eni("eni-1", SUB_A, ["10.0.1.10"], [SG1]), eni("eni-2", SUB_B, ["10.0.2.10"], [SG1])])
    doc["NetworkInterfaces"][1]["PrivateIpAddress"] = None
    doc["NetworkInterfaces"][1]["PrivateIpAddresses"] = []
    doc["NetworkInterfaces"][1]["Ipv6Addresses"] = [{"Ipv6Address": "2600:1f18:1:102::10"}]
    assert one(doc, "{from: {eni: eni-1}, to: {eni: eni-2}}", "reach") == "refuted"
