"""Spec inputs that must be exit 2 with one located line: never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import datetime
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgproof.cli import main
from sgproof.errors import InputError
from sgproof.spec import parse
from sgproof.spec.parse import load_spec_text

ROOT = Path(__file__).resolve().parents[1]
NET = str(ROOT / "tests" / "cases" / "seed-blog" / "network.json")
HEAD = "sgproof: 1\n"
INV = "invariants:\n  - id: x\n    deny: {to: {anywhere: true}, ports: tcp/22}\n"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stdout, res.stderr


def one_error(tmp_path: Path, text: str) -> str:
    """Run verify on a spec text; it must exit 2 with exactly one located error line; returns it."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    code, _, err = run("verify", str(spec), "--snapshot", NET, "--format", "json")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"sgproof: error: {spec}:"), lines[0]
    assert "Traceback" not in err
    return lines[0]


def deny(ports: str = "tcp/22", to: str = "{anywhere: true}", extra: str = "") -> str:
    return HEAD + f"invariants:\n  - id: x\n{extra}    deny: {{to: {to}, ports: {ports}}}\n"


BAD = {
    "superscript-ephemeral": (HEAD + 'settings: {ephemeral_ports: "²-65535"}\n' + INV, ":2:29: expected a port range"),
    "open-ephemeral": (HEAD + 'settings: {ephemeral_ports: "1024-"}\n' + INV, ":2:29: expected a port range"),
    "ephemeral-leading-zero": (HEAD + 'settings: {ephemeral_ports: "01024-65535"}\n' + INV, "expected a port range"),
    "arabic-digits-port": (deny("tcp/٣٣٠٦"), ":4:41: expected tcp/PORT"),
    "open-port-range": (deny("udp/53-"), ":4:41: expected udp/PORT"),
    "open-port-range-low": (deny("udp/-53"), ":4:41: expected udp/PORT"),
    "leading-zero-port": (deny("tcp/080"), "expected tcp/PORT"),
    "huge-port": (deny("tcp/" + "9" * 5000), "expected tcp/PORT"),
    "leading-zero-proto": (deny("proto/06"), "expected proto/NUMBER"),
    "fullwidth-proto": (deny("proto/６"), "expected proto/NUMBER"),
    "arabic-icmp": (deny("icmp/٨"), "expected icmp"),
    "fullwidth-cidr": (deny(to="{cidr: １０.0.0.0/8}"), ":4:23: expected a CIDR block"),
    "octal-looking-cidr": (deny(to="{cidr: 010.0.1.5}"), ":4:23: expected a CIDR block"),
    "arabic-prefix": (deny(to="{cidr: 10.0.0.0/٨}"), ":4:23: expected a CIDR block"),
    "leading-zero-prefix": (deny(to="{cidr: 10.0.0.0/08}"), ":4:23: expected a prefix length"),
    "netmask-prefix": (deny(to="{cidr: 10.0.0.0/255.0.0.0}"), ":4:23: expected a CIDR block"),
    "scoped-ipv6": (deny(to="{cidr: 'fe80::1%eth0'}"), ":4:23: expected a CIDR block"),
    "too-long-prefix": (deny(to="{cidr: 10.0.0.0/33}"), ":4:23: expected a prefix length 0-32"),
    "host-bits": (deny(to="{cidr: 2.2.2.2/28}"), ":4:23: host bits set in 2.2.2.2/28"),
    "host-bits-v6": (deny(to="{cidr: '2001:db8::1/64'}"), ":4:23: host bits set in 2001:db8::1/64"),
    "except-everything": (deny("tcp/22", extra="") .replace("ports: tcp/22}", "ports: tcp/22, except_ports: tcp/1-100}"),
                          ":4:49: except_ports removes every port of ports: the invariant would check nothing"),
    "deep-not": (deny(to="{not: " * 200 + "{anywhere: true}" + "}" * 200), "more than 64 levels of nesting"),
    "deep-name": (HEAD + "name: " + "[" * 100_000 + "]" * 100_000 + "\n" + INV, "more than 64 levels of nesting"),
    "deep-block-nesting": (HEAD + "name:\n" + "".join("  " * i + "-\n" for i in range(1, 80)) + INV,
                           "more than 64 levels of nesting"),
    "long-source": (HEAD + "source: " + "a" * 5000 + "\n" + INV, ":2:9: expected source: a path the system can open"),
    "empty-source": (HEAD + 'source: ""\n' + INV, ":2:9: expected source: the path of a snapshot"),
    "set-tag": (HEAD + "name: !!set {a: null}\n" + INV, ":2:7: a YAML tag (tag:yaml.org,2002:set)"),
    "python-name-tag": (HEAD + "name: !!python/name:os.system x\n" + INV, ":2:7: a YAML tag"),
    "str-tag-right-kind": (HEAD + "name: !!str x\n" + INV, ":2:7: a YAML tag"),
    "local-tag": (deny(to="!sel {anywhere: true}"), ":4:16: a YAML tag (!sel)"),
    "non-specific-tag": (HEAD + "name: ! x\n" + INV, ":2:7: a YAML tag (!)"),
    "self-group": (HEAD + "groups:\n  a: {any_of: [b]}\n  b: a\n" + INV.replace("{anywhere: true}", "a"),
                   ":4:6: a group that refers to itself: a -> b -> a"),
    "unknown-pack": (HEAD + "include: [pack:nosuch]\n" + INV, ":2:11: unknown pack pack:nosuch"),
    "bad-pack-syntax": (HEAD + "include: [fsbp]\n" + INV, ":2:11: expected include: pack:NAME"),
    "bad-severity": (deny(extra="    severity: urgent\n"), ":4:15: expected severity: low, medium, high, critical"),
    "except-without-reason": (deny(extra="    except: [{from: {internet: true}}]\n"),
                              ":4:14: expected an except item with a reason"),
    "except-bad-date": (deny(extra="    except: [{reason: r, until: 2027-02-30}]\n"),
                        ":4:33: expected until: a date YYYY-MM-DD (got 2027-02-30)"),
    "except-unknown-key": (deny(extra="    except: [{reason: r, port: tcp/22}]\n"), ":4:26: expected an except key"),
    "except-unknown-group": (deny(extra="    except: [{reason: r, from: nosuch}]\n"),
                             ":4:32: expected a group defined under groups: (got nosuch)"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_spec_input_is_one_located_line(tmp_path: Path, name: str) -> None:
    text, fragment = BAD[name]
    line = one_error(tmp_path, text)
    assert fragment in line, line


def test_bare_address_is_its_32_or_128() -> None:
    spec = load_spec_text(deny(to="{cidr: [10.1.2.224, '2001:DB8::7', 10.0.0.0/8]}"), "<t>")
    dst = spec.invariants[0].dst
    assert dst is not None and dst.value == ("10.1.2.224/32", "2001:db8::7/128", "10.0.0.0/8")


def test_bare_address_selects_the_eni_that_holds_it(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(deny(to="{cidr: 10.0.1.11}", ports="all").replace("deny:", "allow_empty: false\n    deny:"))
    code, out, err = run("verify", str(spec), "--snapshot", NET, "--format", "json")
    assert code in (0, 1), err
    assert '"status": "error"' not in out


def test_the_spec_file_must_be_regular_and_small(tmp_path: Path) -> None:
    code, _, err = run("verify", "/dev/zero", "--snapshot", NET)
    assert code == 2 and err.strip() == "sgproof: error: /dev/zero: expected a spec file (a regular file) (got a device)"
    big = tmp_path / "big.yaml"
    with big.open("w") as fh:
        fh.write(deny())
        fh.write(("#" * 1023 + "\n") * (5 * 1024))
    code, _, err = run("verify", str(big), "--snapshot", NET)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "at most 4 MiB" in err
    code, _, err = run("verify", str(tmp_path), "--snapshot", NET)
    assert code == 2 and "a directory" in err


def test_source_that_is_a_device_is_refused_at_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "source: /dev/zero\n" + INV)
    code, _, err = run("verify", str(spec))
    assert code == 2 and err.strip() == (f"sgproof: error: {spec}:2:9: expected source: a snapshot file or "
                                         "directory (got /dev/zero: a device)")


def test_yaml_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    text = HEAD + f"name: !!python/object/apply:os.system ['touch {marker}']\n" + INV
    with pytest.raises(InputError, match="a YAML tag"):
        load_spec_text(text, "<t>")
    one_error(tmp_path, text)
    assert not marker.exists()


def test_groups_naming_groups_are_walked_once(tmp_path: Path) -> None:
    # nine groups each naming the previous nine times: valid, and 9**9 paths if walked naively
    groups = "groups:\n  g0: {cidr: 10.0.0.0/8}\n" + "".join(
        f"  g{i}: {{any_of: [{', '.join([f'g{i - 1}'] * 9)}]}}\n" for i in range(1, 10))
    text = HEAD + groups + INV.replace("{anywhere: true}", "g9")
    assert len(load_spec_text(text, "<t>").groups) == 10
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    code, _out, err = run("verify", str(spec), "--snapshot", NET, "--format", "json", "--jobs", "1")
    assert code in (0, 1) and err == "", err


def test_a_long_chain_of_groups_is_refused() -> None:
    groups = "groups:\n  g0: {cidr: 10.0.0.0/8}\n" + "".join(f"  g{i}: {{not: g{i - 1}}}\n" for i in range(1, 200))
    with pytest.raises(InputError, match="nests more than 64 levels"):
        load_spec_text(HEAD + groups + INV.replace("{anywhere: true}", "g199"), "<t>")


def _bomb(leaf: str) -> str:
    """A flow list whose 9 anchors each repeat the previous nine times: 9**9 nodes once expanded."""
    items = [f"&a0 {leaf}"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "[" + ", ".join(items) + "]"


def _selector_bomb() -> str:
    """A valid selector: nine anchored any_of, each of nine aliases of the previous (9**8 leaves)."""
    items = ["&a0 {cidr: 10.0.0.0/8}"] + [
        f"&a{i} {{any_of: [{', '.join([f'*a{i - 1}'] * 9)}]}}" for i in range(1, 9)]
    return "{any_of: [" + ", ".join(items) + "]}"


BOMBS = {
    "cidr": deny(to="{cidr: " + _bomb("10.0.0.0/8") + "}"),
    "tag": deny(to="{tag: {Role: " + _bomb("app") + "}}"),
    "not": deny(to="{not: " + _selector_bomb() + "}"),
    "any_of-valid": deny(to=_selector_bomb()),
    "name": HEAD + "name: " + _bomb("x") + "\n" + INV,
}


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_alias_bombs_are_refused_within_bounded_memory_and_time(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(BOMBS[name])
    proc = subprocess.run([sys.executable, "-m", "sgproof", "verify", str(spec), "--snapshot", NET],
                          capture_output=True, text=True, preexec_fn=_limits, env={**os.environ, "NO_COLOR": "1"},
                          check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert "more than 50000 YAML nodes once aliases are expanded" in lines[0]


def test_expired_exemption_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "today", lambda: datetime.date(2027, 4, 1))
    spec = load_spec_text(deny(extra="    except:\n      - {from: {internet: true}, reason: legacy, until: 2027-03-31}\n"
                                     "      - {to: {cidr: 10.0.0.0/8}, ports: tcp/22, reason: ok, until: 2027-04-01}\n"
                                     "      - {reason: forever}\n"), "<t>")
    a, b, c = spec.invariants[0].exemptions
    assert (a.expired, b.expired, c.expired) == (True, False, False)
    assert a.until == datetime.date(2027, 3, 31) and c.until is None
    assert a.src is not None and a.src.key == "internet" and a.dst is None and a.ports_text == "all"
    assert b.services.contains(6, 22) and not b.services.contains(6, 23)
    assert a.where == "<t>:5:9"
