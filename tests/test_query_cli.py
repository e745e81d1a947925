"""`sgproof query`: errors speak of the command line, --spec lends its groups, public addresses are said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main

from .builders import SUB_A, SUB_B, base, eni, perm, sg

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "cases" / "seed-blog"
NET = str(SEED / "network.json")


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize(("args", "line"), [
    (("--to", "nosuch"), "sgproof: error: --to: 'nosuch' is not a selector: write a mapping such as "
                         "'{security_group: nosuch}', or give --spec SPEC to use its groups"),
    (("--to", "{tag: {Role: nothing}}"), "sgproof: error: --to: tag: {Role: nothing} matches no endpoint of "
                                         "the network"),
    (("--from", "{securitygroup: x}", "--to", "{anywhere: true}"),
     "sgproof: error: --from: expected a selector key: security_group, tag, subnet, vpc, eni, instance, "
     "interface_type, tf_address, cidr, internet, anywhere, any_of, all_of, not (got securitygroup)"),
    (("--from", "{internet: true", "--to", "{anywhere: true}"), "sgproof: error: --from: expected valid YAML"),
    (("--to", "{anywhere: true}", "--ports", "tcp/53-"), "sgproof: error: --ports: expected tcp/PORT"),
    (("--to", "{cidr: 10.0.0.1/8}"), "sgproof: error: --to: host bits set in 10.0.0.1/8"),
    (("--to", "!!set {a: b}"), "sgproof: error: --to: a YAML tag"),
    (("--to", "db", "--spec", str(SEED / "spec.yaml"), "--from", "nosuch"),
     f"sgproof: error: --from: {SEED / 'spec.yaml'} has no group 'nosuch' (its groups: ap, db, app-hosts, "
     "default-members)"),
])
def test_query_errors_speak_of_the_command_line(args: tuple[str, ...], line: str) -> None:
    code, out, err = run("query", *args, "--snapshot", NET)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines
    assert "<query>" not in err and "allow_empty" not in err and "invariant" not in err


def test_query_takes_a_mapping_without_braces() -> None:
    code, out, err = run("query", "--from", "internet: true", "--to", "security_group: '*-mysql'",
                         "--snapshot", NET)
    assert code == 0 and out.startswith("no: proven that"), err


def test_query_uses_the_groups_of_spec() -> None:
    code, out, err = run("query", "--spec", str(SEED / "spec.yaml"), "--from", "ap", "--to", "db",
                         "--ports", "tcp/3306")
    assert code == 0 and out.startswith("yes: a flow can go"), err  # the spec's own source is the network
    code, out, err = run("query", "--spec", str(SEED / "spec.yaml"), "--from", "internet: true", "--to",
                         "{any_of: [db, app-hosts]}", "--snapshot", NET, "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["status"] == "proven", err


def test_query_by_public_address_says_what_it_answers(tmp_path: Path) -> None:
    web = sg("sg-000000000000000a1", "web", [perm("tcp", 22, cidr="10.0.0.0/16")])
    doc = base([web], [
        eni("eni-000000000000000a1", SUB_A, ["10.0.1.10"], [web["GroupId"]], public="54.10.20.30"),
        eni("eni-000000000000000b1", SUB_B, ["10.0.2.10"], [web["GroupId"]]),
    ])
    snap = tmp_path / "net.json"
    snap.write_text(json.dumps(doc))
    code, out, err = run("query", "--from", "{eni: eni-000000000000000b1}", "--to", "cidr: 54.10.20.30",
                         "--ports", "tcp/22", "--snapshot", str(snap))
    assert code == 0, err
    assert out.startswith("yes: a flow can go") and "-> 10.0.1.10:22" in out
    assert ("warning: cidr 54.10.20.30/32 selects eni-000000000000000a1 by its public address 54.10.20.30: "
            "the ENI is selected as an endpoint") in out
